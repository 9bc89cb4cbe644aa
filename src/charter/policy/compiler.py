"""Compiling a loaded policy into the indexed ``Snapshot`` the evaluator reads."""

from __future__ import annotations

from collections.abc import Callable

from charter.policy.compiled import (
    CompiledBinding,
    CompiledGuardrail,
    CompiledPermission,
    Condition,
    RuleIndex,
    Snapshot,
)
from charter.policy.decision import NO_PERMISSION, Decision, Effect, Reason
from charter.policy.globs import ACTION, RESOURCE
from charter.policy.model import Capability, GuardrailEffect, Policy, Role

__all__ = ["ConditionCompiler", "compile_policy"]

ConditionCompiler = Callable[[str], Condition]
"""Turns a CEL expression into a ready ``Condition`` (raising on a bad expression)."""


def _role_index(role: Role, conditions: ConditionCompiler) -> RuleIndex[CompiledPermission]:
    index: RuleIndex[CompiledPermission] = RuleIndex()
    for number, permission in enumerate(role.permissions):
        compiled = CompiledPermission(
            role=role.name,
            index=number,
            permission=permission,
            actions=tuple(ACTION.compile(pattern) for pattern in permission.actions),
            resources=tuple(
                RESOURCE.compile(pattern) for pattern in permission.resources or ("**",)
            ),
            fields=None if permission.fields is None else frozenset(permission.fields),
            when=conditions(permission.when) if permission.when else None,
            reason=Reason(f"Role/{role.name}", f"permissions[{number}]", Effect.ALLOW),
        )
        index.add((permission.capability,), compiled)
    return index


def compile_policy(policy: Policy, *, revision: str, conditions: ConditionCompiler) -> Snapshot:
    """Index ``policy`` for evaluation. The policy must already be valid."""
    roles = {role.name: _role_index(role, conditions) for role in policy.roles}
    by_agent: dict[str, list[CompiledBinding]] = {}
    by_selector: list[tuple[frozenset[tuple[str, str]], CompiledBinding]] = []
    for binding in policy.bindings:
        compiled = CompiledBinding(binding, roles[binding.role])
        for agent in binding.agents:
            by_agent.setdefault(agent, []).append(compiled)
        if binding.selector is not None:
            by_selector.append((frozenset(binding.selector.items()), compiled))
    deny: RuleIndex[CompiledGuardrail] = RuleIndex()
    friction: RuleIndex[CompiledGuardrail] = RuleIndex()
    for guardrail in policy.guardrails:
        match = guardrail.match
        compiled_guardrail = CompiledGuardrail(
            guardrail=guardrail,
            capabilities=frozenset(match.capabilities),
            actions=tuple(ACTION.compile(pattern) for pattern in match.actions),
            resources=tuple(RESOURCE.compile(pattern) for pattern in match.resources),
            when=conditions(guardrail.when) if guardrail.when else None,
            require=conditions(guardrail.require) if guardrail.require else None,
        )
        capabilities: tuple[Capability | None, ...] = tuple(match.capabilities) or (None,)
        target = deny if guardrail.effect is GuardrailEffect.DENY else friction
        target.add(capabilities, compiled_guardrail)
    return Snapshot(
        revision=revision,
        roles=roles,
        by_agent={agent: tuple(bindings) for agent, bindings in by_agent.items()},
        by_selector=tuple(by_selector),
        deny=deny,
        friction=friction,
        no_permission=Decision(
            effect=Effect.DENY,
            code="no_permission",
            reasons=(NO_PERMISSION,),
            policy_revision=revision,
            message=NO_PERMISSION.message,
        ),
    )
