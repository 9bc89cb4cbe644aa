"""The audit log as the console shows it: pages of records newest first, one record in
full, the log's verification status and a bounded export.

Reads only, through ``AuditService`` and its role checks, so access is the API's:
auditors and admins read everything; an agent's owner reads that agent's records (the
filter naming it); verification and checkpoints are for auditors and admins.

The store reads records after a sequence number, or the newest ones. A page of the
records just *before* a sequence number is found by probing: the largest ``start`` such
that the ``n`` records after it all come before that number. The probes take one
bounded query each, a logarithmic number of them, whatever the filters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.audit.checkpoints import Checkpoint, key_id
from charter.audit.keychain import DEFAULT_TREE, KeyRing
from charter.audit.merkle import leaf_hash
from charter.audit.records import AuditRecord
from charter.audit.seals import Seal
from charter.audit.verify import VerifyReport
from charter.codes import ErrorCode
from charter.errors import NotFound
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service.audit import MAX_PAGE, AuditService
from charter.storage.ports import AuditQuery

__all__ = [
    "EXPORT_LIMIT",
    "KNOWN_TYPES",
    "AuditFilter",
    "AuditListing",
    "AuditViews",
    "LogStatus",
    "RecordView",
    "summary",
]

EXPORT_LIMIT = 10_000
"""The most records one export holds (narrow the filters for more)."""

KNOWN_TYPES = (
    "decision",
    "approval.created",
    "approval.voted",
    "approval.approved",
    "approval.denied",
    "approval.expired",
    "approval.cancelled",
    "grant.issued",
    "grant.refused",
    "grant.expired",
    "grant.revoked",
    "agent.registered",
    "agent.updated",
    "agent.owner_changed",
    "agent.suspended",
    "agent.reinstated",
    "agent.retired",
    "policy.applied",
    "policy.rolled_back",
    "human.added",
    "human.updated",
    "human.deactivated",
    "token.issued",
    "token.rotated",
    "token.revoked",
    "auth.failed",
    "auth.forbidden",
    "auth.failures_suppressed",
    "console.signed_in",
    "console.signed_out",
    "webhook.added",
    "webhook.removed",
    "secret.leak_reported",
    "secret.leak_redacted",
)
"""The record types Charter writes, for the search form's list."""


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records to show: all optional, as for ``GET /v1/audit``."""

    agent: str | None = None
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    """Records before this moment (not at it)."""

    def query(
        self, *, after_seq: int = -1, limit: int = MAX_PAGE, newest_first: bool = False
    ) -> AuditQuery:
        """The store's query for these records, after ``after_seq`` (or the newest)."""
        return AuditQuery(
            agent=self.agent,
            types=self.types,
            since=self.since,
            until=self.until,
            after_seq=after_seq,
            limit=limit,
            newest_first=newest_first,
        )


@dataclass(frozen=True, slots=True)
class AuditListing:
    """One page of matching records, newest first, and where the neighbouring pages start."""

    records: list[AuditRecord]
    newer_after: int | None
    """The sequence number newer records follow (None: this page holds the newest)."""
    older_before: int | None
    """The sequence number older records precede (None: this page holds the oldest)."""


@dataclass(frozen=True, slots=True)
class RecordView:
    """One record in full, with what proves it is part of the log."""

    record: AuditRecord
    body: dict[str, Any]
    """The body as sealed, parsed."""
    hash_holds: bool
    """True when the leaf hash is the hash of the body as stored."""
    sealed_by: Checkpoint | None
    """The first signed checkpoint that covers the record, if any does yet (None too for
    those who may not read checkpoints, and for records of a named shard)."""
    sealed_in: Seal | None = None
    """On a sharded log: the first seal over every shard that covers the record."""


