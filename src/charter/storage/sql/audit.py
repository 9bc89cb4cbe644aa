"""The audit log in SQL: records, the Merkle head row, signed checkpoints.

Appending locks the single head row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
write transactions are already exclusive), seals the record against the frontier read
under that lock and writes both in the caller's transaction. Writers in any number of
processes therefore take turns, and the tree never forks.

Within one transaction the head is read and locked once: later appends seal against the
frontier the earlier ones left, and the records and the new head are written together
by ``flush``, which the store calls before committing (and this store before any read of
the log), so a transaction of many records costs one head read, one multi-row insert and
one head update.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from charter.audit.checkpoints import Checkpoint
from charter.audit.merkle import Frontier
from charter.audit.records import AuditEntry, AuditRecord, seal
from charter.codes import ErrorCode
from charter.errors import StoreError
from charter.storage.ports import AuditQuery
from charter.storage.sql.schema import audit_checkpoints, audit_head, audit_records

__all__ = ["SqlAuditStore"]

HEAD_ID = 1

# Built once: a decision's transaction runs these, and building a statement costs more
# than running it on SQLite.
_HEAD = sa.select(audit_head).where(audit_head.c.id == HEAD_ID)
_HEAD_LOCKED = _HEAD.with_for_update()
_INSERT = audit_records.insert()
_MOVE_HEAD = (
    audit_head.update()
    .where(audit_head.c.id == HEAD_ID)
    .values(
        size=sa.bindparam("new_size"),
        frontier=sa.bindparam("new_frontier"),
        root=sa.bindparam("new_root"),
    )
)


def _record(row: RowMapping) -> AuditRecord:
    return AuditRecord(
        seq=row["seq"],
        at=row["at"],
        type=row["type"],
        actor=row["actor"],
        agent=row["agent_id"],
        subject=row["subject"],
        body=row["body"],
        leaf_hash=bytes.fromhex(row["leaf_hash"]),
        tree_root=bytes.fromhex(row["tree_root"]),
    )


def _frontier(row: RowMapping) -> Frontier:
    text = row["frontier"]
    try:
        hashes = tuple(bytes.fromhex(part) for part in text.split(",")) if text else ()
    except ValueError:
        raise StoreError(
            "the audit log head is corrupt", code=ErrorCode.AUDIT_HEAD_CORRUPT
        ) from None
    return Frontier(int(row["size"]), hashes)


class SqlAuditStore:
    """The append-only audit log in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._frontier: Frontier | None = None
        """The head as this transaction's appends left it (locked), once one was made."""
        self._root = ""
        self._unwritten: list[dict[str, object]] = []

    def _head(self, *, for_update: bool) -> Frontier:
        row = self._conn.execute(_HEAD_LOCKED if for_update else _HEAD).mappings().first()
        if row is None:
            raise StoreError(
                "the audit log has no head row: the store was not migrated",
                code=ErrorCode.STORE_NOT_INITIALISED,
            )
        frontier = _frontier(row)
        if not frontier.is_consistent():
            raise StoreError("the audit log head is corrupt", code=ErrorCode.AUDIT_HEAD_CORRUPT)
        return frontier

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Seal ``entry`` as the next record; it is written with the transaction."""
        frontier = self._frontier or self._head(for_update=True)
        record, self._frontier = seal(entry, frontier)
        self._root = record.tree_root.hex()
        self._unwritten.append(
            {
                "seq": record.seq,
                "at": record.at,
                "type": record.type,
                "actor": record.actor,
                "agent_id": record.agent,
                "subject": record.subject,
                "body": record.body,
                "leaf_hash": record.leaf_hash.hex(),
                "tree_root": self._root,
            }
        )
        return record

    def flush(self) -> None:
        """Write the records appended so far and the head they leave."""
        if not self._unwritten or self._frontier is None:
            return
        rows, self._unwritten = self._unwritten, []
        self._conn.execute(_INSERT, rows[0] if len(rows) == 1 else rows)
        self._conn.execute(
            _MOVE_HEAD,
            {
                "new_size": self._frontier.size,
                "new_frontier": ",".join(part.hex() for part in self._frontier.hashes),
                "new_root": self._root,
            },
        )

    def head(self, *, lock: bool = False) -> Frontier:
        """The current frontier of the log's Merkle tree; ``lock`` holds off writers until
        the transaction ends (and the records it appends follow that frontier)."""
        if self._frontier is not None:
            return self._frontier  # already locked by this transaction
        if lock:
            self._frontier = self._head(for_update=True)
            return self._frontier
        return self._head(for_update=False)

    def records(self, *, batch: int = 1000) -> Iterator[AuditRecord]:
        """Every record in sequence order, read in batches."""
        self.flush()
        after = -1
        while True:
            query = (
                sa.select(audit_records)
                .where(audit_records.c.seq > after)
                .order_by(audit_records.c.seq)
                .limit(batch)
            )
            rows = [_record(row) for row in self._conn.execute(query).mappings()]
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].seq

    def query(self, query: AuditQuery) -> list[AuditRecord]:
        """Records matching ``query``, in sequence order (``newest_first``: reversed)."""
        self.flush()
        select = (
            sa.select(audit_records)
            .where(audit_records.c.seq > query.after_seq)
            .order_by(audit_records.c.seq.desc() if query.newest_first else audit_records.c.seq)
            .limit(query.limit)
        )
        if query.agent is not None:
            select = select.where(audit_records.c.agent_id == query.agent)
        if query.types:
            select = select.where(audit_records.c.type.in_(list(query.types)))
        if query.since is not None:
            select = select.where(audit_records.c.at >= query.since)
        if query.until is not None:
            select = select.where(audit_records.c.at < query.until)
        return [_record(row) for row in self._conn.execute(select).mappings()]

    def checkpoints(self) -> list[Checkpoint]:
        """Every signed checkpoint, oldest first."""
        query = sa.select(audit_checkpoints).order_by(audit_checkpoints.c.tree_size)
        return [
            Checkpoint(
                tree_size=row["tree_size"],
                root=bytes.fromhex(row["root"]),
                at=row["at"],
                key_id=row["key_id"],
                signature=bytes.fromhex(row["signature"]),
            )
            for row in self._conn.execute(query).mappings()
        ]

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Store a signed checkpoint."""
        self._conn.execute(
            audit_checkpoints.insert().values(
                tree_size=checkpoint.tree_size,
                root=checkpoint.root.hex(),
                at=checkpoint.at,
                key_id=checkpoint.key_id,
                signature=checkpoint.signature.hex(),
            )
        )
