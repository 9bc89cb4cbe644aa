"""Agent use cases: register, update, the lifecycle (the kill switch), reads."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from charter.audit.records import AuditEntry
from charter.clock import Clock, format_time
from charter.codes import ErrorCode
from charter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from charter.identity.agents import Agent, AgentStatus, LifecycleAction, RiskTier, next_status
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import HumanRole
from charter.identity.names import check_agent_id, check_human_id, check_labels
from charter.identity.principals import Principal
from charter.service.access import (
    can_read_agent,
    require_human,
    require_owner_or_roles,
    require_roles,
)
from charter.service.approvals import withdraw_for_agent
from charter.service.tokens import revoke_former_owners_tokens
from charter.service.webhooks import audit_and_publish
from charter.storage.ports import Store, UnitOfWork

__all__ = [
    "AgentChanges",
    "AgentService",
    "agent_snapshot",
    "apply_transition",
    "record_registration",
    "record_update",
    "require_active_owner",
]

_EVENTS = {
    LifecycleAction.SUSPEND: "agent.suspended",
    LifecycleAction.REINSTATE: "agent.reinstated",
    LifecycleAction.RETIRE: "agent.retired",
}


@dataclass(frozen=True, slots=True)
class AgentChanges:
    """Fields to change on an agent; ``None`` leaves a field as it is."""

    display_name: str | None = None
    owner: str | None = None
    purpose: str | None = None
    risk_tier: RiskTier | None = None
    labels: Mapping[str, str] | None = None
    recertify_by: datetime | None = None


def agent_snapshot(agent: Agent) -> dict[str, Any]:
    """The agent's governed attributes as recorded in the audit log."""
    return {
        "display_name": agent.display_name,
        "owner": agent.owner,
        "purpose": agent.purpose,
        "risk_tier": agent.risk_tier.value,
        "status": agent.status.value,
        "labels": dict(agent.labels),
        "recertify_by": None if agent.recertify_by is None else format_time(agent.recertify_by),
    }


def require_active_owner(unit: UnitOfWork, owner: str) -> None:
    check_human_id(owner)
    # Locked, so the owner cannot be deactivated while this agent is given to them.
    human = unit.humans.get(owner, for_update=True)
    if human is None:
        raise InvalidInput(
            f"owner {owner!r} is not a known human",
            code=ErrorCode.UNKNOWN_OWNER,
            help="add the human first: charter humans add",
        )
    if not human.active:
        raise Conflict(f"owner {owner!r} is deactivated", code=ErrorCode.OWNER_INACTIVE)


def _may_lift(actor: Principal, agent: Agent) -> None:
    """An owner reinstates only an agent they suspended themselves; an admin any."""
    if actor.has_any(HumanRole.ADMIN) or (
        agent.suspended_by is not None and agent.suspended_by == actor.ref
    ):
        return
    by = agent.suspended_by or "someone else"
    raise PermissionDenied(
        f"{actor.ref} may not reinstate agent {agent.id!r}: it was suspended by {by}",
        code=ErrorCode.REINSTATE_NEEDS_ADMIN,
        help="an owner lifts only a suspension they made; ask an admin",
    )


def record_registration(unit: UnitOfWork, actor: Principal, agent: Agent) -> None:
    """Store a new agent and its ``agent.registered`` record, in the caller's transaction."""
    unit.agents.add(agent)
    unit.audit.append(
        AuditEntry(
            type="agent.registered",
            actor=actor.ref,
            at=agent.created_at,
            agent=agent.id,
            subject=agent.ref,
            data=agent_snapshot(agent),
        )
    )


def record_update(
    unit: UnitOfWork, actor: Principal, before: Agent, after: Agent, **note: Any
) -> bool:
    """Save a changed agent with ``agent.updated`` (and ``agent.owner_changed``) records.
    A new owner takes the agent without the tokens the former owner minted for it: those
    are revoked, and listed in the ``agent.owner_changed`` record.

    Returns False, writing nothing, when nothing changed.
    """
    old, new = agent_snapshot(before), agent_snapshot(after)
    diff = {key: [old[key], new[key]] for key in new if old[key] != new[key]}
    if not diff:
        return False
    unit.agents.save(after)
    unit.audit.append(
        AuditEntry(
            type="agent.updated",
            actor=actor.ref,
            at=after.updated_at,
            agent=after.id,
            subject=after.ref,
            data={"changes": diff, **note},
        )
    )
    if after.owner != before.owner:
        revoked = revoke_former_owners_tokens(
            unit, after.id, before.owner, at=after.updated_at, by=actor.ref
        )
        unit.audit.append(
            AuditEntry(
                type="agent.owner_changed",
                actor=actor.ref,
                at=after.updated_at,
                agent=after.id,
                subject=after.ref,
                data={"from": before.owner, "to": after.owner, "revoked_tokens": revoked},
            )
        )
    return True


