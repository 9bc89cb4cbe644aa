"""Console sessions in SQL, by the digest of their secret only."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from charter.identity.sessions import ConsoleSession
from charter.storage.sql.schema import sessions

__all__ = ["SqlSessionStore"]


def _session(row: RowMapping) -> ConsoleSession:
    return ConsoleSession(
        id=row["id"],
        human=row["human_id"],
        credential_id=row["credential_id"],
        method=row["method"],
        secret_hash=row["secret_hash"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_seen_at=row["last_seen_at"],
        ended_at=row["ended_at"],
    )


class SqlSessionStore:
    """Console sessions in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, session_id: str) -> ConsoleSession | None:
        """Return the session with this id."""
        query = sa.select(sessions).where(sessions.c.id == session_id)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _session(row)

    def add(self, session: ConsoleSession) -> None:
        """Insert a new session."""
        self._conn.execute(
            sessions.insert().values(
                id=session.id,
                human_id=session.human,
                credential_id=session.credential_id,
                method=session.method,
                secret_hash=session.secret_hash,
                created_at=session.created_at,
                expires_at=session.expires_at,
                last_seen_at=session.last_seen_at,
                ended_at=session.ended_at,
            )
        )

    def touch(self, session_id: str, at: datetime) -> None:
        """Record a request made with the session."""
        self._conn.execute(
            sessions.update().where(sessions.c.id == session_id).values(last_seen_at=at)
        )

    def end(self, session_id: str, at: datetime) -> bool:
        """End a live session; False if it had already ended."""
        result = self._conn.execute(
            sessions.update()
            .where(sessions.c.id == session_id)
            .where(sessions.c.ended_at.is_(None))
            .values(ended_at=at)
        )
        return bool(result.rowcount)

    def purge(self, before: datetime) -> int:
        """Delete the sessions that ended or expired before ``before``; return how many."""
        result = self._conn.execute(
            sessions.delete().where(
                (sessions.c.expires_at < before) | (sessions.c.ended_at < before)
            )
        )
        return int(result.rowcount)
