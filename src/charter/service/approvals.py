"""Approvals and step-up confirmations: opened by decisions, decided by humans, closed
by time or by the kill switch; and the JIT grants an approved eligible binding yields.

The rules of who may vote are in ``charter.approvals.rules``; this module applies them
in transactions, records every event in the audit log and tells waiters (``notify``)
after each change is committed.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from charter.approvals.grants import GrantRecord, GrantStatus
from charter.approvals.model import Approval, ApprovalKind, ApprovalStatus, Ballot, Vote
from charter.approvals.rules import check_voter, in_approver_set, tally
from charter.audit.records import AuditEntry
from charter.clock import Clock, format_time
from charter.codes import DecisionCode, ErrorCode
from charter.errors import Conflict, InvalidInput, NotFound
from charter.identity.agents import Agent, AgentStatus
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.ids import IdFactory, new_id
from charter.policy.decision import Decision, Effect, Reason, Request
from charter.service.access import require_human
from charter.service.active import ActiveEngine
from charter.service.grants import Refusal, grant_record, issue_grant
from charter.service.review_outcomes import ReviewOutcomes
from charter.service.webhooks import audit_and_publish
from charter.storage.ports import Store, UnitOfWork

__all__ = [
    "ApprovalService",
    "acting_for",
    "approval_json",
    "open_approval",
    "withdraw_for_agent",
]

_SYSTEM = "system"
_APPROVAL_EVENTS = {
    "created": "approval.created",
    "voted": "approval.voted",
    "approved": "approval.approved",
    "denied": "approval.denied",
    "expired": "approval.expired",
    "cancelled": "approval.cancelled",
    "refused": "grant.refused",
}
_READERS = (HumanRole.ADMIN, HumanRole.AUDITOR, HumanRole.ENFORCER)
"""Who reads every approval: enforcers too, so that a gateway can wait on the approvals
its decisions open (they never vote: ``charter.approvals.rules.check_voter``)."""


def approval_json(approval: Approval) -> dict[str, Any]:
    """The approval as audit records and webhooks show it (the request's context only by
    its keys: approvers read it through the API)."""
    return {
        "id": approval.id,
        "kind": approval.kind.value,
        "agent": approval.agent,
        "status": approval.status.value,
        "request_digest": approval.request_digest,
        "capability": approval.request.get("capability"),
        "action": approval.request.get("action"),
        "resource": approval.request.get("resource"),
        "context_keys": sorted(approval.request.get("context", {})),
        "policy": approval.policy,
        "role": approval.role,
        "approvers": list(approval.approvers),
        "quorum": approval.quorum,
        "on_behalf_of": approval.on_behalf_of,
        "expires_at": format_time(approval.expires_at),
    }


def _record(event: str, actor: str, at: datetime, approval: Approval, **data: Any) -> AuditEntry:
    return AuditEntry(
        type=_APPROVAL_EVENTS[event],
        actor=actor,
        at=at,
        agent=approval.agent,
        subject=approval.id,
        data={"approval": approval_json(approval), **data},
    )


def acting_for(request: Request) -> str | None:
    """The human the request says the agent acts for (``context.on_behalf_of``), if any."""
    value = request.context.get("on_behalf_of")
    return value if isinstance(value, str) and value.startswith("user:") else None


def _no_step_up(decision: Decision, why: str) -> Decision:
    reason = Reason(decision.reasons[0].policy, "step_up", Effect.DENY, why)
    return Decision(
        effect=Effect.DENY,
        code=DecisionCode.STEP_UP_UNAVAILABLE,
        reasons=(reason,),
        errors=decision.errors,
        policy_revision=decision.policy_revision,
        message=why,
    )


def open_approval(
    unit: UnitOfWork,
    *,
    agent: Agent,
    request: Request,
    snapshot: dict[str, Any],
    digest: str,
    decision: Decision,
    decision_id: str,
    actor: str,
    now: datetime,
    ids: IdFactory,
) -> tuple[Decision, Approval | None]:
    """The pending approval (or step-up confirmation) ``decision`` calls for: the one
    already open for this exact request, or a new one. A step-up with no active human to
    confirm it turns the decision into a deny (``step_up_unavailable``). ``snapshot`` is
    the request as ``request_snapshot`` keeps it (masked), ``digest`` its digest."""
    needed = decision.approval
    if needed is None:  # never: both effects carry what they need
        raise ValueError(f"a {decision.effect.value} decision without its approval")
    step_up = decision.effect is Effect.STEP_UP_REQUIRED
    on_behalf_of = acting_for(request)
    if step_up:
        human = None if on_behalf_of is None else unit.humans.get(on_behalf_of)
        if human is None or not human.active:
            return _no_step_up(
                decision,
                "step-up needs context.on_behalf_of naming an active human to confirm it"
                if human is None
                else f"{on_behalf_of}, who would confirm this step-up, is deactivated",
            ), None
    existing = unit.approvals.pending_for(agent.id, digest)
    if existing is not None and existing.is_due(now):
        _expire(unit, existing, now)
        existing = None
    if existing is not None and agent.voids(existing.created_at):
        # Left from before the agent's last suspension: void, never carried over.
        reason = f"agent {AgentStatus.SUSPENDED.value}"
        if unit.approvals.close(
            existing.id, ApprovalStatus.CANCELLED, at=now, by=_SYSTEM, reason=reason
        ):
            closed = replace(existing, status=ApprovalStatus.CANCELLED, closed_reason=reason)
            audit_and_publish(unit, _record("cancelled", _SYSTEM, now, closed, reason=reason))
        existing = None
    if existing is not None:
        return decision, existing
    approval = Approval(
        id=ids("apr"),
        kind=ApprovalKind.STEP_UP if step_up else ApprovalKind.APPROVAL,
        agent=agent.id,
        status=ApprovalStatus.PENDING,
        request_digest=digest,
        request=snapshot,
        policy=needed.policy,
        policy_revision=decision.policy_revision,
        approvers=(on_behalf_of,) if step_up and on_behalf_of else needed.spec.approvers,
        quorum=1 if step_up else needed.spec.quorum,
        decision_id=decision_id,
        created_at=now,
        expires_at=now + needed.spec.expires_in,
        role=needed.role,
        max_duration=needed.max_duration,
        on_behalf_of=on_behalf_of,
    )
    try:
        unit.approvals.add(approval)
    except Conflict:
        # A concurrent identical request opened it first: answer with that one.
        raced = unit.approvals.pending_for(agent.id, digest)
        if raced is None:
            raise
        return decision, raced
    audit_and_publish(unit, _record("created", actor, now, approval, decision=decision_id), ids=ids)
    return decision, approval


def _expire(unit: UnitOfWork, approval: Approval, now: datetime) -> bool:
    if not unit.approvals.close(
        approval.id, ApprovalStatus.EXPIRED, at=now, by=_SYSTEM, reason="expired"
    ):
        return False
    expired = replace(approval, status=ApprovalStatus.EXPIRED, closed_at=now, closed_by=_SYSTEM)
    audit_and_publish(unit, _record("expired", _SYSTEM, now, expired))
    return True


def withdraw_for_agent(
    unit: UnitOfWork, agent_id: str, *, now: datetime, by: str, reason: str
) -> tuple[builtins.list[str], builtins.list[str]]:
    """The kill switch's share: cancel the agent's pending approvals and its approved
    ones no request has used yet, and revoke its grants, each audited. The agent's row is
    locked by the caller (so no vote can approve behind it). Returns the ids of the
    approvals cancelled and of the grants revoked."""
    cancelled = []
    for approval in unit.approvals.list(
        status=ApprovalStatus.PENDING, agent=agent_id, limit=1_000_000
    ):
        if unit.approvals.close(
            approval.id, ApprovalStatus.CANCELLED, at=now, by=by, reason=reason
        ):
            closed = replace(approval, status=ApprovalStatus.CANCELLED, closed_reason=reason)
            audit_and_publish(unit, _record("cancelled", by, now, closed, reason=reason))
            cancelled.append(approval.id)
    for approval in unit.approvals.unused_for(agent_id):
        # Approved but not used: it would allow its request after a reinstatement.
        if unit.approvals.void(approval.id, at=now, by=by, reason=reason):
            voided = replace(
                approval,
                status=ApprovalStatus.CANCELLED,
                closed_at=now,
                closed_by=by,
                closed_reason=reason,
            )
            record = _record("cancelled", by, now, voided, reason=reason, was="approved")
            audit_and_publish(unit, record)
            cancelled.append(approval.id)
    revoked = []
    # Every grant not revoked or expired, including any the agent's new suspension
    # time already hides from decisions.
    for grant in unit.grants.list(
        agent=agent_id, status=GrantStatus.ACTIVE, now=now, limit=1_000_000
    ):
        if unit.grants.revoke(grant.id, at=now, by=by, reason=reason):
            unit.audit.append(grant_record("revoked", by, now, grant, reason=reason))
            revoked.append(grant.id)
    return cancelled, revoked


class ApprovalService:
    """The approval inbox: read, approve, deny, expire; grants issued and revoked."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        compiled: ActiveEngine,
        *,
        ids: IdFactory = new_id,
        notify: Callable[[str], None] | None = None,
        outcomes: ReviewOutcomes | None = None,
    ) -> None:
        self._store, self._clock, self._compiled, self._ids = store, clock, compiled, ids
        self._outcomes = outcomes
        """The review outcomes in force, which a grant issued must honour."""
        self.notify = notify
        """Told the id of every approval whose status changed, once the change commits."""

    def _changed(self, approval_ids: builtins.list[str]) -> None:
        if self.notify is not None:
            for approval_id in approval_ids:
                self.notify(approval_id)

    # Reading.

    @staticmethod
    def _may_read(unit: UnitOfWork, actor: Principal, approval: Approval) -> bool:
        if not actor.is_human:
            return actor.id == approval.agent
        if actor.has_any(*_READERS) or actor.id == approval.on_behalf_of:
            return True
        agent = unit.agents.get(approval.agent)
        human = unit.humans.get(actor.id)
        if agent is None or human is None:
            return False
        return actor.id == agent.owner or in_approver_set(approval.approvers, human, agent.owner)

    @staticmethod
    def _asks(unit: UnitOfWork, actor: Principal, approval: Approval) -> bool:
        """Whether ``approval`` asks ``actor`` to decide it."""
        if approval.on_behalf_of is not None and approval.kind is ApprovalKind.STEP_UP:
            return actor.id == approval.on_behalf_of
        agent = unit.agents.get(approval.agent)
        human = unit.humans.get(actor.id)
        if agent is None or human is None:
            return False
        return in_approver_set(approval.approvers, human, agent.owner)

    def get(self, actor: Principal, approval_id: str) -> Approval:
        """The approval, closed first if its time is up; ``approval_not_found`` for anyone
        who may not see it."""
        with self._store.read() as unit:
            approval = unit.approvals.get(approval_id)
            if approval is None or not self._may_read(unit, actor, approval):
                raise NotFound(f"no approval {approval_id!r}", code=ErrorCode.APPROVAL_NOT_FOUND)
        now = self._clock()
        if approval.is_due(now):
            with self._store.write() as unit:
                due = unit.approvals.get(approval_id, for_update=True)
                if due is not None and due.is_due(now):
                    _expire(unit, due, now)
                approval = unit.approvals.get(approval_id) or approval
            self._changed([approval_id])
        return approval

    def list(
        self,
        actor: Principal,
        *,
        status: ApprovalStatus | None = None,
        agent: str | None = None,
        resource: str | None = None,
        mine: bool = False,
        after: str | None = None,
        limit: int = 100,
    ) -> builtins.list[Approval]:
        """The approvals ``actor`` may see, ordered by id: admins and auditors see all;
        a human those they may decide, own the agent of, or are the subject of; an agent
        its own. ``resource`` keeps those for that resource; ``mine`` those the actor is
        asked to decide (named by the approver set, or the human of a step-up)."""
        if not actor.is_human:
            if agent not in (None, actor.id) or mine:
                return []
            agent = actor.id

        def wanted(unit: UnitOfWork, approval: Approval) -> bool:
            if resource is not None and approval.request.get("resource") != resource:
                return False
            if mine and not self._asks(unit, actor, approval):
                return False
            return self._may_read(unit, actor, approval)

        found: builtins.list[Approval] = []
        with self._store.read() as unit:
            while len(found) < limit:
                page = unit.approvals.list(status=status, agent=agent, after=after, limit=limit)
                found.extend(a for a in page if wanted(unit, a))
                if len(page) < limit:
                    break
                after = page[-1].id
        return found[:limit]

    # Deciding.

    def vote(self, actor: Principal, approval_id: str, vote: Vote, reason: str) -> Approval:
        """Approve or deny as ``actor``; the quorum's last approval (or any deny) closes
        it, an approval of an eligible binding issuing the grant."""
        require_human(actor, "decide approvals")
        if not reason.strip():
            raise InvalidInput("a reason is required", code=ErrorCode.REASON_REQUIRED)
        now = self._clock()
        refusal: Refusal | None = None
        with self._store.write() as unit:
            seen = unit.approvals.get(approval_id)
            if seen is None or not self._may_read(unit, actor, seen):
                raise NotFound(f"no approval {approval_id!r}", code=ErrorCode.APPROVAL_NOT_FOUND)
            # The agent's row before the approval's, as the kill switch takes them: a
            # suspension either comes first (and this vote sees the approval cancelled)
            # or waits for this vote (and then cancels what it approved).
            agent = unit.agents.get(seen.agent, for_update=True)
            approval = unit.approvals.get(approval_id, for_update=True) or seen
            expired = approval.is_due(now)
            if expired:
                _expire(unit, approval, now)  # committed, then refused below
            else:
                human = unit.humans.get(actor.id)
                if agent is None or human is None:
                    raise NotFound(
                        f"no approval {approval_id!r}", code=ErrorCode.APPROVAL_NOT_FOUND
                    )
                check_voter(approval, human, agent.owner)
                if agent.status is not AgentStatus.ACTIVE or agent.voids(approval.created_at):
                    # Never: the kill switch cancelled it in the transaction that stopped
                    # the agent. Refused all the same, rather than approved.
                    raise Conflict(
                        f"agent {agent.id!r} is {agent.status.value}; "
                        f"approval {approval_id} can no longer be decided",
                        code=ErrorCode.APPROVAL_CLOSED,
                    )
                ballot = Ballot(actor.id, vote, reason, now)
                unit.approvals.add_ballot(approval.id, ballot)
                approval = replace(approval, ballots=(*approval.ballots, ballot))
                unit.audit.append(
                    _record("voted", actor.ref, now, approval, vote=vote.value, reason=reason)
                )
                approval, refusal = self._settle(unit, approval, agent, actor, now)
        self._changed([approval.id])
        if expired:
            raise Conflict(f"approval {approval_id} has expired", code=ErrorCode.APPROVAL_EXPIRED)
        if refusal is not None:
            raise Conflict(refusal.message, code=refusal.code)
        return approval

    def _settle(
        self, unit: UnitOfWork, approval: Approval, agent: Agent, actor: Principal, now: datetime
    ) -> tuple[Approval, Refusal | None]:
        """Close the approval if its ballots decide it; issue the grant it may yield."""
        status = tally(approval.quorum, approval.ballots)
        if status is ApprovalStatus.PENDING:
            return approval, None
        grant: GrantRecord | None = None
        refusal: Refusal | None = None
        reason = "; ".join(ballot.reason for ballot in approval.ballots if ballot.vote is Vote.DENY)
        if status is ApprovalStatus.APPROVED and approval.role is not None:
            engine = self._compiled.engine
            withdrawn = (
                self._outcomes.current(unit, engine, unit.policies.state().outcomes_version)(
                    agent.id
                )
                if engine is not None and self._outcomes is not None
                else ()
            )
            grant, refusal = issue_grant(
                unit, engine, approval, approval.role, agent, now, self._ids, withdrawn
            )
            if refusal is not None:
                status, reason = ApprovalStatus.CANCELLED, refusal.message
        closed = replace(
            approval,
            status=status,
            closed_at=now,
            closed_by=actor.ref,
            closed_reason=reason or None,
            grant_id=None if grant is None else grant.id,
        )
        unit.approvals.close(
            approval.id,
            status,
            at=now,
            by=actor.ref,
            reason=reason,
            grant_id=closed.grant_id,
        )
        audit_and_publish(unit, _record(status.value, actor.ref, now, closed), ids=self._ids)
        if grant is not None:
            unit.grants.add(grant)
            audit_and_publish(unit, grant_record("issued", actor.ref, now, grant), ids=self._ids)
        elif refusal is not None:
            unit.audit.append(_record("refused", actor.ref, now, closed, code=refusal.code))
        return closed, refusal

    # Time.

    def expire_due(self) -> builtins.list[str]:
        """Close every pending approval whose time is up, and record every grant that ran
        out by time (the server's sweeper). Returns the approvals closed."""
        now = self._clock()
        expired: builtins.list[str] = []
        with self._store.write() as unit:
            for approval in unit.approvals.due(now, limit=1000):
                if _expire(unit, approval, now):
                    expired.append(approval.id)
            for grant in unit.grants.expired_unrecorded(now, limit=1000):
                if unit.grants.record_expiry(grant.id, now):
                    record = grant_record("expired", _SYSTEM, now, grant)
                    audit_and_publish(unit, record, ids=self._ids)
        self._changed(expired)
        return expired
