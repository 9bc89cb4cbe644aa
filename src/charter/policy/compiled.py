"""The compiled, indexed form of a policy that the evaluator reads.

Compiling once makes a decision's cost independent of how many agents, roles and
bindings a policy has: one lookup by ``(capability, action)`` gives the guardrails and,
by role, the permissions that may apply (``ActionRules``, worked out on first sight of
the pair, wildcard actions included); an agent's roles are found by id (or, for label
selectors, once per distinct set of labels). What is left per request is resources,
conditions, expiries and activation.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from charter.policy.decision import Decision, Reason, Withdrawal
from charter.policy.frozen import BUDGET, Unfreezable, freeze_part
from charter.policy.globs import Glob
from charter.policy.model import (
    Binding,
    Capability,
    ExcessFields,
    Guardrail,
    Permission,
)

__all__ = [
    "ActionRules",
    "CompiledBinding",
    "CompiledGuardrail",
    "CompiledPermission",
    "CompiledWithdrawal",
    "Condition",
    "ConditionError",
    "RuleIndex",
    "Shape",
    "Snapshot",
    "Variables",
    "narrowed_role",
    "split_bindings",
    "whole_role",
]


class ConditionError(Exception):
    """A condition could not be evaluated for this request."""


Shape = tuple[tuple[str, tuple[str, ...] | None], ...]
"""What a condition reads: each variable, with the keys of it read (None: all of it)."""


_UNSET: Any = object()


class Variables:
    """A request's condition variables, each built on first use (most decisions need none).

    Subclasses say how to build a variable (``build``). A condition asks for the parts
    it reads (``parts``) or for them as a key to its remembered outcomes (``frozen``);
    ``prepared`` keeps one engine-specific form of a set of them per request (for CEL, a
    context object), so several conditions on one request convert them once.
    """

    __slots__ = ("_prepared", "_values")

    def __init__(self) -> None:
        self._values: dict[str, Any] | None = None
        self._prepared: dict[Any, Any] | None = None

    def build(self, name: str) -> Any:
        """Compute one variable (subclasses say how)."""
        raise KeyError(name)

    def get(self, name: str) -> Any:
        """One variable's value."""
        values = self._values
        if values is None:
            values = self._values = {}
        found = values.get(name, _UNSET)
        if found is _UNSET:
            found = values[name] = self.build(name)
        return found

    def parts(self, shape: Shape) -> dict[str, Any]:
        """The variables of ``shape``, each cut down to the keys it names."""
        found = {}
        for name, keys in shape:
            if keys is None:
                found[name] = self.get(name)
            else:
                # Read from the source: the cut is a new map anyway, so no copy first.
                value = self.source(name)
                found[name] = {k: value[k] for k in keys if k in value}
        return found

    def frozen(self, shape: Shape) -> Hashable | None:
        """The variables of ``shape`` as one hashable key (see ``charter.policy.frozen``),
        or None when one of them is not kept as a key."""
        if len(shape) == 1:
            name, keys = shape[0]
            if keys is not None and len(keys) == 1:
                # The common condition reads one key of one map, often a number or a
                # flag: its key, as ``freeze_part`` gives it, without the general walk.
                value, key = self.source(name), keys[0]
                if key not in value:
                    return ((key,),)
                item = value[key]
                kind = type(item)
                if kind is int or kind is bool or item is None:
                    return ((key, (kind, item)),)
        budget = [BUDGET]
        try:
            if len(shape) == 1:
                name, keys = shape[0]
                return freeze_part(self.source(name), keys, budget)
            return tuple([freeze_part(self.source(n), keys, budget) for n, keys in shape])
        except Unfreezable:
            return None

    def source(self, name: str) -> Any:
        """What ``frozen`` reads for a variable: its value, unless a subclass has the same
        content at hand without building it."""
        return self.get(name)

    def prepared(self, key: Hashable, prepare: Callable[[Variables], Any]) -> Any:
        """``prepare(self)``, computed once per request for ``key``."""
        if self._prepared is None:
            self._prepared = {}
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = prepare(self)
        return found


