"""Usage in SQL: uses noted during a transaction, written once before it commits.

A decision notes each permission it used (``record``); the uses are added up in memory
per permission and written by ``flush``, which the store calls before committing, so a
group commit of many decisions writes each permission's row once. The count, first and
last use are merged by the database itself (``INSERT ... ON CONFLICT DO UPDATE``), so
two servers writing the same row at once never lose a use; the samples are merged from
the row as read in the same transaction, which writers take in turns (the audit head).

Samples only grow, to their bound, and rows are never deleted, so what a server once read
or wrote (and saw committed) stays true of the stored sample. ``UsageSamples`` keeps it:
a use that adds nothing to the sample it knows changes only the counts, written without
reading the row first. The statements are built once: building an upsert costs more than
running it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from charter.reviews.usage import PermissionKey, PermissionUsage
from charter.storage.sql.schema import permission_usage

__all__ = ["SqlUsageStore", "UsageSamples"]

_KEY = ("agent_id", "role", "permission", "source")
_MAX_KNOWN = 100_000
"""Samples a server keeps in memory at most; past it, it starts again (reading rows)."""


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


class UsageSamples:
    """The samples one server knows are stored (read, or written and committed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[PermissionKey, PermissionUsage] = {}

    def adds_nothing(self, added: PermissionUsage) -> bool:
        """True when ``added`` would leave the stored sample as it is."""
        with self._lock:
            known = self._known.get(added.key)
        if known is None:
            return False
        merged = known.merged(added)
        return (merged.actions, merged.resources, merged.sample_full) == (
            known.actions,
            known.resources,
            known.sample_full,
        )

    def learn(self, stored: Iterable[PermissionUsage]) -> None:
        """Remember ``stored``, samples as committed."""
        with self._lock:
            if len(self._known) > _MAX_KNOWN:
                self._known = {}
            for usage in stored:
                self._known[usage.key] = usage


class SqlUsageStore:
    """Permission usage in SQL, written in bulk before the transaction commits."""

    def __init__(self, conn: Connection, samples: UsageSamples | None = None) -> None:
        self._conn = conn
        self._samples = samples or UsageSamples()
        self._pending: dict[PermissionKey, PermissionUsage] = {}
        self._written: list[PermissionUsage] = []

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
        counted: list[PermissionUsage] = []  # the sample stays: counts only, nothing read
        sampled: list[PermissionUsage] = []
        # In key order, so two transactions upserting the same rows in one statement
        # (servers on different audit shards do not take turns) lock them in one order.
        for key in sorted(pending, key=_order):
            added = pending[key]
            (counted if self._samples.adds_nothing(added) else sampled).append(added)
        stored = {usage.key: usage for usage in self._read(u.key for u in sampled)}
        rows = []
        for added in sampled:
            before = stored.get(added.key)
            merged = added if before is None else before.merged(added)
            rows.append(_row(added, merged))
            self._written.append(merged)
        if rows:
            self._conn.execute(_upsert(self._conn.dialect.name, sample=True), rows)
        if counted:
            self._conn.execute(
                _upsert(self._conn.dialect.name, sample=False),
                [_row(added, added) for added in counted],
            )

    def committed(self) -> None:
        """Called once the transaction committed: what it wrote is stored."""
        written, self._written = self._written, []
        self._samples.learn(written)

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
        if not wanted:
            return []
        columns = sa.tuple_(table.c.agent_id, table.c.role, table.c.permission, table.c.source)
        query = sa.select(table).where(columns.in_(wanted))
        return [_usage(row) for row in self._conn.execute(query).mappings()]


def _row(added: PermissionUsage, merged: PermissionUsage) -> dict[str, Any]:
    """The row that adds ``added``'s counts, with ``merged``'s sample."""
    key = added.key
    return {
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


def _order(key: PermissionKey) -> tuple[str, str, int, str]:
    return (key.agent, key.role, key.permission, key.source)


_UPSERTS: dict[tuple[str, bool], Any] = {}


def _upsert(dialect: str, *, sample: bool) -> Any:
    """Adds a row's counts to the stored ones; with ``sample``, replaces the sample too."""
    built = _UPSERTS.get((dialect, sample))
    if built is not None:
        return built
    table = permission_usage
    if dialect == "postgresql":
        insert: Any = postgresql.insert(table)
        earliest, latest = "least", "greatest"
    else:
        insert = sqlite.insert(table)
        # SQLite's min() and max() with two arguments are scalar, not aggregates.
        earliest, latest = "min", "max"
    new = insert.excluded
    update = {
        "uses": table.c.uses + new.uses,
        "first_at": getattr(sa.func, earliest)(table.c.first_at, new.first_at),
        "last_at": getattr(sa.func, latest)(table.c.last_at, new.last_at),
    }
    if sample:
        update |= {
            "actions": new.actions,
            "resources": new.resources,
            "sample_full": new.sample_full,
        }
    built = insert.on_conflict_do_update(index_elements=list(_KEY), set_=update)
    _UPSERTS[dialect, sample] = built
    return built
