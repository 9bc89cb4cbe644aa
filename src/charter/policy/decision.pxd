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
