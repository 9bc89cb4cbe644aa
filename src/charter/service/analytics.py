"""Approval analytics and agent investigations: reads of the audit log, computed by
``charter.analytics``.

Both read in one transaction, so the figures describe one consistent log, and record
nothing (reads never are). Admins and auditors read both; an agent's owner may also
investigate their own agent, as they may read it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from charter.analytics import (
    ApprovalStats,
    Investigation,
    Thresholds,
    approval_stats,
    histories,
    investigate,
)
from charter.analytics.approvals import APPROVAL_TYPES
from charter.audit.records import AuditRecord
from charter.clock import Clock, to_utc
from charter.codes import ErrorCode
from charter.durations import parse_duration
from charter.errors import InvalidInput, NotFound
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service.access import can_read_agent, require_roles
from charter.storage.ports import AuditQuery, Store, UnitOfWork

__all__ = ["MAX_RECORDS", "AnalyticsService", "window_start"]

MAX_RECORDS = 100_000
"""The most audit records one report reads; past it the report says it is truncated."""

_PAGE = 1000


def window_start(since: str, now: datetime) -> datetime:
    """The start of a window given as a duration back from ``now`` (``30d``) or as an
    RFC 3339 time; anything else is ``InvalidInput``."""
    text = since.strip()
    if text and text[-1] in "smhd" and text[:-1].isdigit():
        return now - parse_duration(text)
    start: datetime | None = None
    try:
        written = datetime.fromisoformat(text)
        # Its offset may take a time near year 1 or 9999 out of them in UTC.
        start = to_utc(written) if written.tzinfo is not None else None
    except (ValueError, OverflowError):
        pass
    if start is None:
        raise InvalidInput(
            f"invalid 'since' {text[:64]!r}",
            code=ErrorCode.INVALID_DURATION,
            help="give a duration back from now (30d, 12h) or an RFC 3339 time with its "
            "offset, between years 1 and 9999 in UTC",
        )
    return start


def _read(unit: UnitOfWork, query: AuditQuery) -> tuple[list[AuditRecord], bool]:
    """Every record ``query`` matches, page by page, up to ``MAX_RECORDS``."""
    found: list[AuditRecord] = []
    after = -1
    while len(found) < MAX_RECORDS:
        page = unit.audit.query(
            AuditQuery(
                agent=query.agent,
                types=query.types,
                since=query.since,
                until=query.until,
                after_seq=after,
                limit=_PAGE,
            )
        )
        found.extend(page)
        if len(page) < _PAGE:
            return found, False
        after = page[-1].seq
    return found[:MAX_RECORDS], True


class AnalyticsService:
    """``GET /v1/approvals/stats`` and ``GET /v1/agents/{id}/investigation``."""

    def __init__(self, store: Store, clock: Clock, thresholds: Thresholds = Thresholds()) -> None:
        self._store = store
        self._clock = clock
        self._thresholds = thresholds

    def approval_stats(self, actor: Principal, since: str | timedelta) -> ApprovalStats:
        """The approval figures for the approvals opened since ``since``."""
        require_roles(actor, "read approval analytics", HumanRole.ADMIN, HumanRole.AUDITOR)
        now = self._clock()
        start = now - since if isinstance(since, timedelta) else window_start(since, now)
        with self._store.read() as unit:
            records, _ = _read(unit, AuditQuery(types=APPROVAL_TYPES, since=start))
            items = histories(records)
            for item in items:
                if item.status == "approved" and item.role is None:
                    stored = unit.approvals.get(item.id)
                    item.used = stored is not None and stored.used_by is not None
        return approval_stats(items, since=start, now=now, limits=self._thresholds)

    def investigate(self, actor: Principal, agent_id: str, since: str) -> Investigation:
        """The investigation of one agent over its records since ``since``."""
        now = self._clock()
        start = window_start(since, now)
        with self._store.read() as unit:
            agent = unit.agents.get(agent_id)
            if agent is None or not can_read_agent(actor, agent):
                # Non-readers learn nothing about which agents exist.
                require_roles(actor, "investigate agents", HumanRole.ADMIN, HumanRole.AUDITOR)
                raise NotFound(f"no agent {agent_id!r}", code=ErrorCode.AGENT_NOT_FOUND)
            records, truncated = _read(unit, AuditQuery(agent=agent_id, since=start))
        return investigate(agent_id, records, since=start, now=now, truncated=truncated)
