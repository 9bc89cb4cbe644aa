"""Compiling a loaded policy into the indexed ``Snapshot`` the evaluator reads.

Everything a decision can be worked out ahead of time is: globs become one test per
rule, conditions are compiled, and the answers a rule gives (an allow through one
permission, a guardrail's deny, an eligible binding's approval) are built once per
revision, so the common decision allocates nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from charter.codes import DecisionCode
from charter.errors import InvalidInput
from charter.policy.canonical import learn
from charter.policy.compiled import (
    CompiledBinding,
    CompiledGuardrail,
    CompiledPermission,
    CompiledWithdrawal,
    Condition,
    RuleIndex,
    Snapshot,
    narrowed_role,
    split_bindings,
)
from charter.policy.decision import (
    NO_PERMISSION,
    ApprovalNeeded,
    Decision,
    Effect,
    Reason,
    Withdrawal,
    WithdrawalKind,
)
from charter.policy.globs import ACTION, RESOURCE, any_of
from charter.policy.model import (
    Activation,
    ApprovalSpec,
    Binding,
    Capability,
    Guardrail,
    GuardrailEffect,
    Policy,
    Role,
)

__all__ = ["ConditionCompiler", "compile_policy", "compile_withdrawals"]

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
    role: Role, conditions: ConditionCompiler, revision: str, note: str = ""
) -> RuleIndex[CompiledPermission]:
    index: RuleIndex[CompiledPermission] = RuleIndex()
    for number, permission in enumerate(role.permissions):
        resources = tuple(RESOURCE.compile(pattern) for pattern in permission.resources or ("**",))
        reason = Reason(f"Role/{role.name}", f"permissions[{number}]", Effect.ALLOW, note)
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
            resource_names=(
                frozenset(glob.pattern for glob in resources)
                if all(glob.literal for glob in resources)
                else None
            ),
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
    # Each role's name as one string object, shared by every binding of it and by the
    # indexes keyed by it: a decision then finds its roles by identity, reading no
    # string of its own per binding (with many agents, each would be a cache miss).
    names = {name: name for name in roles}
    by_agent: dict[str, list[CompiledBinding]] = {}
    by_selector: list[tuple[frozenset[tuple[str, str]], CompiledBinding]] = []
    for binding in policy.bindings:
        compiled = CompiledBinding(
            binding,
            roles[binding.role],
            _activation(binding, revision),
            binding.expires_at,
            names[binding.role],
        )
        for agent in binding.agents:
            if agent not in binding.exclude_agents:
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
    # The names requests will carry, checked for canonical form once, here.
    permissions = [
        permission
        for index in roles.values()
        for rules in (*index.exact.values(), *index.wildcard.values())
        for permission in rules
    ]
    learn(
        (*by_agent, *(agent.name for agent in policy.agents)),
        {glob.pattern for p in permissions for glob in p.actions if glob.literal},
        {glob.pattern for p in permissions for glob in p.resources if glob.literal},
    )
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


def _bindings_by_name(snapshot: Snapshot) -> dict[str, CompiledBinding]:
    found: dict[str, CompiledBinding] = {}
    for bindings in snapshot.by_agent.values():
        for binding in bindings:
            found.setdefault(binding.binding.name, binding)
    for _wanted, binding in snapshot.by_selector:
        found.setdefault(binding.binding.name, binding)
    return found


def _reused(snapshot: Snapshot, role: str, conditions: ConditionCompiler) -> ConditionCompiler:
    """``conditions``, but answering with the original role's compiled conditions where
    the narrower role keeps them (it always should): their remembered outcomes stay."""
    known: dict[str, Condition] = {}
    index = snapshot.roles.get(role)
    if index is not None:
        for rules in (*index.exact.values(), *index.wildcard.values()):
            for permission in rules:
                if permission.when is not None:
                    known[permission.when.expression] = permission.when

    def compile_condition(expression: str) -> Condition:
        found = known.get(expression)
        return found if found is not None else conditions(expression)

    return compile_condition


def _withdrawal(
    snapshot: Snapshot,
    agent: str,
    withdrawal: Withdrawal,
    original: CompiledBinding,
    conditions: ConditionCompiler,
) -> CompiledWithdrawal:
    revision = snapshot.revision
    spec = original.binding
    name, kind, item = spec.name, withdrawal.kind, withdrawal.item
    source = f"Review/{withdrawal.campaign}", f"items/{item}"
    if kind is WithdrawalKind.MAKE_ELIGIBLE:
        reason = Reason(
            *source,
            Effect.APPROVAL_REQUIRED,
            f"binding {name} made eligible by review item {item}: approval by the agent's "
            "owner activates it",
        )
    else:
        reason = Reason(
            *source,
            Effect.DENY,
            f"binding {name} withdrawn from {agent} by review item {item} ({kind.value})",
        )
    denial = Decision(
        effect=Effect.DENY,
        code=DecisionCode.REVOKED_BY_REVIEW,
        reasons=(reason,),
        policy_revision=revision,
        message=reason.message,
    )
    replacement: CompiledBinding | None = None
    index: RuleIndex[CompiledPermission] | None = None
    if kind is WithdrawalKind.REDUCE:
        role = withdrawal.role
        if role is None or role.name != spec.role:
            raise InvalidInput(
                f"a reduce of Binding/{name} needs the narrower role, named {spec.role!r}"
            )
        index = _role_index(
            role, _reused(snapshot, spec.role, conditions), revision, f"as reduced by {item}"
        )
        replacement = replace(original, permissions=index, role=narrowed_role(spec.role, name))
        if original.activation is not None:
            # Still just in time, but an approval activates only the narrower role.
            replacement = replace(
                replacement, activation=_narrowed(original.activation, replacement.role, item)
            )
    elif kind is WithdrawalKind.MAKE_ELIGIBLE:
        if original.activation is not None:
            replacement = original  # already eligible: nothing changes
        else:
            eligible = replace(spec, activation=Activation.ELIGIBLE, approval=ApprovalSpec())
            activation = _activation(eligible, revision)
            assert activation is not None  # noqa: S101 - eligible by construction
            replacement = replace(
                original,
                binding=eligible,
                activation=replace(activation, reasons=(*activation.reasons, reason)),
            )
    return CompiledWithdrawal(
        withdrawal=withdrawal,
        original=original,
        replacement=replacement,
        reason=reason,
        decision=denial,
        index=index,
        revision=revision,
    )


def _narrowed(activation: Decision, role: str, item: str) -> Decision:
    """An eligible binding's ``approval_required``, its grant narrowed to ``role``."""
    needed = activation.approval
    assert needed is not None  # noqa: S101 - every activation names its approval
    why = Reason(
        needed.policy,
        "activation",
        Effect.APPROVAL_REQUIRED,
        f"reduced by review item {item}: approval activates only the narrower role",
    )
    return replace(
        activation,
        reasons=(*activation.reasons, why),
        approval=replace(needed, role=role),
    )


def compile_withdrawals(
    snapshot: Snapshot,
    agent: str,
    withdrawals: Iterable[Withdrawal],
    *,
    conditions: ConditionCompiler,
) -> tuple[CompiledWithdrawal, ...]:
    """The review outcomes in force of ``agent``, ready for its ``Facts.withdrawn``.

    Compiled once per revision (a narrower role's permissions included) and cached by
    the caller, not per decision. A withdrawal of a binding this revision no longer has
    is left out: there is nothing left to withdraw. A reduce whose role is missing or
    named otherwise than the binding's role is refused (``InvalidInput``).
    """
    bindings = _bindings_by_name(snapshot)
    compiled = []
    for withdrawal in withdrawals:
        original = bindings.get(withdrawal.binding)
        if original is not None:
            compiled.append(_withdrawal(snapshot, agent, withdrawal, original, conditions))
    return tuple(compiled)
