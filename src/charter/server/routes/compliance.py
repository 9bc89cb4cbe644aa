"""``/v1/compliance``: framework reports with live figures and an evidence bundle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from charter.compliance.render import ReportFormat
from charter.posture.controls import FRAMEWORKS
from charter.server.deps import Caller, Wired

__all__ = ["router"]

router = APIRouter(prefix="/v1/compliance", tags=["compliance"])

MEDIA = {
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.MD: "text/markdown; charset=utf-8",
    ReportFormat.JSON: "application/json",
}
FrameworkId = Annotated[str, Query(max_length=40, pattern=r"^[a-z0-9-]+$")]


@router.get("/frameworks")
def list_frameworks(caller: Caller) -> list[dict[str, str]]:
    """The frameworks a report can be made for."""
    del caller  # any signed-in caller may see the catalogue's names
    return [{"id": key, "title": title} for key, title in FRAMEWORKS.items()]


@router.get("/report", response_class=Response)
def compliance_report(
    services: Wired,
    caller: Caller,
    framework: FrameworkId,
    format: ReportFormat = ReportFormat.JSON,
) -> Response:
    """The report on ``framework`` (auditors and admins): each control's status, the
    mechanisms that address it, live figures, findings, and the evidence bundle."""
    text = services.compliance.report_as(caller, framework, format)
    return Response(text, media_type=MEDIA[format])
