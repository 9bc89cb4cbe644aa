"""JIT grants: a time-bound activation of an eligible role, issued by an approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from charter.policy.decision import Grant

__all__ = ["GrantRecord", "GrantStatus"]


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
