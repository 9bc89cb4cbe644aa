from charter.policy.decision cimport Request

cpdef object evaluate(Request request, object snapshot, object facts, object now)
