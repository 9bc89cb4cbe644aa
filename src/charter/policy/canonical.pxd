from charter.policy.decision cimport Request

cpdef object non_canonical(Request request)
