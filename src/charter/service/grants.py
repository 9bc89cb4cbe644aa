"""JIT grants: issued by an approved eligible binding (checked once more first), listed,
revoked early, and expired by time."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from charter.approvals.grants import GrantRecord, GrantStatus, grant_duration
from charter.approvals.model import Approval
from charter.audit.records import AuditEntry
from charter.clock import Clock, format_time
from charter.codes import ErrorCode
from charter.errors import Conflict, NotFound, PermissionDenied
from charter.identity.agents import Agent
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.ids import IdFactory
from charter.policy.compiled import CompiledWithdrawal, whole_role
from charter.policy.decision import WithdrawalKind
from charter.policy.engine import Engine
from charter.policy.evaluate import evaluate
from charter.policy.model import Activation
from charter.policy.provenance import cited
from charter.policy.separation import conflict_among
from charter.service.access import require_human
from charter.service.facts import facts_for, stored_request
from charter.storage.ports import Store, UnitOfWork

__all__ = ["GrantService", "Refusal", "grant_json", "grant_record", "issue_grant"]

_EVENTS = {
    "issued": "grant.issued",
    "revoked": "grant.revoked",
    "expired": "grant.expired",
}
_READERS = (HumanRole.ADMIN, HumanRole.AUDITOR)


def grant_json(grant: GrantRecord, now: datetime) -> dict[str, Any]:
    """The grant as the API, audit records and webhooks show it."""
    return {
        "id": grant.id,
        "agent": grant.agent,
        "role": grant.role,
        "policy": grant.policy,
        "approval": grant.approval_id,
        "issued_at": format_time(grant.issued_at),
        "expires_at": format_time(grant.expires_at),
        "revoked_at": None if grant.revoked_at is None else format_time(grant.revoked_at),
        "revoked_by": grant.revoked_by,
        "revoke_reason": grant.revoke_reason,
        "status": grant.status(now).value,
    }


def grant_record(
    event: str, actor: str, at: datetime, grant: GrantRecord, **data: Any
) -> AuditEntry:
    """The audit record of a grant's ``event`` (issued, revoked, expired)."""
    return AuditEntry(
        type=_EVENTS[event],
        actor=actor,
        at=at,
        agent=grant.agent,
        subject=grant.id,
        data={"grant": grant_json(grant, at), **data},
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an approved eligible binding yields no grant."""

    code: ErrorCode
    message: str


def issue_grant(
    unit: UnitOfWork,
    engine: Engine | None,
    approval: Approval,
    role: str,
    agent: Agent,
    now: datetime,
    ids: IdFactory,
    withdrawn: tuple[CompiledWithdrawal, ...] = (),
) -> tuple[GrantRecord | None, Refusal | None]:
    """The grant of ``role`` an approved eligible binding yields, checked once more: the
    stored request must still be allowed with it, and no separation of duty may break.
    The caller stores it (or records the refusal).

    ``withdrawn``: the agent's review outcomes in force. A binding revoked by a review
    since the approval was opened yields nothing; one reduced yields only the narrower
    role, however broad the role the approval was opened for."""
    if engine is None:
        return None, Refusal(ErrorCode.NO_POLICY, "no policy is loaded; no grant is issued")
    reviewed = False  # a review outcome in force stands for the binding (make_eligible)
    for outcome in withdrawn:
        if f"Binding/{outcome.withdrawal.binding}" != approval.policy:
            continue
        reviewed = True
        replacement = outcome.replacement
        if replacement is None or outcome.revision != engine.revision:
            return None, Refusal(
                ErrorCode.GRANT_REFUSED,
                f"the grant of role {role!r} is refused: {outcome.reason.message}",
            )
        if outcome.withdrawal.kind is WithdrawalKind.REDUCE:
            role = replacement.role
    # The binding as the active policy has it now: still there, still eligible, still
    # giving this role to this agent, and its maxDuration (if lowered since) the cap.
    name = approval.policy.removeprefix("Binding/")
    binding = next((b for b in engine.policy.bindings if b.name == name), None)
    if (
        binding is None
        or not (reviewed or binding.activation is Activation.ELIGIBLE)
        or binding.role != whole_role(role)
        or not binding.gives_to(agent.id, agent.labels)
        or (binding.expires_at is not None and now >= binding.expires_at)
    ):
        return None, Refusal(
            ErrorCode.GRANT_REFUSED,
            f"the grant of role {role!r} is refused: the active policy no longer makes "
            f"{agent.id} eligible for it through {approval.policy}",
        )
    context = approval.request.get("context")
    asked = context.get("duration") if isinstance(context, dict) else None
    caps = [cap for cap in (approval.max_duration, binding.max_duration) if cap is not None]
    duration = grant_duration(min(caps, default=None), asked)
    grant = GrantRecord(
        id=ids("grt"),
        agent=agent.id,
        role=role,
        policy=approval.policy,
        approval_id=approval.id,
        issued_at=now,
        expires_at=now + duration,
    )
    held = unit.grants.active_for(agent.id, now)
    standing = {
        binding.role
        for binding in engine.snapshot.bindings_for(agent.id, agent.labels)
        if binding.activation is None and (binding.expires_at is None or now < binding.expires_at)
    }
    # A narrower role counts as the role it narrows.
    roles = {whole_role(name) for name in standing | {g.role for g in held} | {role}}
    conflict = conflict_among(engine.policy, roles)
    if conflict is not None:
        return None, Refusal(
            ErrorCode.SEPARATION_OF_DUTY,
            f"the grant of role {role!r} is refused: {conflict.describe()}",
        )
    request = stored_request(dict(approval.request))
    # The inferences it cites were checked when it was made; they still count, however
    # long the approval took.
    citations = cited(request.context) or ()
    facts = facts_for(
        agent,
        [*held, grant],
        advisories=unit.advisories.get_many(citations) if citations else (),
        advisory_max_age=timedelta.max,
        withdrawn=withdrawn,
    )
    decision = evaluate(request, engine.snapshot, facts, now)
    if not decision.allowed:
        return None, Refusal(
            ErrorCode.GRANT_REFUSED,
            f"the grant of role {role!r} is refused on re-check: "
            f"{decision.message or decision.code}",
        )
    return grant, None


class GrantService:
    """Reading and revoking grants."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store, self._clock = store, clock

    def list(
        self,
        actor: Principal,
        *,
        agent: str | None = None,
        status: GrantStatus | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> builtins.list[GrantRecord]:
        """Grants, ordered by id: admins and auditors see all, an owner their agents'."""
        require_human(actor, "read grants")
        now = self._clock()
        found: builtins.list[GrantRecord] = []
        with self._store.read() as unit:
            while len(found) < limit:
                page = unit.grants.list(
                    agent=agent, status=status, now=now, after=after, limit=limit
                )
                for grant in page:
                    owner = unit.agents.get(grant.agent)
                    if actor.has_any(*_READERS) or (owner is not None and owner.owner == actor.id):
                        found.append(grant)
                if len(page) < limit:
                    break
                after = page[-1].id
        return found[:limit]

    def revoke(self, actor: Principal, grant_id: str, reason: str) -> GrantRecord:
        """Revoke a grant before it expires: admins, or the agent's owner."""
        require_human(actor, "revoke grants")
        now = self._clock()
        with self._store.write() as unit:
            grant = unit.grants.get(grant_id)
            agent = None if grant is None else unit.agents.get(grant.agent)
            may = actor.has_any(HumanRole.ADMIN) or (agent is not None and agent.owner == actor.id)
            if grant is None or not (may or actor.has_any(HumanRole.AUDITOR)):
                raise NotFound(f"no grant {grant_id!r}", code=ErrorCode.GRANT_NOT_FOUND)
            if not may:
                raise PermissionDenied(
                    f"{actor.ref} may not revoke grants", code=ErrorCode.FORBIDDEN
                )
            if not unit.grants.revoke(grant.id, at=now, by=actor.ref, reason=reason):
                raise Conflict(f"grant {grant_id} is already revoked", code=ErrorCode.GRANT_REVOKED)
            grant = replace(grant, revoked_at=now, revoked_by=actor.ref, revoke_reason=reason)
            unit.audit.append(grant_record("revoked", actor.ref, now, grant, reason=reason))
        return grant
