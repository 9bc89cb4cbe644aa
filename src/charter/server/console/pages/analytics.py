"""Approval analytics and an agent's investigation, in the console.

Reads go through ``AnalyticsService`` with the visitor as the caller, so the access is
the API's: admins and auditors read analytics; an investigation also its agent's owner.
Charts are inline SVG drawn on the server (the console runs no script of its own for
them, and its content security policy allows no inline style): each bar's geometry is
computed here, and the template only places it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from charter.analytics import to_markdown
from charter.identity.names import AGENT_ID_PATTERN
from charter.server.console.web import Visiting, render, services_of

__all__ = ["Bar", "bars", "router"]

router = APIRouter()

Since = Annotated[str, Query(min_length=1, max_length=64)]
AgentId = Annotated[str, Path(pattern=AGENT_ID_PATTERN, max_length=63)]

CHART_WIDTH = 560
"""The width of a chart's drawing, in SVG units (it scales to the page)."""
LABEL_WIDTH = 220
ROW_HEIGHT = 28
_OUTCOMES = ("approved", "denied", "expired", "cancelled", "pending")


@dataclass(frozen=True, slots=True)
class Segment:
    """One coloured part of a bar: where it starts, how wide, what it counts."""

    name: str
    x: float
    width: float
    value: float


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a horizontal bar chart."""

    label: str
    y: int
    segments: tuple[Segment, ...]
    text: str
    """What the bar says in words, for screen readers and for the eye."""


def bars(
    rows: list[tuple[str, dict[str, float]]], *, unit: str = "", scale: float | None = None
) -> list[Bar]:
    """Stacked horizontal bars for ``rows`` (label, {part: value}), scaled so the longest
    fills the chart (or to ``scale``); zero parts take no room."""
    widest = scale or max((sum(parts.values()) for _, parts in rows), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - 60
    drawn = []
    for index, (label, parts) in enumerate(rows):
        x, segments = float(LABEL_WIDTH), []
        for name, value in parts.items():
            width = room * value / widest
            if value > 0:
                segments.append(Segment(name, round(x, 2), round(width, 2), value))
            x += width
        words = ", ".join(f"{name} {value:g}{unit}" for name, value in parts.items() if value)
        drawn.append(Bar(label, index * ROW_HEIGHT, tuple(segments), words or "none"))
    return drawn


def _outcome_bars(rows: list[dict[str, Any]]) -> list[Bar]:
    return bars([(row["key"], {k: row[k] for k in _OUTCOMES}) for row in rows])


def _time_bars(rows: list[dict[str, Any]]) -> list[Bar]:
    timed = [row for row in rows if row["p50_seconds"] is not None]
    return bars(
        [
            (
                row["key"],
                {"p50": row["p50_seconds"], "to p90": row["p90_seconds"] - row["p50_seconds"]},
            )
            for row in timed
        ],
        unit=" s",
    )


@router.get("/approvals/stats")
def approval_stats(request: Request, visitor: Visiting, since: Since = "30d") -> HTMLResponse:
    """Approval analytics: outcomes and time to decide by rule, approvers, suggestions."""
    stats = services_of(request).analytics.approval_stats(visitor.principal, since).to_json()
    return render(
        request,
        "approvals_stats.html",
        visitor,
        area="analytics",
        since=since,
        stats=stats,
        overall=stats["overall"],
        outcome_bars=_outcome_bars(stats["by_policy"]),
        agent_bars=_outcome_bars(stats["by_agent"]),
        time_bars=_time_bars(stats["by_policy"]),
        chart_width=CHART_WIDTH,
        row_height=ROW_HEIGHT,
        label_width=LABEL_WIDTH,
    )


@router.get("/agents/{agent_id}/investigation")
def investigation(
    request: Request, visitor: Visiting, agent_id: AgentId, since: Since = "7d"
) -> HTMLResponse:
    """An agent's incident view: blast radius, approvals, secrets, citations, timeline."""
    found = services_of(request).analytics.investigate(visitor.principal, agent_id, since)
    export = f"/ui/agents/{quote(agent_id, safe='')}/investigation/export?since={quote(since)}"
    return render(
        request,
        "agent_investigation.html",
        visitor,
        area="agents",
        since=since,
        found=found.to_json(),
        export_json=f"{export}&format=json",
        export_markdown=f"{export}&format=markdown",
    )


@router.get("/agents/{agent_id}/investigation/export")
def export(
    request: Request,
    visitor: Visiting,
    agent_id: AgentId,
    since: Since = "7d",
    format: Annotated[str, Query(pattern="^(json|markdown)$")] = "json",
) -> Response:
    """The investigation as a download: JSON, or the Markdown report."""
    found = services_of(request).analytics.investigate(visitor.principal, agent_id, since)
    if format == "markdown":
        body, media, suffix = to_markdown(found), "text/markdown; charset=utf-8", "md"
    else:
        body = json.dumps(found.to_json(), indent=2) + "\n"
        media, suffix = "application/json", "json"
    name = f"investigation-{agent_id}.{suffix}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
