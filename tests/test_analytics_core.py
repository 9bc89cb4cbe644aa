"""The analytics core alone, on approval histories made by hand: percentiles at their
edges and the rubber-stamp and suggestion thresholds exactly at and just past them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from charter.analytics import ApprovalHistory, Thresholds, approval_stats

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def history(n: int, status: str, *, seconds: float = 10, vote: str = "approve") -> ApprovalHistory:
    at = T0 + timedelta(seconds=seconds)
    return ApprovalHistory(
        id=f"apr_{n}",
        agent="ops-bot",
        policy="Guardrail/g",
        kind="approval",
        role=None,
        created_at=T0,
        expires_at=T0 + timedelta(hours=1),
        status=status,
        closed_at=None if status == "pending" else at,
        ballots=[] if status in ("pending", "expired") else [("user:a", vote, at)],
        used=True,
    )


def test_percentiles_of_none_one_and_many() -> None:
    assert approval_stats([], since=T0, now=NOW).overall["p50_seconds"] is None
    one = approval_stats([history(0, "approved", seconds=7)], since=T0, now=NOW).overall
    assert (one["p50_seconds"], one["p90_seconds"]) == (7.0, 7.0)
    many = [history(n, "approved", seconds=s) for n, s in enumerate((1, 2, 3, 4, 100))]
    overall = approval_stats(many, since=T0, now=NOW).overall
    # Ranks 0..4; p90 sits at 3.6: 4 + 0.6 * (100 - 4).
    assert (overall["p50_seconds"], overall["p90_seconds"]) == (3.0, 61.6)


def test_a_rubber_stamp_needs_all_three_signals() -> None:
    limits = Thresholds()
    fast = [history(n, "approved", seconds=30) for n in range(19)]
    denied = history(19, "denied", seconds=30, vote="deny")
    at_limit = approval_stats([*fast, denied], since=T0, now=NOW, limits=limits)
    assert at_limit.by_approver[0]["approve_rate"] == 0.95
    assert at_limit.by_approver[0]["rubber_stamp"] is True  # 30 s counts as fast
    slow = [history(n, "approved", seconds=31) for n in range(20)]
    assert approval_stats(slow, since=T0, now=NOW).by_approver[0]["rubber_stamp"] is False
    few = [history(n, "approved", seconds=1) for n in range(9)]
    assert approval_stats(few, since=T0, now=NOW).by_approver[0]["rubber_stamp"] is False


def test_suggestions_at_their_thresholds() -> None:
    twenty = [history(n, "approved") for n in range(20)]
    [allow] = approval_stats(twenty, since=T0, now=NOW).suggestions
    assert (allow["kind"], allow["policy"]) == ("automatic_allow", "Guardrail/g")
    one_expired = [*twenty, history(20, "expired")]
    kinds = [s["kind"] for s in approval_stats(one_expired, since=T0, now=NOW).suggestions]
    assert kinds == []  # not approved every time, and 1 of 21 expired is rare
    quarter = [history(n, "approved") for n in range(3)] + [history(3, "expired")]
    [expiring] = approval_stats(quarter, since=T0, now=NOW).suggestions
    assert expiring["message"].startswith("1 of 4 approvals expired")
    pending = [*quarter[:2], history(2, "pending"), quarter[3]]
    assert approval_stats(pending, since=T0, now=NOW).suggestions == []  # 3 closed


def test_an_approved_approval_is_abandoned_only_unused_and_after_it_ran_out() -> None:
    unused = history(0, "approved")
    unused.used = False
    assert unused.abandoned(T0 + timedelta(minutes=59)) is False
    assert unused.abandoned(T0 + timedelta(hours=1)) is True
    unused.role = "restarter"
    assert unused.abandoned(NOW) is False  # its grant used it
