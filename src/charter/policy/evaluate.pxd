# The compiled core's declarations for evaluate.py (setup.py): the request and its facts
# read as the extension types they are compiled, and the indexes the hot path walks as the types the
# compiler builds them with (the snapshot's maps are dicts, its role lists tuples).

cimport cython

from charter.policy.decision cimport AgentFacts, Facts, Request

@cython.locals(
    agent=AgentFacts, by_role=dict, standing=tuple, others=tuple, permissions=tuple
)
cpdef object evaluate(Request request, object snapshot, Facts facts, object now)