class Condition(Protocol):
    """A compiled condition expression."""

    @property
    def expression(self) -> str:
        """The source text."""
        ...

    def holds(self, variables: Variables) -> bool:
        """Evaluate to a boolean, or raise ``ConditionError``."""
        ...


@dataclass(frozen=True, slots=True)
class CompiledPermission:
    """A role permission, its globs compiled and its condition ready."""

    role: str
    index: int
    permission: Permission
    actions: tuple[Glob, ...]
    resources: tuple[Glob, ...]
    fields: frozenset[str] | None
    when: Condition | None
    reason: Reason
    """The reason an allow through this permission gives (built once, at compile time)."""
    allow: Decision
    """The allow this permission alone gives when no fields are asked for (built once)."""
    covers_resource: Callable[[str], bool] = field(repr=False, compare=False)
    resource_names: frozenset[str] | None = field(default=None, repr=False, compare=False)
    """When every resource pattern is literal: those names, so that the evaluator tests a
    resource with ``in`` (several times cheaper than calling ``covers_resource``)."""

    @property
    def label(self) -> str:
        """``Role/<name>.permissions[<n>]``, for errors."""
        return f"{self.reason.policy}.{self.reason.rule}"

    @property
    def capability(self) -> Capability:
        """The permission's capability."""
        return self.permission.capability

    @property
    def on_excess_fields(self) -> ExcessFields:
        """What to do with requested fields beyond ``fields``."""
        return self.permission.on_excess_fields

    def matches_action(self, action: str) -> bool:
        """True when ``action`` falls under the permission's action globs."""
        return any(glob.matches(action) for glob in self.actions)

    def covers(self, action: str, resource: str) -> bool:
        """True when the action and resource fall under the permission's globs."""
        return self.matches_action(action) and self.covers_resource(resource)


@dataclass(frozen=True, slots=True)
class CompiledGuardrail:
    """A guardrail, its match compiled, its conditions ready and its answers built."""

    guardrail: Guardrail
    capabilities: frozenset[Capability]
    actions: tuple[Glob, ...]
    resources: tuple[Glob, ...]
    when: Condition | None
    require: Condition | None
    outcome: Decision
    """What the guardrail answers when it applies: a deny, a step-up or an approval."""
    unmet: Decision
    """The deny when its ``require`` does not hold."""
    covers_resource: Callable[[str], bool] = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        """``Guardrail/<name>``."""
        return f"Guardrail/{self.guardrail.name}"

    def matches_action(self, action: str) -> bool:
        """True when ``action`` falls under the match (no actions: every action)."""
        return not self.actions or any(glob.matches(action) for glob in self.actions)

    def matches(self, capability: Capability, action: str, resource: str) -> bool:
        """True when the request falls under the guardrail's match (conditions aside)."""
        return (
            (not self.capabilities or capability in self.capabilities)
            and self.matches_action(action)
            and self.covers_resource(resource)
        )


class _Rule(Protocol):
    @property
    def actions(self) -> tuple[Glob, ...]: ...

    def matches_action(self, action: str) -> bool: ...


Rule = TypeVar("Rule", bound=_Rule)
_MEMO_LIMIT = 100_000


@dataclass(slots=True)
class RuleIndex(Generic[Rule]):
    """Rules by capability and exact action, plus those whose action has a wildcard."""

    exact: dict[tuple[Capability | None, str], list[Rule]] = field(default_factory=dict)
    wildcard: dict[Capability | None, list[Rule]] = field(default_factory=dict)
    _memo: dict[tuple[Capability, str], tuple[Rule, ...]] = field(default_factory=dict)

    def add(self, capabilities: tuple[Capability | None, ...], rule: Rule) -> None:
        """File ``rule`` under each capability (``None``: any capability)."""
        self._memo.clear()
        for capability in capabilities:
            if not rule.actions or any(not glob.literal for glob in rule.actions):
                self.wildcard.setdefault(capability, []).append(rule)
            for glob in rule.actions:
                if glob.literal:
                    self.exact.setdefault((capability, glob.pattern), []).append(rule)

    def candidates(self, capability: Capability, action: str) -> tuple[Rule, ...]:
        """The rules whose capability and action match, each once, in the order filed
        (memoised); resources and conditions are left to the caller."""
        key = (capability, action)
        found = self._memo.get(key)
        if found is None:
            rules: dict[int, Rule] = {}
            for exact in (key, (None, action)):
                for rule in self.exact.get(exact, ()):
                    rules.setdefault(id(rule), rule)
            for wildcard in (capability, None):
                for rule in self.wildcard.get(wildcard, ()):
                    if rule.matches_action(action):
                        rules.setdefault(id(rule), rule)
            found = tuple(rules.values())
            # Actions come from callers: bound the memo so odd names cannot grow it forever.
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[key] = found
        return found


