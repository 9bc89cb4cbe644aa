"""The evaluator: ``evaluate(request, snapshot, facts, now) -> Decision``, pure.

It reads nothing but its arguments: no clock, no store, no environment. The steps, in
order, the first that applies deciding:

1. invariants no policy can switch off (unknown, suspended or retired agent; an agent
   acting on Charter's own governance);
2. deny guardrails whose match and ``when`` hold, and any matching guardrail whose
   ``require`` does not hold;
3. permissions from standing bindings, active grants, or an approval of exactly this
   request; failing those, an eligible binding makes it ``approval_required``;
4. friction guardrails (step-up, approval) not already satisfied by an approval or grant;
5. fields: the requested ones a matching permission allows are released, the rest
   redacted (or the request denied, where a permission says ``onExcessFields: deny``);
6. allow.

A condition that fails to evaluate counts as not satisfied for permissions and
``require``, and as satisfied for guardrails: errors never allow. Every error is in the
decision's ``errors``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from charter.identity.agents import AgentStatus
from charter.policy.compiled import (
    CompiledGuardrail,
    CompiledPermission,
    Condition,
    ConditionError,
    RuleIndex,
    Snapshot,
    Variables,
)
from charter.policy.decision import (
    NO_PERMISSION,
    AgentFacts,
    ApprovalNeeded,
    Decision,
    Effect,
    Facts,
    Reason,
    Request,
)
from charter.policy.model import Activation, Binding, ExcessFields, GuardrailEffect

__all__ = ["GOVERNANCE_PREFIX", "evaluate", "request_variables"]

GOVERNANCE_PREFIX = "charter."
"""Actions on Charter itself (approving, reviewing, authoring policy): never an agent's."""


class _RequestVariables(Variables):
    """The CEL variables of one request: ``agent``, ``resource``, ``request``, ``context``,
    ``now``."""

    __slots__ = ("_agent", "_now", "_request")

    names = ("agent", "resource", "request", "context", "now")

    def __init__(self, request: Request, agent: AgentFacts, now: datetime) -> None:
        super().__init__()
        self._request, self._agent, self._now = request, agent, now

    def build(self, name: str) -> Any:
        request, agent = self._request, self._agent
        if name == "agent":
            return {
                "id": agent.id,
                "owner": agent.owner,
                "labels": dict(agent.labels),
                "riskTier": agent.risk_tier.value,
            }
        if name == "resource":
            return {"id": request.resource, "attributes": dict(request.resource_attributes)}
        if name == "request":
            return {
                "capability": request.capability.value,
                "action": request.action,
                "fields": list(request.fields),
                "derived_from_inference": False,
                "secrets": [],
            }
        if name == "context":
            return dict(request.context)
        if name == "now":
            return self._now
        raise KeyError(name)


def request_variables(request: Request, agent: AgentFacts, now: datetime) -> Variables:
    """The condition variables of ``request`` (built lazily)."""
    return _RequestVariables(request, agent, now)


def _holds(
    condition: Condition,
    variables: Variables,
    errors: list[str],
    owner: CompiledPermission | CompiledGuardrail,
    part: str,
    *,
    on_error: bool,
) -> bool:
    try:
        return condition.holds(variables)
    except ConditionError as error:
        # Named only on error: formatting the label for every evaluation costs more than
        # many conditions take to run.
        errors.append(f"{owner.label}.{part}: {error}")
        return on_error


def _deny(code: str, reason: Reason, revision: str, errors: list[str]) -> Decision:
    return Decision(
        effect=Effect.DENY,
        code=code,
        reasons=(reason,),
        errors=tuple(errors),
        policy_revision=revision,
        message=reason.message,
    )


def _activation_needed(eligible: Binding, revision: str, errors: list[str]) -> Decision:
    name = f"Binding/{eligible.name}"
    return Decision(
        effect=Effect.APPROVAL_REQUIRED,
        code="approval_required",
        reasons=(
            Reason(
                name,
                "activation",
                Effect.APPROVAL_REQUIRED,
                "an eligible binding covers this: approval activates it",
            ),
        ),
        errors=tuple(errors),
        policy_revision=revision,
        approval=ApprovalNeeded(name, eligible.approval, eligible.role),
        message="approval required",
    )


def _invariants(request: Request, facts: Facts, revision: str) -> Decision | AgentFacts:
    """The agent the request may go on with, or the invariant's deny."""
    agent = facts.agent
    if agent is None or agent.id != request.agent:
        return _deny(
            "agent_unknown",
            Reason("invariant", "known_agent", Effect.DENY, f"unknown agent {request.agent!r}"),
            revision,
            [],
        )
    if agent.status is not AgentStatus.ACTIVE:
        return _deny(
            f"agent_{agent.status.value}",
            Reason("invariant", "active_agent", Effect.DENY, f"the agent is {agent.status.value}"),
            revision,
            [],
        )
    if request.action.startswith(GOVERNANCE_PREFIX):
        return _deny(
            "agent_governance",
            Reason(
                "invariant",
                "humans_govern",
                Effect.DENY,
                "agents never approve, review or author policy",
            ),
            revision,
            [],
        )
    return agent


