"""The API's bodies for agents: registering, changing and retiring them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from charter.identity.agents import Agent, AgentStatus, RiskTier
from charter.reviews.usage import PermissionUsage
from charter.wire.base import (
    AgentId,
    HumanId,
    InModel,
    Labels,
    Name,
    NotSecret,
    Purpose,
    Reason,
    UtcDateTime,
)

__all__ = [
    "AgentIn",
    "AgentOut",
    "AgentPage",
    "AgentPatch",
    "LifecycleIn",
    "LifecycleOut",
    "UsageOut",
    "UsagePage",
]


class AgentIn(InModel):
    """Register an agent."""

    id: Annotated[AgentId, NotSecret]
    owner: HumanId
    purpose: Purpose
    risk_tier: RiskTier = RiskTier.MEDIUM
    display_name: Name | None = None
    labels: Labels = Field(default_factory=dict)
    recertify_by: UtcDateTime | None = None


class AgentPatch(InModel):
    """Change an agent; absent fields stay as they are."""

    display_name: Name | None = None
    owner: HumanId | None = None
    purpose: Purpose | None = None
    risk_tier: RiskTier | None = None
    labels: Labels | None = None
    recertify_by: UtcDateTime | None = None


class LifecycleIn(InModel):
    """Why an agent is suspended, reinstated or retired."""

    reason: Reason = ""


class AgentOut(BaseModel):
    """An agent as the API shows it."""

    id: str
    display_name: str
    owner: str
    purpose: str
    risk_tier: RiskTier
    status: AgentStatus
    labels: dict[str, str]
    created_at: datetime
    updated_at: datetime
    recertify_by: datetime | None
    last_seen_at: datetime | None

    @classmethod
    def of(cls, agent: Agent) -> AgentOut:
        """Render a domain agent."""
        return cls(
            id=agent.id,
            display_name=agent.display_name,
            owner=agent.owner,
            purpose=agent.purpose,
            risk_tier=agent.risk_tier,
            status=agent.status,
            labels=dict(agent.labels),
            created_at=agent.created_at,
            updated_at=agent.updated_at,
            recertify_by=agent.recertify_by,
            last_seen_at=agent.last_seen_at,
        )


class AgentPage(BaseModel):
    """A page of agents."""

    agents: list[AgentOut]
    next_cursor: str | None


class LifecycleOut(BaseModel):
    """An agent after a lifecycle move, and the tokens it revoked."""

    agent: AgentOut
    revoked_tokens: list[str]


class UsageOut(BaseModel):
    """How much, and for what, one permission of one role, held through one binding or
    grant, was used."""

    role: str
    permission: int
    """The permission's index in the role's ``permissions``."""
    source: str
    """``Binding/<name>`` or ``grant:<id>``."""
    count: int
    first_at: datetime
    last_at: datetime
    actions: list[str]
    resources: list[str]
    sample_full: bool

    @classmethod
    def of(cls, usage: PermissionUsage) -> UsageOut:
        """Render one permission's usage."""
        return cls(
            role=usage.key.role,
            permission=usage.key.permission,
            source=usage.key.source,
            count=usage.count,
            first_at=usage.first_at,
            last_at=usage.last_at,
            actions=list(usage.actions),
            resources=list(usage.resources),
            sample_full=usage.sample_full,
        )


class UsagePage(BaseModel):
    """An agent's usage, one entry per permission it used."""

    agent: str
    since: datetime | None
    usage: list[UsageOut]
