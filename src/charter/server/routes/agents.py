"""``/v1/agents``: the registry, the lifecycle and agent tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from charter.identity.agents import AgentStatus, LifecycleAction
from charter.identity.credentials import PrincipalKind
from charter.identity.names import AGENT_ID_PATTERN, HUMAN_ID_PATTERN
from charter.server.deps import Caller, Wired, ttl_of
from charter.service import AgentChanges
from charter.wire import (
    AgentIn,
    AgentOut,
    AgentPage,
    AgentPatch,
    IssuedTokenOut,
    LifecycleIn,
    LifecycleOut,
    TokenIn,
    TokenOut,
    UsageOut,
    UsagePage,
    UtcDateTime,
)
from charter.wire.pagination import decode_cursor, next_cursor

__all__ = ["router"]

router = APIRouter(prefix="/v1/agents", tags=["agents"])

AgentIdPath = Annotated[str, Path(pattern=AGENT_ID_PATTERN, max_length=63)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("")
def list_agents(
    services: Wired,
    caller: Caller,
    owner: Annotated[str | None, Query(pattern=HUMAN_ID_PATTERN, max_length=69)] = None,
    status: AgentStatus | None = None,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AgentPage:
    """List agents (admins and auditors: all; other humans: those they own)."""
    agents = services.agents.list(
        caller, owner=owner, status=status, after=decode_cursor(cursor), limit=limit
    )
    return AgentPage(
        agents=[AgentOut.of(agent) for agent in agents],
        next_cursor=next_cursor(agents, limit, lambda agent: agent.id),
    )


@router.post("", status_code=201)
def register_agent(services: Wired, caller: Caller, body: AgentIn) -> AgentOut:
    """Register an agent with an accountable owner."""
    agent = services.agents.register(
        caller,
        agent_id=body.id,
        display_name=body.display_name,
        owner=body.owner,
        purpose=body.purpose,
        risk_tier=body.risk_tier,
        labels=body.labels,
        recertify_by=body.recertify_by,
    )
    return AgentOut.of(agent)


@router.get("/{agent_id}")
def get_agent(services: Wired, caller: Caller, agent_id: AgentIdPath) -> AgentOut:
    """Read one agent."""
    return AgentOut.of(services.agents.get(caller, agent_id))


@router.patch("/{agent_id}")
def update_agent(
    services: Wired, caller: Caller, agent_id: AgentIdPath, body: AgentPatch
) -> AgentOut:
    """Change an agent's attributes or owner."""
    changes = AgentChanges(
        display_name=body.display_name,
        owner=body.owner,
        purpose=body.purpose,
        risk_tier=body.risk_tier,
        labels=body.labels,
        recertify_by=body.recertify_by,
    )
    return AgentOut.of(services.agents.update(caller, agent_id, changes))


def _lifecycle(action: LifecycleAction) -> None:
    def move(
        services: Wired,
        caller: Caller,
        agent_id: AgentIdPath,
        body: Annotated[LifecycleIn | None, Body()] = None,
    ) -> LifecycleOut:
        agent, revoked = services.agents.transition(
            caller, agent_id, action, reason=body.reason if body else ""
        )
        return LifecycleOut(agent=AgentOut.of(agent), revoked_tokens=revoked)

    move.__doc__ = f"{action.value.capitalize()} the agent."
    router.add_api_route(
        f"/{{agent_id}}/{action.value}",
        move,
        methods=["POST"],
        name=f"{action.value}_agent",
    )


for _action in LifecycleAction:
    _lifecycle(_action)


@router.post("/{agent_id}/tokens", status_code=201)
def issue_agent_token(
    services: Wired,
    caller: Caller,
    agent_id: AgentIdPath,
    body: Annotated[TokenIn | None, Body()] = None,
) -> IssuedTokenOut:
    """Issue a token to the agent; its clear text is shown in this response only."""
    body = body or TokenIn()
    issued = services.tokens.issue_for_agent(
        caller, agent_id, ttl=ttl_of(body.ttl_seconds), description=body.description
    )
    return IssuedTokenOut.of(issued, services.clock())


@router.get("/{agent_id}/tokens")
def list_agent_tokens(services: Wired, caller: Caller, agent_id: AgentIdPath) -> list[TokenOut]:
    """The agent's tokens, without secrets."""
    now = services.clock()
    return [
        TokenOut.of(credential, now)
        for credential in services.tokens.list_for(caller, PrincipalKind.AGENT, agent_id)
    ]


@router.get("/{agent_id}/usage")
def agent_usage(
    services: Wired, caller: Caller, agent_id: AgentIdPath, since: UtcDateTime | None = None
) -> UsagePage:
    """Which permission of which role, through which binding or grant, allowed what the
    agent did (those last used at or after ``since``, if given)."""
    usage = services.usage.for_agent(caller, agent_id, since=since)
    return UsagePage(agent=agent_id, since=since, usage=[UsageOut.of(one) for one in usage])
