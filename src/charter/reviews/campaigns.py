"""Campaigns, review items, proposals and decisions: the values an access review is made of.

A campaign reviews a scope of agents over a look-back window by a due date. It has one
item per agent (still needed, owner still accountable, purpose current) and one per
binding or grant the agent holds. Each item carries its evidence and a recommendation;
a human reviewer decides it; an agent may only attach a proposal. A decision that takes
something away from an agent's policy (revoke, reduce, make eligible on a binding) is an
**outcome in force** until a policy revision reflects it; one that changes the registry
(revoke a grant, retire, reassign) is applied there at once.

Pure values and rules; nothing here reads a store or a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.identity.agents import Agent, RiskTier

__all__ = [
    "MAX_BULK",
    "Campaign",
    "CampaignKind",
    "CampaignStatus",
    "ItemKind",
    "ItemStatus",
    "OutcomeState",
    "Overdue",
    "PastRecertification",
    "Proposal",
    "ReviewItem",
    "ReviewSettings",
    "Scope",
    "Verdict",
    "check_verdict",
    "overdue_verdict",
]

MAX_BULK = 500
"""At most this many items in one bulk decision."""


class CampaignKind(StrEnum):
    """A campaign someone started, or the standing one recertification feeds."""

    CAMPAIGN = "campaign"
    RECERTIFICATION = "recertification"


class CampaignStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ItemKind(StrEnum):
    """What an item is about: the agent as a whole, a binding, or a JIT grant."""

    AGENT = "agent"
    BINDING = "binding"
    GRANT = "grant"


class ItemStatus(StrEnum):
    PENDING = "pending"
    ESCALATED = "escalated"
    """A reviewer answered "don't know": an admin decides."""
    DECIDED = "decided"


class Verdict(StrEnum):
    """What a reviewer decides (or an agent proposes) for an item."""

    KEEP = "keep"
    REVOKE = "revoke"
    REDUCE = "reduce"
    MAKE_ELIGIBLE = "make_eligible"
    REASSIGN_OWNER = "reassign_owner"
    RETIRE_AGENT = "retire_agent"
    DONT_KNOW = "dont_know"


class OutcomeState(StrEnum):
    """What became of a decision."""

    NONE = "none"
    """Nothing to change (keep), or not decided yet."""
    IN_FORCE = "in_force"
    """Applied by the evaluator on top of the policy until a revision reflects it."""
    DONE = "done"
    """The active policy revision does what the decision said."""
    APPLIED = "applied"
    """A registry change, made at once (grant revoked, agent retired, owner reassigned)."""


class Overdue(StrEnum):
    """What an item still undecided at its due date (or at close) becomes.

    - ``keep``: kept, and flagged for the next campaign;
    - ``revoke_high_risk`` (the default): the bindings and grants of agents of a high or
      critical risk tier are revoked, everything else kept and flagged;
    - ``revoke``: every binding and grant item is revoked, agent items kept and flagged.
    """

    KEEP = "keep"
    REVOKE_HIGH_RISK = "revoke_high_risk"
    REVOKE = "revoke"


_VERDICTS: Mapping[ItemKind, frozenset[Verdict]] = {
    ItemKind.AGENT: frozenset(
        {Verdict.KEEP, Verdict.RETIRE_AGENT, Verdict.REASSIGN_OWNER, Verdict.DONT_KNOW}
    ),
    ItemKind.BINDING: frozenset(
        {Verdict.KEEP, Verdict.REVOKE, Verdict.REDUCE, Verdict.MAKE_ELIGIBLE, Verdict.DONT_KNOW}
    ),
    ItemKind.GRANT: frozenset({Verdict.KEEP, Verdict.REVOKE, Verdict.DONT_KNOW}),
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Which agents a campaign reviews: every filter given must hold; none given: all."""

    agents: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    risk_tiers: tuple[RiskTier, ...] = ()
    owners: tuple[str, ...] = ()

    def covers(self, agent: Agent) -> bool:
        """Whether ``agent`` is in scope."""
        if self.agents and agent.id not in self.agents:
            return False
        if self.owners and agent.owner not in self.owners:
            return False
        if self.risk_tiers and agent.risk_tier not in self.risk_tiers:
            return False
        return all(agent.labels.get(key) == value for key, value in self.labels.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "agents": list(self.agents),
            "labels": dict(self.labels),
            "risk_tiers": [tier.value for tier in self.risk_tiers],
            "owners": list(self.owners),
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Scope:
        return cls(
            agents=tuple(body.get("agents", ())),
            labels=dict(body.get("labels", {})),
            risk_tiers=tuple(RiskTier(tier) for tier in body.get("risk_tiers", ())),
            owners=tuple(body.get("owners", ())),
        )


@dataclass(frozen=True, slots=True)
class Campaign:
    """One access review."""

    id: str
    name: str
    kind: CampaignKind
    scope: Scope
    window: timedelta
    started_at: datetime
    started_by: str
    due_at: datetime | None
    """None for the standing recertification campaign: each item has its own."""
    reviewer: str | None = None
    """``user:<id>`` or ``group:<name>`` for every item; None: each agent's owner."""
    overdue: Overdue = Overdue.REVOKE_HIGH_RISK
    status: CampaignStatus = CampaignStatus.OPEN
    closed_at: datetime | None = None
    closed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """A recommendation an agent attached to an item: never a decision."""

    id: str
    item: str
    campaign: str
    agent: str
    """The proposing agent's id."""
    verdict: Verdict
    reason: str
    evidence: tuple[str, ...]
    """What it cites: audit record ids, decision ids, short facts."""
    decision_id: str
    """The decision that allowed it to propose (``review.propose``)."""
    at: datetime


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One question of a campaign, its evidence, recommendation and decision."""

    id: str
    campaign: str
    agent: str
    kind: ItemKind
    source: str
    """``agent``, ``Binding/<name>`` or ``grant:<id>``."""
    reviewer: str
    """``user:<id>``, ``group:<name>``, or ``admins`` (escalated, or nobody else left)."""
    due_at: datetime
    created_at: datetime
    evidence: Mapping[str, Any]
    recommendation: str
    """A ``RecommendationKind`` value."""
    recommendation_reason: str
    risk_tier: RiskTier = RiskTier.MEDIUM
    role: str | None = None
    activation: str | None = None
    """``standing`` or ``eligible`` for a binding item."""
    narrower: Mapping[str, Any] | None = None
    """The narrower role a reduce would leave (a Role document), when there is one."""
    status: ItemStatus = ItemStatus.PENDING
    verdict: Verdict | None = None
    reason: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    bulk: bool = False
    accepted_proposal: str | None = None
    """The proposal the decision accepted, if the reviewer accepted one."""
    new_owner: str | None = None
    flagged: bool = False
    """Kept by default at the due date: look again next time."""
    outcome: OutcomeState = OutcomeState.NONE
    warned_at: datetime | None = None
    """When "due soon" was announced."""

    @property
    def open(self) -> bool:
        return self.status is not ItemStatus.DECIDED

    def may_be_decided_by(self, human: str, groups: tuple[str, ...], admin: bool) -> bool:
        """Whether this human (``user:<id>``) may decide the item: its reviewer, a member
        of its reviewer group, or any admin."""
        if admin:
            return True
        if self.reviewer == human:
            return True
        return self.reviewer.startswith("group:") and self.reviewer[6:] in groups


def check_verdict(item: ReviewItem, verdict: Verdict) -> None:
    """Refuse a verdict that makes no sense for ``item``'s kind."""
    allowed = _VERDICTS[item.kind]
    if verdict not in allowed:
        raise InvalidInput(
            f"{verdict.value!r} does not apply to a {item.kind.value} item",
            code=ErrorCode.VERDICT_NOT_APPLICABLE,
            help=f"one of: {', '.join(sorted(v.value for v in allowed))}",
        )
    if verdict is Verdict.MAKE_ELIGIBLE and item.activation != "standing":
        raise InvalidInput(
            f"{item.source} is already eligible (just in time)",
            code=ErrorCode.VERDICT_NOT_APPLICABLE,
            help="keep, revoke or reduce it",
        )
    if verdict is Verdict.REDUCE and item.narrower is None:
        raise InvalidInput(
            f"nothing narrower can be proposed for {item.source} from its usage",
            code=ErrorCode.VERDICT_NOT_APPLICABLE,
            help="keep or revoke it",
        )


def overdue_verdict(item: ReviewItem, rule: Overdue) -> Verdict:
    """What ``item``, undecided at its due date, becomes under ``rule``."""
    if item.kind is ItemKind.AGENT or rule is Overdue.KEEP:
        return Verdict.KEEP
    if rule is Overdue.REVOKE or item.risk_tier in (RiskTier.HIGH, RiskTier.CRITICAL):
        return Verdict.REVOKE
    return Verdict.KEEP


class PastRecertification(StrEnum):
    """What happens to an agent whose ``recertify_by`` has passed unrecertified."""

    WARN = "warn"
    """A ``review.item_overdue`` webhook event; the agent keeps working."""
    SUSPEND = "suspend"
    """The kill switch: the agent is suspended until someone recertifies and reinstates it."""


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    """The defaults of access reviews (docs/configuration.md names the variables)."""

    window: timedelta = timedelta(days=30)
    """The look-back window when a campaign names none."""
    due_in: timedelta = timedelta(days=14)
    """A campaign's due date when it names none, from its start."""
    due_soon: timedelta = timedelta(days=2)
    """Open items this close to their due date are announced (``review.item_due_soon``)."""
    overdue: Overdue = Overdue.REVOKE_HIGH_RISK
    """What an undecided item becomes at its due date, when the campaign names nothing."""
    recertify_horizon: timedelta = timedelta(days=14)
    """Agents whose ``recertify_by`` falls this close get a recertification item."""
    past_recertification: PastRecertification = PastRecertification.WARN
