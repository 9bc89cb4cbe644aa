"""``/v1/leaks`` (the leaked-secret registry) and ``/v1/secrets/scan`` (redaction of
what an agent would surface)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from charter.server.deps import Caller, Wired
from charter.wire.pagination import decode_cursor, next_cursor
from charter.wire_secrets import LeakIn, LeakOut, LeakPage, ScanIn, ScanOut

__all__ = ["router"]

router = APIRouter(tags=["secrets"])


@router.post("/v1/leaks", status_code=201)
def report_leak(services: Wired, caller: Caller, body: LeakIn, response: Response) -> LeakOut:
    """Register an exposed secret (admins): any later decision whose context or input
    carries it is denied (``leaked_secret``). Only its fingerprint is kept."""
    leak, created = services.secrets.report(
        caller,
        value=body.value,
        fingerprint=body.fingerprint,
        note=body.note,
        ticket=body.ticket,
        source=body.source,
    )
    if not created:
        response.status_code = 200
    return LeakOut.of(leak, created=created)


@router.get("/v1/leaks")
def list_leaks(
    services: Wired,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> LeakPage:
    """Registered leaks, by fingerprint (admins, auditors)."""
    found = services.secrets.list(caller, after=decode_cursor(cursor), limit=limit)
    return LeakPage(
        leaks=[LeakOut.of(leak) for leak in found],
        next_cursor=next_cursor(found, limit, lambda leak: leak.fingerprint),
    )


@router.post("/v1/secrets/scan")
def scan(services: Wired, caller: Caller, body: ScanIn) -> ScanOut:
    """Scan text or JSON an agent would surface; the content comes back with its
    secrets masked (``[REDACTED:type]``), or only its registered leaks with
    ``redact: false``. Any caller; only admins and auditors are told which findings are
    registered leaks (``leaked``, ``fingerprint``). Finding a registered leak is audited."""
    content, findings = services.secrets.scan(caller, body.content, redact_all=body.redact)
    return ScanOut(content=content, findings=findings)
