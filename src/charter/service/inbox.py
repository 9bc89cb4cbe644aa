"""The approver's inbox: the approvals and step-ups waiting for a human, each with
everything the decision needs (the agent and its owner, the request as the approver
may see it, the policy's reasons and message, the inferences it cites, the votes so far,
the time left) and whether this human may vote on it, and if not, why.

Reads only, through the same access rules as ``ApprovalService``: a human sees a case
only where the API would show them the approval.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from charter.approvals.model import Approval, ApprovalStatus
from charter.approvals.rules import check_voter
from charter.clock import Clock
from charter.errors import CharterError
from charter.identity.agents import Agent
from charter.identity.humans import Human
from charter.identity.principals import Principal
from charter.inference import Advisory
from charter.service.approvals import ApprovalService
from charter.storage.ports import AuditQuery, Store, UnitOfWork

__all__ = ["Case", "InboxService"]

_MAX_CITED = 20
_PAGE = 200
_SCAN = 2000


@dataclass(frozen=True, slots=True)
class Case:
    """One approval as the approver's page shows it."""

    approval: Approval
    agent: Agent | None
    owner: Human | None
    reasons: tuple[Mapping[str, Any], ...]
    """The reasons of the decision that opened it (policy, rule, effect, message)."""
    message: str | None
    """The decision's message: what the policy or guardrail said."""
    citations: tuple[Advisory, ...]
    """The allowed inferences the request cites in ``context.derived_from``."""
    uncited: tuple[str, ...]
    """Cited decision ids that are not allowed inferences on record."""
    refusal: CharterError | None
    """None if the human may vote now; else why not (already voted, four eyes, ...)."""
    time_left: timedelta

    @property
    def may_vote(self) -> bool:
        """True when the human may approve or deny it now."""
        return self.refusal is None and self.approval.status is ApprovalStatus.PENDING


class InboxService:
    """Builds approvers' cases from approvals, agents, humans and the audit log."""

    def __init__(self, store: Store, clock: Clock, approvals: ApprovalService) -> None:
        self._store = store
        self._clock = clock
        self._approvals = approvals

    def waiting(self, actor: Principal, *, limit: int = 200) -> builtins.list[Case]:
        """The pending approvals ``actor`` may vote on now (at most ``limit``, looking
        through at most ``_SCAN`` pending approvals they may see), the soonest to expire
        first."""
        mine: builtins.list[Case] = []
        after: str | None = None
        for _ in range(_SCAN // _PAGE):
            page = self._approvals.list(
                actor, status=ApprovalStatus.PENDING, after=after, limit=_PAGE
            )
            with self._store.read() as unit:
                cases = [self._case(unit, actor, approval) for approval in page]
            mine.extend(case for case in cases if case.may_vote and case.time_left > timedelta(0))
            if len(page) < _PAGE or len(mine) >= limit:
                break
            after = page[-1].id
        mine.sort(key=lambda case: (case.approval.expires_at, case.approval.id))
        return mine[:limit]

    def case(self, actor: Principal, approval_id: str) -> Case:
        """One approval ``actor`` may see, in full (``approval_not_found`` otherwise)."""
        approval = self._approvals.get(actor, approval_id)
        with self._store.read() as unit:
            return self._case(unit, actor, approval)

    def _case(self, unit: UnitOfWork, actor: Principal, approval: Approval) -> Case:
        agent = unit.agents.get(approval.agent)
        owner = None if agent is None else unit.humans.get(agent.owner)
        record = _decision_record(unit, approval)
        reasons: tuple[Mapping[str, Any], ...] = ()
        message = None
        if record is not None:
            reasons = tuple(record.get("reasons", ()))
            message = record.get("message")
        cited = _cited(approval.request)
        citations = tuple(unit.advisories.get_many(cited))
        known = {advisory.decision_id for advisory in citations}
        return Case(
            approval=approval,
            agent=agent,
            owner=owner,
            reasons=reasons,
            message=message,
            citations=citations,
            uncited=tuple(decision for decision in cited if decision not in known),
            refusal=_refusal(unit, actor, approval, agent),
            time_left=max(approval.expires_at - self._clock(), timedelta(0)),
        )


def _decision_record(unit: UnitOfWork, approval: Approval) -> Mapping[str, Any] | None:
    """The body of the decision record that opened ``approval`` (same agent, same time)."""
    query = AuditQuery(
        agent=approval.agent,
        types=("decision",),
        since=approval.created_at,
        until=approval.created_at + timedelta(milliseconds=1),
        limit=1000,
    )
    for record in unit.audit.query(query):
        if record.subject == approval.decision_id:
            return record.data()
    return None


def _cited(request: Mapping[str, Any]) -> builtins.list[str]:
    context = request.get("context")
    cited = context.get("derived_from") if isinstance(context, Mapping) else None
    if isinstance(cited, str):
        cited = [cited]
    if not isinstance(cited, list):
        return []
    return [item for item in cited if isinstance(item, str)][:_MAX_CITED]


def _refusal(
    unit: UnitOfWork, actor: Principal, approval: Approval, agent: Agent | None
) -> CharterError | None:
    human = unit.humans.get(actor.id) if actor.is_human else None
    if human is None or agent is None:
        return CharterError("only the approvers named by the policy may decide this")
    try:
        check_voter(approval, human, agent.owner)
    except CharterError as refusal:
        return refusal
    return None