@dataclass(frozen=True, slots=True)
class LogStatus:
    """The log verified in full, and its last signed checkpoint."""

    report: VerifyReport
    checkpoint: Checkpoint | None
    checkpoints: int
    key_id: str | None
    """The id of the server's public key (None: no key is loaded)."""
    signature_holds: bool | None
    """Whether the last checkpoint verifies with that key, or one it vouches for through
    the chain of signing keys (None: nothing to check)."""
    seal: Seal | None = None
    """The newest seal over every shard (a sharded log), with the report's ``shards``."""
    seal_holds: bool | None = None
    """Whether that seal verifies as the last checkpoint does (None: nothing to check)."""


class AuditViews:
    """Builds the console's views of the audit log."""

    def __init__(self, audit: AuditService) -> None:
        self._audit = audit

    def page(
        self,
        actor: Principal,
        wanted: AuditFilter,
        *,
        size: int = 50,
        after: int | None = None,
        before: int | None = None,
    ) -> AuditListing:
        """``size`` records matching ``wanted``: those right after ``after``, or right
        before ``before``, or else the newest ones."""
        size = max(1, min(size, MAX_PAGE))
        newest = self._audit.query(actor, wanted.query(limit=1, newest_first=True))
        if not newest:
            return AuditListing([], None, None)
        if after is not None:
            found = self._audit.query(actor, wanted.query(after_seq=after, limit=size))
        elif before is None:
            found = self._audit.query(actor, wanted.query(limit=size, newest_first=True))[::-1]
        else:
            found = self._last_before(actor, wanted, min(before, newest[0].seq + 1), size)
        if not found:
            return AuditListing([], None, None)
        oldest = self._audit.query(actor, wanted.query(limit=1))
        return AuditListing(
            records=found[::-1],
            newer_after=found[-1].seq if found[-1].seq < newest[0].seq else None,
            older_before=found[0].seq if oldest and oldest[0].seq < found[0].seq else None,
        )

    def record(self, actor: Principal, seq: int, *, agent: str | None = None) -> RecordView:
        """The record at ``seq`` in full (``not_found`` when the log has no such record,
        or, with ``agent``, when it is not about that agent: an owner names theirs)."""
        found = self._audit.query(actor, AuditFilter(agent).query(after_seq=seq - 1, limit=1))
        if not found or found[0].seq != seq:
            raise NotFound(f"the audit log has no record {seq}", code=ErrorCode.NOT_FOUND)
        record = found[0]
        sealed_by = sealed_in = None
        if actor.has_any(HumanRole.AUDITOR, HumanRole.ADMIN):  # who may read checkpoints
            if record.shard == DEFAULT_TREE:
                covering = [
                    cp for cp in self._audit.checkpoints(actor) if cp.tree_size > record.index
                ]
                sealed_by = min(covering, key=lambda cp: cp.tree_size) if covering else None
            sealed_in = _first_covering(self._audit.seals(actor), record)
        return RecordView(
            record=record,
            body=json.loads(record.body),
            hash_holds=leaf_hash(record.body.encode("utf-8")) == record.leaf_hash,
            sealed_by=sealed_by,
            sealed_in=sealed_in,
        )

    def status(self, actor: Principal) -> LogStatus:
        """Verify the whole log (slow on a large one) and check its last checkpoint."""
        report = self._audit.verify(actor)
        checkpoints = self._audit.checkpoints(actor)
        seals = self._audit.seals(actor)
        last = checkpoints[-1] if checkpoints else None
        seal = seals[-1] if seals else None
        key = self._audit.public_key
        ring = None
        if key is not None and (last is not None or seal is not None):
            ring = KeyRing(key)
            for link in self._audit.key_chain_for(actor):
                if ring.accept(link) is not None:
                    break  # the report names the broken link; what follows is unvouched
        return LogStatus(
            report=report,
            checkpoint=last,
            checkpoints=len(checkpoints),
            key_id=None if key is None else key_id(key),
            signature_holds=None if ring is None or last is None else ring.problem(last) is None,
            seal=seal,
            seal_holds=None if ring is None or seal is None else ring.seal_problem(seal) is None,
        )

    def export(
        self, actor: Principal, wanted: AuditFilter, *, limit: int = EXPORT_LIMIT
    ) -> Iterator[AuditRecord]:
        """At most ``limit`` records matching ``wanted``, oldest first. The caller's roles
        are checked before this returns; the rest is read page by page as it is consumed."""
        first = self._audit.query(actor, wanted.query(limit=min(MAX_PAGE, limit)))
        return self._export_rest(actor, wanted, first, limit)

    def _export_rest(
        self, actor: Principal, wanted: AuditFilter, batch: list[AuditRecord], limit: int
    ) -> Iterator[AuditRecord]:
        left = limit
        while batch:
            yield from batch[:left]
            left -= len(batch)
            if left <= 0 or len(batch) < MAX_PAGE:
                return
            batch = self._audit.query(
                actor, wanted.query(after_seq=batch[-1].seq, limit=min(MAX_PAGE, left))
            )

    def _last_before(
        self, actor: Principal, wanted: AuditFilter, before: int, n: int
    ) -> list[AuditRecord]:
        """The last ``n`` records matching ``wanted`` whose sequence number is below ``before``."""

        def probe(start: int) -> tuple[bool, list[AuditRecord]]:
            found = self._audit.query(actor, wanted.query(after_seq=start, limit=n))
            return len(found) == n and found[-1].seq < before, found

        # Widen the window back from ``before`` until it holds n matches ...
        high, span = before - 1, n
        while True:
            start = max(before - 1 - span, -1)
            holds, found = probe(start)
            if holds:
                low, best = start, found
                break
            if start == -1:
                return [record for record in found if record.seq < before]
            high, span = start, span * 2
        # ... then narrow it to the latest start that still does.
        while high - low > 1 and before - 1 - low > n:
            middle = (low + high) // 2
            holds, found = probe(middle)
            if holds:
                low, best = middle, found
            else:
                high = middle
        return best


