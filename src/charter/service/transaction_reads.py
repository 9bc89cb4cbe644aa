"""What the decisions of one transaction read alike, read once for all of them.

A group commit runs many decisions in one transaction (``service/commits.py``), and none
of them changes the policy state, a token, an agent's or a human's record, the
leaked-secret registry, a grant or whether an approval is approved: each is read once a
transaction (the one the calling thread is in: the committer runs a batch's works on one
thread, one after another; a batch run again after a failure is a new unit). Grants and
usable approvals are read for every agent the transaction decides for at once, by the
first decision that needs them (``TransactionReads.held``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from charter.approvals.grants import GrantRecord
from charter.approvals.model import Approval
from charter.identity.agents import Agent
from charter.policy.decision import Grant
from charter.secrets import LeakSet
from charter.service.secrets import LeakService
from charter.storage.ports import UnitOfWork

__all__ = ["Reads", "TransactionReads"]


class Reads(threading.local):
    """The reads of the transaction the calling thread is in (see the module's doc)."""

    batch: TransactionReads | None = None

    def of(self, unit: UnitOfWork) -> TransactionReads:
        """The reads of ``unit``'s transaction."""
        if self.batch is None or self.batch.unit is not unit:
            self.batch = TransactionReads(unit)
        return self.batch


class TransactionReads:
    """What one transaction's decisions read alike."""

    __slots__ = ("_held", "_leaks", "_rows", "_wanted", "state", "unit")

    def __init__(self, unit: UnitOfWork) -> None:
        self.unit = unit
        self.state = unit.policies.state()
        self._rows: dict[tuple[str, str], Any] = {}
        self._leaks: dict[int, LeakSet | None] = {}
        self._wanted: set[str] = set()
        self._held: dict[str, _Held] = {}

    def want(self, agents: Iterable[str]) -> None:
        """Note agents this transaction decides for: the first decision that needs grants
        and approvals reads them for all the agents noted (and not read yet) at once."""
        self._wanted.update(agents)

    def held(
        self, agent_id: str, digest: str, now: datetime
    ) -> tuple[tuple[Grant, ...], Approval | None]:
        """The agent's active grants at ``now`` and the oldest approved, unused approval
        of the request ``digest`` whose time is not up at ``now``.

        Read once a transaction for every agent wanted, with the ``now`` of the decision
        that first needed them; a decision of the same transaction made at that time or
        later filters them by its own ``now``. Nothing a decision's transaction does adds
        a grant or approves an approval, and what another writer changes (a revocation, a
        suspension, a vote) waits for the transaction's turn at the audit log (or, for an
        approval used on another shard, is caught by ``ApprovalStore.use``). A decision
        made before that time (a caller on another thread took its time before) reads
        its own, as it would alone."""
        held = self._held.get(agent_id)
        if held is None:
            self._read_held(agent_id, now)
            held = self._held[agent_id]
        if now < held.since:
            grants = self.unit.grants.active_for(agent_id, now)
            return (
                tuple(grant.as_fact() for grant in grants),
                self.unit.approvals.usable_for(agent_id, digest, now),
            )
        return held.at(digest, now)

    def spent(self, approval: Approval) -> None:
        """``approval`` was offered to a decision: it is never offered again."""
        held = self._held.get(approval.agent)
        if held is not None:
            held.spend(approval)

    def _read_held(self, agent_id: str, now: datetime) -> None:
        agents = {agent_id, *self._wanted} - self._held.keys()
        found = {agent: _Held(now) for agent in agents}
        for grant in self.unit.grants.active_for_agents(agents, now):
            found[grant.agent].grants.append(grant)
        for approval in self.unit.approvals.usable_for_agents(agents, now):
            found[approval.agent].approvals.setdefault(approval.request_digest, []).append(approval)
        self._held.update(found)

    def _row(self, kind: str, key: str) -> Any:
        if (kind, key) not in self._rows:
            self._rows[kind, key] = getattr(self.unit, kind).get(key)
        return self._rows[kind, key]

    def agent(self, agent_id: str) -> Agent | None:
        found: Agent | None = self._row("agents", agent_id)
        return found

    def current_leaks(self, secrets: LeakService, seen: LeakSet) -> LeakSet | None:
        # ``LeakService.current`` compares the registry's size with the view's: the same
        # for every view of that size in one transaction.
        if seen.count not in self._leaks:
            self._leaks[seen.count] = secrets.current(self.unit, seen)
        return self._leaks[seen.count]

    @property
    def view(self) -> UnitOfWork:
        """The unit for ``TokenService.check``, which reads only credentials, agents and
        humans by id: each read once a transaction."""
        return cast(UnitOfWork, _TokenView(self))


class _Held:
    """One agent's active grants and usable approvals, as read at ``since``."""

    __slots__ = ("approvals", "grants", "since")

    def __init__(self, since: datetime) -> None:
        self.since = since
        self.grants: list[GrantRecord] = []
        self.approvals: dict[str, list[Approval]] = {}
        """By request digest, oldest first."""

    def at(self, digest: str, now: datetime) -> tuple[tuple[Grant, ...], Approval | None]:
        grants = tuple(grant.as_fact() for grant in self.grants if grant.expires_at > now)
        usable = next((one for one in self.approvals.get(digest, ()) if one.expires_at > now), None)
        return grants, usable

    def spend(self, approval: Approval) -> None:
        same = self.approvals.get(approval.request_digest, [])
        self.approvals[approval.request_digest] = [one for one in same if one.id != approval.id]


class _RowsOnce:
    """One repository's ``get``, through the transaction's reads."""

    __slots__ = ("_kind", "_reads")

    def __init__(self, reads: TransactionReads, kind: str) -> None:
        self._reads, self._kind = reads, kind

    def get(self, key: str) -> Any:
        return self._reads._row(self._kind, key)


class _TokenView:
    """What ``TokenService.check`` reads of a unit of work."""

    __slots__ = ("agents", "credentials", "humans")

    def __init__(self, reads: TransactionReads) -> None:
        self.agents = _RowsOnce(reads, "agents")
        self.credentials = _RowsOnce(reads, "credentials")
        self.humans = _RowsOnce(reads, "humans")
