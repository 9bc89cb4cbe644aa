"""Refusals explained in words: what an approver or owner reads instead of a code."""

from __future__ import annotations

from charter.approvals.model import Approval
from charter.codes import ErrorCode
from charter.errors import CharterError

__all__ = ["explain"]


def explain(error: CharterError, approval: Approval | None = None) -> str:
    """A sentence saying why ``error`` happened and, where there is one, what to do."""
    code = error.code
    if approval is not None:
        approvers = ", ".join(_who(name) for name in approval.approvers)
        if code == ErrorCode.FOUR_EYES:
            return (
                "You cannot approve this request: the agent is acting on your behalf, "
                "and four eyes means someone else must decide it."
            )
        if code == ErrorCode.NOT_AN_APPROVER:
            return f"You are not one of the approvers this policy names: {approvers}."
        if code == ErrorCode.ALREADY_VOTED:
            return (
                "You have already voted on this request. It needs "
                f"{approval.quorum} different people to approve it."
            )
        if code == ErrorCode.NOT_ON_BEHALF_OF:
            return (
                f"Only {approval.on_behalf_of}, on whose behalf the agent acts, can "
                "confirm this step-up."
            )
    sentences: dict[str, str] = {
        ErrorCode.APPROVAL_EXPIRED: "This request expired before it was decided.",
        ErrorCode.APPROVAL_CLOSED: "This request has already been decided or withdrawn.",
        ErrorCode.APPROVAL_NOT_FOUND: "There is no such request, or it is not yours to see.",
        ErrorCode.REASON_REQUIRED: "Give a reason: it is kept in the audit log with your vote.",
        ErrorCode.SEPARATION_OF_DUTY: (
            f"Separation of duties refused the grant this approval would give: {error.message}."
        ),
        ErrorCode.GRANT_REFUSED: f"The grant was refused when checked again: {error.message}.",
        ErrorCode.FORBIDDEN: "Your roles do not allow this.",
    }
    return sentences.get(code, error.message)


def _who(name: str) -> str:
    if name == "owner":
        return "the agent's owner"
    if name.startswith("group:"):
        return f"anyone in group {name.removeprefix('group:')}"
    return name
