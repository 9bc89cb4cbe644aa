"""Replay requests in SQL: kept during a transaction, written once before it commits.

A decision keeps its masked request (``keep``); the requests are held in memory and
written by ``flush``, which the store calls before committing, so a group commit of many
decisions adds one bulk insert, whatever the number of decisions. Expired rows are
deleted in bounded passes (``purge``), oldest expiry first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from charter.storage.sql.schema import replay_requests

__all__ = ["SqlReplayStore"]

_INSERT = replay_requests.insert()
"""Built once: a statement built again is keyed for the compiled cache again."""


class SqlReplayStore:
    """Masked requests kept for replay, written in bulk before the transaction commits."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pending: list[dict[str, Any]] = []

    def keep(
        self,
        decision_id: str,
        *,
        agent: str,
        decided_at: datetime,
        expires_at: datetime,
        request: dict[str, Any],
    ) -> None:
        """Keep ``request`` (masked) for the decision until ``expires_at`` (written by
        ``flush``)."""
        self._pending.append(
            {
                "decision_id": decision_id,
                "agent_id": agent,
                "decided_at": decided_at,
                "expires_at": expires_at,
                "request": request,
            }
        )

    def flush(self) -> None:
        """Write the requests kept so far: one statement."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._conn.execute(_INSERT, pending)

    def get_many(self, decision_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored requests of those of ``decision_ids`` still kept, by decision id."""
        self.flush()
        if not decision_ids:
            return {}
        table = replay_requests
        query = sa.select(table.c.decision_id, table.c.request).where(
            table.c.decision_id.in_(list(decision_ids))
        )
        return {row.decision_id: row.request for row in self._conn.execute(query)}

    def purge(self, before: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` requests that expired before ``before``; how many."""
        table = replay_requests
        oldest = (
            sa.select(table.c.decision_id)
            .where(table.c.expires_at < before)
            .order_by(table.c.expires_at)
            .limit(limit)
        )
        ids = [row.decision_id for row in self._conn.execute(oldest)]
        if not ids:
            return 0
        self._conn.execute(table.delete().where(table.c.decision_id.in_(ids)))
        return len(ids)
