"""Refusals explained in words: what an approver or owner reads instead of a code."""

from __future__ import annotations

from charter.approvals.model import Approval
from charter.codes import ErrorCode
from charter.errors import CharterError
from charter.reviews.campaigns import Verdict

__all__ = ["VERDICTS", "explain", "explain_review"]


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


VERDICTS: dict[str, str] = {
    Verdict.KEEP: "Keep",
    Verdict.REVOKE: "Revoke",
    Verdict.REDUCE: "Reduce to the narrower role",
    Verdict.MAKE_ELIGIBLE: "Make eligible (just in time)",
    Verdict.REASSIGN_OWNER: "Reassign the owner",
    Verdict.RETIRE_AGENT: "Retire the agent",
    Verdict.DONT_KNOW: "Don't know: hand it to the admins",
}
"""A verdict (or recommendation) as the console names it."""


def explain_review(error: CharterError, reviewer: str | None = None) -> str:
    """A sentence saying why a review decision was refused, and what to do."""
    code = error.code
    if code == ErrorCode.NOT_A_REVIEWER:
        who = f" It is for {_who(reviewer)}." if reviewer else ""
        return f"You are not the reviewer of this item, so you cannot decide it.{who}"
    sentences: dict[str, str] = {
        ErrorCode.REASON_REQUIRED: "Give a reason: it is kept in the audit log with your decision.",
        ErrorCode.ITEM_DECIDED: "This item has already been decided.",
        ErrorCode.CAMPAIGN_CLOSED: "This campaign is closed: its items can no longer be decided.",
        ErrorCode.REVIEW_ITEM_NOT_FOUND: (
            "One of the items is not there any more, or is not yours to see."
        ),
        ErrorCode.PROPOSAL_NOT_FOUND: "That proposal is not attached to this item.",
        ErrorCode.VERDICT_NOT_APPLICABLE: (
            f"That verdict does not fit: {error.message}."
            + (f" Choose {error.help}." if error.help else "")
        ),
        ErrorCode.UNKNOWN_OWNER: (
            f"Name the new owner as user:<id>, an active person who may own agents "
            f"({error.message})."
        ),
        ErrorCode.OWNER_INACTIVE: "The new owner's account is deactivated: name someone else.",
        ErrorCode.FORBIDDEN: f"Your roles do not allow this: {error.message}.",
    }
    return sentences.get(code, error.message)
