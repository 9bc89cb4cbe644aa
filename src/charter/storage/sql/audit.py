"""The audit log in SQL: records, one Merkle head row per shard, checkpoints and seals.

Appending locks the head row of the store's shard (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite's write transactions are already exclusive), seals the record against
the frontier read under that lock and writes both in the caller's transaction. Writers
of one shard, in any number of processes, therefore take turns, and its tree never
forks; writers of different shards never wait for each other (docs/scaling.md).

Within one transaction the head is read and locked once: later appends seal against the
frontier the earlier ones left, and the records and the new head are written together
by ``flush``, which the store calls before committing (and this store before any read of
the log), so a transaction of many records costs one head read, one multi-row insert and
one head update.

Sequence numbers. A store that was never sharded numbers records by their place in the
one tree, as it always did. Once a named shard exists (``open_shard``), every shard,
the default one included, draws ``seq`` from one shared counter (a PostgreSQL sequence;
on SQLite, whose writers take turns anyway, the next after the largest). Each head row
keeps a ``floor``: no seq its shard appends from then on is lower. A reader on PostgreSQL
returns only records below the smallest floor (the *stable horizon*), so a record that
commits late is never skipped by a cursor that moved past its seq.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from charter.audit.checkpoints import Checkpoint
from charter.audit.merkle import EMPTY_ROOT, Frontier
from charter.audit.records import AuditEntry, AuditRecord, seal
from charter.audit.seals import Seal, seal_from_row
from charter.codes import ErrorCode
from charter.errors import StoreError
from charter.storage.ports import AuditQuery, SegmentRow, ShardState
from charter.storage.sql.schema import (
    audit_checkpoints,
    audit_head,
    audit_records,
    audit_seals,
    audit_segments,
)

__all__ = ["DEFAULT_SHARD", "SqlAuditStore", "open_shard", "shard_head_id"]

HEAD_ID = 1
DEFAULT_SHARD = ""


def shard_head_id(shard: str) -> int:
    """The head row's id of ``shard``: 1 for the default log, a hash of the name else
    (so two servers opening the same new shard insert the same row)."""
    if shard == DEFAULT_SHARD:
        return HEAD_ID
    digest = int.from_bytes(hashlib.sha256(shard.encode("utf-8")).digest()[:4], "big")
    return max(2, digest & 0x7FFFFFFF)


_INSERT = audit_records.insert()


def _head_query(head_id: int) -> sa.Select[Any]:
    return sa.select(audit_head).where(audit_head.c.id == head_id)


def _move_head(head_id: int) -> sa.Update:
    return (
        audit_head.update()
        .where(audit_head.c.id == head_id)
        .values(
            size=sa.bindparam("new_size"),
            frontier=sa.bindparam("new_frontier"),
            root=sa.bindparam("new_root"),
            floor=sa.bindparam("new_floor"),
        )
    )


# The default head row also orders a named shard's writers against each other's changes
# (PostgreSQL): a transaction that only decides takes it FOR SHARE, beside every other
# decision; any other change takes it FOR UPDATE, so it waits for the decisions in
# flight and the decisions after it wait for it, and read what it changed.
_ORDER_SHARED = _head_query(HEAD_ID).with_for_update(read=True)
_ORDER_EXCLUSIVE = _head_query(HEAD_ID).with_for_update()

# Built once per shard: a decision's transaction runs these, and building a statement
# costs more than running it on SQLite.
_STATEMENTS: dict[int, tuple[sa.Select[Any], sa.Select[Any], sa.Update]] = {}


def _statements(head_id: int) -> tuple[sa.Select[Any], sa.Select[Any], sa.Update]:
    known = _STATEMENTS.get(head_id)
    if known is None:
        head = _head_query(head_id)
        known = _STATEMENTS[head_id] = (head, head.with_for_update(), _move_head(head_id))
    return known


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
        shard=row["shard"],
        shard_index=row["shard_index"],
    )


def _frontier(row: Mapping[str, Any] | RowMapping) -> Frontier:
    text = row["frontier"]
    try:
        hashes = tuple(bytes.fromhex(part) for part in text.split(",")) if text else ()
    except ValueError:
        raise StoreError(
            "the audit log head is corrupt", code=ErrorCode.AUDIT_HEAD_CORRUPT
        ) from None
    return Frontier(int(row["size"]), hashes)


def _hex_frontier(frontier: Frontier) -> str:
    return ",".join(part.hex() for part in frontier.hashes)


_FETCH = sa.text("SELECT nextval('audit_seq') FROM generate_series(1, :n)")
_FIRST_BLOCK = 4
_LARGEST_BLOCK = 256


@dataclass(slots=True)
class _Counter:
    """The shared seqs this transaction holds, drawn in blocks: one round trip for the
    first few appends, doubling as a group commit appends more (unused ones are gaps)."""

    held: list[int] = field(default_factory=list)
    block: int = _FIRST_BLOCK
    largest: int = -1
    """The largest seq drawn (used or not): later appends of the shard draw larger."""


class SqlAuditStore:
    """The append-only audit log in SQL, appending to one shard."""

    def __init__(self, conn: Connection, shard: str = DEFAULT_SHARD) -> None:
        self._conn = conn
        self.shard = shard
        self._head_id = shard_head_id(shard)
        self._frontier: Frontier | None = None
        """The head as this transaction's appends left it (locked), once one was made."""
        self._sequenced = False
        self._counter = _Counter()
        self._root = ""
        self._first_seq: int | None = None
        """The first seq this transaction appended (its records pass the horizon)."""
        self._unwritten: list[dict[str, object]] = []
        self._ordered: bool | None = None
        """Which lock this transaction holds on the order row: None, shared (False) or
        exclusive (True)."""

    @property
    def _postgres(self) -> bool:
        return self._conn.dialect.name == "postgresql"

    def _head(self, *, for_update: bool) -> Frontier:
        plain, locked, _ = _statements(self._head_id)
        row = self._conn.execute(locked if for_update else plain).mappings().first()
        if row is None:
            if self.shard == DEFAULT_SHARD:
                raise StoreError(
                    "the audit log has no head row: the store was not migrated",
                    code=ErrorCode.STORE_NOT_INITIALISED,
                )
            raise StoreError(
                f"the audit shard {self.shard!r} was not opened on this store",
                code=ErrorCode.STORE_NOT_INITIALISED,
            )
        frontier = _frontier(row)
        if not frontier.is_consistent():
            raise StoreError("the audit log head is corrupt", code=ErrorCode.AUDIT_HEAD_CORRUPT)
        if for_update:
            self._sequenced = bool(row["sequenced"])
        return frontier

    def _next_seq(self, index: int) -> int:
        if not self._sequenced:
            return index
        counter = self._counter
        if not counter.held:
            if self._postgres:
                drawn = self._conn.execute(_FETCH, {"n": counter.block}).scalars()
                counter.held = sorted(int(value) for value in drawn)
                counter.block = min(counter.block * 2, _LARGEST_BLOCK)
            else:  # SQLite: writers take turns, so the next after the largest is free
                known = counter.largest if counter.largest >= 0 else _largest_seq(self._conn)
                start = known + 1
                counter.held = [start]
            counter.largest = counter.held[-1]
        return counter.held.pop(0)

    def _order(self, *, exclusive: bool) -> None:
        """Take the order row (named shards on PostgreSQL; elsewhere every writer already
        takes turns on one head): shared for decisions, exclusive for other changes."""
        if self.shard == DEFAULT_SHARD or not self._postgres:
            return
        if self._ordered is True or (self._ordered is False and not exclusive):
            return
        self._conn.execute(_ORDER_EXCLUSIVE if exclusive else _ORDER_SHARED)
        self._ordered = exclusive

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Seal ``entry`` as the next record; it is written with the transaction."""
        if self._ordered is None:
            self._order(exclusive=True)  # a change that did not take its place first
        frontier = self._frontier or self._head(for_update=True)
        self._frontier = frontier
        seq = self._next_seq(frontier.size)
        record, self._frontier = seal(entry, frontier, seq=seq, shard=self.shard)
        self._root = record.tree_root.hex()
        if self._first_seq is None:
            self._first_seq = seq
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
                "shard": record.shard,
                "shard_index": record.shard_index,
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
            _statements(self._head_id)[2],
            {
                "new_size": self._frontier.size,
                "new_frontier": _hex_frontier(self._frontier),
                "new_root": self._root,
                # Later appends of this shard draw larger seqs (or, unsequenced, the size).
                "new_floor": self._counter.largest + 1 if self._sequenced else self._frontier.size,
            },
        )

    def head(self, *, lock: bool = False, deciding: bool = False) -> Frontier:
        """The current frontier of this shard's Merkle tree; ``lock`` holds off its writers
        until the transaction ends (and the records it appends follow that frontier).

        On a named shard, ``lock`` also orders the transaction against other shards'
        writers: a transaction ``deciding`` (it only records decisions) runs beside other
        decisions; any other waits for them, and they for it (docs/scaling.md)."""
        if lock:
            self._order(exclusive=not deciding)
        if self._frontier is not None:
            return self._frontier  # already locked by this transaction
        if lock:
            self._frontier = self._head(for_update=True)
            return self._frontier
        return self._head(for_update=False)

    def shards(self) -> list[ShardState]:
        """Every shard's head as stored, the default log first."""
        self.flush()
        rows = self._conn.execute(sa.select(audit_head).order_by(audit_head.c.shard)).mappings()
        states = []
        for row in rows:
            try:
                frontier: Frontier | None = _frontier(row)
            except StoreError:
                frontier = None
            states.append(
                ShardState(
                    shard=row["shard"],
                    frontier=frontier,
                    root=row["root"],
                    sequenced=bool(row["sequenced"]),
                )
            )
        return states

    def _horizon(self) -> int | None:
        """The stable horizon: on PostgreSQL, every record below it has committed."""
        if not self._postgres:
            return None
        value = self._conn.execute(sa.select(sa.func.min(audit_head.c.floor))).scalar()
        return None if value is None else int(value)

    def records(self, *, batch: int = 1000, shard: str | None = None) -> Iterator[AuditRecord]:
        """Every record in sequence order, read in batches (``shard``: that shard's only,
        which is also its tree's order)."""
        self.flush()
        after = -1
        while True:
            query = (
                sa.select(audit_records)
                .where(audit_records.c.seq > after)
                .order_by(audit_records.c.seq)
                .limit(batch)
            )
            if shard is not None:
                query = query.where(audit_records.c.shard == shard)
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
        horizon = None if query.past_horizon else self._horizon()
        if horizon is not None:
            below = audit_records.c.seq < horizon
            if self._first_seq is not None:  # and what this transaction appended
                below = below | (
                    (audit_records.c.shard == self.shard) & (audit_records.c.seq >= self._first_seq)
                )
            select = select.where(below)
        if query.agent is not None:
            select = select.where(audit_records.c.agent_id == query.agent)
        if query.types:
            select = select.where(audit_records.c.type.in_(list(query.types)))
        if query.since is not None:
            select = select.where(audit_records.c.at >= query.since)
        if query.until is not None:
            select = select.where(audit_records.c.at < query.until)
        if query.shard is not None:
            select = select.where(audit_records.c.shard == query.shard)
        return [_record(row) for row in self._conn.execute(select).mappings()]

    def checkpoints(self) -> list[Checkpoint]:
        """Every signed checkpoint of the default log, oldest first."""
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

    # -- seals and segments --------------------------------------------------------------

    def seals(self) -> list[Seal]:
        """Every seal, oldest first; ``audit_head_corrupt`` for one that cannot be read."""
        return self._seals(sa.select(audit_seals).order_by(audit_seals.c.number))

    def last_seal(self) -> Seal | None:
        """The newest seal, if any (as ``seals()[-1]``, reading one row)."""
        found = self._seals(sa.select(audit_seals).order_by(audit_seals.c.number.desc()).limit(1))
        return found[0] if found else None

    def _seals(self, query: sa.Select[Any]) -> list[Seal]:
        seals = []
        for row in self._conn.execute(query).mappings():
            try:
                seals.append(
                    seal_from_row(row["number"], row["body"], bytes.fromhex(row["signature"]))
                )
            except (ValueError, KeyError, TypeError):
                raise StoreError(
                    f"the audit seal {row['number']} cannot be read",
                    code=ErrorCode.AUDIT_HEAD_CORRUPT,
                ) from None
        return seals

    def add_seal(self, seal_: Seal) -> bool:
        """Store ``seal_``; False when another server stored that number first."""
        insert = _insert_ignoring(self._conn, audit_seals).values(
            number=seal_.number,
            at=seal_.at,
            key_id=seal_.key_id,
            body=seal_.body(),
            signature=seal_.signature.hex(),
        )
        return bool(self._conn.execute(insert).rowcount)

    def segments(self) -> list[SegmentRow]:
        """Every exported segment, by shard then end."""
        query = sa.select(audit_segments).order_by(
            audit_segments.c.shard, audit_segments.c.end_index
        )
        return [
            SegmentRow(
                shard=row["shard"],
                start=row["start_index"],
                end=row["end_index"],
                frontier=_frontier({"size": row["end_index"], "frontier": row["frontier"]}),
                seal_number=row["seal_number"],
                last_seq=row["last_seq"],
                digest=row["digest"],
                pruned=bool(row["pruned"]),
                exported_at=row["exported_at"],
            )
            for row in self._conn.execute(query).mappings()
        ]

    def add_segment(self, segment: SegmentRow) -> None:
        """Record an exported segment (and, if ``pruned``, delete its records)."""
        self._conn.execute(
            audit_segments.insert().values(
                shard=segment.shard,
                end_index=segment.end,
                start_index=segment.start,
                frontier=_hex_frontier(segment.frontier),
                seal_number=segment.seal_number,
                last_seq=segment.last_seq,
                digest=segment.digest,
                pruned=segment.pruned,
                exported_at=segment.exported_at,
            )
        )
        if segment.pruned and segment.last_seq is not None:
            self._conn.execute(
                audit_records.delete().where(
                    audit_records.c.shard == segment.shard,
                    audit_records.c.seq <= segment.last_seq,
                )
            )

    def advance_horizon(self) -> int:
        """PostgreSQL: move the floor of every shard no writer holds up to the shared
        counter, so an idle shard does not hold readers back. How many moved."""
        if not self._postgres:
            return 0
        idle = (
            sa.select(audit_head.c.id)
            .where(audit_head.c.sequenced)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        moved = self._conn.execute(
            audit_head.update()
            .where(audit_head.c.id.in_(idle))
            .values(floor=sa.text("nextval('audit_seq') + 1"))
        )
        return int(moved.rowcount or 0)


def _largest_seq(conn: Connection) -> int:
    """The largest seq ever given: of the records kept, or of a pruned segment."""
    kept = conn.execute(sa.select(sa.func.max(audit_records.c.seq))).scalar()
    pruned = conn.execute(sa.select(sa.func.max(audit_segments.c.last_seq))).scalar()
    return max(-1 if kept is None else int(kept), -1 if pruned is None else int(pruned))


def _insert_ignoring(conn: Connection, table: sa.Table) -> sa.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def open_shard(conn: Connection, shard: str) -> None:
    """Create ``shard``'s head row if it is new (in its own transaction, before any
    append to it). The default log switches to the shared counter first, under its own
    lock, so no two records ever share a seq."""
    if shard == DEFAULT_SHARD:
        return
    if conn.execute(_head_query(shard_head_id(shard))).first() is not None:
        return
    default = conn.execute(_head_query(HEAD_ID).with_for_update()).mappings().first()
    if default is None:
        raise StoreError(
            "the audit log has no head row: the store was not migrated",
            code=ErrorCode.STORE_NOT_INITIALISED,
        )
    postgres = conn.dialect.name == "postgresql"
    if not default["sequenced"]:
        conn.execute(audit_head.update().where(audit_head.c.id == HEAD_ID).values(sequenced=True))
        if postgres:
            start = max(_largest_seq(conn) + 1, int(default["size"]))
            conn.execute(sa.text("SELECT setval('audit_seq', :start, false)"), {"start": start})
    if postgres:
        floor = int(conn.execute(sa.text("SELECT nextval('audit_seq')")).scalar_one()) + 1
    else:
        floor = _largest_seq(conn) + 1
    conn.execute(
        _insert_ignoring(conn, audit_head).values(
            id=shard_head_id(shard),
            size=0,
            frontier="",
            root=EMPTY_ROOT.hex(),
            shard=shard,
            floor=floor,
            sequenced=True,
        )
    )
    opened = conn.execute(_head_query(shard_head_id(shard))).mappings().first()
    if opened is None or opened["shard"] != shard:
        raise StoreError(
            f"the audit shard name {shard!r} collides with another shard's; choose another",
            code=ErrorCode.INVALID_SETTING,
        )
