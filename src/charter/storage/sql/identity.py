"""SQL repositories for agents, humans and credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from charter.codes import ErrorCode
from charter.errors import Conflict
from charter.identity.agents import Agent, AgentStatus, RiskTier
from charter.identity.credentials import Credential, PrincipalKind
from charter.identity.humans import Human, HumanRole
from charter.storage.sql.schema import agents, credentials, humans

__all__ = ["SqlAgentStore", "SqlCredentialStore", "SqlHumanStore"]

# Built once: every decision and every authentication runs these.
_AGENT = sa.select(agents).where(agents.c.id == sa.bindparam("agent_id"))
_CREDENTIAL = sa.select(credentials).where(credentials.c.id == sa.bindparam("credential_id"))
_HUMAN = sa.select(humans).where(humans.c.id == sa.bindparam("human_id"))


def _agent_row(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "display_name": agent.display_name,
        "owner": agent.owner,
        "purpose": agent.purpose,
        "risk_tier": agent.risk_tier.value,
        "status": agent.status.value,
        "labels": dict(agent.labels),
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
        "recertify_by": agent.recertify_by,
        "last_seen_at": agent.last_seen_at,
        "suspended_at": agent.suspended_at,
        "suspended_by": agent.suspended_by,
    }


def _agent(row: RowMapping) -> Agent:
    return Agent(
        id=row["id"],
        display_name=row["display_name"],
        owner=row["owner"],
        purpose=row["purpose"],
        risk_tier=RiskTier(row["risk_tier"]),
        status=AgentStatus(row["status"]),
        labels=dict(row["labels"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        recertify_by=row["recertify_by"],
        last_seen_at=row["last_seen_at"],
        suspended_at=row["suspended_at"],
        suspended_by=row["suspended_by"],
    )


class SqlAgentStore:
    """Agents in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, agent_id: str, *, for_update: bool = False) -> Agent | None:
        """Return the agent, locking its row when ``for_update``."""
        query = _AGENT.with_for_update() if for_update else _AGENT
        row = self._conn.execute(query, {"agent_id": agent_id}).mappings().first()
        return None if row is None else _agent(row)

    def add(self, agent: Agent) -> None:
        """Insert a new agent; raise ``Conflict`` if the id is taken."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(agents.insert().values(**_agent_row(agent)))
        except IntegrityError:
            raise Conflict(
                f"agent {agent.id!r} already exists", code=ErrorCode.AGENT_EXISTS
            ) from None

    def save(self, agent: Agent) -> None:
        """Overwrite an existing agent."""
        values = _agent_row(agent)
        del values["id"]
        self._conn.execute(agents.update().where(agents.c.id == agent.id).values(**values))

    def list(
        self,
        *,
        owner: str | None = None,
        status: AgentStatus | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Agent]:
        """Agents ordered by id, after the id ``after``."""
        query = sa.select(agents).order_by(agents.c.id).limit(limit)
        if owner is not None:
            query = query.where(agents.c.owner == owner)
        if status is not None:
            query = query.where(agents.c.status == status.value)
        if after is not None:
            query = query.where(agents.c.id > after)
        return [_agent(row) for row in self._conn.execute(query).mappings()]

    def touch_last_seen(self, agent_id: str, at: datetime) -> None:
        """Record that the agent was just seen."""
        self._conn.execute(agents.update().where(agents.c.id == agent_id).values(last_seen_at=at))


def _human_row(human: Human) -> dict[str, Any]:
    return {
        "id": human.id,
        "email": human.email,
        "display_name": human.display_name,
        "groups": list(human.groups),
        "roles": sorted(role.value for role in human.roles),
        "active": human.active,
        "created_at": human.created_at,
        "updated_at": human.updated_at,
    }


def _human(row: RowMapping) -> Human:
    return Human(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        groups=tuple(row["groups"]),
        roles=frozenset(HumanRole(role) for role in row["roles"]),
        active=bool(row["active"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlHumanStore:
    """Humans in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, human_id: str, *, for_update: bool = False) -> Human | None:
        """Return the human, locking the row when ``for_update``."""
        query = _HUMAN.with_for_update() if for_update else _HUMAN
        row = self._conn.execute(query, {"human_id": human_id}).mappings().first()
        return None if row is None else _human(row)

    def add(self, human: Human) -> None:
        """Insert a new human; raise ``Conflict`` if the id or email is taken."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(humans.insert().values(**_human_row(human)))
        except IntegrityError:
            raise Conflict(
                f"a human with id {human.id!r} or email {human.email!r} already exists",
                code=ErrorCode.HUMAN_EXISTS,
            ) from None

    def save(self, human: Human) -> None:
        """Overwrite an existing human; raise ``Conflict`` if the new email is taken."""
        values = _human_row(human)
        del values["id"]
        try:
            with self._conn.begin_nested():
                self._conn.execute(humans.update().where(humans.c.id == human.id).values(**values))
        except IntegrityError:
            raise Conflict(
                f"another human already has email {human.email!r}", code=ErrorCode.HUMAN_EXISTS
            ) from None

    def list(self, *, after: str | None = None, limit: int = 100) -> list[Human]:
        """Humans ordered by id, after the id ``after``."""
        query = sa.select(humans).order_by(humans.c.id).limit(limit)
        if after is not None:
            query = query.where(humans.c.id > after)
        return [_human(row) for row in self._conn.execute(query).mappings()]


def _credential_row(credential: Credential) -> dict[str, Any]:
    return {
        "id": credential.id,
        "principal_kind": credential.principal_kind.value,
        "principal_id": credential.principal_id,
        "secret_hash": credential.secret_hash,
        "description": credential.description,
        "created_at": credential.created_at,
        "created_by": credential.created_by,
        "expires_at": credential.expires_at,
        "last_used_at": credential.last_used_at,
        "revoked_at": credential.revoked_at,
        "revoked_by": credential.revoked_by,
        "rotated_from": credential.rotated_from,
    }


def _credential(row: RowMapping) -> Credential:
    return Credential(
        id=row["id"],
        principal_kind=PrincipalKind(row["principal_kind"]),
        principal_id=row["principal_id"],
        secret_hash=row["secret_hash"],
        description=row["description"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
        rotated_from=row["rotated_from"],
    )


class SqlCredentialStore:
    """API tokens in SQL, by hash only."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, credential_id: str) -> Credential | None:
        """Return the credential with this id."""
        row = self._conn.execute(_CREDENTIAL, {"credential_id": credential_id}).mappings().first()
        return None if row is None else _credential(row)

    def add(self, credential: Credential) -> None:
        """Insert a new credential."""
        self._conn.execute(credentials.insert().values(**_credential_row(credential)))

    def save(self, credential: Credential) -> None:
        """Overwrite an existing credential."""
        values = _credential_row(credential)
        del values["id"]
        self._conn.execute(
            credentials.update().where(credentials.c.id == credential.id).values(**values)
        )

    def list_for(self, kind: PrincipalKind, principal_id: str) -> list[Credential]:
        """Every credential of a principal, newest first."""
        query = (
            sa.select(credentials)
            .where(credentials.c.principal_kind == kind.value)
            .where(credentials.c.principal_id == principal_id)
            .order_by(credentials.c.created_at.desc(), credentials.c.id)
        )
        return [_credential(row) for row in self._conn.execute(query).mappings()]

    def revoke_all_for(
        self, kind: PrincipalKind, principal_id: str, *, at: datetime, by: str
    ) -> list[str]:
        """Revoke every unrevoked credential of a principal; return their ids."""
        owned = (
            (credentials.c.principal_kind == kind.value)
            & (credentials.c.principal_id == principal_id)
            & credentials.c.revoked_at.is_(None)
        )
        return self._revoke_where(owned, at=at, by=by)

    def revoke_minted_by(
        self, kind: PrincipalKind, principal_id: str, minted_by: str, *, at: datetime, by: str
    ) -> list[str]:
        """Revoke every unrevoked credential of a principal that ``minted_by`` issued or
        rotated; return their ids."""
        owned = (
            (credentials.c.principal_kind == kind.value)
            & (credentials.c.principal_id == principal_id)
            & (credentials.c.created_by == minted_by)
            & credentials.c.revoked_at.is_(None)
        )
        return self._revoke_where(owned, at=at, by=by)

    def _revoke_where(self, owned: Any, *, at: datetime, by: str) -> list[str]:
        """Revoke the credentials ``owned`` selects; return their ids."""
        ids = [row[0] for row in self._conn.execute(sa.select(credentials.c.id).where(owned))]
        if ids:
            self._conn.execute(
                credentials.update()
                .where(credentials.c.id.in_(ids))
                .values(revoked_at=at, revoked_by=by)
            )
        return sorted(ids)

    def touch(self, credential_id: str, at: datetime) -> None:
        """Record a use of the credential."""
        self._conn.execute(
            credentials.update().where(credentials.c.id == credential_id).values(last_used_at=at)
        )
