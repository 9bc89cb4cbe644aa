"""The leaked-secret registry and the advisories (allowed inferences) in SQL."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from charter.inference import Advisory
from charter.secrets.leaks import Leak
from charter.storage.sql.schema import advisories, leaked_secrets

__all__ = ["SqlAdvisoryStore", "SqlLeakStore"]

_LOOKUP = sa.select(leaked_secrets.c.fingerprint, leaked_secrets.c.length)
_COUNT = sa.select(sa.func.count()).select_from(leaked_secrets)


def _leak(row: RowMapping) -> Leak:
    return Leak(
        fingerprint=row["fingerprint"],
        type=row["type"],
        length=row["length"],
        note=row["note"],
        ticket=row["ticket"],
        source=row["source"],
        reported_by=row["reported_by"],
        reported_at=row["reported_at"],
    )


class SqlLeakStore:
    """Registered leaks in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, leak: Leak) -> bool:
        """Register ``leak``; False if its fingerprint is registered already."""
        if self.get(leak.fingerprint) is not None:
            return False
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    leaked_secrets.insert().values(
                        fingerprint=leak.fingerprint,
                        type=leak.type,
                        length=leak.length,
                        note=leak.note,
                        ticket=leak.ticket,
                        source=leak.source,
                        reported_by=leak.reported_by,
                        reported_at=leak.reported_at,
                    )
                )
        except IntegrityError:
            return False  # reported at the same moment by someone else
        return True

    def get(self, fingerprint: str) -> Leak | None:
        """The registered leak with this fingerprint."""
        query = sa.select(leaked_secrets).where(leaked_secrets.c.fingerprint == fingerprint)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _leak(row)

    def list(self, *, after: str | None = None, limit: int = 100) -> list[Leak]:
        """Registered leaks ordered by fingerprint after ``after``."""
        query = sa.select(leaked_secrets).order_by(leaked_secrets.c.fingerprint).limit(limit)
        if after is not None:
            query = query.where(leaked_secrets.c.fingerprint > after)
        return [_leak(row) for row in self._conn.execute(query).mappings()]

    def lookup(self) -> builtins.list[tuple[str, int | None]]:
        """Every registered fingerprint with the length of its secret (if known)."""
        return [(row[0], row[1]) for row in self._conn.execute(_LOOKUP)]

    def count(self) -> int:
        """How many leaks are registered (never fewer later: the registry's version)."""
        return int(self._conn.execute(_COUNT).scalar_one())


class SqlAdvisoryStore:
    """Allowed inferences in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, advisory: Advisory) -> None:
        """Keep an allowed ``infer`` decision."""
        self._conn.execute(
            advisories.insert().values(
                decision_id=advisory.decision_id,
                agent_id=advisory.agent,
                action=advisory.action,
                decided_at=advisory.decided_at,
            )
        )

    def get_many(self, decision_ids: Sequence[str]) -> list[Advisory]:
        """The advisories among ``decision_ids`` (unknown ids are left out)."""
        if not decision_ids:
            return []
        query = sa.select(advisories).where(advisories.c.decision_id.in_(list(decision_ids)))
        return [
            Advisory(
                decision_id=row["decision_id"],
                agent=row["agent_id"],
                action=row["action"],
                decided_at=row["decided_at"],
            )
            for row in self._conn.execute(query).mappings()
        ]
