"""``/v1/posture`` (findings) and ``/v1/leaks/{fingerprint}/rotated`` (the mark posture
reads to stop reporting a leak)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from charter.clock import format_time
from charter.identity.names import AGENT_ID_PATTERN
from charter.posture import FindingKind
from charter.server.deps import Caller, Wired
from charter.service.posture import PostureFilter
from charter.wire.posture import LeakRotatedIn, LeakRotatedOut, PostureOut

__all__ = ["router"]

router = APIRouter(tags=["posture"])


@router.get("/v1/posture")
def posture(
    services: Wired,
    caller: Caller,
    severity: Annotated[list[str] | None, Query(max_length=4)] = None,
    kind: Annotated[list[str] | None, Query(max_length=len(FindingKind))] = None,
    agent: Annotated[str | None, Query(pattern=AGENT_ID_PATTERN, max_length=63)] = None,
) -> PostureOut:
    """Posture findings, the most severe first (admins, auditors): filter by
    ``severity``, ``kind`` (each repeatable) and ``agent``."""
    where = PostureFilter(tuple(severity or ()), tuple(kind or ()), agent)
    found = services.posture.findings(caller, where)
    return PostureOut.of(found, generated_at=format_time(services.clock()))


@router.post("/v1/leaks/{fingerprint}/rotated", status_code=201)
def mark_rotated(
    services: Wired, caller: Caller, fingerprint: str, body: LeakRotatedIn
) -> LeakRotatedOut:
    """Mark a registered leak rotated at its issuer (admins; audited as
    ``secret.leak_rotated``). The fingerprint stays registered: the old value is still
    refused."""
    seq = services.secrets.mark_rotated(caller, fingerprint, note=body.note)
    return LeakRotatedOut(fingerprint=fingerprint, rotated=True, seq=seq)
