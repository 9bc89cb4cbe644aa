"""Usage in SQL: uses noted during a transaction, written once before it commits.

A decision notes each permission it used (``record``); the uses are added up in memory
per permission and written by ``flush``, which the store calls before committing, so a
group commit of many decisions writes each permission's row once. The count, first and
last use are merged by the database itself (``INSERT ... ON CONFLICT DO UPDATE``), so
two servers writing the same row at once never lose a use; the samples are merged from
the row as read in the same transaction, which writers take in turns (the audit head).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from charter.reviews.usage import PermissionKey, PermissionUsage
from charter.storage.sql.schema import permission_usage

__all__ = ["SqlUsageStore"]

_KEY = ("agent_id", "role", "permission", "source")


def _usage(row: RowMapping) -> PermissionUsage:
    return PermissionUsage(
        key=PermissionKey(row["agent_id"], row["role"], row["permission"], row["source"]),
        count=row["uses"],
        first_at=row["first_at"],
        last_at=row["last_at"],
        actions=tuple(row["actions"]),
        resources=tuple(row["resources"]),
        sample_full=bool(row["sample_full"]),
    )


class SqlUsageStore:
    """Permission usage in SQL, written in bulk before the transaction commits."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pending: dict[PermissionKey, PermissionUsage] = {}

    def record(self, key: PermissionKey, *, action: str, resource: str, at: datetime) -> None:
        """Note one use of ``key`` (written by ``flush``)."""
        use = PermissionUsage.once(key, action, resource, at)
        noted = self._pending.get(key)
        self._pending[key] = use if noted is None else noted.merged(use)

    def flush(self) -> None:
        """Write the uses noted so far: one row per permission."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        stored = {usage.key: usage for usage in self._read(pending)}
        rows = []
        for key, added in pending.items():
            before = stored.get(key)
            merged = added if before is None else before.merged(added)
            rows.append(
                {
                    "agent_id": key.agent,
                    "role": key.role,
                    "permission": key.permission,
                    "source": key.source,
                    "uses": added.count,
                    "first_at": added.first_at,
                    "last_at": added.last_at,
                    "actions": list(merged.actions),
                    "resources": list(merged.resources),
                    "sample_full": merged.sample_full,
                }
            )
        self._conn.execute(self._upsert(), rows)

    def for_agent(self, agent_id: str, *, since: datetime | None = None) -> list[PermissionUsage]:
        """The agent's usage (last used at or after ``since``, if given), by role,
        permission and source."""
        self.flush()
        table = permission_usage
        query = sa.select(table).where(table.c.agent_id == agent_id)
        if since is not None:
            query = query.where(table.c.last_at >= since)
        query = query.order_by(table.c.role, table.c.permission, table.c.source)
        return [_usage(row) for row in self._conn.execute(query).mappings()]

    def _read(self, keys: Iterable[PermissionKey]) -> list[PermissionUsage]:
        table = permission_usage
        wanted = [(k.agent, k.role, k.permission, k.source) for k in keys]
        columns = sa.tuple_(table.c.agent_id, table.c.role, table.c.permission, table.c.source)
        query = sa.select(table).where(columns.in_(wanted))
        return [_usage(row) for row in self._conn.execute(query).mappings()]

    def _upsert(self) -> Any:
        table = permission_usage
        if self._conn.dialect.name == "postgresql":
            insert: Any = postgresql.insert(table)
            earliest, latest = "least", "greatest"
        else:
            insert = sqlite.insert(table)
            # SQLite's min() and max() with two arguments are scalar, not aggregates.
            earliest, latest = "min", "max"
        new = insert.excluded
        return insert.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={
                "uses": table.c.uses + new.uses,
                "first_at": getattr(sa.func, earliest)(table.c.first_at, new.first_at),
                "last_at": getattr(sa.func, latest)(table.c.last_at, new.last_at),
                "actions": new.actions,
                "resources": new.resources,
                "sample_full": new.sample_full,
            },
        )