def evaluate(request: Request, snapshot: Snapshot, facts: Facts, now: datetime) -> Decision:
    """Decide ``request`` against ``snapshot`` given ``facts`` at ``now``."""
    revision = snapshot.revision
    agent = _invariants(request, facts, revision)
    if isinstance(agent, Decision):
        return agent
    capability, action, resource = request.capability, request.action, request.resource
    # Cheap to create: its variables are built only if a condition is evaluated.
    variables = _RequestVariables(request, agent, now)
    errors: list[str] = []

    # 2. Deny guardrails, and any guardrail's `require`.
    for guard in snapshot.deny.candidates(capability, action):
        if not guard.matches(capability, action, resource):
            continue
        if guard.when is None or _holds(
            guard.when, variables, errors, guard, "when", on_error=True
        ):
            rule = guard.guardrail
            reason = Reason(guard.label, "effect", Effect.DENY, rule.message)
            return _deny("guardrail", reason, revision, errors)
    friction = []
    for guard in snapshot.friction.candidates(capability, action):
        if not guard.matches(capability, action, resource):
            continue
        if guard.when is not None and not _holds(
            guard.when, variables, errors, guard, "when", on_error=True
        ):
            continue
        if guard.require is not None and not _holds(
            guard.require, variables, errors, guard, "require", on_error=False
        ):
            message = guard.guardrail.message or (
                f"requirement not met: {guard.require.expression}"
            )
            reason = Reason(guard.label, "require", Effect.DENY, message)
            return _deny("requirement_unmet", reason, revision, errors)
        friction.append(guard)

    # 3. Permissions.
    matched: list[tuple[CompiledPermission, str | None]] = []
    eligible: Binding | None = None
    for permission, binding in snapshot.permissions_for(agent.id, agent.labels, capability, action):
        if binding.expires_at is not None and now >= binding.expires_at:
            continue
        if binding.activation is Activation.ELIGIBLE and eligible is not None:
            continue
        if not permission.covers(action, resource):
            continue
        if permission.when is not None and not _holds(
            permission.when, variables, errors, permission, "when", on_error=False
        ):
            continue
        if binding.activation is Activation.ELIGIBLE:
            eligible = binding
        else:
            matched.append((permission, None))
    grant_used = False
    for grant in facts.grants:
        index = snapshot.roles.get(grant.role)
        if index is None or now >= grant.expires_at:
            continue
        found = _permitted(index, request, variables, errors)
        grant_used = grant_used or bool(found)
        matched.extend((p, grant.id) for p in found)
    approved = facts.approval_id is not None
    if not matched and not approved:
        if eligible is not None:
            return _activation_needed(eligible, revision, errors)
        if not errors:
            return snapshot.no_permission  # the same answer every time: built once
        return _deny("no_permission", NO_PERMISSION, revision, errors)

    # 4. Friction guardrails, unless an approval or a grant already satisfies them.
    if not (approved or grant_used):
        for guard in friction:
            rule = guard.guardrail
            name = f"Guardrail/{rule.name}"
            if rule.effect is GuardrailEffect.REQUIRE_STEP_UP:
                effect, code = Effect.STEP_UP_REQUIRED, "step_up_required"
            else:
                effect, code = Effect.APPROVAL_REQUIRED, "approval_required"
            return Decision(
                effect=effect,
                code=code,
                reasons=(Reason(name, "effect", effect, rule.message),),
                errors=tuple(errors),
                policy_revision=revision,
                approval=None
                if effect is Effect.STEP_UP_REQUIRED
                else ApprovalNeeded(name, rule.approval),
                message=rule.message or code.replace("_", " "),
            )

    # 5. Fields.
    released, redacted = _fields(request, [p for p, _ in matched], approved)
    reasons = [
        p.reason if grant is None else replace(p.reason, message=f"through grant {grant}")
        for p, grant in matched
    ]
    if approved:
        reasons.append(Reason(f"Approval/{facts.approval_id}", "approved", Effect.ALLOW))
    strict = [p for p, _ in matched if p.on_excess_fields is ExcessFields.DENY]
    # Only when every matching permission says deny: permissions add up, so a role that
    # would allow with redaction is not taken away by another role (removing a binding
    # never grants more).
    if redacted and len(strict) == len(matched):
        if eligible is not None and not approved:
            # The standing permissions refuse these fields; the eligible route is still open.
            return _activation_needed(eligible, revision, errors)
        return _deny(
            "excess_fields",
            Reason(
                f"Role/{strict[0].role}",
                f"permissions[{strict[0].index}]",
                Effect.DENY,
                f"fields not released: {', '.join(redacted)}",
            ),
            revision,
            errors,
        )

    # 6. Allow.
    return Decision(
        effect=Effect.ALLOW,
        code="allowed",
        reasons=tuple(reasons),
        errors=tuple(errors),
        released_fields=released,
        redacted_fields=redacted,
        policy_revision=revision,
    )


def _permitted(
    index: RuleIndex[CompiledPermission],
    request: Request,
    variables: Variables,
    errors: list[str],
) -> list[CompiledPermission]:
    found = []
    for permission in index.candidates(request.capability, request.action):
        if permission.capability is not request.capability:
            continue
        if not permission.covers(request.action, request.resource):
            continue
        if permission.when is None or _holds(
            permission.when, variables, errors, permission, "when", on_error=False
        ):
            found.append(permission)
    return found


def _fields(
    request: Request, matched: list[CompiledPermission], approved: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not request.fields:
        return (), ()
    if approved or any(p.fields is None for p in matched):
        return tuple(request.fields), ()
    allowed: set[str] = set()
    for permission in matched:
        allowed |= permission.fields or frozenset()
    released = tuple(f for f in request.fields if f in allowed)
    redacted = tuple(f for f in request.fields if f not in allowed)
    return released, redacted
