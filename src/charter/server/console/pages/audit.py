"""The audit log: search, one record in full, verification status and export.

Access is the API's: every read goes through ``AuditService`` with the visitor as the
caller, so auditors and admins read everything, an agent's owner only that agent's
records (``?agent=`` naming it), and a refusal is the API's (403, recorded as
``auth.forbidden``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from charter.audit.records import AuditRecord
from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.identity.humans import HumanRole
from charter.identity.names import AGENT_ID_PATTERN
from charter.server.console.web import Visiting, Visitor, render, services_of
from charter.service.audit_views import EXPORT_LIMIT, KNOWN_TYPES, AuditFilter, summary
from charter.wire import UtcDateTime

__all__ = ["router"]

router = APIRouter()

PAGE_SIZE = 50
_MAX_TYPES = 20
_TYPE = re.compile(r"[a-z0-9_.]{1,64}")
_AGENT = re.compile(AGENT_ID_PATTERN)
_AGENT_MAX = 63
_TIME = TypeAdapter(UtcDateTime)
_SEQ_MAX = 2**62

Seq = Annotated[int | None, Query(ge=-1, le=_SEQ_MAX)]
Text = Annotated[str, Query(max_length=100)]
Types = Annotated[list[str], Query(max_length=_MAX_TYPES)]


@dataclass(frozen=True, slots=True)
class Search:
    """The search form's filters, checked."""

    agent: str
    types: tuple[str, ...]
    since: datetime | None
    until: datetime | None

    def wanted(self) -> AuditFilter:
        """The records these filters select."""
        return AuditFilter(self.agent or None, self.types, self.since, self.until)

    def params(self) -> list[tuple[str, str]]:
        """The filters as query parameters, for links that keep them."""
        params = [("agent", self.agent)] if self.agent else []
        params += [("type", kind) for kind in self.types]
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None:
                params.append((name, _local(moment)))
        return params

    def href(self, path: str = "/ui/audit", **cursor: int) -> str:
        """``path`` with these filters and ``cursor`` in its query."""
        query = urlencode([*self.params(), *((k, str(v)) for k, v in cursor.items())])
        return f"{path}?{query}" if query else path


@dataclass(frozen=True, slots=True)
class Row:
    """One record as a line of the table."""

    record: AuditRecord
    summary: str
    subject_href: str | None


def _search(agent: str, types: list[str], since: str, until: str) -> Search:
    agent = agent.strip()
    if agent and (len(agent) > _AGENT_MAX or not _AGENT.fullmatch(agent)):
        raise InvalidInput(
            f"{agent!r} is not an agent id",
            code=ErrorCode.INVALID_REQUEST,
            help="an agent id is lower-case letters, digits and dashes, such as ops-bot",
        )
    kinds: list[str] = []
    for value in types:
        for kind in re.split(r"[\s,]+", value.strip()):
            if kind and kind not in kinds:
                kinds.append(kind)
    if len(kinds) > _MAX_TYPES or not all(_TYPE.fullmatch(kind) for kind in kinds):
        raise InvalidInput(
            f"give at most {_MAX_TYPES} record types, each like agent.suspended",
            code=ErrorCode.INVALID_REQUEST,
            help="types are lower-case letters, digits, dots and underscores",
        )
    start, end = _time("since", since), _time("until", until)
    if start is not None and end is not None and start >= end:
        raise InvalidInput(
            "'since' must come before 'until'",
            code=ErrorCode.INVALID_REQUEST,
            help="records are searched from 'since' up to, not including, 'until'",
        )
    return Search(agent, tuple(kinds), start, end)


