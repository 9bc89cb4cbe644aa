"""The evidence a review item carries: what a reviewer sees, and what recommends.

Two kinds of item: one per agent (is it still needed, is its owner accountable, is its
purpose current) and one per binding or grant it holds, standing or eligible. Both are
plain, frozen values gathered over a look-back window by whoever builds the campaign;
nothing here reads a store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from charter.identity.agents import AgentStatus, RiskTier
from charter.policy.model import Activation, Role
from charter.reviews.usage import PermissionUsage

__all__ = ["AgentEvidence", "GrantEvidence"]


@dataclass(frozen=True, slots=True)
class AgentEvidence:
    """What the window shows about one agent as a whole."""

    agent: str
    owner: str
    risk_tier: RiskTier
    status: AgentStatus
    purpose: str = ""
    owner_active: bool = True
    """False once the owner's account is deactivated."""
    owner_holds_role: bool = True
    """False once the owner no longer holds a role that lets them own agents."""
    last_seen_at: datetime | None = None
    """The agent's last decision, whenever it was."""
    decisions: int = 0
    """Decisions about the agent in the window, whatever their effect."""
    denials: int = 0
    approvals: int = 0
    """Approvals asked for in the window."""
    tokens_issued: int = 0
    """Tokens issued to the agent in the window."""
    last_token_at: datetime | None = None
    """When a token was last issued to the agent, whenever it was."""


@dataclass(frozen=True, slots=True)
class GrantEvidence:
    """What the window shows about one binding or grant an agent holds."""

    agent: str
    source: str
    """``Binding/<name>`` for a standing or eligible binding, ``grant:<id>`` for a grant."""
    role: Role
    """The role it gives, with its permissions as the active policy writes them."""
    activation: Activation
    risk_tier: RiskTier = RiskTier.MEDIUM
    """The agent's risk tier."""
    usage: tuple[PermissionUsage, ...] = field(default=())
    """The usage of the role's permissions through this source (any order)."""
    denials: int = 0
    """The agent's denials in the window on actions this role's permissions name."""
    approvals: int = 0
    """Approvals asked for in the window through this source."""

    def usage_of(self, index: int) -> PermissionUsage | None:
        """The usage recorded for ``permissions[index]`` through this source, if any."""
        for usage in self.usage:
            if (
                usage.key.permission == index
                and usage.key.source == self.source
                and usage.key.role == self.role.name
            ):
                return usage
        return None
