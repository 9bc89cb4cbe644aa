"""Usage: which permission of which role, held through which binding or grant, allowed
what an agent did.

One ``PermissionUsage`` per (agent, role, permission index, source). The source is the
binding that gives the role (``Binding/<name>``) or the JIT grant (``grant:<id>``).
Kept up to date as allowed decisions are recorded; a bounded sample of the distinct
actions and resources used is enough to propose a narrower permission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["SAMPLE_LIMIT", "PermissionKey", "PermissionUsage"]

SAMPLE_LIMIT = 20
"""At most this many distinct actions, and as many distinct resources, are kept per
permission; beyond it ``sample_full`` says the sample is not the whole story."""


@dataclass(frozen=True, slots=True)
class PermissionKey:
    """One permission of one role, as one agent holds it."""

    agent: str
    role: str
    permission: int
    """The permission's index in the role's ``permissions`` list."""
    source: str
    """``Binding/<name>`` for a standing or eligible binding, ``grant:<id>`` for a grant."""


@dataclass(frozen=True, slots=True)
class PermissionUsage:
    """How much, and for what, one permission was used."""

    key: PermissionKey
    count: int
    first_at: datetime
    last_at: datetime
    actions: tuple[str, ...] = field(default=())
    """Distinct actions it allowed, first seen first, at most ``SAMPLE_LIMIT``."""
    resources: tuple[str, ...] = field(default=())
    """Distinct resources it allowed, first seen first, at most ``SAMPLE_LIMIT``."""
    sample_full: bool = False
    """True once an action or resource was left out of the sample for lack of room."""
