"""The approval and grant bodies of the HTTP API, as the SDK reads them.

Kept apart from ``charter.wire`` so that module stays within its size. These models read
answers, so they are lenient where the server may grow (unknown fields are ignored,
statuses are plain strings) and strict where a wrong value could mislead a caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = [
    "APPROVAL_STATUSES",
    "ApprovalOut",
    "ApprovalPage",
    "ApprovalTicket",
    "GrantOut",
    "GrantPage",
    "VoteOut",
]

APPROVAL_STATUSES = ("pending", "approved", "denied", "expired", "cancelled")
"""Every status an approval can have; only ``pending`` may still change."""


class ApprovalTicket(BaseModel):
    """The ``approval`` of a decision that needs one: what to wait for, and who decides.

    ``id`` is ``None`` (and ``status`` ``not_created``) on a server that does not create
    approvals yet.
    """

    id: str | None
    status: str
    kind: str | None = None
    expires_at: datetime | None = None
    policy: str | None = None
    approvers: list[str] = []
    quorum: int | None = None


class VoteOut(BaseModel):
    """One human's answer to an approval."""

    human: str
    vote: str
    reason: str = ""
    at: datetime


class ApprovalOut(BaseModel):
    """An approval: a pending or settled human decision bound to one exact request."""

    id: str
    kind: str
    status: str
    agent: str
    request: dict[str, Any]
    request_digest: str
    policy: str | None = None
    role: str | None = None
    approvers: list[str] = []
    quorum: int = 1
    on_behalf_of: str | None = None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    votes: list[VoteOut] = []
    used_by: str | None = None
    grant: Any = None
    closed_reason: str | None = None

    @property
    def pending(self) -> bool:
        """True while the approval may still be approved or denied."""
        return self.status == "pending"


class ApprovalPage(BaseModel):
    """A page of approvals."""

    items: list[ApprovalOut]
    next_cursor: str | None


class GrantOut(BaseModel):
    """A time-bound grant of a role, issued by an approval."""

    id: str
    agent: str
    role: str
    approval: str | None = None
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    status: str


class GrantPage(BaseModel):
    """A page of grants."""

    items: list[GrantOut]
    next_cursor: str | None
