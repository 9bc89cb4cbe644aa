"""Requests, the facts gathered for them, and decisions: the evaluator's inputs and output."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import FunctionType
from typing import TYPE_CHECKING, Any

from charter.codes import DecisionCode
from charter.identity.agents import AgentStatus, RiskTier
from charter.inference import ADVISORY_MAX_AGE, Advisory
from charter.policy.model import ApprovalSpec, Capability, Role
from charter.secrets.findings import Finding

if TYPE_CHECKING:
    from charter.policy.compiled import CompiledWithdrawal

__all__ = [
    "ADVISORY_MAX_AGE",
    "NO_PERMISSION",
    "Advisory",
    "AgentFacts",
    "ApprovalNeeded",
    "Decision",
    "Effect",
    "Facts",
    "Grant",
    "Reason",
    "Request",
    "Withdrawal",
    "WithdrawalKind",
]


class Effect(StrEnum):
    """The engine's answer."""

    ALLOW = "allow"
    DENY = "deny"
    APPROVAL_REQUIRED = "approval_required"
    STEP_UP_REQUIRED = "step_up_required"


def _probe() -> None:
    """A function of this module: a compiled one is not a Python function."""


COMPILED = not isinstance(_probe, FunctionType)
"""Whether this module runs compiled (the optional core, ``charter.policy.core``)."""


# `slots=True` is left out because Cython's own dataclasses do not take it: the slots are
# declared by hand instead, and compiled, `decision.pxd` makes the class an extension
# type with the same fields, read-only from Python.
@dataclass(frozen=True, init=False)
class Request:
    """What an agent attempts: a capability, an action, on a resource, maybe some fields.

    Immutable like the other values here, but built by a constructor of its own: a
    frozen dataclass's generated one sets each field through ``object.__setattr__``,
    which cost a quarter of an embedded decision. Its checks are the evaluator's
    (``charter.policy.canonical``), never the constructor's. The fields have no
    defaults here (slots and class defaults do not mix): the constructor's are theirs.
    """

    __slots__ = (
        "action",
        "agent",
        "capability",
        "context",
        "fields",
        "resource",
        "resource_attributes",
        "secrets",
    )

    agent: str
    capability: Capability
    action: str
    resource: str
    resource_attributes: Mapping[str, Any]
    fields: tuple[str, ...]
    context: Mapping[str, Any]
    secrets: tuple[Finding, ...]
    """What the secrets scanner found in the context and input (no values)."""

    def __init__(
        self,
        agent: str,
        capability: Capability,
        action: str,
        resource: str,
        resource_attributes: Mapping[str, Any] | None = None,
        fields: tuple[str, ...] = (),
        context: Mapping[str, Any] | None = None,
        secrets: tuple[Finding, ...] = (),
    ) -> None:
        if COMPILED:
            # An extension type's own fields: each a store into the object.
            self.agent = agent  # type: ignore[misc]
            self.capability = capability  # type: ignore[misc]
            self.action = action  # type: ignore[misc]
            self.resource = resource  # type: ignore[misc]
            self.resource_attributes = (  # type: ignore[misc]
                {} if resource_attributes is None else resource_attributes
            )
            self.fields = fields  # type: ignore[misc]
            self.context = {} if context is None else context  # type: ignore[misc]
            self.secrets = secrets  # type: ignore[misc]
            return
        # Each slot set through its own descriptor: the one way past the frozen
        # ``__setattr__`` that costs no more than a plain assignment's call.
        _set_agent(self, agent)
        _set_capability(self, capability)
        _set_action(self, action)
        _set_resource(self, resource)
        _set_attributes(self, {} if resource_attributes is None else resource_attributes)
        _set_fields(self, fields)
        _set_context(self, {} if context is None else context)
        _set_secrets(self, secrets)

    def __reduce__(self) -> tuple[type[Request], tuple[Any, ...]]:
        # Pickled through the constructor (a frozen class with hand-written slots has
        # no state to set otherwise).
        return Request, (
            self.agent,
            self.capability,
            self.action,
            self.resource,
            self.resource_attributes,
            self.fields,
            self.context,
            self.secrets,
        )


def _setter(name: str) -> Callable[[Request, Any], None]:
    """The ``__set__`` of ``Request``'s slot ``name`` (pure Python only)."""
    setter: Callable[[Request, Any], None] = vars(Request)[name].__set__
    return setter


_set_agent = _setter("agent")
_set_capability = _setter("capability")
_set_action = _setter("action")
_set_resource = _setter("resource")
_set_attributes = _setter("resource_attributes")
_set_fields = _setter("fields")
_set_context = _setter("context")
_set_secrets = _setter("secrets")


