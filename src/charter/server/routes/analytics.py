"""``GET /v1/approvals/stats`` and ``GET /v1/agents/{id}/investigation``: reading the
audit log back as approval analytics and as an agent's incident view.

Registered before the approvals router, whose ``/{approval_id}`` would otherwise take
``stats`` for an id.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from charter.analytics import to_markdown
from charter.identity.names import AGENT_ID_PATTERN
from charter.server.deps import Caller, Wired

__all__ = ["router"]

router = APIRouter(tags=["analytics"])

Since = Annotated[str, Query(min_length=1, max_length=64)]


class ExportFormat(StrEnum):
    """How an investigation is answered: JSON, or a Markdown report."""

    JSON = "json"
    MARKDOWN = "markdown"


@router.get("/v1/approvals/stats")
def approval_stats(services: Wired, caller: Caller, since: Since = "30d") -> dict[str, Any]:
    """Approval analytics for the approvals opened since ``since`` (``30d``, or an RFC
    3339 time): volumes, time to decide, expiries, deny rates, approvers, suggestions."""
    return services.analytics.approval_stats(caller, since).to_json()


@router.get("/v1/agents/{agent_id}/investigation", response_model=None)
def investigation(
    services: Wired,
    caller: Caller,
    agent_id: Annotated[str, Path(pattern=AGENT_ID_PATTERN, max_length=63)],
    since: Since = "7d",
    format: ExportFormat = ExportFormat.JSON,
) -> dict[str, Any] | PlainTextResponse:
    """The agent's timeline and blast radius since ``since``, as JSON or Markdown."""
    found = services.analytics.investigate(caller, agent_id, since)
    if format is ExportFormat.MARKDOWN:
        return PlainTextResponse(to_markdown(found), media_type="text/markdown; charset=utf-8")
    return found.to_json()
