"""Posture: the findings, control coverage by framework, and findings by severity.

Access is the API's: findings come from ``PostureService`` with the visitor as the
caller, so only admins and auditors see them (anyone else gets the API's 403).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from charter.posture import CONTROLS, FRAMEWORKS, Finding, FindingKind, Severity
from charter.server.console.web import Visiting, render, services_of
from charter.service.posture import PostureFilter

__all__ = ["router"]

router = APIRouter()

_BAR_WIDTH = 300
"""Width in pixels of the longest bar of the severity chart."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One severity's bar in the chart."""

    severity: str
    count: int
    width: int
    y: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """One framework's controls, and how many have findings against them."""

    key: str
    name: str
    controls: list[tuple[str, str, int]]
    """(id, title, findings against it)"""

    @property
    def with_findings(self) -> int:
        """How many of its controls have at least one finding against them."""
        return sum(1 for _, _, count in self.controls if count)


def readable(value: Any) -> str:
    """An evidence value as a person reads it: lists joined, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {readable(item)}" for key, item in value.items())
    return str(value)


def _bars(findings: list[Finding]) -> list[Bar]:
    counts = Counter(f.severity for f in findings)
    most = max(counts.values(), default=0) or 1
    return [
        Bar(s.value, counts[s], round(_BAR_WIDTH * counts[s] / most), 28 * index)
        for index, s in enumerate(Severity)
    ]


def _coverage(findings: list[Finding]) -> list[Coverage]:
    against = Counter(control for f in findings for control in f.controls)
    return [
        Coverage(
            key,
            name,
            [(c.id, c.title, against[c.id]) for c in CONTROLS if c.framework == key],
        )
        for key, name in FRAMEWORKS.items()
    ]


@router.get("/posture")
def posture(
    request: Request,
    visitor: Visiting,
    severity: Annotated[str, Query(max_length=20)] = "",
    kind: Annotated[str, Query(max_length=60)] = "",
) -> HTMLResponse:
    """Every finding (or those of one severity or kind), the chart and the coverage."""
    where = PostureFilter(severities=(severity,) if severity else (), kinds=(kind,) if kind else ())
    everything = services_of(request).posture.findings(visitor.principal)
    shown = [f for f in everything if where.keeps(f)]
    return render(
        request,
        "posture.html",
        visitor,
        area="posture",
        findings=shown,
        total=len(everything),
        bars=_bars(everything),
        coverage=_coverage(everything),
        severities=[s.value for s in Severity],
        kinds=[k.value for k in FindingKind],
        severity=severity,
        kind=kind,
        readable=readable,
    )