def _time(name: str, value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        moment: datetime = _TIME.validate_python(value.strip())
    except ValidationError as problem:
        reason = problem.errors()[0].get("msg", "not a date and time")
        raise InvalidInput(
            f"'{name}' is not a date and time: {reason}",
            code=ErrorCode.INVALID_REQUEST,
            help="give a UTC date and time such as 2026-12-06T14:05",
        ) from None
    return moment


def _local(moment: datetime) -> str:
    """A UTC time as a datetime-local input holds it (to the second, or finer if need be)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f" if moment.microsecond else "%Y-%m-%dT%H:%M:%S")


def subject_href(subject: str | None) -> str | None:
    """The console page of a record's subject, where there is one."""
    if subject is None:
        return None
    if subject.startswith("apr_"):
        return f"/ui/approvals/{quote(subject, safe='')}"
    if subject.startswith("agent:"):
        return f"/ui/agents/{quote(subject.removeprefix('agent:'), safe='')}"
    return None


@router.get("/audit")
def audit(
    request: Request,
    visitor: Visiting,
    agent: Text = "",
    type: Types = [],  # noqa: B006 - FastAPI copies the default
    since: Text = "",
    until: Text = "",
    after: Seq = None,
    before: Seq = None,
) -> HTMLResponse:
    """Search the log, newest first, a page at a time."""
    if after is not None and before is not None:
        raise InvalidInput("give either after or before, not both", code=ErrorCode.INVALID_REQUEST)
    search = _search(agent, type, since, until)
    listing = services_of(request).audit_views.page(
        visitor.principal, search.wanted(), size=PAGE_SIZE, after=after, before=before
    )
    rows = [
        Row(record, summary(record), subject_href(record.subject)) for record in listing.records
    ]
    known = [kind for kind in search.types if kind in KNOWN_TYPES]
    return render(
        request,
        "audit.html",
        visitor,
        area="audit",
        search=search,
        known_types=KNOWN_TYPES,
        chosen_type=known[0] if known else "",
        other_types=", ".join(kind for kind in search.types if kind not in known[:1]),
        since_value="" if search.since is None else _local(search.since),
        until_value="" if search.until is None else _local(search.until),
        rows=rows,
        auditor=_auditor(visitor),
        record_query="" if not search.agent else "?" + urlencode([("agent", search.agent)]),
        paged=after is not None or before is not None,
        newer_href=None if listing.newer_after is None else search.href(after=listing.newer_after),
        older_href=None
        if listing.older_before is None
        else search.href(before=listing.older_before),
        newest_href=search.href(),
        export_limit=EXPORT_LIMIT,
    )


def _auditor(visitor: Visitor) -> bool:
    """True for those who may verify the log and read checkpoints (not an owner)."""
    return visitor.principal.has_any(HumanRole.AUDITOR, HumanRole.ADMIN)


@router.get("/audit/verify")
def verify(request: Request, visitor: Visiting) -> HTMLResponse:
    """Verify the whole log and its last signed checkpoint (reads every record)."""
    services = services_of(request)
    log = services.audit_views.status(visitor.principal)
    return render(
        request,
        "audit_verify.html",
        visitor,
        area="audit",
        log=log,
        checked_at=services.clock(),
    )


@router.get("/audit/export")
def export(
    request: Request,
    visitor: Visiting,
    agent: Text = "",
    type: Types = [],  # noqa: B006 - FastAPI copies the default
    since: Text = "",
    until: Text = "",
) -> StreamingResponse:
    """The matching records as JSON Lines, oldest first, at most ``EXPORT_LIMIT``."""
    services = services_of(request)
    search = _search(agent, type, since, until)
    records = services.audit_views.export(visitor.principal, search.wanted())
    stamp = services.clock().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        _lines(records),
        media_type="application/jsonl; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="charter-audit-{stamp}.jsonl"'},
    )


def _lines(records: Iterator[AuditRecord]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record.to_json(), sort_keys=True) + "\n"


@router.get("/audit/{seq}")
def record(
    request: Request,
    visitor: Visiting,
    seq: Annotated[int, Path(ge=0, le=_SEQ_MAX)],
    agent: Text = "",
) -> HTMLResponse:
    """One record in full: its body, hashes and the checkpoint that seals it. With
    ``agent``, only a record about that agent (how an agent's owner opens one)."""
    search = _search(agent, [], "", "")
    view = services_of(request).audit_views.record(
        visitor.principal, seq, agent=search.agent or None
    )
    return render(
        request,
        "audit_record.html",
        visitor,
        area="audit",
        view=view,
        auditor=_auditor(visitor),
        pretty=json.dumps(view.body, indent=2, sort_keys=True, ensure_ascii=False),
        summary=summary(view.record),
        subject_href=subject_href(view.record.subject),
    )
