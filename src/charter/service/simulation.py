"""Policy simulation: replay recorded decisions against a candidate policy.

Each decision's masked request is kept in the replay store for the replay retention
(``CHARTER_REPLAY_RETENTION``). A simulation reads the decisions recorded in a window,
checks each kept request against the digest in its audit record (a replay runs on what
was really asked: a mismatch is refused and reported), rebuilds what the agent was and
held at the time (``charter.simulation.history``) and evaluates the request with an
engine compiled from the candidate files, at the decision's time. It reads only and
records nothing; the evaluator stays pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from charter.approvals.grants import GrantRecord
from charter.audit.records import AuditRecord
from charter.clock import Clock
from charter.codes import DecisionCode, ErrorCode
from charter.errors import InvalidInput
from charter.identity.agents import Agent
from charter.identity.principals import Principal
from charter.policy.decision import ADVISORY_MAX_AGE, Facts
from charter.policy.engine import Engine
from charter.policy.evaluate import evaluate
from charter.policy.provenance import cited
from charter.service.access import require_roles
from charter.service.facts import digest_of, facts_for, stored_request
from charter.service.policies import READERS
from charter.simulation import (
    Flip,
    SimulationReport,
    Skip,
    agent_at,
    approval_used,
    cause_of,
    flip_of,
    grants_at,
)
from charter.simulation.history import AGENT_CHANGES
from charter.storage.ports import AuditQuery, Store, UnitOfWork

__all__ = ["MAX_DECISIONS", "PURGE_BATCH", "PURGE_TRANSACTIONS", "SimulationService"]

MAX_DECISIONS = 10_000
"""Decisions replayed by one simulation at most, oldest first; past it the report says
it was truncated (narrow the window or name an agent)."""
PURGE_BATCH = 5_000
"""Expired requests one purge transaction deletes at most (writers take turns: each
transaction stays short)."""
PURGE_TRANSACTIONS = 20
"""Purge transactions one pass runs at most, while each finds a full batch."""
_PAGE = 500
_MAX_WINDOW = timedelta(days=400)


class SimulationService:
    """Replays recorded decisions against candidate policies; purges expired requests."""

    def __init__(
        self, store: Store, clock: Clock, *, advisory_max_age: timedelta = ADVISORY_MAX_AGE
    ) -> None:
        self._store, self._clock = store, clock
        self._advisory_max_age = advisory_max_age

    def simulate(
        self,
        actor: Principal,
        files: Mapping[str, str],
        *,
        since: timedelta,
        agent: str | None = None,
    ) -> dict[str, Any]:
        """Replay the decisions of the last ``since`` (of ``agent`` only, if named)
        against ``files``: policy admins, admins and auditors, as for a diff."""
        require_roles(actor, "simulate policy", *READERS)
        if since > _MAX_WINDOW:
            raise InvalidInput(
                f"a simulation looks back at most {_MAX_WINDOW.days}d",
                code=ErrorCode.INVALID_DURATION,
            )
        now = self._clock()
        with self._store.read() as unit:
            known = [found.id for found in unit.agents.list(limit=1_000_000)]
            engine = Engine.from_texts(files, clock=self._clock, known_agents=known)
            report = _Replay(unit, engine, self._advisory_max_age, now).run(now - since, agent)
        return {
            "revision": engine.revision,
            "since": (now - since).isoformat(),
            "until": now.isoformat(),
            "agent": agent,
            **report.to_json(),
        }

    def purge(self) -> int:
        """Delete requests past their retention, ``PURGE_BATCH`` a transaction, for at
        most ``PURGE_TRANSACTIONS`` transactions; how many."""
        purged = 0
        for _ in range(PURGE_TRANSACTIONS):
            with self._store.write() as unit:
                deleted = unit.replays.purge(self._clock(), limit=PURGE_BATCH)
            purged += deleted
            if deleted < PURGE_BATCH:
                break
        return purged


class _Replay:
    """One simulation's reads, in one read transaction, with what it learnt per agent."""

    def __init__(
        self, unit: UnitOfWork, engine: Engine, advisory_max_age: timedelta, now: datetime
    ) -> None:
        self._unit, self._engine, self._now = unit, engine, now
        self._advisory_max_age = advisory_max_age
        self._agents: dict[str, tuple[Agent | None, list[AuditRecord], list[GrantRecord]]] = {}

    def run(self, since: datetime, agent: str | None) -> SimulationReport:
        """Replay the decisions recorded since ``since`` (up to the read's snapshot)."""
        report = SimulationReport()
        after = -1
        while report.considered < MAX_DECISIONS:
            page = self._unit.audit.query(
                AuditQuery(
                    agent=agent,
                    types=("decision",),
                    since=since,
                    after_seq=after,
                    limit=min(_PAGE, MAX_DECISIONS - report.considered),
                )
            )
            if not page:
                return report
            kept = self._unit.replays.get_many([r.subject for r in page if r.subject])
            for record in page:
                self._one(report, record, kept.get(record.subject or ""))
            after = page[-1].seq
        report.truncated = bool(
            self._unit.audit.query(
                AuditQuery(
                    agent=agent,
                    types=("decision",),
                    since=since,
                    after_seq=after,
                    limit=1,
                )
            )
        )
        return report

    def _one(
        self, report: SimulationReport, record: AuditRecord, kept: dict[str, Any] | None
    ) -> None:
        decision_id = record.subject or ""
        recorded = record.data()
        if recorded.get("code") == DecisionCode.LEAKED_SECRET:
            report.skip(decision_id, Skip.DECIDED_BEFORE_POLICY)
            return
        if kept is None:
            report.skip(decision_id, Skip.NOT_KEPT)
            return
        if digest_of(kept) != recorded.get("request_digest"):
            report.skip(decision_id, Skip.DIGEST_MISMATCH)
            return
        try:
            request = stored_request(kept)
        except (KeyError, TypeError, ValueError):
            report.skip(decision_id, Skip.DIGEST_MISMATCH)
            return
        facts = self._facts_at(record, recorded, request.agent, request.context)
        replayed = evaluate(request, self._engine.snapshot, facts, record.at)
        kind = flip_of(recorded, replayed)
        if kind is None:
            report.replayed(None)
            return
        report.replayed(
            Flip(
                decision_id=decision_id,
                kind=kind,
                cause=cause_of(recorded, replayed),
                agent=request.agent,
                action=request.action,
                resource=request.resource,
                before=recorded["decision"],
                after=replayed.effect.value,
                before_code=str(recorded.get("code")),
                after_code=str(replayed.code),
                fields_before=(
                    tuple(sorted(recorded.get("released_fields") or ())),
                    tuple(sorted(recorded.get("redacted_fields") or ())),
                ),
                fields_after=(
                    tuple(sorted(replayed.released_fields)),
                    tuple(sorted(replayed.redacted_fields)),
                ),
            )
        )

    def _facts_at(
        self,
        record: AuditRecord,
        recorded: Mapping[str, Any],
        agent_id: str,
        context: Mapping[str, Any],
    ) -> Facts:
        current, changes, grants = self._history(agent_id)
        agent = agent_at(current, [change for change in changes if change.seq > record.seq])
        if agent is None:
            return facts_for(None, ())
        ids = cited(context) if "derived_from" in context else ()
        return facts_for(
            agent,
            grants_at(grants, record.at, recorded),
            approval_used(recorded),
            advisories=self._unit.advisories.get_many(ids) if ids else (),
            advisory_max_age=self._advisory_max_age,
        )

    def _history(self, agent_id: str) -> tuple[Agent | None, list[AuditRecord], list[GrantRecord]]:
        """The agent as now, the records that changed it, and every grant it held."""
        found = self._agents.get(agent_id)
        if found is not None:
            return found
        current = self._unit.agents.get(agent_id)
        changes: list[AuditRecord] = []
        grants: list[GrantRecord] = []
        if current is not None:
            after = -1
            while page := self._unit.audit.query(
                AuditQuery(agent=agent_id, types=AGENT_CHANGES, after_seq=after, limit=1000)
            ):
                changes.extend(page)
                after = page[-1].seq
            last: str | None = None
            while batch := self._unit.grants.list(
                agent=agent_id, now=self._now, after=last, limit=1000
            ):
                grants.extend(batch)
                last = batch[-1].id
        self._agents[agent_id] = (current, changes, grants)
        return self._agents[agent_id]
