"""Approvals, step-up confirmations and the JIT grants approvals yield."""

from charter.approvals.grants import GrantRecord, GrantStatus
from charter.approvals.model import Approval, ApprovalKind, ApprovalStatus, Ballot, Vote
from charter.approvals.rules import check_voter, in_approver_set, tally

__all__ = [
    "Approval",
    "ApprovalKind",
    "ApprovalStatus",
    "Ballot",
    "GrantRecord",
    "GrantStatus",
    "Vote",
    "check_voter",
    "in_approver_set",
    "tally",
]
