"""Audit records: what happened, by whom, to which agent, sealed into the Merkle log.

A record's *body* is canonical JSON (sorted keys, no spaces, UTF-8) of its schema
version, sequence number, time, type, actor, agent, subject and data. The body is
exactly what the leaf hash covers and exactly what the store keeps, so verification
never depends on how a database re-serialises JSON. The sequence number is inside the
body, so moving a record to another position breaks its hash.

A log split into shards (docs/scaling.md) keeps one tree per shard. A record of a named
shard, or one whose global ``seq`` is not its place in its tree, also carries ``shard``
and ``index`` (its place in that shard's tree) in its body; a record of the default
log whose ``seq`` is its place has the body it always had.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from charter.audit.merkle import Frontier, leaf_hash
from charter.clock import format_time

__all__ = [
    "SCHEMA_VERSION",
    "AuditEntry",
    "AuditRecord",
    "canonical_json",
    "seal",
]

SCHEMA_VERSION = 1


def canonical_json(value: Any) -> str:
    """Serialise ``value`` the one way Charter hashes it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A record to append: everything but its place in the log."""

    type: str
    actor: str
    at: datetime
    agent: str | None = None
    subject: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A sealed record: its position, canonical body and hashes."""

    seq: int
    at: datetime
    type: str
    actor: str
    agent: str | None
    subject: str | None
    body: str
    leaf_hash: bytes
    tree_root: bytes
    shard: str = ""
    """The shard whose tree the record is a leaf of ("": the default log)."""
    shard_index: int | None = None
    """Its place in that tree, when not ``seq``."""

    @property
    def index(self) -> int:
        """The record's place in its shard's tree."""
        return self.seq if self.shard_index is None else self.shard_index

    def data(self) -> dict[str, Any]:
        """The record's ``data`` as parsed from its body."""
        parsed: dict[str, Any] = json.loads(self.body)["data"]
        return parsed

    def to_json(self) -> dict[str, Any]:
        """The record as exported: its body's fields plus its hashes."""
        exported: dict[str, Any] = json.loads(self.body)
        exported["leaf_hash"] = self.leaf_hash.hex()
        exported["tree_root"] = self.tree_root.hex()
        return exported


def body_of(entry: AuditEntry, seq: int, *, shard: str = "", index: int | None = None) -> str:
    """The canonical body of ``entry`` placed at ``seq`` (in ``shard``'s tree at ``index``)."""
    body: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "seq": seq,
        "at": format_time(entry.at),
        "type": entry.type,
        "actor": entry.actor,
        "agent": entry.agent,
        "subject": entry.subject,
        "data": dict(entry.data),
    }
    if shard or (index is not None and index != seq):
        body["shard"] = shard
        body["index"] = seq if index is None else index
    return canonical_json(body)


def seal(
    entry: AuditEntry, frontier: Frontier, *, seq: int | None = None, shard: str = ""
) -> tuple[AuditRecord, Frontier]:
    """Place ``entry`` after the tree summarised by ``frontier``; return it and the new one.

    ``seq`` is the global ordering key when it is not the record's place in the tree
    (a sharded log), ``shard`` the tree's name.
    """
    index = frontier.size
    at_seq = index if seq is None else seq
    body = body_of(entry, at_seq, shard=shard, index=index)
    leaf = leaf_hash(body.encode("utf-8"))
    grown = frontier.append(leaf)
    record = AuditRecord(
        seq=at_seq,
        at=entry.at,
        type=entry.type,
        actor=entry.actor,
        agent=entry.agent,
        subject=entry.subject,
        body=body,
        leaf_hash=leaf,
        tree_root=grown.root(),
        shard=shard,
        shard_index=None if at_seq == index and not shard else index,
    )
    return record, grown
