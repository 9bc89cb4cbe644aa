"""Console sign-in and sessions: a human's token exchanged for a session cookie.

Only people sign in: agent tokens and enforcer accounts are refused. A session is
checked again on every request against the token it was opened with and the human's
current record, so revoking that token, deactivating the human or changing their roles
takes effect at once. Sign-in and sign-out are audited; failed sign-ins are audited as
failed authentications.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from charter.audit.records import AuditEntry
from charter.clock import Clock, format_time
from charter.codes import ErrorCode
from charter.errors import AuthenticationError, PermissionDenied
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.identity.sessions import (
    ConsoleSession,
    SessionLifetimes,
    mint_session,
    parse_session,
    session_secret_hash,
)
from charter.service.tokens import TokenService
from charter.storage.ports import Store

__all__ = ["Opened", "SessionService"]

# As with tokens: a minute's precision is enough for the idle timeout, and it keeps a
# busy console from writing on every page view.
TOUCH_EVERY = timedelta(seconds=60)
# Ended and expired sessions are kept this long (for the audit trail's sake), then deleted.
KEEP_ENDED = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Opened:
    """A session just opened: the cookie value exists only here."""

    session: ConsoleSession
    cookie: str
    principal: Principal


class SessionService:
    """Opens, checks and ends console sessions."""

    def __init__(
        self, store: Store, clock: Clock, tokens: TokenService, lifetimes: SessionLifetimes
    ) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens
        self.lifetimes = lifetimes

    def sign_in(self, token: str, *, where: str, method: str = "token") -> Opened:
        """Open a session for the human ``token`` belongs to, or raise."""
        now = self._clock()
        with self._store.read() as unit:
            checked = self._tokens.check(unit, token.strip(), now)
        principal = self._tokens.settle(checked, where=where)
        credential = checked.credential
        if credential is None:  # never: settle raised
            raise AuthenticationError("not authenticated", code=ErrorCode.TOKEN_INVALID)
        _people_only(principal)
        session_id, secret, cookie = mint_session()
        session = ConsoleSession(
            id=session_id,
            human=principal.id,
            credential_id=credential.id,
            method=method,
            secret_hash=session_secret_hash(secret),
            created_at=now,
            expires_at=min(now + self.lifetimes.absolute, credential.expires_at),
            last_seen_at=now,
        )
        with self._store.write() as unit:
            unit.sessions.purge(now - KEEP_ENDED)
            unit.sessions.add(session)
            unit.audit.append(
                AuditEntry(
                    type="console.signed_in",
                    actor=principal.ref,
                    at=now,
                    subject=session.id,
                    data={
                        "method": method,
                        "credential": credential.id,
                        "expires_at": format_time(session.expires_at),
                    },
                )
            )
        return Opened(session, cookie, principal)

    def resume(self, cookie: str | None) -> tuple[Principal, ConsoleSession]:
        """The human a session cookie stands for, as of now, or raise."""
        if not cookie:
            raise AuthenticationError("not signed in", code=ErrorCode.SESSION_MISSING)
        session_id, secret = parse_session(cookie)
        now = self._clock()
        with self._store.read() as unit:
            session = unit.sessions.get(session_id)
            if session is None or not hmac.compare_digest(
                session_secret_hash(secret), session.secret_hash
            ):
                raise AuthenticationError(
                    "the session is not valid", code=ErrorCode.SESSION_INVALID
                )
            if not session.is_live(now, self.lifetimes.idle):
                raise AuthenticationError("the session has ended", code=ErrorCode.SESSION_EXPIRED)
            credential = unit.credentials.get(session.credential_id)
            if credential is None:
                raise AuthenticationError(
                    "the session is not valid", code=ErrorCode.SESSION_INVALID
                )
            principal = self._tokens.principal_of(unit, credential, now)
        _people_only(principal)
        if now - session.last_seen_at >= TOUCH_EVERY:
            with self._store.write() as unit:
                unit.sessions.touch(session.id, now)
        return principal, session

    def sign_out(self, cookie: str | None) -> bool:
        """End the session ``cookie`` holds, if it is live; True if one was ended."""
        try:
            principal, session = self.resume(cookie)
        except (AuthenticationError, PermissionDenied):
            return False
        now = self._clock()
        with self._store.write() as unit:
            if not unit.sessions.end(session.id, now):
                return False
            unit.audit.append(
                AuditEntry(
                    type="console.signed_out",
                    actor=principal.ref,
                    at=now,
                    subject=session.id,
                    data={"method": session.method},
                )
            )
        return True

    def ends_at(self, session: ConsoleSession) -> datetime:
        """When ``session`` ends unless it is used again."""
        return session.ends_at(self.lifetimes.idle)


def _people_only(principal: Principal) -> None:
    if not principal.is_human or HumanRole.ENFORCER in principal.roles:
        raise PermissionDenied(
            "the console is for people; agent tokens and enforcer accounts cannot sign in",
            code=ErrorCode.CONSOLE_FOR_PEOPLE,
            help="sign in with a token issued to a human (charter tokens issue --human user:NAME)",
        )
