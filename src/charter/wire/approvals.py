"""The API's bodies for approvals, step-up confirmations and grants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, StringConstraints

from charter.approvals.grants import GrantRecord
from charter.approvals.model import Approval, ApprovalStatus
from charter.wire.base import InModel, masked_within, printable

__all__ = [
    "APPROVAL_STATUSES",
    "ApprovalOut",
    "ApprovalPage",
    "ApprovalTicket",
    "BallotOut",
    "GrantOut",
    "GrantPage",
    "VoteIn",
]

APPROVAL_STATUSES = tuple(status.value for status in ApprovalStatus)
"""Every status an approval can have; only ``pending`` may still change."""

_Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1000),
    AfterValidator(printable),
    masked_within(1000),
]


class VoteIn(InModel):
    """An approver's answer: approve or deny, and why."""

    reason: _Reason


class BallotOut(BaseModel):
    """One human's vote."""

    human: str
    vote: str
    reason: str
    at: datetime


class ApprovalTicket(BaseModel):
    """A decision's ``approval``: the approval or confirmation it waits on."""

    id: str
    kind: str
    status: str
    expires_at: datetime
    policy: str
    approvers: list[str]
    quorum: int


class ApprovalOut(BaseModel):
    """An approval or step-up confirmation as approvers and the agent see it."""

    id: str
    kind: str
    status: str
    agent: str
    request: dict[str, Any]
    request_digest: str
    policy: str
    policy_revision: str
    role: str | None
    approvers: list[str]
    quorum: int
    on_behalf_of: str | None
    decision_id: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    closed_by: str | None
    closed_reason: str | None
    votes: list[BallotOut]
    used_by: str | None
    used_at: datetime | None
    grant: str | None

    @property
    def pending(self) -> bool:
        """True while the approval may still be approved or denied."""
        return self.status == ApprovalStatus.PENDING.value

    @classmethod
    def of(cls, approval: Approval) -> ApprovalOut:
        """The API's view of ``approval``."""
        return cls(
            id=approval.id,
            kind=approval.kind.value,
            status=approval.status.value,
            agent=approval.agent,
            request=dict(approval.request),
            request_digest=approval.request_digest,
            policy=approval.policy,
            policy_revision=approval.policy_revision,
            role=approval.role,
            approvers=list(approval.approvers),
            quorum=approval.quorum,
            on_behalf_of=approval.on_behalf_of,
            decision_id=approval.decision_id,
            created_at=approval.created_at,
            expires_at=approval.expires_at,
            decided_at=approval.closed_at,
            closed_by=approval.closed_by,
            closed_reason=approval.closed_reason,
            votes=[
                BallotOut(human=b.human, vote=b.vote.value, reason=b.reason, at=b.at)
                for b in approval.ballots
            ],
            used_by=approval.used_by,
            used_at=approval.used_at,
            grant=approval.grant_id,
        )


class ApprovalPage(BaseModel):
    """A page of approvals."""

    approvals: list[ApprovalOut]
    next_cursor: str | None


class GrantOut(BaseModel):
    """A JIT grant."""

    id: str
    agent: str
    role: str
    policy: str
    approval: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    status: str

    @classmethod
    def of(cls, grant: GrantRecord, now: datetime) -> GrantOut:
        """The API's view of ``grant`` at ``now``."""
        return cls(
            id=grant.id,
            agent=grant.agent,
            role=grant.role,
            policy=grant.policy,
            approval=grant.approval_id,
            issued_at=grant.issued_at,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
            revoked_by=grant.revoked_by,
            revoke_reason=grant.revoke_reason,
            status=grant.status(now).value,
        )


class GrantPage(BaseModel):
    """A page of grants."""

    grants: list[GrantOut]
    next_cursor: str | None
