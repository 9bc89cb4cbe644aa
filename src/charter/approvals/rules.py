"""Who may decide an approval, and how the votes add up: rules no policy can change.

- Only humans decide; enforcer accounts (gateways asking on agents' behalf) never do.
- An approval is decided by the humans of its approver set: ``owner`` (the agent's
  owner), ``user:<id>`` or ``group:<name>``; the human the request is made on behalf of
  is never an independent approver (four eyes).
- A step-up confirmation is the opposite: exactly the on-behalf-of human confirms.
- Each human votes once; a quorum above 1 needs that many distinct humans; the first
  deny decides.
"""

from __future__ import annotations

from collections.abc import Iterable

from charter.approvals.model import Approval, ApprovalKind, ApprovalStatus, Ballot, Vote
from charter.codes import ErrorCode
from charter.errors import Conflict, PermissionDenied
from charter.identity.humans import Human, HumanRole

__all__ = ["check_voter", "in_approver_set", "tally"]


def _same_principal(one: str | None, other: str) -> bool:
    # Requests are refused unless on_behalf_of is one canonical id; records written before
    # that rule are compared loosely too, so that no spelling turns a requester into an
    # independent approver.
    return one is not None and one.strip().casefold() == other.strip().casefold()


def in_approver_set(approvers: Iterable[str], human: Human, agent_owner: str) -> bool:
    """Whether ``human`` is named by the approver set (before the four-eyes rule)."""
    for approver in approvers:
        if approver == "owner" and human.id == agent_owner:
            return True
        if approver.startswith("user:") and human.id == approver:
            return True
        if approver.startswith("group:") and approver.removeprefix("group:") in human.groups:
            return True
    return False


def check_voter(approval: Approval, human: Human, agent_owner: str) -> None:
    """Raise unless ``human`` may vote on ``approval`` now (it must still be pending)."""
    if approval.status is not ApprovalStatus.PENDING:
        raise Conflict(
            f"approval {approval.id} is already {approval.status.value}",
            code=ErrorCode.APPROVAL_EXPIRED
            if approval.status is ApprovalStatus.EXPIRED
            else ErrorCode.APPROVAL_CLOSED,
        )
    if HumanRole.ENFORCER in human.roles:
        raise PermissionDenied(
            f"{human.id} is an enforcer account; enforcers never approve",
            code=ErrorCode.FORBIDDEN,
        )
    if approval.kind is ApprovalKind.STEP_UP:
        if human.id != approval.on_behalf_of:
            raise PermissionDenied(
                f"only {approval.on_behalf_of}, on whose behalf the agent acts, confirms this",
                code=ErrorCode.NOT_ON_BEHALF_OF,
            )
    else:
        if _same_principal(approval.on_behalf_of, human.id):
            raise PermissionDenied(
                f"{human.id} is who the request is made for and cannot approve it",
                code=ErrorCode.FOUR_EYES,
                help="another member of the approver set must decide",
            )
        if not in_approver_set(approval.approvers, human, agent_owner):
            raise PermissionDenied(
                f"{human.id} is not among the approvers: {', '.join(approval.approvers)}",
                code=ErrorCode.NOT_AN_APPROVER,
            )
    if any(ballot.human == human.id for ballot in approval.ballots):
        raise Conflict(
            f"{human.id} has already voted on approval {approval.id}",
            code=ErrorCode.ALREADY_VOTED,
            help=f"a quorum of {approval.quorum} needs distinct humans",
        )


def tally(quorum: int, ballots: Iterable[Ballot]) -> ApprovalStatus:
    """The status the votes give: the first deny decides, else ``quorum`` approvals."""
    approvals = 0
    for ballot in ballots:
        if ballot.vote is Vote.DENY:
            return ApprovalStatus.DENIED
        approvals += 1
    return ApprovalStatus.APPROVED if approvals >= quorum else ApprovalStatus.PENDING
