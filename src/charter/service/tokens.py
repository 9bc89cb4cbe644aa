"""Credential use cases: issue, list, revoke, rotate, and authenticating a bearer token."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from charter.audit.records import AuditEntry
from charter.clock import Clock, format_time
from charter.codes import ErrorCode
from charter.errors import AuthenticationError, Conflict, NotFound
from charter.identity.agents import Agent, AgentStatus
from charter.identity.credentials import (
    Credential,
    CredentialState,
    IssuedToken,
    PrincipalKind,
    TokenLifetimes,
    hash_secret,
    mint_token,
    parse_token,
    secret_matches,
)
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service.access import require_owner_or_roles, require_roles
from charter.service.throttle import FailureBudget, Suppressed
from charter.storage.ports import Store, UnitOfWork

__all__ = ["Checked", "TokenService", "revoke_former_owners_tokens"]

_AGENT_INACTIVE = {
    AgentStatus.SUSPENDED: ErrorCode.AGENT_SUSPENDED,
    AgentStatus.RETIRED: ErrorCode.AGENT_RETIRED,
}
_TOKEN_UNUSABLE = {
    CredentialState.EXPIRED: ErrorCode.TOKEN_EXPIRED,
    CredentialState.REVOKED: ErrorCode.TOKEN_REVOKED,
}

# Recording every use would turn each authenticated read into a write; a minute's
# precision is enough to see which tokens are idle.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Checked:
    """A bearer token as checked: its principal, or the failure; the credential it named."""

    principal: Principal | None
    credential: Credential | None
    failure: AuthenticationError | None
    at: datetime


# Failed authentications audited one by one per second and process; the rest are counted.
FAILURES_PER_SECOND = 50


class TokenService:
    """Issues and checks bearer tokens."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        lifetimes: TokenLifetimes,
        failures_per_second: int = FAILURES_PER_SECOND,
    ) -> None:
        self._store = store
        self._clock = clock
        self.lifetimes = lifetimes
        self._failures = FailureBudget(failures_per_second)

    # -- issuing -------------------------------------------------------------------

    def issue_for_agent(
        self,
        actor: Principal,
        agent_id: str,
        *,
        ttl: timedelta | None = None,
        description: str = "",
    ) -> IssuedToken:
        """Issue a token to an active agent: its owner or an admin."""
        with self._store.write() as unit:
            agent = _managed_agent(unit, actor, agent_id, "issue agent tokens", HumanRole.ADMIN)
            if agent.status is not AgentStatus.ACTIVE:
                raise Conflict(
                    f"agent {agent_id!r} is {agent.status.value}; tokens go to active agents",
                    code=_AGENT_INACTIVE[agent.status],
                )
            return self._issue(unit, actor, PrincipalKind.AGENT, agent_id, ttl, description)

    def issue_for_human(
        self,
        actor: Principal,
        human_id: str,
        *,
        ttl: timedelta | None = None,
        description: str = "",
    ) -> IssuedToken:
        """Issue a token to an active human: admins."""
        require_roles(actor, "issue human tokens", HumanRole.ADMIN)
        with self._store.write() as unit:
            human = unit.humans.get(human_id)
            if human is None:
                raise NotFound(f"no human {human_id!r}", code=ErrorCode.HUMAN_NOT_FOUND)
            if not human.active:
                raise Conflict(f"{human_id} is deactivated", code=ErrorCode.HUMAN_INACTIVE)
            return self._issue(unit, actor, PrincipalKind.HUMAN, human_id, ttl, description)

    def _issue(
        self,
        unit: UnitOfWork,
        actor: Principal,
        kind: PrincipalKind,
        principal_id: str,
        ttl: timedelta | None,
        description: str,
        *,
        rotated_from: str | None = None,
    ) -> IssuedToken:
        lifetime = self.lifetimes.resolve(kind, ttl)
        now = self._clock()
        credential_id, secret, token = mint_token()
        credential = Credential(
            id=credential_id,
            principal_kind=kind,
            principal_id=principal_id,
            secret_hash=hash_secret(secret),
            description=description,
            created_at=now,
            created_by=actor.ref,
            expires_at=now + lifetime,
            rotated_from=rotated_from,
        )
        unit.credentials.add(credential)
        unit.audit.append(
            AuditEntry(
                type="token.rotated" if rotated_from else "token.issued",
                actor=actor.ref,
                at=now,
                agent=principal_id if kind is PrincipalKind.AGENT else None,
                subject=credential_id,
                data={
                    "principal_kind": kind.value,
                    "principal": principal_id,
                    "expires_at": format_time(credential.expires_at),
                    "description": description,
                    "rotated_from": rotated_from,
                },
            )
        )
        return IssuedToken(credential, token)

    # -- reading, revoking, rotating -----------------------------------------------

    def list_for(
        self, actor: Principal, kind: PrincipalKind, principal_id: str
    ) -> list[Credential]:
        """A principal's tokens (never their secrets)."""
        with self._store.read() as unit:
            self._may_manage(unit, actor, kind, principal_id, "list tokens", read=True)
            return unit.credentials.list_for(kind, principal_id)

    def revoke(self, actor: Principal, credential_id: str, *, reason: str = "") -> Credential:
        """Revoke a token; it is refused from the next request on. Revoking twice is a no-op."""
        now = self._clock()
        with self._store.write() as unit:
            credential = self._credential(unit, actor, credential_id, "revoke tokens")
            if credential.revoked_at is not None:
                return credential
            revoked = replace(credential, revoked_at=now, revoked_by=actor.ref)
            unit.credentials.save(revoked)
            unit.audit.append(
                AuditEntry(
                    type="token.revoked",
                    actor=actor.ref,
                    at=now,
                    agent=_agent_of(credential),
                    subject=credential.id,
                    data={
                        "principal_kind": credential.principal_kind.value,
                        "principal": credential.principal_id,
                        "reason": reason,
                    },
                )
            )
            return revoked

    def rotate(
        self,
        actor: Principal,
        credential_id: str,
        *,
        ttl: timedelta | None = None,
        description: str = "",
    ) -> IssuedToken:
        """Replace an active token with a new one and revoke the old one, atomically.

        The new token keeps the old one's description unless a new one is given.
        """
        now = self._clock()
        with self._store.write() as unit:
            old = self._credential(unit, actor, credential_id, "rotate tokens")
            if old.state(now) is not CredentialState.ACTIVE:
                raise Conflict(
                    f"token {credential_id} is {old.state(now).value}; only active tokens rotate",
                    code=_TOKEN_UNUSABLE[old.state(now)],
                )
            if old.principal_kind is PrincipalKind.AGENT:
                agent = _agent(unit, old.principal_id)
                if agent.status is not AgentStatus.ACTIVE:
                    raise Conflict(
                        f"agent {agent.id!r} is {agent.status.value}",
                        code=_AGENT_INACTIVE[agent.status],
                    )
            unit.credentials.save(replace(old, revoked_at=now, revoked_by=actor.ref))
            return self._issue(
                unit,
                actor,
                old.principal_kind,
                old.principal_id,
                ttl,
                description or old.description,
                rotated_from=old.id,
            )

    def _credential(
        self, unit: UnitOfWork, actor: Principal, credential_id: str, what: str
    ) -> Credential:
        credential = unit.credentials.get(credential_id)
        if credential is None:
            require_roles(actor, what, HumanRole.ADMIN)
            raise NotFound(f"no token {credential_id!r}", code=ErrorCode.TOKEN_NOT_FOUND)
        self._may_manage(unit, actor, credential.principal_kind, credential.principal_id, what)
        return credential

    @staticmethod
    def _may_manage(
        unit: UnitOfWork,
        actor: Principal,
        kind: PrincipalKind,
        principal_id: str,
        what: str,
        *,
        read: bool = False,
    ) -> None:
        readers = (HumanRole.ADMIN, HumanRole.AUDITOR) if read else (HumanRole.ADMIN,)
        if kind is PrincipalKind.AGENT:
            _managed_agent(unit, actor, principal_id, what, *readers)
        elif not (actor.is_human and actor.id == principal_id):
            require_roles(actor, what, *readers)

    # -- authentication ------------------------------------------------------------

    def authenticate(self, token: str | None, *, where: str) -> Principal:
        """Return the principal a bearer token stands for, or audit the failure and raise."""
        now = self._clock()
        with self._store.read() as unit:
            checked = self.check(unit, token, now)
        return self.settle(checked, where=where)

    def check(self, unit: UnitOfWork, token: str | None, now: datetime) -> Checked:
        """Check a bearer token with ``unit`` (any transaction, read or write), writing
        nothing; ``settle`` then records a failure or the token's use."""
        credential: Credential | None = None
        try:
            if not token:
                raise AuthenticationError(
                    "no bearer token was presented",
                    code=ErrorCode.TOKEN_MISSING,
                    help="send 'Authorization: Bearer <token>'",
                )
            credential_id, secret = parse_token(token)
            credential = unit.credentials.get(credential_id)
            if credential is None or not secret_matches(secret, credential.secret_hash):
                credential = None
                raise AuthenticationError(
                    "the bearer token is not valid", code=ErrorCode.TOKEN_INVALID
                )
            return Checked(self.principal_of(unit, credential, now), credential, None, now)
        except AuthenticationError as failure:
            return Checked(None, credential, failure, now)

    def settle(self, checked: Checked, *, where: str) -> Principal:
        """After ``check``: audit a failure and raise it, or note the token's use (at most
        once a minute) and return its principal."""
        credential, now = checked.credential, checked.at
        if checked.principal is None or credential is None:
            failure = checked.failure or AuthenticationError("not authenticated")
            self._record_failure(failure, credential, where, now)
            raise failure
        if credential.last_used_at is None or now - credential.last_used_at >= TOUCH_EVERY:
            with self._store.write() as unit:
                # Agent row before credential row: the order retiring an agent takes them in,
                # so the two can never deadlock on PostgreSQL.
                if credential.principal_kind is PrincipalKind.AGENT:
                    unit.agents.touch_last_seen(credential.principal_id, now)
                unit.credentials.touch(credential.id, now)
        return checked.principal

    @staticmethod
    def settles_in_memory(checked: Checked) -> bool:
        """Whether ``settle`` would answer ``checked`` without the store: a good token,
        used less than a minute ago (nothing to record)."""
        credential = checked.credential
        return (
            checked.principal is not None
            and credential is not None
            and credential.last_used_at is not None
            and checked.at - credential.last_used_at < TOUCH_EVERY
        )

    @staticmethod
    def principal_of(unit: UnitOfWork, credential: Credential, now: datetime) -> Principal:
        """The principal ``credential`` stands for at ``now``, or raise: it has expired or
        was revoked, its agent is not active or its human is deactivated."""
        state = credential.state(now)
        if state is CredentialState.EXPIRED:
            raise AuthenticationError(
                "the bearer token has expired",
                code=ErrorCode.TOKEN_EXPIRED,
                help="ask for a new token",
            )
        if state is CredentialState.REVOKED:
            raise AuthenticationError("the bearer token was revoked", code=ErrorCode.TOKEN_REVOKED)
        if credential.principal_kind is PrincipalKind.AGENT:
            agent = unit.agents.get(credential.principal_id)
            if agent is None or agent.status is not AgentStatus.ACTIVE:
                status = AgentStatus.RETIRED if agent is None else agent.status
                raise AuthenticationError(
                    f"the agent is {status.value}", code=_AGENT_INACTIVE[status]
                )
            return Principal(PrincipalKind.AGENT, agent.id, credential.id)
        human = unit.humans.get(credential.principal_id)
        if human is None or not human.active:
            raise AuthenticationError("the human is deactivated", code=ErrorCode.HUMAN_INACTIVE)
        return Principal(PrincipalKind.HUMAN, human.id, credential.id, human.roles)

    def _record_failure(
        self,
        failure: AuthenticationError,
        credential: Credential | None,
        where: str,
        now: datetime,
    ) -> None:
        record, suppressed = self._failures.admit(now)
        if not record and suppressed is None:
            return
        with self._store.write() as unit:
            if suppressed is not None:
                unit.audit.append(_suppressed_entry(suppressed, now))
            if record:
                unit.audit.append(
                    AuditEntry(
                        type="auth.failed",
                        actor="anonymous",
                        at=now,
                        agent=_agent_of(credential) if credential else None,
                        subject=credential.id if credential else None,
                        data={"code": failure.code, "where": where},
                    )
                )

    def flush_suppressed_failures(self) -> None:
        """Record the count of failures not yet recorded one by one (the server calls this)."""
        suppressed = self._failures.drain()
        if suppressed is not None:
            with self._store.write() as unit:
                unit.audit.append(_suppressed_entry(suppressed, self._clock()))


