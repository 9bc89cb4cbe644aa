"""The API's bodies for tokens and the caller behind one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt

from charter.identity.credentials import Credential, CredentialState, IssuedToken, PrincipalKind
from charter.identity.humans import HumanRole
from charter.wire.base import (
    MAX_TTL_SECONDS,
    InModel,
    Name,
)

__all__ = ["IssuedTokenOut", "TokenIn", "TokenOut", "WhoAmI"]


class TokenIn(InModel):
    """Issue or rotate a token."""

    ttl_seconds: Annotated[StrictInt, Field(ge=1, le=MAX_TTL_SECONDS)] | None = None
    description: Name = ""


class TokenOut(BaseModel):
    """A token's record; never its secret."""

    id: str
    principal_kind: PrincipalKind
    principal_id: str
    description: str
    state: CredentialState
    created_at: datetime
    created_by: str
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    rotated_from: str | None

    @classmethod
    def of(cls, credential: Credential, now: datetime) -> TokenOut:
        """Render a stored credential as seen at ``now``."""
        return cls(
            id=credential.id,
            principal_kind=credential.principal_kind,
            principal_id=credential.principal_id,
            description=credential.description,
            state=credential.state(now),
            created_at=credential.created_at,
            created_by=credential.created_by,
            expires_at=credential.expires_at,
            last_used_at=credential.last_used_at,
            revoked_at=credential.revoked_at,
            revoked_by=credential.revoked_by,
            rotated_from=credential.rotated_from,
        )


class IssuedTokenOut(BaseModel):
    """A new token: the clear text is in this response and nowhere else, ever."""

    token: str
    credential: TokenOut

    @classmethod
    def of(cls, issued: IssuedToken, now: datetime) -> IssuedTokenOut:
        """Render a freshly minted token."""
        return cls(token=issued.token, credential=TokenOut.of(issued.credential, now))


class WhoAmI(BaseModel):
    """The caller behind a token."""

    kind: PrincipalKind
    id: str
    roles: list[HumanRole]
    credential_id: str