@dataclass(frozen=True, slots=True)
class CompiledBinding:
    """A binding with its role's permission index."""

    binding: Binding
    permissions: RuleIndex[CompiledPermission]
    activation: Decision | None = None
    """For an eligible binding: the ``approval_required`` that activating it takes."""
    expires_at: datetime | None = None
    """The binding's expiry, and below its role: copied here, one lookup nearer."""
    role: str = ""


def narrowed_role(role: str, binding: str) -> str:
    """The evaluator's key for ``role`` as a review reduced it on ``binding`` (and the
    role of the grants its approvals issue): never a valid role name, so no clash."""
    return f"{role}@{binding}"


def whole_role(role: str) -> str:
    """The policy's role a key names: ``role`` itself, or the role a reduce narrowed."""
    return role.partition("@")[0]


@dataclass(frozen=True, slots=True)
class CompiledWithdrawal:
    """A review outcome in force (``Withdrawal``), compiled against one ``Snapshot``: what
    the evaluator puts in place of the withdrawn binding for the one agent it concerns.

    Built by ``charter.policy.compiler.compile_withdrawals`` once per revision and
    outcome (a narrower role's permissions are compiled then, not per decision), and
    passed in ``Facts.withdrawn``. Meant for the snapshot it was compiled for (its
    ``revision``): with another revision, the evaluator withdraws the binding outright,
    so a stale cache can take access away but never give any.
    """

    withdrawal: Withdrawal
    original: CompiledBinding
    """The withdrawn binding as the snapshot has it."""
    replacement: CompiledBinding | None
    """What the agent holds through the binding instead: None (revoke), the binding with
    the narrower role (reduce, its ``role`` a key of ``by_role`` only), or the binding as
    an eligible one approved by the agent's owner (make eligible)."""
    reason: Reason
    """Why: the ``revoked_by_review`` deny's reason (revoke, reduce) or the reason the
    ``approval_required`` carries (make eligible)."""
    decision: Decision
    """The ``revoked_by_review`` deny (revoke, reduce), built once."""
    index: RuleIndex[CompiledPermission] | None = None
    """Reduce: the narrower role, compiled (its ``candidates`` are memoised)."""
    revision: str = ""