def revoke_former_owners_tokens(
    unit: UnitOfWork, agent_id: str, former_owner: str, *, at: datetime, by: str
) -> list[str]:
    """When an agent changes owner: revoke the agent's tokens its former owner minted or
    rotated (they were the owner's to hand out, not the new owner's). Returns their ids;
    the caller records them."""
    return unit.credentials.revoke_minted_by(
        PrincipalKind.AGENT, agent_id, former_owner, at=at, by=by
    )


def _suppressed_entry(suppressed: Suppressed, now: datetime) -> AuditEntry:
    return AuditEntry(
        type="auth.failures_suppressed",
        actor="anonymous",
        at=now,
        data={"count": suppressed.count, "since": format_time(suppressed.since)},
    )


def _agent(unit: UnitOfWork, agent_id: str) -> Agent:
    agent = unit.agents.get(agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id!r}", code=ErrorCode.AGENT_NOT_FOUND)
    return agent


def _managed_agent(
    unit: UnitOfWork, actor: Principal, agent_id: str, what: str, *roles: HumanRole
) -> Agent:
    """The agent, if ``actor`` owns it or holds one of ``roles``."""
    agent = unit.agents.get(agent_id)
    if agent is None:
        # Non-admins learn nothing about which agents exist, as with reads.
        require_roles(actor, what, *roles)
        raise NotFound(f"no agent {agent_id!r}", code=ErrorCode.AGENT_NOT_FOUND)
    require_owner_or_roles(actor, agent, what, *roles)
    return agent


def _agent_of(credential: Credential) -> str | None:
    return credential.principal_id if credential.principal_kind is PrincipalKind.AGENT else None
