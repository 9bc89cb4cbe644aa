"""Live figures computed from audit records, each citing the records it counted.

Every figure is read from the log itself (not from mutable tables), so the records it
cites can go into the evidence bundle and an auditor can check they exist as quoted.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "CITED_PER_FIGURE",
    "CONTROL_FIGURES",
    "Figure",
    "FigureState",
    "Figures",
    "compute_figures",
]

CITED_PER_FIGURE = 20
"""Records cited per figure: the newest, enough to sample, small enough to check."""

TOKEN_LIFETIME_WARN = timedelta(days=7)
TOKEN_LIFETIME_FAIL = timedelta(days=90)
APPROVAL_WAIT_WARN = timedelta(hours=4)


class FigureState(StrEnum):
    """What a figure says about the controls it speaks to."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured fact, its reading, and the records behind it."""

    id: str
    label: str
    display: str
    state: FigureState
    evidence: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The figure as the JSON report holds it."""
        return {
            "id": self.id,
            "label": self.label,
            "value": self.display,
            "state": self.state.value,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures by id, and the series the charts draw."""

    by_id: Mapping[str, Figure]
    decisions_by_day: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    approval_waits: tuple[float, ...] = ()
    """Minutes from request to resolution, one per resolved approval."""


def _time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _newest(seqs: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(seqs)[-CITED_PER_FIGURE:])


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def _agents(records: list[Mapping[str, Any]], now: datetime) -> list[Figure]:
    latest: dict[str, Mapping[str, Any]] = {}
    for record in records:
        if str(record["type"]).startswith("agent.") and record.get("agent"):
            data = record.get("data") or {}
            if "owner" in data or "status" in data:
                latest[record["agent"]] = record
    live = {a: r for a, r in latest.items() if (r.get("data") or {}).get("status") != "retired"}
    owned = [r for r in live.values() if (r.get("data") or {}).get("owner")]
    past = [
        r
        for r in live.values()
        if (due := _time((r.get("data") or {}).get("recertify_by"))) is not None and due < now
    ]
    if not live:
        none = FigureState.NO_DATA
        return [
            Figure("agents_with_owner", "Agents with an accountable owner", "no agents", none),
            Figure(
                "agents_past_recertify", "Agents past their recertify-by date", "no agents", none
            ),
        ]
    share = len(owned) / len(live)
    return [
        Figure(
            "agents_with_owner",
            "Agents with an accountable owner",
            f"{share:.0%} ({len(owned)} of {len(live)})",
            FigureState.OK if share == 1 else FigureState.FAIL,
            _newest(r["seq"] for r in live.values()),
        ),
        Figure(
            "agents_past_recertify",
            "Agents past their recertify-by date",
            f"{len(past)} of {len(live)}",
            FigureState.OK if not past else FigureState.WARN,
            _newest(r["seq"] for r in (past or live.values())),
        ),
    ]


def _tokens(records: list[Mapping[str, Any]]) -> Figure:
    lifetimes: list[tuple[timedelta, int]] = []
    for record in records:
        if record["type"] == "token.issued":
            data = record.get("data") or {}
            issued, expires = _time(record["at"]), _time(data.get("expires_at"))
            if data.get("principal_kind") == "agent" and issued and expires:
                lifetimes.append((expires - issued, record["seq"]))
    label = "Median agent token lifetime"
    if not lifetimes:
        return Figure("median_token_lifetime", label, "no agent tokens", FigureState.NO_DATA)
    median = timedelta(seconds=statistics.median(d.total_seconds() for d, _ in lifetimes))
    state = (
        FigureState.FAIL
        if median > TOKEN_LIFETIME_FAIL
        else FigureState.WARN
        if median > TOKEN_LIFETIME_WARN
        else FigureState.OK
    )
    return Figure(
        "median_token_lifetime",
        label,
        f"{_hours(median)} over {len(lifetimes)} token(s)",
        state,
        _newest(seq for _, seq in lifetimes),
    )


def _by_invariant(data: Mapping[str, Any]) -> bool:
    reasons = data.get("reasons") or []
    return data.get("decision") == "deny" and any(
        isinstance(r, Mapping) and r.get("policy") == "invariant" for r in reasons
    )


