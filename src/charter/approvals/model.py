"""An approval: a human decision bound to one exact request, by its digest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = ["Approval", "ApprovalKind", "ApprovalStatus", "Ballot", "Vote"]


class ApprovalKind(StrEnum):
    """An approval by an approver set, or a step-up confirmation by one named human."""

    APPROVAL = "approval"
    STEP_UP = "step_up"


class ApprovalStatus(StrEnum):
    """Where an approval stands. Only ``pending`` ever changes."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Vote(StrEnum):
    """One human's answer."""

    APPROVE = "approve"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Ballot:
    """What one human decided, why, and when."""

    human: str
    vote: Vote
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Approval:
    """A pending or closed human decision on one request.

    ``request`` is the request as approvers see it (no ``input``: only its digest); an
    approval with a ``role`` comes from an eligible binding and yields a grant of that
    role instead of being used by one request.
    """

    id: str
    kind: ApprovalKind
    agent: str
    status: ApprovalStatus
    request_digest: str
    request: Mapping[str, Any]
    policy: str
    policy_revision: str
    approvers: tuple[str, ...]
    quorum: int
    decision_id: str
    created_at: datetime
    expires_at: datetime
    role: str | None = None
    max_duration: timedelta | None = None
    on_behalf_of: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    closed_reason: str | None = None
    used_by: str | None = None
    used_at: datetime | None = None
    grant_id: str | None = None
    ballots: tuple[Ballot, ...] = ()

    def is_due(self, now: datetime) -> bool:
        """True for a pending approval whose time is up."""
        return self.status is ApprovalStatus.PENDING and now >= self.expires_at

    def is_usable(self, now: datetime) -> bool:
        """True for an approved approval no request has used yet, still within its time."""
        return (
            self.status is ApprovalStatus.APPROVED
            and self.role is None
            and self.used_by is None
            and now < self.expires_at
        )