@dataclass(frozen=True, slots=True)
class ActionRules:
    """Every rule whose capability and action match one ``(capability, action)``: the
    deny and the friction guardrails, and each role's permissions (roles without any
    left out). Resources, conditions, expiries and activation are left to each request."""

    deny: tuple[CompiledGuardrail, ...]
    friction: tuple[CompiledGuardrail, ...]
    by_role: dict[str, tuple[CompiledPermission, ...]]
    guarded: bool = field(init=False, default=False)
    """Whether any guardrail matches: the one test the evaluator pays when none does."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "guarded", bool(self.deny or self.friction))


@dataclass(slots=True)
class Snapshot:
    """An immutable, indexed policy revision (its memos aside)."""

    revision: str
    roles: dict[str, RuleIndex[CompiledPermission]]
    by_agent: dict[str, tuple[CompiledBinding, ...]]
    by_selector: tuple[tuple[frozenset[tuple[str, str]], CompiledBinding], ...]
    deny: RuleIndex[CompiledGuardrail]
    friction: RuleIndex[CompiledGuardrail]
    no_permission: Decision
    """The default deny of this revision (the same, immutable answer every time)."""
    exact_roles: dict[tuple[Capability, str], tuple[str, ...]] = field(default_factory=dict)
    """The roles with a permission naming exactly this capability and action."""
    wildcard_roles: tuple[str, ...] = ()
    """The roles with a permission whose action has a wildcard."""
    standing_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """By agent named in a binding: the roles of its standing bindings that never expire
    (the evaluator's short path: role names are all it needs of them)."""
    other_bindings: dict[str, tuple[CompiledBinding, ...]] = field(default_factory=dict)
    """By agent named in a binding: its eligible and expiring bindings, if it has any
    (most have none: one small table, and one object less for a decision to read)."""
    actions: dict[tuple[Capability, str], ActionRules] = field(default_factory=dict)
    """``rules_for`` by ``(capability, action)``, as seen so far: read it directly, and
    call ``rules_for`` on a miss."""
    _label_cache: dict[tuple[str, frozenset[tuple[str, str]]], tuple[CompiledBinding, ...]] = field(
        default_factory=dict
    )
    _split_cache: dict[
        tuple[str, frozenset[tuple[str, str]]],
        tuple[tuple[str, ...], tuple[CompiledBinding, ...]],
    ] = field(default_factory=dict)

    def rules_for(self, capability: Capability, action: str) -> ActionRules:
        """The guardrails and the permissions, by role, that match ``capability`` and
        ``action`` (memoised in ``actions``)."""
        key = (capability, action)
        found = self.actions.get(key)
        if found is None:
            by_role = {}
            for role in (*self.exact_roles.get(key, ()), *self.wildcard_roles):
                permissions = self.roles[role].candidates(capability, action)
                if permissions:
                    by_role[role] = permissions
            found = ActionRules(
                self.deny.candidates(capability, action),
                self.friction.candidates(capability, action),
                by_role,
            )
            # Actions come from callers: bound the memo so odd names cannot grow it forever.
            if len(self.actions) < _MEMO_LIMIT:
                self.actions[key] = found
        return found

    def split_for(
        self, agent: str, labels: Mapping[str, str]
    ) -> tuple[tuple[str, ...], tuple[CompiledBinding, ...]]:
        """The agent's bindings as ``standing_roles`` and ``other_bindings`` give them for
        a named agent, counting the bindings that select it by its labels too."""
        if not self.by_selector:
            return self.standing_roles.get(agent, ()), self.other_bindings.get(agent, ())
        key = (agent, frozenset(labels.items()))
        cached = self._split_cache.get(key)
        if cached is None:
            cached = split_bindings(self.bindings_for(agent, labels))
            if len(self._split_cache) < _MEMO_LIMIT:
                self._split_cache[key] = cached
        return cached

    def bindings_for(self, agent: str, labels: Mapping[str, str]) -> tuple[CompiledBinding, ...]:
        """Every binding naming the agent or selecting it by its labels."""
        if not self.by_selector:
            return self.by_agent.get(agent, ())
        key = (agent, frozenset(labels.items()))
        cached = self._label_cache.get(key)
        if cached is None:
            named = self.by_agent.get(agent, ())
            # A binding that both names and selects the agent counts once.
            selected = tuple(
                binding
                for wanted, binding in self.by_selector
                if wanted <= key[1]
                and agent not in binding.binding.exclude_agents
                and not any(binding is other for other in named)
            )
            cached = named + selected
            if len(self._label_cache) < _MEMO_LIMIT:
                self._label_cache[key] = cached
        return cached


def split_bindings(
    bindings: tuple[CompiledBinding, ...],
) -> tuple[tuple[str, ...], tuple[CompiledBinding, ...]]:
    """The roles of the standing bindings that never expire (each once), and the rest."""
    standing = tuple(
        dict.fromkeys(b.role for b in bindings if b.activation is None and b.expires_at is None)
    )
    other = tuple(b for b in bindings if b.activation is not None or b.expires_at is not None)
    return standing, other
