"""Evidence bundles from the store: cited records proved against the newest checkpoint.

The bundle is built in one read of the log, after signing a checkpoint when none covers
the cited records yet (as ``POST /v1/audit/checkpoints`` would), so it never cites a
record the signed tree does not hold. A log whose leaves do not make the checkpoint's
root yields no bundle (``audit_log_broken``): evidence is never built on a broken log.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from charter.storage.ports import Store

__all__ = ["EvidenceService"]


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
        try:
            return build_bundle(
                cited, leaves, checkpoint, at=self._clock(), key_chain=self._audit.key_chain()
            )
        except ValueError as error:
            raise StoreError(
                f"the audit log does not verify, so no evidence can be built from it: {error}; "
                "run 'charter audit verify'",
                code=ErrorCode.AUDIT_LOG_BROKEN,
            ) from None

    def _sealed_bundle(self, wanted: list[int]) -> EvidenceBundle:
        """On a sharded log: the cited records proved against the newest seal (made now
        if it does not cover them all and this server can sign)."""
        cited = self._cited(wanted)
        seal = self._sealing(cited)
        with self._store.read() as unit:
            leaves: dict[str, list[bytes]] = {}
            for shard in sorted({record.shard for record in cited}):
                size = seal.shards[shard].size
                held = leaves[shard] = []
                for record in unit.audit.records(shard=shard):
                    if record.index >= size:
                        break
                    held.append(leaf_hash(record.body.encode("utf-8")))
        try:
            return build_sealed_bundle(cited, leaves, seal, at=self._clock())
        except ValueError as error:
            raise StoreError(
                f"the audit log does not verify, so no evidence can be built from it: {error}; "
                "run 'charter audit verify'",
                code=ErrorCode.AUDIT_LOG_BROKEN,
            ) from None

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

    def _sealing(self, cited: list[AuditRecord]) -> Seal:
        def covers(seal: Seal) -> bool:
            return all(
                record.shard in seal.shards and record.index < seal.shards[record.shard].size
                for record in cited
            )

        with self._store.read() as unit:
            seals = unit.audit.seals()
        if seals and covers(seals[-1]):
            return seals[-1]
        if not self._audit.can_sign:
            raise NotFound(
                "no seal covers these records and this server has no audit signing key to "
                "seal them",
                code=ErrorCode.SIGNING_KEY_MISSING,
            )
        self._audit.seal()
        with self._store.read() as unit:
            seals = unit.audit.seals()
        if not seals or not covers(seals[-1]):
            raise StoreError("no seal covers the records", code=ErrorCode.AUDIT_LOG_BROKEN)
        return seals[-1]

    def _covering(self, last: int) -> Checkpoint:
        """The newest checkpoint that holds record ``last``; signed now if none does."""
        with self._store.read() as unit:
            size = unit.audit.head().size
            existing = unit.audit.checkpoints()
        if last >= size:
            raise NotFound(
                f"the audit log has {size} records: there is no record {last}",
                code=ErrorCode.AUDIT_RECORD_NOT_FOUND,
            )
        if existing and existing[-1].tree_size > last:
            return existing[-1]
        if not self._audit.can_sign:
            raise NotFound(
                "no signed checkpoint covers these records and this server has no audit "
                "signing key to sign one",
                code=ErrorCode.SIGNING_KEY_MISSING,
            )
        self._audit.checkpoint()
        with self._store.read() as unit:
            latest = unit.audit.checkpoints()
        if not latest or latest[-1].tree_size <= last:
            raise StoreError("no checkpoint covers the records", code=ErrorCode.AUDIT_LOG_BROKEN)
        return latest[-1]
