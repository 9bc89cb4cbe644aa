"""Approval analytics: how much human approval costs, who gives it, and what to tune.

The figures come from the approval records of the audit log (``approval.created``,
``approval.voted``, ``approval.approved`` / ``denied`` / ``expired`` / ``cancelled``), so
they mean what the log says happened, and each approval keeps the seqs it was read from.
Whether an approved approval was ever used is not in those records (the decision that
used it cites it in its reasons); the service passes it in as ``used``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from charter.audit.records import AuditRecord

__all__ = [
    "APPROVAL_TYPES",
    "ApprovalHistory",
    "ApprovalStats",
    "Thresholds",
    "approval_stats",
    "histories",
]

APPROVAL_TYPES = (
    "approval.created",
    "approval.voted",
    "approval.approved",
    "approval.denied",
    "approval.expired",
    "approval.cancelled",
)
"""The record types an approval's history is read from."""

_CLOSING = {
    "approval.approved": "approved",
    "approval.denied": "denied",
    "approval.expired": "expired",
    "approval.cancelled": "cancelled",
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a pattern is worth a human's attention. The defaults are documented in
    docs/approvals-analytics.md; they are deliberately conservative."""

    fast_vote: timedelta = timedelta(seconds=30)
    """A vote cast this soon after the approval opened was given little reading."""
    stamp_min_votes: int = 10
    """Fewer votes than this say nothing about an approver's habits."""
    stamp_approve_rate: float = 0.95
    stamp_fast_share: float = 0.8
    """An approver who approves at least this share, this share of them fast, is flagged."""
    allow_min_requests: int = 20
    """A rule approved every time over at least this many requests may be an allow."""
    expiry_min_requests: int = 4
    expiry_share: float = 0.25
    """A rule whose approvals expire at least this often needs other approvers or time."""


@dataclass(slots=True)
class ApprovalHistory:
    """One approval's life as the audit log tells it."""

    id: str
    agent: str
    policy: str
    kind: str
    role: str | None
    created_at: datetime
    expires_at: datetime | None
    status: str = "pending"
    closed_at: datetime | None = None
    ballots: list[tuple[str, str, datetime]] = field(default_factory=list)
    """``(human, vote, at)`` in the order cast."""
    seqs: list[int] = field(default_factory=list)
    used: bool = False

    @property
    def decided_in(self) -> timedelta | None:
        """How long the humans took: creation to approval or denial."""
        if self.status in ("approved", "denied") and self.closed_at is not None:
            return self.closed_at - self.created_at
        return None

    def abandoned(self, now: datetime) -> bool:
        """Approved for one request that never came back for it before it ran out (an
        eligible binding's approval is used by its grant, and never abandoned)."""
        return (
            self.status == "approved"
            and self.role is None
            and not self.used
            and self.expires_at is not None
            and now >= self.expires_at
        )


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def histories(records: Iterable[AuditRecord]) -> list[ApprovalHistory]:
    """The approvals opened in ``records`` (in seq order), each with its votes and end.

    Records about an approval whose ``approval.created`` is not among them (opened
    before the window) are left out: the window counts approvals by when they opened.
    """
    found: dict[str, ApprovalHistory] = {}
    for record in sorted(records, key=lambda r: r.seq):
        data = record.data()
        approval = data.get("approval")
        if not isinstance(approval, Mapping) or record.subject is None:
            continue
        if record.type == "approval.created":
            expires = approval.get("expires_at")
            found[record.subject] = ApprovalHistory(
                id=record.subject,
                agent=str(approval.get("agent") or record.agent or ""),
                policy=str(approval.get("policy") or ""),
                kind=str(approval.get("kind") or "approval"),
                role=approval.get("role"),
                created_at=record.at,
                expires_at=_time(expires) if isinstance(expires, str) else None,
                seqs=[record.seq],
            )
            continue
        history = found.get(record.subject)
        if history is None:
            continue
        history.seqs.append(record.seq)
        if record.type == "approval.voted":
            history.ballots.append((record.actor, str(data.get("vote")), record.at))
        elif record.type in _CLOSING:
            history.status = _CLOSING[record.type]
            history.closed_at = record.at
    return list(found.values())


def _percentile(values: Sequence[float], decile: int) -> float | None:
    """The ``decile``-th decile (5: the median) by linear interpolation between closest
    ranks (``statistics.quantiles``'s inclusive method), or None with no values."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=10, method="inclusive")[decile - 1], 3)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


@dataclass(frozen=True, slots=True)
class _Tally:
    key: str
    items: tuple[ApprovalHistory, ...]

    def to_json(self, now: datetime) -> dict[str, Any]:
        statuses = [item.status for item in self.items]
        count = {status: statuses.count(status) for status in _STATUSES}
        decided = [d.total_seconds() for item in self.items if (d := item.decided_in) is not None]
        abandoned = sum(item.abandoned(now) for item in self.items)
        closed = len(self.items) - count["pending"]
        return {
            "key": self.key,
            "total": len(self.items),
            **count,
            "abandoned": abandoned,
            "deny_rate": _share(count["denied"], count["approved"] + count["denied"]),
            "expired_share": _share(count["expired"], closed),
            "abandoned_share": _share(abandoned, closed),
            "p50_seconds": _percentile(decided, 5),
            "p90_seconds": _percentile(decided, 9),
        }


_STATUSES = ("approved", "denied", "expired", "cancelled", "pending")


@dataclass(frozen=True, slots=True)
class ApprovalStats:
    """Everything ``charter approvals stats`` shows, as the API answers it."""

    since: datetime
    until: datetime
    overall: dict[str, Any]
    by_policy: list[dict[str, Any]]
    by_agent: list[dict[str, Any]]
    by_approver: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """The stats as JSON; times in RFC 3339."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "overall": self.overall,
            "by_policy": self.by_policy,
            "by_agent": self.by_agent,
            "by_approver": self.by_approver,
            "rubber_stamps": [row["human"] for row in self.by_approver if row["rubber_stamp"]],
            "suggestions": self.suggestions,
        }