@dataclass(frozen=True, init=False)
class AgentFacts:
    """The registry's record of the agent, as far as a decision needs it.

    Slots by hand and a constructor of its own, as ``Request`` (compiled, an extension
    type: ``decision.pxd``).
    """

    __slots__ = ("id", "labels", "owner", "risk_tier", "status")

    id: str
    owner: str
    status: AgentStatus
    risk_tier: RiskTier
    labels: Mapping[str, str]

    def __init__(
        self,
        id: str,
        owner: str,
        status: AgentStatus,
        risk_tier: RiskTier = RiskTier.MEDIUM,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        if labels is None:
            labels = {}
        if COMPILED:
            self.id = id  # type: ignore[misc]
            self.owner = owner  # type: ignore[misc]
            self.status = status  # type: ignore[misc]
            self.risk_tier = risk_tier  # type: ignore[misc]
            self.labels = labels  # type: ignore[misc]
            return
        _set = object.__setattr__
        _set(self, "id", id)
        _set(self, "owner", owner)
        _set(self, "status", status)
        _set(self, "risk_tier", risk_tier)
        _set(self, "labels", labels)

    def __reduce__(self) -> tuple[type[AgentFacts], tuple[Any, ...]]:
        return AgentFacts, (self.id, self.owner, self.status, self.risk_tier, self.labels)


@dataclass(frozen=True, slots=True)
class Grant:
    """An active, time-bound activation of an eligible role."""

    id: str
    role: str
    expires_at: datetime


class WithdrawalKind(StrEnum):
    """What a review decided a binding no longer gives an agent."""

    REVOKE = "revoke"
    REDUCE = "reduce"
    MAKE_ELIGIBLE = "make_eligible"


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A review outcome in force: what one agent no longer holds through one binding.

    The evaluator applies it over the active policy revision for that agent alone,
    until a revision reflects it (``charter.reviews.patch.reflected``).
    """

    binding: str
    """The binding's name."""
    kind: WithdrawalKind
    campaign: str
    """The review campaign's id (``rvc_...``)."""
    item: str
    """The review item's id (``rvi_...``)."""
    role: Role | None = None
    """REDUCE only: the narrower role, named like the binding's role."""


@dataclass(frozen=True, init=False)
class Facts:
    """Everything gathered before deciding; recorded with the decision.

    Slots by hand and a constructor of its own, as ``Request`` (compiled, an extension
    type: ``decision.pxd``).
    """

    __slots__ = (
        "advisories",
        "advisory_max_age",
        "agent",
        "approval_id",
        "grants",
        "leaked",
        "withdrawn",
    )

    agent: AgentFacts | None
    grants: tuple[Grant, ...]
    approval_id: str | None
    """An approved, unused approval for exactly this request, if there is one."""
    leaked: tuple[str, ...]
    """Fingerprints of registered leaks found in the request's context or input."""
    advisories: tuple[Advisory, ...]
    """The inferences found among the ids the request cites in ``context.derived_from``."""
    advisory_max_age: timedelta
    withdrawn: tuple[CompiledWithdrawal, ...]
    """The agent's review outcomes in force, compiled against the snapshot decided on
    (``charter.policy.compiler.compile_withdrawals``: ``CompiledWithdrawal`` values)."""

    def __init__(
        self,
        agent: AgentFacts | None,
        grants: tuple[Grant, ...] = (),
        approval_id: str | None = None,
        leaked: tuple[str, ...] = (),
        advisories: tuple[Advisory, ...] = (),
        advisory_max_age: timedelta = ADVISORY_MAX_AGE,
        withdrawn: tuple[CompiledWithdrawal, ...] = (),
    ) -> None:
        if COMPILED:
            self.agent = agent  # type: ignore[misc]
            self.grants = grants  # type: ignore[misc]
            self.approval_id = approval_id  # type: ignore[misc]
            self.leaked = leaked  # type: ignore[misc]
            self.advisories = advisories  # type: ignore[misc]
            self.advisory_max_age = advisory_max_age  # type: ignore[misc]
            self.withdrawn = withdrawn  # type: ignore[misc]
            return
        _set = object.__setattr__
        _set(self, "agent", agent)
        _set(self, "grants", grants)
        _set(self, "approval_id", approval_id)
        _set(self, "leaked", leaked)
        _set(self, "advisories", advisories)
        _set(self, "advisory_max_age", advisory_max_age)
        _set(self, "withdrawn", withdrawn)

    def __reduce__(self) -> tuple[type[Facts], tuple[Any, ...]]:
        return Facts, (
            self.agent,
            self.grants,
            self.approval_id,
            self.leaked,
            self.advisories,
            self.advisory_max_age,
            self.withdrawn,
        )


@dataclass(frozen=True, slots=True)
class Reason:
    """What determined the decision: the document, the rule in it, and its effect."""

    policy: str
    rule: str
    effect: Effect
    message: str = ""

    def to_json(self) -> dict[str, str]:
        """The reason as the API shows it."""
        body = {"policy": self.policy, "rule": self.rule, "effect": self.effect.value}
        if self.message:
            body["message"] = self.message
        return body


@dataclass(frozen=True, slots=True)
class ApprovalNeeded:
    """What an approval must look like for this request: who approves, what it yields."""

    policy: str
    spec: ApprovalSpec
    role: str | None = None
    """For an eligible binding: the role an approval grants (JIT)."""
    max_duration: timedelta | None = None
    """For an eligible binding: the longest grant its approval yields."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The evaluator's full answer."""

    effect: Effect
    code: DecisionCode
    reasons: tuple[Reason, ...] = ()
    errors: tuple[str, ...] = ()
    released_fields: tuple[str, ...] = ()
    redacted_fields: tuple[str, ...] = ()
    policy_revision: str = ""
    approval: ApprovalNeeded | None = None
    message: str = ""

    @property
    def allowed(self) -> bool:
        """True only for ``allow``."""
        return self.effect is Effect.ALLOW

    def to_json(self) -> dict[str, Any]:
        """The decision as the API, the CLI and the audit log show it (without an id)."""
        return {
            "decision": self.effect.value,
            "code": self.code,
            "reasons": [reason.to_json() for reason in self.reasons],
            "errors": list(self.errors),
            "released_fields": list(self.released_fields),
            "redacted_fields": list(self.redacted_fields),
            "policy_revision": self.policy_revision or None,
            "message": self.message or None,
        }


NO_PERMISSION = Reason("default", "deny", Effect.DENY, "no permission covers this request")
"""The reason of the default deny."""
