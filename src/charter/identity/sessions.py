"""Console sessions: a human signed in to the web console, held by a cookie.

A session is opened by presenting one of the human's API tokens (later: an OIDC
sign-in) and is bound to that token: revoking the token, deactivating the human or
taking a role away takes effect on the session's next request. The cookie reads
``chs_<public id>_<secret>``; only the secret's digest is stored. The form token that
guards every state-changing request (CSRF) is derived from the secret, so it is never
stored either and dies with the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from charter.codes import ErrorCode
from charter.errors import AuthenticationError

__all__ = [
    "ConsoleSession",
    "SessionLifetimes",
    "csrf_matches",
    "csrf_token",
    "mint_session",
    "parse_session",
    "session_secret_hash",
]

_COOKIE = re.compile(r"^chs_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class SessionLifetimes:
    """How long a console session lasts: at most ``absolute`` from sign-in, and ends
    after ``idle`` without a request (and never outlives the token it was opened with)."""

    absolute: timedelta = timedelta(hours=8)
    idle: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A stored console session: everything but its secret, which is kept as a digest."""

    id: str
    human: str
    credential_id: str
    """The token the session was opened with; the session lives no longer than it."""
    method: str
    """How the human proved who they are: ``token`` (later ``oidc``)."""
    secret_hash: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None

    def ends_at(self, idle: timedelta) -> datetime:
        """When the session ends unless it is used again."""
        return min(self.expires_at, self.last_seen_at + idle)

    def is_live(self, now: datetime, idle: timedelta) -> bool:
        """True while the session has been neither ended nor left to run out."""
        return self.ended_at is None and now < self.ends_at(idle)


def session_secret_hash(secret: str) -> str:
    """The stored digest of a session's secret."""
    return hashlib.sha256(b"charter-session-v1\x00" + secret.encode("ascii")).hexdigest()


def mint_session() -> tuple[str, str, str]:
    """Return ``(session id, secret, cookie value)`` for a new session."""
    public = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    return f"ses_{public}", secret, f"chs_{public}_{secret}"


def parse_session(cookie: str) -> tuple[str, str]:
    """Split a session cookie into ``(session id, secret)`` or raise."""
    match = _COOKIE.fullmatch(cookie)
    if match is None:
        raise AuthenticationError("the session cookie is malformed", code=ErrorCode.SESSION_INVALID)
    return f"ses_{match.group(1)}", match.group(2)


def csrf_token(cookie: str) -> str:
    """The form token of the session ``cookie`` holds: a keyed digest of its secret."""
    _, secret = parse_session(cookie)
    digest = hmac.new(secret.encode("ascii"), b"charter-csrf-v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def csrf_matches(cookie: str, presented: str) -> bool:
    """Whether ``presented`` is the form token of the session ``cookie`` holds."""
    return hmac.compare_digest(csrf_token(cookie).encode(), presented.encode("utf-8", "replace"))
