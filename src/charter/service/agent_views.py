"""Agents as the console shows them: the filtered registry, one agent's profile (its
lifecycle, the active policy's bindings naming it, its grants, tokens and recent
decisions) and what pulling its kill switch would do, counted now.

Reads only, each through the use case the API calls with the same actor, so a person
sees here exactly what their roles let them read through ``/v1``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from charter.approvals.grants import GrantRecord, GrantStatus
from charter.approvals.model import ApprovalStatus
from charter.audit.records import AuditRecord
from charter.clock import Clock
from charter.identity.agents import Agent, AgentStatus, LifecycleAction, RiskTier
from charter.identity.credentials import Credential, CredentialState, PrincipalKind
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.policy.model import Permission
from charter.service.access import require_owner_or_roles
from charter.service.active import ActiveEngine
from charter.service.agents import AgentService
from charter.service.audit import AuditService
from charter.service.grants import GrantService
from charter.service.policies import READERS as POLICY_READERS
from charter.service.tokens import TokenService
from charter.storage.ports import AuditQuery, Store

__all__ = [
    "AgentFilter",
    "AgentProfile",
    "AgentViews",
    "BindingView",
    "DecisionRow",
    "KillSwitch",
    "Listing",
]

_SCAN = 500
RECENT_DECISIONS = 20


@dataclass(frozen=True, slots=True)
class AgentFilter:
    """What the registry list is narrowed to; empty fields match every agent."""

    contains: str = ""
    """A part of the agent's id."""
    status: AgentStatus | None = None
    risk_tier: RiskTier | None = None
    owner: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def matches(self, agent: Agent) -> bool:
        """True when ``agent`` passes every filter."""
        return (
            self.contains.lower() in agent.id
            and (self.status is None or agent.status is self.status)
            and (self.risk_tier is None or agent.risk_tier is self.risk_tier)
            and (self.owner is None or agent.owner == self.owner)
            and all(agent.labels.get(key) == value for key, value in self.labels.items())
        )


@dataclass(frozen=True, slots=True)
class Listing:
    """One screen of the filtered registry."""

    agents: builtins.list[Agent]
    more: bool
    """More agents matched than are shown."""


@dataclass(frozen=True, slots=True)
class BindingView:
    """A binding of the active policy that gives the agent a role."""

    name: str
    role: str
    activation: str
    """``standing`` or ``eligible`` (through an approval, just in time)."""
    selector: Mapping[str, str] | None
    """The labels it selects the agent by; None when it names the agent."""
    expires_at: datetime | None
    max_duration: timedelta | None
    """For an eligible binding: the longest grant an approval gives."""
    permissions: tuple[Permission, ...]


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One recent decision about the agent, from its audit record."""

    id: str | None
    at: datetime
    capability: str
    action: str
    resource: str
    outcome: str
    code: str


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """Everything the agent's page shows, as the visitor may see it."""

    agent: Agent
    bindings: tuple[BindingView, ...] | None
    """None when the visitor's roles do not let them read the policy."""
    policy_revision: str | None
    grants: builtins.list[GrantRecord]
    tokens: builtins.list[Credential]
    decisions: builtins.list[DecisionRow]
    may_manage: bool
    """The visitor may issue and revoke its tokens, suspend and retire it."""
    may_reinstate: bool
    now: datetime

    def token_state(self, token: Credential) -> str:
        """``active``, ``expired`` or ``revoked`` now."""
        return token.state(self.now).value

    def grant_state(self, grant: GrantRecord) -> str:
        """``active``, ``expired`` or ``revoked`` now."""
        return grant.status(self.now).value


@dataclass(frozen=True, slots=True)
class KillSwitch:
    """What suspending or retiring the agent would do, counted now."""

    agent: Agent
    action: LifecycleAction
    active_tokens: int
    approvals: int
    """Pending approvals, and approved ones no request has used yet."""
    grants: int
    """Grants neither revoked nor expired."""


