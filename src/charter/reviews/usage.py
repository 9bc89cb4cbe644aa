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

    @classmethod
    def once(cls, key: PermissionKey, action: str, resource: str, at: datetime) -> PermissionUsage:
        """One use of ``key``: ``action`` on ``resource`` at ``at``."""
        return cls(key, 1, at, at, (action,), (resource,))

    def merged(self, later: PermissionUsage) -> PermissionUsage:
        """This usage followed by ``later``'s (same key): counts added, the earliest first
        use and the latest last use, and the samples kept first seen first, bounded."""
        actions, dropped_actions = _sample(self.actions, later.actions)
        resources, dropped_resources = _sample(self.resources, later.resources)
        return PermissionUsage(
            key=self.key,
            count=self.count + later.count,
            first_at=min(self.first_at, later.first_at),
            last_at=max(self.last_at, later.last_at),
            actions=actions,
            resources=resources,
            sample_full=self.sample_full
            or later.sample_full
            or dropped_actions
            or dropped_resources,
        )


def _sample(kept: tuple[str, ...], seen: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """``kept`` with what is new in ``seen`` after it, at most ``SAMPLE_LIMIT``; and
    whether something new was left out for lack of room."""
    if not seen or all(item in kept for item in seen):
        return kept, False
    merged = list(kept)
    dropped = False
    for item in seen:
        if item in merged:
            continue
        if len(merged) >= SAMPLE_LIMIT:
            dropped = True
            continue
        merged.append(item)
    return tuple(merged), dropped
