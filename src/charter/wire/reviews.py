"""Access reviews as the HTTP API reads and answers them (``/v1/reviews``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from charter.identity.agents import RiskTier
from charter.reviews.campaigns import (
    Campaign,
    Overdue,
    Proposal,
    ReviewItem,
    Scope,
    Verdict,
)
from charter.wire.base import (
    AgentId,
    HumanId,
    InModel,
    Labels,
    Printable,
    Reason,
    UtcDateTime,
    masked_within,
)

__all__ = [
    "BulkDecisionIn",
    "CampaignIn",
    "CampaignOut",
    "CampaignPage",
    "CloseIn",
    "ItemDecisionIn",
    "ItemOut",
    "ItemPage",
    "ProposalIn",
    "ProposalOut",
    "ScopeIn",
    "SweepOut",
]

ITEM_ID_PATTERN = r"^rvi_[a-z2-7]{16}$"
CAMPAIGN_ID_PATTERN = r"^rvc_[a-z0-9_]{1,20}$"
PROPOSAL_ID_PATTERN = r"^rvp_[a-z2-7]{16}$"

ItemId = Annotated[str, StringConstraints(pattern=ITEM_ID_PATTERN)]
ProposalId = Annotated[str, StringConstraints(pattern=PROPOSAL_ID_PATTERN)]
Window = Annotated[str, StringConstraints(max_length=16, pattern=r"^\s*\d{1,6}\s*[smhd]\s*$")]
Cited = Annotated[
    str, StringConstraints(min_length=1, max_length=200), Printable, masked_within(200)
]
Reviewer = Annotated[
    str,
    StringConstraints(max_length=72, pattern=r"^(user|group):[a-z0-9][a-z0-9._-]{0,62}$"),
    Printable,
]


class ScopeIn(InModel):
    """Which agents: every filter given must hold; none: all agents."""

    agents: Annotated[list[AgentId], Field(max_length=1000, default_factory=list)]
    labels: Annotated[Labels, Field(default_factory=dict)]
    risk_tiers: Annotated[list[RiskTier], Field(max_length=4, default_factory=list)]
    owners: Annotated[list[HumanId], Field(max_length=100, default_factory=list)]

    def to_scope(self) -> Scope:
        return Scope(
            agents=tuple(dict.fromkeys(self.agents)),
            labels=dict(self.labels),
            risk_tiers=tuple(dict.fromkeys(self.risk_tiers)),
            owners=tuple(dict.fromkeys(self.owners)),
        )


class CampaignIn(InModel):
    """A campaign to start."""

    name: Annotated[
        str, StringConstraints(min_length=1, max_length=200), Printable, masked_within(200)
    ]
    scope: ScopeIn | None = None
    """Left out: every agent."""
    window: Window | None = None
    """The look-back window, e.g. ``30d`` (default: the server's, 30 days)."""
    due_at: UtcDateTime | None = None
    reviewer: Reviewer | None = None
    """``user:<id>`` or ``group:<name>`` for every item; left out: each agent's owner."""
    overdue: Overdue | None = None


class ItemDecisionIn(InModel):
    """A reviewer's decision on one item."""

    verdict: Verdict
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=1000), Printable, masked_within(1000)
    ]
    new_owner: HumanId | None = None
    accept_proposal: ProposalId | None = None


class BulkDecisionIn(InModel):
    """One decision for several items (recorded as a bulk decision)."""

    items: Annotated[list[ItemId], Field(min_length=1, max_length=500)]
    verdict: Verdict
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=1000), Printable, masked_within(1000)
    ]


class ProposalIn(InModel):
    """An agent's proposal: what it recommends, why, and what it cites."""

    verdict: Verdict
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=2000), Printable, masked_within(2000)
    ]
    evidence: Annotated[list[Cited], Field(max_length=20, default_factory=list)]


class CloseIn(InModel):
    reason: Reason = ""


class ProposalOut(BaseModel):
    id: str
    item: str
    campaign: str
    agent: str
    ai_drafted: bool = True
    verdict: Verdict
    reason: str
    evidence: list[str]
    decision_id: str
    at: datetime

    @classmethod
    def of(cls, proposal: Proposal) -> ProposalOut:
        return cls(
            id=proposal.id,
            item=proposal.item,
            campaign=proposal.campaign,
            agent=proposal.agent,
            verdict=proposal.verdict,
            reason=proposal.reason,
            evidence=list(proposal.evidence),
            decision_id=proposal.decision_id,
            at=proposal.at,
        )


class ItemOut(BaseModel):
    id: str
    campaign: str
    agent: str
    kind: str
    source: str
    role: str | None
    activation: str | None
    reviewer: str
    due_at: datetime
    risk_tier: RiskTier
    evidence: dict[str, Any]
    recommendation: str
    recommendation_reason: str
    narrower: dict[str, Any] | None
    status: str
    verdict: Verdict | None
    reason: str
    decided_by: str | None
    decided_at: datetime | None
    bulk: bool
    accepted_proposal: str | None
    new_owner: str | None
    flagged: bool
    outcome: str
    proposals: list[ProposalOut] = Field(default_factory=list)

    @classmethod
    def of(cls, item: ReviewItem, proposals: list[Proposal] | None = None) -> ItemOut:
        return cls(
            id=item.id,
            campaign=item.campaign,
            agent=item.agent,
            kind=item.kind.value,
            source=item.source,
            role=item.role,
            activation=item.activation,
            reviewer=item.reviewer,
            due_at=item.due_at,
            risk_tier=item.risk_tier,
            evidence=dict(item.evidence),
            recommendation=item.recommendation,
            recommendation_reason=item.recommendation_reason,
            narrower=None if item.narrower is None else dict(item.narrower),
            status=item.status.value,
            verdict=item.verdict,
            reason=item.reason,
            decided_by=item.decided_by,
            decided_at=item.decided_at,
            bulk=item.bulk,
            accepted_proposal=item.accepted_proposal,
            new_owner=item.new_owner,
            flagged=item.flagged,
            outcome=item.outcome.value,
            proposals=[ProposalOut.of(p) for p in proposals or ()],
        )


class CampaignOut(BaseModel):
    id: str
    name: str
    kind: str
    scope: dict[str, Any]
    window_days: float
    started_at: datetime
    started_by: str
    due_at: datetime | None
    reviewer: str | None
    overdue: Overdue
    status: str
    closed_at: datetime | None
    closed_by: str | None
    counts: dict[str, int]
    items: list[ItemOut] | None = None

    @classmethod
    def of(
        cls,
        campaign: Campaign,
        counts: dict[str, int],
        items: list[ItemOut] | None = None,
    ) -> CampaignOut:
        return cls(
            id=campaign.id,
            name=campaign.name,
            kind=campaign.kind.value,
            scope=campaign.scope.to_json(),
            window_days=campaign.window.total_seconds() / 86400,
            started_at=campaign.started_at,
            started_by=campaign.started_by,
            due_at=campaign.due_at,
            reviewer=campaign.reviewer,
            overdue=campaign.overdue,
            status=campaign.status.value,
            closed_at=campaign.closed_at,
            closed_by=campaign.closed_by,
            counts=counts,
            items=items,
        )


class CampaignPage(BaseModel):
    campaigns: list[CampaignOut]


class ItemPage(BaseModel):
    items: list[ItemOut]


class SweepOut(BaseModel):
    recertification_items: list[str]
    overdue: list[str]
    due_soon: list[str]
    handed_off: list[str]
    suspended: list[str]
    settled: list[str]
