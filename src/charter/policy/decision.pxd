# The compiled core's declarations for decision.py (setup.py): `Request` as an extension
# type, its fields stored in the object and read-only from Python.

cdef class Request:
    cdef readonly object agent
    cdef readonly object capability
    cdef readonly object action
    cdef readonly object resource
    cdef readonly object resource_attributes
    cdef readonly object fields
    cdef readonly object context
    cdef readonly object secrets


cdef class AgentFacts:
    cdef readonly object id
    cdef readonly object owner
    cdef readonly object status
    cdef readonly object risk_tier
    cdef readonly object labels


cdef class Facts:
    cdef readonly object agent
    cdef readonly object grants
    cdef readonly object approval_id
    cdef readonly object leaked
    cdef readonly object advisories
    cdef readonly object advisory_max_age
    cdef readonly object withdrawn
