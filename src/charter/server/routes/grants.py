"""``/v1/grants``: the JIT grants approvals issued, and revoking them early."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from charter.approvals.grants import GrantStatus
from charter.identity.names import AGENT_ID_PATTERN
from charter.server.deps import Caller, Wired
from charter.wire import LifecycleIn
from charter.wire.pagination import decode_cursor, next_cursor
from charter.wire_approvals import GrantOut, GrantPage

__all__ = ["router"]

router = APIRouter(prefix="/v1/grants", tags=["grants"])

GrantIdPath = Annotated[str, Path(pattern=r"^grt_[a-z2-7]{16}$")]


@router.get("")
def list_grants(
    services: Wired,
    caller: Caller,
    agent: Annotated[str | None, Query(pattern=AGENT_ID_PATTERN, max_length=63)] = None,
    status: GrantStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> GrantPage:
    """Grants (``status``: active, expired or revoked): admins and auditors see all,
    owners their agents'."""
    found = services.grants.list(
        caller, agent=agent, status=status, after=decode_cursor(cursor), limit=limit
    )
    now = services.clock()
    return GrantPage(
        grants=[GrantOut.of(grant, now) for grant in found],
        next_cursor=next_cursor(found, limit, lambda grant: grant.id),
    )


@router.post("/{grant_id}/revoke")
def revoke_grant(
    services: Wired, caller: Caller, grant_id: GrantIdPath, body: LifecycleIn
) -> GrantOut:
    """End a grant before it expires (admins, the agent's owner)."""
    grant = services.grants.revoke(caller, grant_id, body.reason)
    return GrantOut.of(grant, services.clock())
