"""``/v1/tokens``: revoking and rotating any token, and ``/v1/whoami``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from charter.server.deps import Caller, Wired, ttl_of
from charter.wire import IssuedTokenOut, TokenIn, TokenOut, WhoAmI
from charter.wire.base import masked_within

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["tokens"])

TokenIdPath = Annotated[str, Path(pattern=r"^tok_[a-z2-7]{16}$")]


@router.get("/whoami")
def whoami(caller: Caller) -> WhoAmI:
    """Who the presented token stands for (reachable with any valid token)."""
    return WhoAmI(
        kind=caller.kind,
        id=caller.id,
        roles=sorted(caller.roles),
        credential_id=caller.credential_id,
    )


@router.delete("/tokens/{token_id}")
def revoke_token(
    services: Wired,
    caller: Caller,
    token_id: TokenIdPath,
    reason: Annotated[
        str, Query(max_length=500, pattern=r"^[^\x00-\x1f]*$"), masked_within(500)
    ] = "",
) -> TokenOut:
    """Revoke a token; it is refused from the next request on."""
    return TokenOut.of(services.tokens.revoke(caller, token_id, reason=reason), services.clock())


@router.post("/tokens/{token_id}/rotate", status_code=201)
def rotate_token(
    services: Wired,
    caller: Caller,
    token_id: TokenIdPath,
    body: Annotated[TokenIn | None, Body()] = None,
) -> IssuedTokenOut:
    """Replace a token with a new one; the old one is revoked at once."""
    body = body or TokenIn()
    issued = services.tokens.rotate(
        caller, token_id, ttl=ttl_of(body.ttl_seconds), description=body.description
    )
    return IssuedTokenOut.of(issued, services.clock())
