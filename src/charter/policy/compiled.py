"""The compiled, indexed form of a policy that the evaluator reads.

Compiling once makes a decision's cost independent of how many agents, roles and
bindings a policy has: an agent's bindings are found by id (or, for label selectors,
once per distinct set of labels), a role's permissions by exact ``(capability, action)``
with only wildcard actions left to test, and guardrails the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from charter.policy.globs import Glob
from charter.policy.model import (
    Binding,
    Capability,
    ExcessFields,
    Guardrail,
    Permission,
)

__all__ = [
    "CompiledBinding",
    "CompiledGuardrail",
    "CompiledPermission",
    "Condition",
    "ConditionError",
    "RuleIndex",
    "Snapshot",
    "Variables",
]


class ConditionError(Exception):
    """A condition could not be evaluated for this request."""


class Variables:
    """A request's condition variables, built on first use (most decisions need none).

    ``prepared`` keeps one engine-specific form of them per request (for CEL, a context
    object), so several conditions on one request convert the variables once.
    """

    __slots__ = ("_build", "_prepared", "_values")

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._values: dict[str, Any] | None = None
        self._prepared: dict[str, Any] = {}

    def values(self) -> dict[str, Any]:
        """The variables as plain Python values."""
        if self._values is None:
            self._values = self._build()
        return self._values

    def prepared(self, key: str, prepare: Callable[[dict[str, Any]], Any]) -> Any:
        """``prepare(values)``, computed once per request for ``key``."""
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = prepare(self.values())
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

    @property
    def capability(self) -> Capability:
        """The permission's capability."""
        return self.permission.capability

    @property
    def on_excess_fields(self) -> ExcessFields:
        """What to do with requested fields beyond ``fields``."""
        return self.permission.on_excess_fields

    def covers(self, action: str, resource: str) -> bool:
        """True when the action and resource fall under the permission's globs."""
        return any(glob.matches(action) for glob in self.actions) and any(
            glob.matches(resource) for glob in self.resources
        )


@dataclass(frozen=True, slots=True)
class CompiledGuardrail:
    """A guardrail, its match compiled and its conditions ready."""

    guardrail: Guardrail
    capabilities: frozenset[Capability]
    actions: tuple[Glob, ...]
    resources: tuple[Glob, ...]
    when: Condition | None
    require: Condition | None

    def matches(self, capability: Capability, action: str, resource: str) -> bool:
        """True when the request falls under the guardrail's match (conditions aside)."""
        return (
            (not self.capabilities or capability in self.capabilities)
            and (not self.actions or any(glob.matches(action) for glob in self.actions))
            and (not self.resources or any(glob.matches(resource) for glob in self.resources))
        )


class _HasActions(Protocol):
    @property
    def actions(self) -> tuple[Glob, ...]: ...


Rule = TypeVar("Rule", bound=_HasActions)


@dataclass(slots=True)
class RuleIndex(Generic[Rule]):
    """Rules by capability and exact action, plus those whose action has a wildcard."""

    exact: dict[tuple[Capability | None, str], list[Rule]] = field(default_factory=dict)
    wildcard: dict[Capability | None, list[Rule]] = field(default_factory=dict)

    def add(self, capabilities: tuple[Capability | None, ...], rule: Rule) -> None:
        """File ``rule`` under each capability (``None``: any capability)."""
        for capability in capabilities:
            if not rule.actions or any(not glob.literal for glob in rule.actions):
                self.wildcard.setdefault(capability, []).append(rule)
            for glob in rule.actions:
                if glob.literal:
                    self.exact.setdefault((capability, glob.pattern), []).append(rule)

    def candidates(self, capability: Capability, action: str) -> Iterator[Rule]:
        """Rules that may apply: exact hits first, then wildcard ones (each at most once)."""
        seen: set[int] = set()
        for key in ((capability, action), (None, action)):
            for rule in self.exact.get(key, ()):
                seen.add(id(rule))
                yield rule
        for key2 in (capability, None):
            for rule in self.wildcard.get(key2, ()):
                if id(rule) not in seen:
                    yield rule


@dataclass(frozen=True, slots=True)
class CompiledBinding:
    """A binding with its role's permission index."""

    binding: Binding
    permissions: RuleIndex[CompiledPermission]


@dataclass(slots=True)
class Snapshot:
    """An immutable, indexed policy revision (the label cache aside)."""

    revision: str
    roles: dict[str, RuleIndex[CompiledPermission]]
    by_agent: dict[str, tuple[CompiledBinding, ...]]
    by_selector: tuple[tuple[frozenset[tuple[str, str]], CompiledBinding], ...]
    deny: RuleIndex[CompiledGuardrail]
    friction: RuleIndex[CompiledGuardrail]
    _label_cache: dict[tuple[str, frozenset[tuple[str, str]]], tuple[CompiledBinding, ...]] = field(
        default_factory=dict
    )

    def bindings_for(self, agent: str, labels: Mapping[str, str]) -> tuple[CompiledBinding, ...]:
        """Every binding naming the agent or selecting it by its labels."""
        if not self.by_selector:
            return self.by_agent.get(agent, ())
        key = (agent, frozenset(labels.items()))
        cached = self._label_cache.get(key)
        if cached is None:
            selected = tuple(binding for wanted, binding in self.by_selector if wanted <= key[1])
            cached = self.by_agent.get(agent, ()) + selected
            if len(self._label_cache) < 100_000:
                self._label_cache[key] = cached
        return cached
