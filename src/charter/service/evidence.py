"""Evidence bundles from the store: cited records proved against the newest checkpoint.

The bundle is built in one read of the log, after signing a checkpoint when none covers
the cited records yet (as ``POST /v1/audit/checkpoints`` would), so it never cites a
record the signed tree does not hold. A log whose leaves do not make the checkpoint's
root yields no bundle (``audit_log_broken``): evidence is never built on a broken log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from charter.audit.checkpoints import Checkpoint
from charter.audit.evidence import MAX_CITED, EvidenceBundle, build_bundle, build_sealed_bundle
from charter.audit.merkle import leaf_hash
from charter.audit.records import AuditRecord
from charter.audit.seals import Seal
from charter.clock import Clock
from charter.codes import ErrorCode
from charter.errors import InvalidInput, NotFound, StoreError
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service.access import require_roles
from charter.service.audit import AuditService
from charter.storage.ports import Store, UnitOfWork

__all__ = ["EvidenceService"]

S = TypeVar("S", Checkpoint, Seal)


class EvidenceService:
    """Builds evidence bundles for auditors and admins."""

    def __init__(self, store: Store, clock: Clock, audit: AuditService) -> None:
        self._store = store
        self._clock = clock
        self._audit = audit

    def bundle_as(self, actor: Principal, seqs: Iterable[int]) -> EvidenceBundle:
        """A bundle citing ``seqs``: auditors and admins."""
        require_roles(actor, "build audit evidence", HumanRole.AUDITOR, HumanRole.ADMIN)
        return self.bundle(seqs)

    def bundle(self, seqs: Iterable[int]) -> EvidenceBundle:
        """A bundle citing ``seqs`` against the newest checkpoint covering them all."""
        wanted = sorted(set(seqs))
        if not wanted or len(wanted) > MAX_CITED:
            raise InvalidInput(f"cite 1 to {MAX_CITED} audit records", code=ErrorCode.INVALID_INPUT)
        if wanted[0] < 0:
            raise InvalidInput("sequence numbers start at 0", code=ErrorCode.INVALID_INPUT)
        with self._store.read() as unit:
            sharded = len(unit.audit.shards()) > 1 or bool(unit.audit.seals())
        if sharded:
            return self._sealed_bundle(wanted)
        checkpoint = self._covering(wanted[-1])
        with self._store.read() as unit:
            leaves: list[bytes] = []
            cited: list[AuditRecord] = []
            want = set(wanted)
            for record in unit.audit.records():
                if record.seq >= checkpoint.tree_size:
                    break
                leaves.append(leaf_hash(record.body.encode("utf-8")))
                if record.seq in want:
                    cited.append(record)
        chain = self._audit.key_chain()
        return _built(
            lambda: build_bundle(cited, leaves, checkpoint, at=self._clock(), key_chain=chain)
        )

    def _sealed_bundle(self, wanted: list[int]) -> EvidenceBundle:
        """On a sharded log: the cited records proved against the newest seal (made now
        if it does not cover them all and this server can sign)."""
        cited = self._cited(wanted)

        def covers(seal: Seal) -> bool:
            return all(
                record.shard in seal.shards and record.index < seal.shards[record.shard].size
                for record in cited
            )

        seal = self._newest_covering(_last_seal, covers, self._audit.seal)
        with self._store.read() as unit:
            leaves: dict[str, list[bytes]] = {}
            for shard in sorted({record.shard for record in cited}):
                size = seal.shards[shard].size
                held = leaves[shard] = []
                for record in unit.audit.records(shard=shard):
                    if record.index >= size:
                        break
                    held.append(leaf_hash(record.body.encode("utf-8")))
        chain = self._audit.key_chain()
        return _built(
            lambda: build_sealed_bundle(cited, leaves, seal, at=self._clock(), key_chain=chain)
        )

    def _cited(self, wanted: list[int]) -> list[AuditRecord]:
        want = set(wanted)
        with self._store.read() as unit:
            cited = [record for record in unit.audit.records() if record.seq in want]
        missing = want - {record.seq for record in cited}
        if missing:
            raise NotFound(
                f"there is no audit record {min(missing)} in the store (never written, or "
                "exported in a pruned segment)",
                code=ErrorCode.AUDIT_RECORD_NOT_FOUND,
            )
        return cited

    def _covering(self, last: int) -> Checkpoint:
        """The newest checkpoint that holds record ``last``; signed now if none does."""
        with self._store.read() as unit:
            size = unit.audit.head().size
        if last >= size:
            raise NotFound(
                f"the audit log has {size} records: there is no record {last}",
                code=ErrorCode.AUDIT_RECORD_NOT_FOUND,
            )
        return self._newest_covering(
            lambda unit: unit.audit.checkpoints(),
            lambda checkpoint: checkpoint.tree_size > last,
            self._audit.checkpoint,
        )

    def _newest_covering(
        self,
        signed: Callable[[UnitOfWork], Sequence[S]],
        covers: Callable[[S], bool],
        sign: Callable[[], object],
    ) -> S:
        """The newest signed statement (checkpoint or seal) if it ``covers`` the cited
        records; else one signed now, when this server can sign."""
        with self._store.read() as unit:
            existing = signed(unit)
        if existing and covers(existing[-1]):
            return existing[-1]
        if not self._audit.can_sign:
            raise NotFound(
                "no signed checkpoint or seal covers these records and this server has no "
                "audit signing key to sign one",
                code=ErrorCode.SIGNING_KEY_MISSING,
            )
        sign()
        with self._store.read() as unit:
            latest = signed(unit)
        if not latest or not covers(latest[-1]):
            raise StoreError(
                "no signed checkpoint or seal covers the records", code=ErrorCode.AUDIT_LOG_BROKEN
            )
        return latest[-1]


def _last_seal(unit: UnitOfWork) -> list[Seal]:
    last = unit.audit.last_seal()
    return [] if last is None else [last]


def _built(build: Callable[[], EvidenceBundle]) -> EvidenceBundle:
    """``build()``, whose ``ValueError`` (the leaves do not make the signed root) is the
    log's: ``audit_log_broken``."""
    try:
        return build()
    except ValueError as error:
        raise StoreError(
            f"the audit log does not verify, so no evidence can be built from it: {error}; "
            "run 'charter audit verify'",
            code=ErrorCode.AUDIT_LOG_BROKEN,
        ) from None
