"""JIT grants: a time-bound activation of an eligible role, issued by an approval."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from charter.durations import MAX_DURATION, parse_duration
from charter.errors import CharterError
from charter.policy.decision import Grant

__all__ = ["DEFAULT_GRANT_DURATION", "GrantRecord", "GrantStatus", "grant_duration"]

DEFAULT_GRANT_DURATION = timedelta(hours=1)
"""How long a grant lasts when its binding names no ``maxDuration``."""


def grant_duration(max_duration: timedelta | None, asked: Any) -> timedelta:
    """How long a grant lasts: the binding's maximum, or less when the request's
    ``context.duration`` (``asked``) reads as a shorter duration; never longer than
    ``MAX_DURATION``. A stored value that cannot be read (written before it was checked,
    or by an older server) is ignored: an approval can always be decided."""
    duration = min(max_duration or DEFAULT_GRANT_DURATION, MAX_DURATION)
    if isinstance(asked, str):
        with contextlib.suppress(CharterError):
            duration = min(duration, parse_duration(asked))
    return duration


class GrantStatus(StrEnum):
    """A grant is active until it expires by itself or is revoked."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """A grant as stored: who holds which role, through which approval, until when."""

    id: str
    agent: str
    role: str
    policy: str
    approval_id: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    def status(self, now: datetime) -> GrantStatus:
        """Revoked, expired (by time alone) or active."""
        if self.revoked_at is not None:
            return GrantStatus.REVOKED
        return GrantStatus.ACTIVE if now < self.expires_at else GrantStatus.EXPIRED

    def as_fact(self) -> Grant:
        """The grant as the evaluator takes it."""
        return Grant(id=self.id, role=self.role, expires_at=self.expires_at)
