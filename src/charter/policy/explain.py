"""A readable account of a decision: what was asked, what decided it, what was withheld."""

from __future__ import annotations

from datetime import datetime

from charter.policy.compiled import Condition, ConditionError, Snapshot, Variables
from charter.policy.decision import Decision, Effect, Facts, Request
from charter.policy.evaluate import request_variables
from charter.policy.provenance import provenance

__all__ = ["explain", "trace"]


def _outcome(condition: Condition | None, variables: Variables) -> str:
    if condition is None:
        return "no condition"
    try:
        held = condition.holds(variables)
    except ConditionError as error:
        return f"`{condition.expression}` failed: {error}"
    return f"`{condition.expression}` {'held' if held else 'did not hold'}"


def trace(request: Request, snapshot: Snapshot, facts: Facts, now: datetime) -> list[str]:
    """Every rule that could apply to ``request`` and how its conditions came out.

    A separate, slower walk over the same compiled policy: the evaluator itself keeps
    no trace, so deciding stays fast.
    """
    lines: list[str] = []
    agent = facts.agent
    if agent is None or agent.id != request.agent:
        return ["  the agent is not known to the registry"]
    traced = provenance(agent.id, request.context, facts, now)
    variables = request_variables(request, agent, now, traced.advisories)
    capability, action, resource = request.capability, request.action, request.resource
    for index in (snapshot.deny, snapshot.friction):
        for guard in index.candidates(capability, action):
            if not guard.matches(capability, action, resource):
                continue
            rule = guard.guardrail
            lines.append(
                f"  Guardrail/{rule.name} ({rule.effect.value}) matches; when: "
                f"{_outcome(guard.when, variables)}"
                + (f"; require: {_outcome(guard.require, variables)}" if guard.require else "")
            )
    for binding in snapshot.bindings_for(agent.id, agent.labels):
        spec = binding.binding
        expired = spec.expires_at is not None and now >= spec.expires_at
        for permission in binding.permissions.candidates(capability, action):
            if permission.capability is not capability:
                continue
            if not permission.covers(action, resource):
                continue
            state = "expired" if expired else spec.activation.value
            lines.append(
                f"  Binding/{spec.name} ({state}) gives Role/{permission.role} "
                f"permissions[{permission.index}]; when: {_outcome(permission.when, variables)}"
            )
    for outcome in facts.withdrawn:
        withdrawal = outcome.withdrawal
        lines.append(
            f"  Binding/{withdrawal.binding} {withdrawal.kind.value} by Review/"
            f"{withdrawal.campaign} items/{withdrawal.item}"
        )
    for grant in facts.grants:
        live = "active" if now < grant.expires_at else "expired"
        lines.append(f"  grant {grant.id} ({live}) activates Role/{grant.role}")
    if not lines:
        lines.append("  no guardrail, binding or grant covers this request")
    return lines


def explain(request: Request, decision: Decision, considered: list[str] | None = None) -> str:
    """Explain ``decision`` for ``request`` in plain text (with ``trace`` lines, if given)."""
    lines = [
        f"{decision.effect.value.upper()} [{decision.code}]: {request.agent} "
        f"{request.capability.value} {request.action} on {request.resource}",
    ]
    for reason in decision.reasons:
        note = f" - {reason.message}" if reason.message else ""
        lines.append(f"  because {reason.policy} {reason.rule} ({reason.effect.value}){note}")
    if decision.effect is Effect.STEP_UP_REQUIRED and decision.approval is not None:
        lines.append(
            "  step-up: confirmed by the human in context.on_behalf_of (open for "
            f"{decision.approval.spec.expires_in})"
        )
    elif decision.approval is not None:
        spec = decision.approval.spec
        grants = f", granting role {decision.approval.role}" if decision.approval.role else ""
        lines.append(
            f"  approval by {', '.join(spec.approvers)} (quorum {spec.quorum}, open for "
            f"{spec.expires_in}){grants}"
        )
    if decision.released_fields:
        lines.append(f"  released fields: {', '.join(decision.released_fields)}")
    if decision.redacted_fields:
        lines.append(f"  redacted fields: {', '.join(decision.redacted_fields)}")
    for error in decision.errors:
        lines.append(f"  condition error (failed closed): {error}")
    if considered:
        lines.append("  considered:")
        lines.extend(f"  {line}" for line in considered)
    lines.append(f"  policy revision {decision.policy_revision}")
    return "\n".join(lines)