def _decisions(records: list[Mapping[str, Any]]) -> tuple[list[Figure], dict[str, dict[str, int]]]:
    decisions = [r for r in records if r["type"] == "decision"]
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    for record in decisions:
        by_day[str(record["at"])[:10]][str((record.get("data") or {}).get("decision"))] += 1
    denied = [r["seq"] for r in decisions if _by_invariant(r.get("data") or {})]
    secrets = [
        r["seq"] for r in decisions if ((r.get("data") or {}).get("request") or {}).get("secrets")
    ]
    recorded = FigureState.OK if decisions else FigureState.NO_DATA
    figures = [
        Figure(
            "decisions_recorded",
            "Decisions recorded in the signed log",
            f"{len(decisions)}",
            recorded,
            _newest(r["seq"] for r in decisions),
        ),
        Figure(
            "denied_by_invariants",
            "Decisions denied by invariants",
            f"{len(denied)} of {len(decisions)}",
            recorded,
            _newest(denied),
        ),
        Figure(
            "secrets_caught",
            "Requests that carried a secret (masked, recorded by fingerprint)",
            f"{len(secrets)} of {len(decisions)}",
            FigureState.WARN if secrets else recorded,
            _newest(secrets),
        ),
    ]
    return figures, {day: dict(counts) for day, counts in sorted(by_day.items())}


def _approvals(records: list[Mapping[str, Any]]) -> tuple[Figure, tuple[float, ...]]:
    created: dict[str, datetime] = {}
    waits: list[tuple[float, int]] = []
    for record in records:
        approval = (record.get("data") or {}).get("approval")
        if not isinstance(approval, Mapping):
            continue
        at = _time(record["at"])
        if record["type"] == "approval.created" and at:
            created[str(approval.get("id"))] = at
        elif record["type"] in ("approval.approved", "approval.denied") and at:
            start = created.get(str(approval.get("id")))
            if start is not None:
                waits.append(((at - start).total_seconds() / 60, record["seq"]))
    label = "Median wait for a human approval"
    if not waits:
        return Figure("median_approval_wait", label, "no approvals", FigureState.NO_DATA), ()
    median = statistics.median(w for w, _ in waits)
    state = FigureState.WARN if median > APPROVAL_WAIT_WARN.total_seconds() / 60 else FigureState.OK
    figure = Figure(
        "median_approval_wait",
        label,
        f"{median:.0f} min over {len(waits)} approval(s)",
        state,
        _newest(seq for _, seq in waits),
    )
    return figure, tuple(w for w, _ in waits)


def compute_figures(records: Iterable[Mapping[str, Any]], now: datetime) -> Figures:
    """Every figure over ``records`` (audit record bodies as parsed, oldest first)."""
    listed = list(records)
    decided, by_day = _decisions(listed)
    approval, waits = _approvals(listed)
    figures = [*_agents(listed, now), _tokens(listed), *decided, approval]
    return Figures({f.id: f for f in figures}, by_day, waits)


CONTROL_FIGURES: Mapping[str, tuple[str, ...]] = {
    # OWASP Top 10 for Agentic Applications (owasp-agentic)
    "ASI02": ("denied_by_invariants",),
    "ASI03": ("median_token_lifetime", "agents_past_recertify"),
    "ASI06": ("decisions_recorded",),
    "ASI07": ("decisions_recorded",),
    "ASI09": ("median_approval_wait",),
    "ASI10": ("agents_with_owner", "agents_past_recertify"),
    # OWASP Non-Human Identities Top 10 (owasp-nhi)
    "NHI1": ("agents_with_owner", "agents_past_recertify"),
    "NHI2": ("secrets_caught",),
    "NHI4": ("median_token_lifetime",),
    "NHI5": ("denied_by_invariants", "agents_past_recertify"),
    "NHI7": ("median_token_lifetime",),
    "NHI9": ("decisions_recorded",),
    "NHI10": ("decisions_recorded",),
    # NIST CSF 2.0 (nist-csf)
    "GV.RR-02": ("agents_with_owner",),
    "ID.AM-08": ("agents_past_recertify",),
    "PR.AA-01": ("agents_with_owner", "median_token_lifetime"),
    "PR.AA-05": ("agents_past_recertify", "median_approval_wait"),
    "PR.PS-04": ("decisions_recorded",),
    "DE.CM-03": ("denied_by_invariants",),
    "DE.CM-09": ("secrets_caught",),
}
"""Control id (of the catalogue in ``charter.posture.controls``) -> the ids of the live
figures that speak to it. A control absent here has no figure: only findings move it."""
