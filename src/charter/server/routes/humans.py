"""``/v1/humans``: the people, their roles, and their tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from charter.identity.credentials import PrincipalKind
from charter.identity.names import HUMAN_ID_PATTERN
from charter.server.deps import Caller, Wired, ttl_of
from charter.service import HumanChanges
from charter.wire import (
    AgentOut,
    DeactivationOut,
    HumanIn,
    HumanOut,
    HumanPage,
    HumanPatch,
    IssuedTokenOut,
    LifecycleIn,
    TokenIn,
    TokenOut,
)
from charter.wire.pagination import decode_cursor, next_cursor

__all__ = ["router"]

router = APIRouter(prefix="/v1/humans", tags=["humans"])

HumanIdPath = Annotated[str, Path(pattern=HUMAN_ID_PATTERN, max_length=69)]


@router.get("")
def list_humans(
    services: Wired,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HumanPage:
    """List humans (admins and auditors)."""
    humans = services.humans.list(caller, after=decode_cursor(cursor), limit=limit)
    return HumanPage(
        humans=[HumanOut.of(human) for human in humans],
        next_cursor=next_cursor(humans, limit, lambda human: human.id),
    )


@router.post("", status_code=201)
def add_human(services: Wired, caller: Caller, body: HumanIn) -> HumanOut:
    """Add a human."""
    human = services.humans.add(
        caller,
        human_id=body.id,
        email=body.email,
        display_name=body.display_name,
        groups=body.groups,
        roles=body.roles,
    )
    return HumanOut.of(human)


@router.get("/{human_id}")
def get_human(services: Wired, caller: Caller, human_id: HumanIdPath) -> HumanOut:
    """Read one human."""
    return HumanOut.of(services.humans.get(caller, human_id))


@router.patch("/{human_id}")
def update_human(
    services: Wired, caller: Caller, human_id: HumanIdPath, body: HumanPatch
) -> HumanOut:
    """Change a human's email, name, groups or roles, or reactivate them."""
    changes = HumanChanges(
        email=body.email,
        display_name=body.display_name,
        groups=body.groups,
        roles=body.roles,
        active=body.active,
    )
    return HumanOut.of(services.humans.update(caller, human_id, changes))


@router.post("/{human_id}/deactivate")
def deactivate_human(
    services: Wired,
    caller: Caller,
    human_id: HumanIdPath,
    body: Annotated[LifecycleIn | None, Body()] = None,
) -> DeactivationOut:
    """Deactivate a human; the agents they own are reported as orphaned."""
    result = services.humans.deactivate(caller, human_id, reason=body.reason if body else "")
    # Their open review items go to each agent's owner, or to the admins, now.
    services.review_sweep.hand_off()
    return DeactivationOut(
        human=HumanOut.of(result.human),
        orphaned_agents=[AgentOut.of(agent) for agent in result.orphaned_agents],
        revoked_tokens=result.revoked_tokens,
    )


@router.post("/{human_id}/tokens", status_code=201)
def issue_human_token(
    services: Wired,
    caller: Caller,
    human_id: HumanIdPath,
    body: Annotated[TokenIn | None, Body()] = None,
) -> IssuedTokenOut:
    """Issue a token to a human; its clear text is shown in this response only."""
    body = body or TokenIn()
    issued = services.tokens.issue_for_human(
        caller, human_id, ttl=ttl_of(body.ttl_seconds), description=body.description
    )
    return IssuedTokenOut.of(issued, services.clock())


@router.get("/{human_id}/tokens")
def list_human_tokens(services: Wired, caller: Caller, human_id: HumanIdPath) -> list[TokenOut]:
    """The human's tokens, without secrets."""
    now = services.clock()
    return [
        TokenOut.of(credential, now)
        for credential in services.tokens.list_for(caller, PrincipalKind.HUMAN, human_id)
    ]
