"""Policy documents as loaded: agents, roles, bindings, guardrails, separation of duty.

These are plain, frozen values with the place each came from (``file:line:col``), so
every decision and diagnostic can name the document and rule behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from charter.identity.agents import RiskTier

__all__ = [
    "Activation",
    "AgentSpec",
    "ApprovalSpec",
    "Binding",
    "Capability",
    "ExcessFields",
    "Guardrail",
    "GuardrailEffect",
    "Match",
    "Permission",
    "Policy",
    "Role",
    "SeparationOfDuty",
    "Source",
]


class Capability(StrEnum):
    """What kind of thing an agent attempts."""

    REQUEST = "request"
    INFER = "infer"
    DO = "do"


class Activation(StrEnum):
    """How a binding gives its role: always, or only through an approval (JIT)."""

    STANDING = "standing"
    ELIGIBLE = "eligible"


class GuardrailEffect(StrEnum):
    """What a matching guardrail does."""

    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"
    REQUIRE_STEP_UP = "require_step_up"


class ExcessFields(StrEnum):
    """What happens to requested fields a permission does not release."""

    REDACT = "redact"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a document or rule was written."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


UNKNOWN_SOURCE = Source("<memory>", 0, 0)
DEFAULT_MAX_DURATION = timedelta(hours=1)
"""The longest grant an approval of an eligible binding yields, unless it says otherwise."""


@dataclass(frozen=True, slots=True)
class ApprovalSpec:
    """Who must approve, how many of them, and how long an approval stays open."""

    approvers: tuple[str, ...] = ("owner",)
    quorum: int = 1
    expires_in: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Match:
    """Which requests a guardrail or a side of a separation of duty is about.

    An empty tuple matches anything.
    """

    capabilities: tuple[Capability, ...] = ()
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Permission:
    """One grant of a role: a capability on actions and resources, maybe some fields."""

    capability: Capability
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ()  # none written: any resource
    fields: tuple[str, ...] | None = None
    when: str | None = None
    on_excess_fields: ExcessFields = ExcessFields.REDACT
    source: Source = UNKNOWN_SOURCE


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of permissions."""

    name: str
    permissions: tuple[Permission, ...]
    source: Source = UNKNOWN_SOURCE


@dataclass(frozen=True, slots=True)
class Binding:
    """Gives a role to agents named or selected by label, standing or eligible."""

    name: str
    role: str
    agents: tuple[str, ...] = ()
    selector: Mapping[str, str] | None = None
    activation: Activation = Activation.STANDING
    expires_at: datetime | None = None
    max_duration: timedelta = DEFAULT_MAX_DURATION
    approval: ApprovalSpec = field(default_factory=ApprovalSpec)
    source: Source = UNKNOWN_SOURCE
    exclude_agents: tuple[str, ...] = ()
    """Agents the binding never gives its role to, even when named or selected: how a
    review's revoke of a selector binding is written down as policy."""

    def gives_to(self, agent: str, labels: Mapping[str, str]) -> bool:
        """True when the binding names or selects ``agent`` (of ``labels``) and does not
        exclude it (expiry and activation aside)."""
        if agent in self.exclude_agents:
            return False
        if agent in self.agents:
            return True
        return self.selector is not None and self.selector.items() <= labels.items()


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A rule across roles: deny, or demand approval or step-up."""

    name: str
    effect: GuardrailEffect
    match: Match = field(default_factory=Match)
    when: str | None = None
    require: str | None = None
    message: str = ""
    approval: ApprovalSpec = field(default_factory=ApprovalSpec)
    source: Source = UNKNOWN_SOURCE


@dataclass(frozen=True, slots=True)
class SeparationOfDuty:
    """Two sets of actions no agent may hold both of."""

    name: str
    first: Match
    second: Match
    message: str = ""
    source: Source = UNKNOWN_SOURCE


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent declared in policy; upserted into the registry when the policy is applied."""

    name: str
    owner: str
    purpose: str = ""
    risk_tier: RiskTier = RiskTier.MEDIUM
    labels: Mapping[str, str] = field(default_factory=dict)
    source: Source = UNKNOWN_SOURCE


@dataclass(frozen=True, slots=True)
class Policy:
    """Every document of a policy, as loaded and validated."""

    agents: tuple[AgentSpec, ...] = ()
    roles: tuple[Role, ...] = ()
    bindings: tuple[Binding, ...] = ()
    guardrails: tuple[Guardrail, ...] = ()
    separations: tuple[SeparationOfDuty, ...] = ()
