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
from charter.reviews.usage import PermissionKey, PermissionUsage

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
    """The usage of the role's permissions (any order); only the records of this source
    and of ``grants`` count."""
    grants: tuple[str, ...] = ()
    """For an eligible binding: the grants it issued (``grant:<id>``), whose usage counts
    as the binding's."""
    denials: int = 0
    """The agent's denials in the window on actions this role's permissions name."""
    approvals: int = 0
    """Approvals asked for in the window through this source."""

    def usage_of(self, index: int) -> PermissionUsage | None:
        """The usage of ``permissions[index]`` through this source and its grants, as one
        record (counts added, samples merged), or None if there is none."""
        sources = {self.source, *self.grants}
        found = sorted(
            (
                usage
                for usage in self.usage
                if usage.key.permission == index
                and usage.key.role == self.role.name
                and usage.key.source in sources
            ),
            key=lambda usage: (usage.first_at, usage.key.source),
        )
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        actions = tuple(dict.fromkeys(a for usage in found for a in usage.actions))
        resources = tuple(dict.fromkeys(r for usage in found for r in usage.resources))
        return PermissionUsage(
            key=PermissionKey(self.agent, self.role.name, index, self.source),
            count=sum(usage.count for usage in found),
            first_at=min(usage.first_at for usage in found),
            last_at=max(usage.last_at for usage in found),
            actions=actions,
            resources=resources,
            sample_full=any(usage.sample_full for usage in found),
        )
