"""Compiling a loaded policy into the indexed ``Snapshot`` the evaluator reads.

Everything a decision can be worked out ahead of time is: globs become one test per
rule, conditions are compiled, and the answers a rule gives (an allow through one
permission, a guardrail's deny, an eligible binding's approval) are built once per
revision, so the common decision allocates nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from charter.codes import DecisionCode
from charter.policy.compiled import (
    CompiledBinding,
    CompiledGuardrail,
    CompiledPermission,
    Condition,
    RuleIndex,
    Snapshot,
    split_bindings,
)
from charter.policy.decision import NO_PERMISSION, ApprovalNeeded, Decision, Effect, Reason
from charter.policy.globs import ACTION, RESOURCE, any_of
from charter.policy.model import (
    Activation,
    Binding,
    Capability,
    Guardrail,
    GuardrailEffect,
    Policy,
    Role,
)

__all__ = ["ConditionCompiler", "compile_policy"]

ConditionCompiler = Callable[[str], Condition]
"""Turns a CEL expression into a ready ``Condition`` (raising on a bad expression)."""


def _deny(code: DecisionCode, reason: Reason, revision: str) -> Decision:
    return Decision(
        effect=Effect.DENY,
        code=code,
        reasons=(reason,),
        policy_revision=revision,
        message=reason.message,
    )


def _role_index(
    role: Role, conditions: ConditionCompiler, revision: str
) -> RuleIndex[CompiledPermission]:
    index: RuleIndex[CompiledPermission] = RuleIndex()
    for number, permission in enumerate(role.permissions):
        resources = tuple(RESOURCE.compile(pattern) for pattern in permission.resources or ("**",))
        reason = Reason(f"Role/{role.name}", f"permissions[{number}]", Effect.ALLOW)
        compiled = CompiledPermission(
            role=role.name,
            index=number,
            permission=permission,
            actions=tuple(ACTION.compile(pattern) for pattern in permission.actions),
            resources=resources,
            fields=None if permission.fields is None else frozenset(permission.fields),
            when=conditions(permission.when) if permission.when else None,
            reason=reason,
            allow=Decision(
                effect=Effect.ALLOW,
                code=DecisionCode.ALLOWED,
                reasons=(reason,),
                policy_revision=revision,
            ),
            covers_resource=any_of(resources),
        )
        index.add((permission.capability,), compiled)
    return index


def _activation(binding: Binding, revision: str) -> Decision | None:
    if binding.activation is not Activation.ELIGIBLE:
        return None
    name = f"Binding/{binding.name}"
    return Decision(
        effect=Effect.APPROVAL_REQUIRED,
        code=DecisionCode.APPROVAL_REQUIRED,
        reasons=(
            Reason(
                name,
                "activation",
                Effect.APPROVAL_REQUIRED,
                "an eligible binding covers this: approval activates it",
            ),
        ),
        policy_revision=revision,
        approval=ApprovalNeeded(name, binding.approval, binding.role, binding.max_duration),
        message="approval required",
    )


def _every_resource(resource: str) -> bool:
    # A match that names no resources covers every string, even one no glob could match.
    return True


def _folding_case(covers: Callable[[str], bool]) -> Callable[[str], bool]:
    """``covers`` (of lowercased patterns) applied to the lowercased resource."""

    def covers_any_case(resource: str) -> bool:
        return covers(resource.lower())

    return covers_any_case


def _guardrail(
    guardrail: Guardrail, conditions: ConditionCompiler, revision: str
) -> CompiledGuardrail:
    match = guardrail.match
    name = f"Guardrail/{guardrail.name}"
    resources = tuple(RESOURCE.compile(pattern) for pattern in match.resources)
    if guardrail.effect is GuardrailEffect.DENY:
        outcome = _deny(
            DecisionCode.GUARDRAIL, Reason(name, "effect", Effect.DENY, guardrail.message), revision
        )
    else:
        if guardrail.effect is GuardrailEffect.REQUIRE_STEP_UP:
            # Confirmed by the human the agent acts for; only the expiry of the spec counts.
            effect, code = Effect.STEP_UP_REQUIRED, DecisionCode.STEP_UP_REQUIRED
        else:
            effect, code = Effect.APPROVAL_REQUIRED, DecisionCode.APPROVAL_REQUIRED
        approval = ApprovalNeeded(name, guardrail.approval)
        outcome = Decision(
            effect=effect,
            code=code,
            reasons=(Reason(name, "effect", effect, guardrail.message),),
            policy_revision=revision,
            approval=approval,
            message=guardrail.message or code.replace("_", " "),
        )
    unmet = guardrail.message or f"requirement not met: {guardrail.require}"
    return CompiledGuardrail(
        guardrail=guardrail,
        capabilities=frozenset(match.capabilities),
        actions=tuple(ACTION.compile(pattern) for pattern in match.actions),
        resources=resources,
        when=conditions(guardrail.when) if guardrail.when else None,
        require=conditions(guardrail.require) if guardrail.require else None,
        outcome=outcome,
        unmet=_deny(
            DecisionCode.REQUIREMENT_UNMET, Reason(name, "require", Effect.DENY, unmet), revision
        ),
        # A guardrail restricts: it matches a resource whatever its case, so that a system
        # downstream that ignores case is never reached by a spelling the guard missed.
        covers_resource=(
            _folding_case(any_of([RESOURCE.compile(p.lower()) for p in match.resources]))
            if resources
            else _every_resource
        ),
    )


def compile_policy(policy: Policy, *, revision: str, conditions: ConditionCompiler) -> Snapshot:
    """Index ``policy`` for evaluation. The policy must already be valid."""
    roles = {role.name: _role_index(role, conditions, revision) for role in policy.roles}
    by_agent: dict[str, list[CompiledBinding]] = {}
    by_selector: list[tuple[frozenset[tuple[str, str]], CompiledBinding]] = []
    for binding in policy.bindings:
        compiled = CompiledBinding(
            binding,
            roles[binding.role],
            _activation(binding, revision),
            binding.expires_at,
            binding.role,
        )
        for agent in binding.agents:
            by_agent.setdefault(agent, []).append(compiled)
        if binding.selector is not None:
            by_selector.append((frozenset(binding.selector.items()), compiled))
    deny: RuleIndex[CompiledGuardrail] = RuleIndex()
    friction: RuleIndex[CompiledGuardrail] = RuleIndex()
    for guardrail in policy.guardrails:
        capabilities: tuple[Capability | None, ...] = tuple(guardrail.match.capabilities) or (None,)
        target = deny if guardrail.effect is GuardrailEffect.DENY else friction
        target.add(capabilities, _guardrail(guardrail, conditions, revision))
    split = {agent: split_bindings(tuple(bindings)) for agent, bindings in by_agent.items()}
    # Which roles an action can concern, read off the roles' own indexes.
    exact_roles: dict[tuple[Capability, str], list[str]] = {}
    for name, index in roles.items():
        for capability, action in index.exact:
            if capability is not None:  # a permission always has a capability
                exact_roles.setdefault((capability, action), []).append(name)
    return Snapshot(
        revision=revision,
        roles=roles,
        by_agent={agent: tuple(bindings) for agent, bindings in by_agent.items()},
        standing_roles={agent: standing for agent, (standing, _) in split.items()},
        other_bindings={agent: other for agent, (_, other) in split.items() if other},
        by_selector=tuple(by_selector),
        deny=deny,
        friction=friction,
        no_permission=_deny(DecisionCode.NO_PERMISSION, NO_PERMISSION, revision),
        exact_roles={key: tuple(names) for key, names in exact_roles.items()},
        wildcard_roles=tuple(name for name, index in roles.items() if index.wildcard),
    )