def apply_transition(
    unit: UnitOfWork,
    actor: Principal,
    agent: Agent,
    action: LifecycleAction,
    *,
    reason: str,
    now: datetime,
) -> tuple[Agent, list[str]]:
    """Suspend, reinstate or retire ``agent`` (locked in ``unit``) as ``AgentService.transition``
    does, once the caller has checked that ``actor`` may: the kill switch itself, shared
    with the access reviews that retire or suspend an agent. Returns the agent as moved
    and the revoked token ids."""
    moved = agent.with_status(next_status(agent.status, action), now, by=actor.ref)
    if action is LifecycleAction.REINSTATE:
        _may_lift(actor, agent)
        # An agent goes back to work only with someone accountable for it.
        require_active_owner(unit, agent.owner)
    unit.agents.save(moved)
    revoked: builtins.list[str] = []
    if moved.status is AgentStatus.RETIRED:
        revoked = unit.credentials.revoke_all_for(
            PrincipalKind.AGENT, agent.id, at=now, by=actor.ref
        )
    cancelled: builtins.list[str] = []
    ended: builtins.list[str] = []
    if moved.status is not AgentStatus.ACTIVE:
        # The kill switch: nothing the agent waits on or holds outlives it.
        cancelled, ended = withdraw_for_agent(
            unit, agent.id, now=now, by=actor.ref, reason=f"agent {moved.status.value}"
        )
    # Suspensions and retirements are webhook events too.
    audit_and_publish(
        unit,
        AuditEntry(
            type=_EVENTS[action],
            actor=actor.ref,
            at=now,
            agent=agent.id,
            subject=agent.ref,
            data={
                "from": agent.status.value,
                "to": moved.status.value,
                "reason": reason,
                "revoked_tokens": revoked,
                "cancelled_approvals": cancelled,
                "revoked_grants": ended,
            },
        ),
    )
    return moved, revoked


class AgentService:
    """Registers agents and moves them through their lifecycle."""

    def __init__(self, store: Store, clock: Clock, *, recertify_after: timedelta) -> None:
        self._store = store
        self._clock = clock
        self._recertify_after = recertify_after

    def register(
        self,
        actor: Principal,
        *,
        agent_id: str,
        display_name: str | None,
        owner: str,
        purpose: str,
        risk_tier: RiskTier,
        labels: Mapping[str, str] | None = None,
        recertify_by: datetime | None = None,
    ) -> Agent:
        """Register a new, active agent owned by an existing, active human."""
        require_roles(actor, "register agents", HumanRole.ADMIN)
        check_agent_id(agent_id)
        now = self._clock()
        agent = Agent(
            id=agent_id,
            display_name=display_name or agent_id,
            owner=owner,
            purpose=purpose,
            risk_tier=risk_tier,
            status=AgentStatus.ACTIVE,
            labels=check_labels(labels or {}),
            created_at=now,
            updated_at=now,
            recertify_by=recertify_by or now + self._recertify_after,
        )
        with self._store.write() as unit:
            require_active_owner(unit, owner)
            record_registration(unit, actor, agent)
        return agent

    def get(self, actor: Principal, agent_id: str) -> Agent:
        """Read one agent: admins, auditors and its owner."""
        with self._store.read() as unit:
            agent = unit.agents.get(agent_id)
        if agent is None or not can_read_agent(actor, agent):
            # Non-readers learn nothing about which agents exist.
            require_roles(actor, "read agents", HumanRole.ADMIN, HumanRole.AUDITOR)
            raise NotFound(f"no agent {agent_id!r}", code=ErrorCode.AGENT_NOT_FOUND)
        return agent

    def list(
        self,
        actor: Principal,
        *,
        owner: str | None = None,
        status: AgentStatus | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Agent]:
        """List agents: admins and auditors see all, other humans the ones they own."""
        if not actor.has_any(HumanRole.ADMIN, HumanRole.AUDITOR):
            require_human(actor, "list agents")
            owner = actor.id
        with self._store.read() as unit:
            return unit.agents.list(owner=owner, status=status, after=after, limit=limit)

    def update(self, actor: Principal, agent_id: str, changes: AgentChanges) -> Agent:
        """Change an agent's attributes; an owner change is recorded on its own too."""
        require_roles(actor, "update agents", HumanRole.ADMIN)
        now = self._clock()
        with self._store.write() as unit:
            agent = self._locked(unit, agent_id)
            if agent.status is AgentStatus.RETIRED:
                raise Conflict(f"agent {agent_id!r} is retired", code=ErrorCode.AGENT_RETIRED)
            updated = replace(
                agent,
                display_name=changes.display_name or agent.display_name,
                owner=changes.owner or agent.owner,
                purpose=changes.purpose if changes.purpose is not None else agent.purpose,
                risk_tier=changes.risk_tier or agent.risk_tier,
                labels=check_labels(changes.labels) if changes.labels is not None else agent.labels,
                recertify_by=changes.recertify_by or agent.recertify_by,
                updated_at=now,
            )
            if updated.owner != agent.owner:
                require_active_owner(unit, updated.owner)
            if not record_update(unit, actor, agent, updated):
                return agent
        return updated

    def transition(
        self, actor: Principal, agent_id: str, action: LifecycleAction, *, reason: str = ""
    ) -> tuple[Agent, builtins.list[str]]:
        """Suspend, reinstate or retire, in one transaction. Suspending or retiring cancels
        the agent's pending approvals and its approved ones not yet used, revokes its
        grants and notes the time (nothing from before it is ever usable again); retiring
        also revokes every token (a suspended agent's tokens are refused while it is
        suspended). An owner lifts only a suspension they made; others need an admin.
        Returns the revoked token ids."""
        now = self._clock()
        what = f"{action.value} agents"
        with self._store.write() as unit:
            agent = unit.agents.get(agent_id, for_update=True)
            if agent is None:
                # As with reads, non-admins learn nothing about which agents exist.
                require_roles(actor, what, HumanRole.ADMIN)
                raise NotFound(f"no agent {agent_id!r}", code=ErrorCode.AGENT_NOT_FOUND)
            require_owner_or_roles(actor, agent, what, HumanRole.ADMIN)
            moved, revoked = apply_transition(unit, actor, agent, action, reason=reason, now=now)
        return moved, revoked

    @staticmethod
    def _locked(unit: UnitOfWork, agent_id: str) -> Agent:
        agent = unit.agents.get(agent_id, for_update=True)
        if agent is None:
            raise NotFound(f"no agent {agent_id!r}", code=ErrorCode.AGENT_NOT_FOUND)
        return agent
