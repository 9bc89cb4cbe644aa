"""Decisions for running agents: gather the facts, evaluate, record, answer.

The evaluator is pure; this use case is what surrounds it on the server. It works out
whom the decision is for (an agent token decides only for itself, an enforcer names any
agent), reads the agent's record, evaluates the request against the active revision held
in memory, and answers only once the decision's audit record is committed.

Until the secrets guard lands, nothing the caller sends as ``context`` or ``input`` is
written in clear: the record holds the context's keys and digests of both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from charter.audit.records import AuditEntry, canonical_json
from charter.clock import Clock
from charter.errors import InvalidInput, PermissionDenied
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.ids import IdFactory, new_id
from charter.policy.decision import AgentFacts, Decision, Effect, Facts, Reason, Request
from charter.policy.engine import Engine
from charter.policy.evaluate import evaluate
from charter.policy.model import Capability
from charter.service.access import require_roles
from charter.service.commits import GroupCommitter
from charter.storage.ports import Store, UnitOfWork

__all__ = ["NO_POLICY", "Asked", "Decided", "DecisionService"]

NO_POLICY = Reason("invariant", "policy_loaded", Effect.DENY, "no policy is loaded")
"""Why everything is denied before a policy is applied."""


@dataclass(frozen=True, slots=True)
class Asked:
    """One decision request as the caller sent it."""

    capability: Capability
    action: str
    resource: str
    agent: str | None = None
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    input: Any = None


@dataclass(frozen=True, slots=True)
class Decided:
    """A recorded decision: its id, the evaluator's answer and the request's digest."""

    decision_id: str
    decision: Decision
    digest: str


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


class DecisionService:
    """Decide requests for agents, one audit record per decision."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        ids: IdFactory = new_id,
        committer: GroupCommitter | None = None,
    ) -> None:
        self._store, self._clock, self._ids = store, clock, ids
        self._committer = committer

    def _write(self, work: Callable[[UnitOfWork], list[Decided]]) -> list[Decided]:
        # Group commit (service/commits.py): concurrent decisions share one transaction.
        if self._committer is not None:
            return self._committer.run(work)
        with self._store.write() as unit:
            return work(unit)

    def _for_whom(self, actor: Principal, asked: Asked) -> str:
        if not actor.is_human:
            if asked.agent is not None and asked.agent != actor.id:
                raise PermissionDenied(
                    f"{actor.ref} may not ask for decisions for agent {asked.agent!r}",
                    code="forbidden",
                    help="an agent token decides only for its own agent; leave out 'agent'",
                )
            return actor.id
        require_roles(actor, "ask for decisions", HumanRole.ENFORCER)
        if asked.agent is None:
            raise InvalidInput(
                "an enforcer must name the agent the decision is for",
                code="agent_required",
                help='add "agent": "<agent id>" to the request',
            )
        return asked.agent

    def decide(self, actor: Principal, engine: Engine | None, batch: list[Asked]) -> list[Decided]:
        """Decide every request of ``batch`` in order, recording all in one transaction.

        ``engine`` is the active revision (None when no policy was ever applied: every
        request is then denied with ``no_policy``).
        """
        agents = [self._for_whom(actor, asked) for asked in batch]
        now = self._clock()

        def record(unit: UnitOfWork) -> list[Decided]:
            decided = []  # inside: a group commit may run this again (service/commits.py)
            for agent_id, asked in zip(agents, batch, strict=True):
                request = Request(
                    agent=agent_id,
                    capability=asked.capability,
                    action=asked.action,
                    resource=asked.resource,
                    resource_attributes=asked.resource_attributes,
                    fields=asked.fields,
                    context=asked.context,
                )
                decision = (
                    _NO_POLICY
                    if engine is None
                    else evaluate(request, engine.snapshot, _facts(unit, agent_id), now)
                )
                digest = _digest({**_shown(request), "context": dict(request.context)})
                one = Decided(self._ids("dec"), decision, digest)
                unit.audit.append(_record(actor, asked, request, one, now))
                decided.append(one)
            return decided

        return self._write(record)


_NO_POLICY = Decision(
    effect=Effect.DENY, code="no_policy", reasons=(NO_POLICY,), message=NO_POLICY.message
)


def _facts(unit: UnitOfWork, agent_id: str) -> Facts:
    record = unit.agents.get(agent_id)
    if record is None:
        return Facts(agent=None)
    return Facts(
        agent=AgentFacts(
            id=record.id,
            owner=record.owner,
            status=record.status,
            risk_tier=record.risk_tier,
            labels=dict(record.labels),
        )
    )


def _shown(request: Request) -> dict[str, Any]:
    """The request as its audit record shows it (the digest covers its context too)."""
    return {
        "agent": request.agent,
        "capability": request.capability.value,
        "action": request.action,
        "resource": request.resource,
        "fields": list(request.fields),
    }


def _record(
    actor: Principal, asked: Asked, request: Request, decided: Decided, now: datetime
) -> AuditEntry:
    # The context's and input's values stay out: they may carry secrets, and nothing
    # masks them until the secrets guard lands.
    return AuditEntry(
        type="decision",
        actor=actor.ref,
        at=now,
        agent=request.agent,
        subject=decided.decision_id,
        data={
            "request": {
                **_shown(request),
                "context_keys": sorted(request.context),
                "context_digest": _digest(dict(request.context)),
                "input_digest": None if asked.input is None else _digest(asked.input),
            },
            "request_digest": decided.digest,
            **decided.decision.to_json(),
        },
    )