def _first_covering(seals: list[Seal], record: AuditRecord) -> Seal | None:
    """The first seal covering ``record`` (seals cover each shard with ever more records,
    so a binary search finds it)."""

    def covers(seal: Seal) -> bool:
        head = seal.shards.get(record.shard)
        return head is not None and head.size > record.index

    low, high = 0, len(seals)
    while low < high:
        middle = (low + high) // 2
        if covers(seals[middle]):
            high = middle
        else:
            low = middle + 1
    return seals[low] if low < len(seals) else None


def summary(record: AuditRecord) -> str:
    """One line saying what a record is about (for a decision: outcome, action, resource
    and code)."""
    data = record.data()
    if record.type == "decision":
        request = _map(data.get("request"))
        return (
            f"{_text(data.get('decision'))}: {_text(request.get('action'))} on "
            f"{_text(request.get('resource'))} ({_text(data.get('code'))})"
        )
    if record.type.startswith("approval.") or record.type == "grant.refused":
        approval = _map(data.get("approval"))
        line = (
            f"{_text(approval.get('kind'))} for {_text(approval.get('action'))} on "
            f"{_text(approval.get('resource'))}, {_text(approval.get('status'))}"
        )
        if "vote" in data:
            line += f"; vote {_text(data.get('vote'))}: {_text(data.get('reason'))}"
        elif "code" in data:
            line += f" ({_text(data.get('code'))})"
        return line
    if record.type.startswith("grant."):
        grant = _map(data.get("grant"))
        return f"role {_text(grant.get('role'))}, {_text(grant.get('status'))}"
    if record.type.startswith("auth."):
        if "count" in data:
            return f"{_text(data.get('count'))} failures not recorded one by one"
        return f"{_text(data.get('code'))} at {_text(data.get('where'))}"
    if record.type.startswith("token."):
        return f"for {_text(data.get('principal'))}"
    if "from" in data and "to" in data:
        moved = f"{_text(data.get('from'))} → {_text(data.get('to'))}"
        return f"{moved}: {_text(data.get('reason'))}" if data.get("reason") else moved
    if "changes" in data:
        return "changed " + ", ".join(sorted(_map(data.get("changes"))))
    if "revision" in data:
        return f"revision {_text(data.get('revision'))}"
    return ""


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return "-" if value is None else str(value)