class AgentViews:
    """Builds the console's agent pages from the agent, token, grant and audit use cases."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        agents: AgentService,
        tokens: TokenService,
        grants: GrantService,
        audit: AuditService,
        compiled: ActiveEngine,
    ) -> None:
        self._store = store
        self._clock = clock
        self._agents = agents
        self._tokens = tokens
        self._grants = grants
        self._audit = audit
        self._compiled = compiled

    def find(self, actor: Principal, wanted: AgentFilter, *, limit: int = 200) -> Listing:
        """The agents ``actor`` may list (``AgentService.list``) that ``wanted`` matches,
        ordered by id."""
        found: builtins.list[Agent] = []
        after: str | None = None
        while len(found) <= limit:
            page = self._agents.list(
                actor, owner=wanted.owner, status=wanted.status, after=after, limit=_SCAN
            )
            found.extend(agent for agent in page if wanted.matches(agent))
            if len(page) < _SCAN:
                break
            after = page[-1].id
        return Listing(found[:limit], more=len(found) > limit)

    def profile(self, actor: Principal, agent_id: str) -> AgentProfile:
        """The agent's page for ``actor``: who may read the agent through the API."""
        agent = self._agents.get(actor, agent_id)
        bindings, revision = self._bindings(actor, agent)
        records = self._audit.query(
            actor,
            AuditQuery(
                agent=agent.id, types=("decision",), newest_first=True, limit=RECENT_DECISIONS
            ),
        )
        manages = may_manage(actor, agent)
        return AgentProfile(
            agent=agent,
            bindings=bindings,
            policy_revision=revision,
            grants=self._grants.list(actor, agent=agent.id, limit=100),
            tokens=self._tokens.list_for(actor, PrincipalKind.AGENT, agent.id),
            decisions=[_decision(record) for record in records],
            may_manage=manages,
            may_reinstate=agent.status is AgentStatus.SUSPENDED
            and (actor.has_any(HumanRole.ADMIN) or (manages and agent.suspended_by == actor.ref)),
            now=self._clock(),
        )

    def kill_switch(self, actor: Principal, agent_id: str, action: LifecycleAction) -> KillSwitch:
        """What ``action`` (suspend or retire) would do to the agent now, for someone the
        transition would allow (its owner or an admin)."""
        agent = self._agents.get(actor, agent_id)
        require_owner_or_roles(actor, agent, f"{action.value} agents", HumanRole.ADMIN)
        now = self._clock()
        with self._store.read() as unit:
            tokens = unit.credentials.list_for(PrincipalKind.AGENT, agent.id)
            pending = unit.approvals.list(
                status=ApprovalStatus.PENDING, agent=agent.id, limit=1_000_000
            )
            unused = unit.approvals.unused_for(agent.id)
            grants = unit.grants.list(
                agent=agent.id, status=GrantStatus.ACTIVE, now=now, limit=1_000_000
            )
        return KillSwitch(
            agent=agent,
            action=action,
            active_tokens=sum(token.state(now) is CredentialState.ACTIVE for token in tokens),
            approvals=len(pending) + len(unused),
            grants=len(grants),
        )

    def _bindings(
        self, actor: Principal, agent: Agent
    ) -> tuple[tuple[BindingView, ...] | None, str | None]:
        if not actor.has_any(*POLICY_READERS):
            return None, None
        engine = self._compiled.engine
        if engine is None:
            return (), None
        roles = {role.name: role.permissions for role in engine.policy.roles}
        views = []
        for compiled in engine.snapshot.bindings_for(agent.id, agent.labels):
            binding = compiled.binding
            eligible = compiled.activation is not None
            views.append(
                BindingView(
                    name=binding.name,
                    role=binding.role,
                    activation=binding.activation.value,
                    selector=None if agent.id in binding.agents else binding.selector,
                    expires_at=binding.expires_at,
                    max_duration=binding.max_duration if eligible else None,
                    permissions=roles.get(binding.role, ()),
                )
            )
        return tuple(views), engine.revision


def may_manage(actor: Principal, agent: Agent) -> bool:
    """True for the agent's owner or an admin: who may change its tokens and lifecycle."""
    return actor.has_any(HumanRole.ADMIN) or (actor.is_human and actor.id == agent.owner)


def _decision(record: AuditRecord) -> DecisionRow:
    data = record.data()
    request = data.get("request") or {}
    return DecisionRow(
        id=record.subject,
        at=record.at,
        capability=str(request.get("capability", "")),
        action=str(request.get("action", "")),
        resource=str(request.get("resource", "")),
        outcome=str(data.get("decision", "")),
        code=str(data.get("code", "")),
    )
