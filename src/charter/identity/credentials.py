"""Bearer API tokens: minted with 256 random bits, shown once, stored only as a hash.

A token reads ``cht_<public id>_<secret>``. The public id (also the credential's id,
``tok_<public id>``) finds the stored record; the secret is compared by its SHA-256
digest in constant time. The ``cht_`` prefix lets secret scanners recognise a leaked
Charter token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from charter.codes import ErrorCode
from charter.durations import format_duration
from charter.errors import AuthenticationError, InvalidInput

__all__ = [
    "Credential",
    "CredentialState",
    "IssuedToken",
    "PrincipalKind",
    "TokenLifetimes",
    "hash_secret",
    "mint_token",
    "parse_token",
    "secret_matches",
]

TOKEN_PREFIX = "cht"  # noqa: S105 - a public prefix, not a secret
SECRET_BYTES = 32  # 256 bits of randomness
_TOKEN = re.compile(r"^cht_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$")


class PrincipalKind(StrEnum):
    """Whose credential it is."""

    HUMAN = "human"
    AGENT = "agent"


class CredentialState(StrEnum):
    """Whether a credential can still be used."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Credential:
    """A stored API token: everything but the secret, which is kept only as a hash."""

    id: str
    principal_kind: PrincipalKind
    principal_id: str
    secret_hash: str
    description: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    rotated_from: str | None = None

    def state(self, now: datetime) -> CredentialState:
        """Return whether the credential is active, expired or revoked at ``now``."""
        if self.revoked_at is not None:
            return CredentialState.REVOKED
        if now >= self.expires_at:
            return CredentialState.EXPIRED
        return CredentialState.ACTIVE


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly minted token: the only time its clear text exists."""

    credential: Credential
    token: str


@dataclass(frozen=True, slots=True)
class TokenLifetimes:
    """Default and maximum token lifetimes per kind of principal."""

    agent_default: timedelta = timedelta(hours=24)
    agent_max: timedelta = timedelta(days=30)
    human_default: timedelta = timedelta(days=30)
    human_max: timedelta = timedelta(days=90)

    def resolve(self, kind: PrincipalKind, requested: timedelta | None) -> timedelta:
        """Return the lifetime to give, refusing one that is not positive or over the cap."""
        default, cap = (
            (self.agent_default, self.agent_max)
            if kind is PrincipalKind.AGENT
            else (self.human_default, self.human_max)
        )
        if requested is None:
            return min(default, cap)
        if requested <= timedelta(0):
            raise InvalidInput("token lifetime must be positive", code=ErrorCode.INVALID_TTL)
        if requested > cap:
            raise InvalidInput(
                f"token lifetime {format_duration(requested)} exceeds the maximum of "
                f"{format_duration(cap)} for {kind.value}s",
                code=ErrorCode.TTL_TOO_LONG,
                help="ask for a shorter lifetime, or raise the maximum in the server settings",
            )
        return requested


def hash_secret(secret: str) -> str:
    """Return the stored digest of a token secret."""
    return hashlib.sha256(b"charter-token-v1\x00" + secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Compare a presented secret with a stored digest in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def mint_token() -> tuple[str, str, str]:
    """Return ``(credential id, secret, clear token)`` for a new token."""
    public = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
    secret = secret.rstrip("=")
    return f"tok_{public}", secret, f"{TOKEN_PREFIX}_{public}_{secret}"


def parse_token(token: str) -> tuple[str, str]:
    """Split a presented token into ``(credential id, secret)`` or raise."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise AuthenticationError(
            "the bearer token is malformed",
            code=ErrorCode.TOKEN_INVALID,
            help="Charter tokens look like cht_<id>_<secret>",
        )
    return f"tok_{match.group(1)}", match.group(2)