def _grouped(items: Iterable[ApprovalHistory], key: Any, now: datetime) -> list[dict[str, Any]]:
    groups: dict[str, list[ApprovalHistory]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    rows = [_Tally(name, tuple(group)).to_json(now) for name, group in groups.items()]
    return sorted(rows, key=lambda row: (-row["total"], row["key"]))


def _approvers(items: Iterable[ApprovalHistory], limits: Thresholds) -> list[dict[str, Any]]:
    votes: dict[str, list[tuple[str, float]]] = {}
    for item in items:
        for human, vote, at in item.ballots:
            votes.setdefault(human, []).append((vote, (at - item.created_at).total_seconds()))
    rows = []
    for human, cast in votes.items():
        approvals = sum(vote == "approve" for vote, _ in cast)
        fast = sum(seconds <= limits.fast_vote.total_seconds() for _, seconds in cast)
        approve_rate = approvals / len(cast)
        fast_share = fast / len(cast)
        rows.append(
            {
                "human": human,
                "votes": len(cast),
                "approvals": approvals,
                "denials": len(cast) - approvals,
                "approve_rate": round(approve_rate, 4),
                "fast_share": round(fast_share, 4),
                "p50_seconds_to_vote": _percentile([seconds for _, seconds in cast], 5),
                "rubber_stamp": len(cast) >= limits.stamp_min_votes
                and approve_rate >= limits.stamp_approve_rate
                and fast_share >= limits.stamp_fast_share,
            }
        )
    return sorted(rows, key=lambda row: (-row["votes"], row["human"]))


def _suggestions(by_policy: list[dict[str, Any]], limits: Thresholds) -> list[dict[str, Any]]:
    found = []
    for row in by_policy:
        decided = row["approved"] + row["denied"] + row["expired"]
        if decided >= limits.allow_min_requests and row["approved"] == decided:
            found.append(
                {
                    "kind": "automatic_allow",
                    "policy": row["key"],
                    "message": f"approved all {decided} requests it decided: consider an "
                    "allow under a condition (a permission with 'when') instead",
                }
            )
        closed = row["total"] - row["pending"]
        share = row["expired_share"]
        if (
            closed >= limits.expiry_min_requests
            and share is not None
            and share >= limits.expiry_share
        ):
            found.append(
                {
                    "kind": "expires_often",
                    "policy": row["key"],
                    "message": f"{row['expired']} of {closed} approvals expired: widen its "
                    "approvers or lengthen its expiresIn",
                }
            )
    return found


def approval_stats(
    items: Sequence[ApprovalHistory],
    *,
    since: datetime,
    now: datetime,
    limits: Thresholds = Thresholds(),
) -> ApprovalStats:
    """The figures for the approvals opened in ``[since, now)``."""
    overall = _Tally("all", tuple(items)).to_json(now)
    overall.pop("key")
    by_policy = _grouped(items, lambda item: item.policy, now)
    return ApprovalStats(
        since=since,
        until=now,
        overall=overall,
        by_policy=by_policy,
        by_agent=_grouped(items, lambda item: item.agent, now),
        by_approver=_approvers(items, limits),
        suggestions=_suggestions(by_policy, limits),
    )
