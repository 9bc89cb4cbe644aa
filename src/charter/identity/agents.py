"""Agents: governed AI identities with an accountable owner, and their lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from charter.codes import ErrorCode
from charter.errors import Conflict

__all__ = ["Agent", "AgentStatus", "LifecycleAction", "RiskTier", "next_status"]


class RiskTier(StrEnum):
    """How much harm the agent could do if it misbehaved."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AgentStatus(StrEnum):
    """Where the agent is in its lifecycle. ``retired`` is terminal."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class LifecycleAction(StrEnum):
    """The lifecycle moves an owner or admin can make."""

    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    RETIRE = "retire"


_TRANSITIONS: dict[LifecycleAction, tuple[frozenset[AgentStatus], AgentStatus]] = {
    LifecycleAction.SUSPEND: (frozenset({AgentStatus.ACTIVE}), AgentStatus.SUSPENDED),
    LifecycleAction.REINSTATE: (frozenset({AgentStatus.SUSPENDED}), AgentStatus.ACTIVE),
    LifecycleAction.RETIRE: (
        frozenset({AgentStatus.ACTIVE, AgentStatus.SUSPENDED}),
        AgentStatus.RETIRED,
    ),
}


def next_status(current: AgentStatus, action: LifecycleAction) -> AgentStatus:
    """Return the status ``action`` leads to from ``current``, or raise ``Conflict``."""
    allowed_from, target = _TRANSITIONS[action]
    if current not in allowed_from:
        raise Conflict(
            f"cannot {action.value} an agent that is {current.value}",
            code=ErrorCode.INVALID_TRANSITION,
            help="retired agents cannot change; only suspended agents can be reinstated; "
            "only active agents can be suspended",
        )
    return target


@dataclass(frozen=True, slots=True)
class Agent:
    """A governed AI identity."""

    id: str
    display_name: str
    owner: str
    purpose: str
    risk_tier: RiskTier
    status: AgentStatus
    created_at: datetime
    updated_at: datetime
    recertify_by: datetime | None = None
    last_seen_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    suspended_at: datetime | None = None
    """When the agent was last suspended (kept after reinstatement): approvals and grants
    from before it are void."""
    suspended_by: str | None = None
    """Who made the last suspension (``user:<id>``); only they or an admin lift it."""

    @property
    def ref(self) -> str:
        """The agent as an actor reference: ``agent:<id>``."""
        return f"agent:{self.id}"

    def with_status(self, status: AgentStatus, at: datetime, *, by: str | None = None) -> Agent:
        """Return a copy in ``status``, updated at ``at`` (by ``by``). Suspending or
        retiring notes when and by whom: everything the agent held before is void."""
        if status is AgentStatus.ACTIVE:
            return replace(self, status=status, updated_at=at)
        return replace(self, status=status, updated_at=at, suspended_at=at, suspended_by=by)

    def voids(self, at: datetime) -> bool:
        """True when something created or approved at ``at`` predates the agent's last
        suspension (or retirement), so it may never be used."""
        return self.suspended_at is not None and at <= self.suspended_at
