"""Audit use cases: reading and exporting the log, verifying it, signing checkpoints,
rotating the signing key, sealing its shards and exporting sealed segments."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from charter.audit.checkpoints import Checkpoint, key_id, sign_checkpoint
from charter.audit.keychain import DEFAULT_TREE, KEY_ROTATED, KeyLink, link_from_json, sign_link
from charter.audit.merkle import Frontier
from charter.audit.records import AuditEntry, AuditRecord
from charter.audit.seals import Seal, ShardHead, sign_seal
from charter.audit.segments import segment_json
from charter.audit.shards import ShardLog, verify_shards
from charter.audit.verify import VerifyProblem, VerifyReport, verify_log
from charter.clock import Clock
from charter.codes import ErrorCode
from charter.errors import InvalidInput, NotFound, StoreError, Unavailable
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service.access import require_roles
from charter.storage.ports import AuditQuery, SegmentRow, Store, UnitOfWork

__all__ = ["AuditService", "KeyFinder"]

MAX_PAGE = 1000

log = logging.getLogger(__name__)

_KEY_ROTATED = "audit.key_rotated"
"""``charter.audit.keychain.KEY_ROTATED``, spelled out where records are made."""
if _KEY_ROTATED != KEY_ROTATED:  # pragma: no cover - a guard against drifting apart
    raise ImportError("the key rotation record type drifted from charter.audit.keychain")

KeyFinder = Callable[[str], Ed25519PrivateKey | None]
"""The private key with this key id, if this server has it (``storage/keyfile.py``)."""


class AuditService:
    """Reads, verifies and seals the audit log."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        signing_key: Ed25519PrivateKey | None = None,
        public_key: Ed25519PublicKey | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._signing_key = signing_key
        self.public_key = public_key or (signing_key.public_key() if signing_key else None)
        """The root of the chain of signing keys: what verification starts from."""
        self._find_key: KeyFinder = self._own_key
        self._sequenced = False

    def _own_key(self, kid: str) -> Ed25519PrivateKey | None:
        key = self._signing_key
        return key if key is not None and key_id(key.public_key()) == kid else None

    def find_keys_with(self, finder: KeyFinder) -> None:
        """Where this server looks for the key the chain names current (after a
        rotation, beside its own key file); by default only its own key."""
        self._find_key = finder

    @property
    def can_sign(self) -> bool:
        """True when a signing key is loaded, so checkpoints can be made."""
        return self._signing_key is not None

    def query(self, actor: Principal, query: AuditQuery) -> list[AuditRecord]:
        """Records matching ``query``: auditors and admins; an agent's owner, the records
        of that agent (``query.agent`` naming an agent they own now)."""
        with self._store.read() as unit:
            if not actor.has_any(HumanRole.AUDITOR, HumanRole.ADMIN):
                agent = None if query.agent is None else unit.agents.get(query.agent)
                if agent is None or not (actor.is_human and actor.id == agent.owner):
                    # Whether or not the agent exists: non-readers learn nothing.
                    require_roles(actor, "read the audit log", HumanRole.AUDITOR, HumanRole.ADMIN)
            return unit.audit.query(replace(query, limit=min(query.limit, MAX_PAGE)))

    def verify(self, actor: Principal) -> VerifyReport:
        """Verify the whole log against its head and signed checkpoints."""
        require_roles(actor, "verify the audit log", HumanRole.AUDITOR, HumanRole.ADMIN)
        return self.verify_store()

    def verify_store(self, *, trusted: Sequence[Checkpoint] = ()) -> VerifyReport:
        """Verify the whole log, with no caller to check (offline ``charter audit verify``).

        ``trusted`` are checkpoints exported earlier and kept outside the store.
        """
        with self._store.read() as unit:
            if _sharded(unit):
                return self._verify_sharded(unit, trusted)
            checkpoints = unit.audit.checkpoints()
            try:
                head = unit.audit.head()
            except StoreError as error:
                return VerifyReport(
                    ok=False,
                    records=0,
                    root="",
                    checkpoints_verified=0,
                    last_checkpoint_size=None,
                    unsealed_records=0,
                    problem=VerifyProblem(error.code, None, error.message),
                )
            return verify_log(
                unit.audit.records(),
                checkpoints,
                public_key=self.public_key,
                head_size=head.size,
                head_root=head.root(),
                trusted=trusted,
            )

    def _verify_sharded(self, unit: UnitOfWork, trusted: Sequence[Checkpoint]) -> VerifyReport:
        """Every shard's tree from where its last pruned segment ended, and every seal."""
        try:
            seals = unit.audit.seals()
            segments = unit.audit.segments()
        except StoreError as error:
            return _broken(error)
        last_segment: dict[str, SegmentRow] = {}
        for exported in segments:
            if exported.pruned:
                last_segment[exported.shard] = exported
        logs = []
        for state in unit.audit.shards():
            segment: SegmentRow | None = last_segment.get(state.shard)
            logs.append(
                ShardLog(
                    shard=state.shard,
                    records=unit.audit.records(shard=state.shard),
                    head=state.frontier,
                    checkpoints=unit.audit.checkpoints() if state.shard == "" else (),
                    start=Frontier.empty() if segment is None else segment.frontier,
                    start_seal=None if segment is None else segment.seal_number,
                )
            )
        return verify_shards(logs, seals, public_key=self.public_key, trusted=trusted)

    def seals(self, actor: Principal) -> list[Seal]:
        """Every seal over the shards: auditors and admins."""
        require_roles(actor, "read seals", HumanRole.AUDITOR, HumanRole.ADMIN)
        with self._store.read() as unit:
            return unit.audit.seals()

    def seal(self) -> Seal | None:
        """Seal every shard's head if any grew (or appeared) since the last seal, with the
        key the chain names current (``signing_key_retired`` if this server lacks it);
        None when nothing grew, or another server sealed the same moment first."""
        if self._signing_key is None:
            raise StoreError("no audit signing key is loaded", code=ErrorCode.SIGNING_KEY_MISSING)
        with self._store.write() as unit:
            return self._seal_shards(unit, self._current_signer(unit))

    def _seal_shards(self, unit: UnitOfWork, signer: Ed25519PrivateKey) -> Seal | None:
        """Seal every shard's head with ``signer`` (the head is locked: the default
        shard's size, which places the seal in the key chain, cannot move meanwhile)."""
        heads: dict[str, ShardHead] = {}
        for state in unit.audit.shards():
            if state.frontier is None:
                raise StoreError(
                    f"the head of audit shard {state.shard!r} is corrupt",
                    code=ErrorCode.AUDIT_HEAD_CORRUPT,
                )
            heads[state.shard] = ShardHead(state.frontier.size, state.frontier.root())
        last = unit.audit.last_seal()
        if last is not None and dict(last.shards) == heads:
            return None
        number = 0 if last is None else last.number + 1
        sealed = sign_seal(signer, number, heads, self._clock())
        return sealed if unit.audit.add_seal(sealed) else None

    def advance_horizon(self) -> None:
        """Let readers past shards no writer holds (PostgreSQL, sharded stores only)."""
        if not self._sequenced:
            with self._store.read() as unit:
                self._sequenced = any(state.sequenced for state in unit.audit.shards())
            if not self._sequenced:
                return
        with self._store.write() as unit:
            unit.audit.advance_horizon()

    def export_segment(
        self, shard: str, *, size: int | None = None, prune: bool = False
    ) -> tuple[dict[str, object], SegmentRow]:
        """A shard's records from the end of its last exported segment up to a sealed size
        (``size``, default the newest seal's), as a file that verifies alone; ``prune``
        deletes them from the store, leaving a row that keeps the store verifiable.

        The caller stores the file before calling ``record_segment``.
        """
        with self._store.read() as unit:
            states = {state.shard: state for state in unit.audit.shards()}
            if shard not in states:
                raise NotFound(f"there is no audit shard {shard!r}", code=ErrorCode.NOT_FOUND)
            seals = unit.audit.seals()
            segments = [seg for seg in unit.audit.segments() if seg.shard == shard]
            start = segments[-1].frontier if segments else Frontier.empty()
            start_seal = None
            if segments:
                start_seal = next(s for s in seals if s.number == segments[-1].seal_number)
            covering = [s for s in seals if shard in s.shards]
            if size is not None:
                covering = [s for s in covering if s.shards[shard].size == size]
            if not covering:
                raise InvalidInput(
                    f"no seal covers shard {shard!r}"
                    + ("" if size is None else f" at exactly {size} records")
                    + ": seal first ('charter audit seal')",
                    code=ErrorCode.INVALID_INPUT,
                )
            seal = covering[-1]
            end = seal.shards[shard].size
            if end <= start.size:
                raise InvalidInput(
                    f"shard {shard!r} was already exported up to {start.size} records",
                    code=ErrorCode.INVALID_INPUT,
                )
            records: list[AuditRecord] = []
            for record in unit.audit.records(shard=shard):
                if record.index >= end:
                    break
                if record.index >= start.size:
                    records.append(record)
        if prune and any(record.type == KEY_ROTATED for record in records):
            raise InvalidInput(
                f"records {start.size}..{end - 1} of shard {shard!r} hold a link of the chain "
                "of signing keys, which verification and signing read from the store: export "
                "them without --prune",
                code=ErrorCode.INVALID_INPUT,
                help="docs/scaling.md, 'Not done yet'",
            )
        frontier = start
        for record in records:
            frontier = frontier.append(record.leaf_hash)
        if frontier.size != end or frontier.root() != seal.shards[shard].root:
            raise StoreError(
                f"audit shard {shard!r} does not verify up to seal {seal.number}; run "
                "'charter audit verify'",
                code=ErrorCode.AUDIT_LOG_BROKEN,
            )
        document = segment_json(shard, start, records, seal, start_seal, self.key_chain())
        row = SegmentRow(
            shard=shard,
            start=start.size,
            end=end,
            frontier=frontier,
            seal_number=seal.number,
            last_seq=records[-1].seq if records else None,
            digest="",
            pruned=prune,
            exported_at=self._clock(),
        )
        return document, row

    def record_segment(self, row: SegmentRow) -> None:
        """Note an exported segment (deleting its records if ``row.pruned``)."""
        with self._store.write() as unit:
            unit.audit.add_segment(row)

    def checkpoints(self, actor: Principal) -> list[Checkpoint]:
        """Every signed checkpoint: auditors and admins."""
        require_roles(actor, "read checkpoints", HumanRole.AUDITOR, HumanRole.ADMIN)
        with self._store.read() as unit:
            return unit.audit.checkpoints()

    def sign_as(self, actor: Principal) -> Checkpoint | None:
        """Sign a checkpoint now, for an admin: None when nothing was added since the
        last one; ``signing_key_missing`` (404, as for the public key) without a key."""
        require_roles(actor, "sign checkpoints", HumanRole.ADMIN)
        if self._signing_key is None:
            raise NotFound(
                "this server has no audit signing key", code=ErrorCode.SIGNING_KEY_MISSING
            )
        return self.checkpoint()

    def public_key_for(self, actor: Principal) -> Ed25519PublicKey:
        """The key that verifies checkpoint signatures: auditors and admins."""
        require_roles(actor, "read the public key", HumanRole.AUDITOR, HumanRole.ADMIN)
        if self.public_key is None:
            raise NotFound(
                "this server has no audit signing key", code=ErrorCode.SIGNING_KEY_MISSING
            )
        return self.public_key

    def checkpoint(self) -> Checkpoint | None:
        """Sign the log's current head if it grew since the last checkpoint, with the
        key the chain names current (``signing_key_retired`` if this server lacks it); on
        a sharded store, seal every shard too (and sign the default log's checkpoint only
        on a server that appends to it)."""
        if self._signing_key is None:
            raise StoreError("no audit signing key is loaded", code=ErrorCode.SIGNING_KEY_MISSING)
        with self._store.read() as unit:
            sharded = _sharded(unit)
            appends_to_default = unit.audit.shard == ""
        if sharded:
            self.seal()
            if not appends_to_default:
                return None
        with self._store.write() as unit:
            return self._seal(unit, self._current_signer(unit))

    def _seal(self, unit: UnitOfWork, signer: Ed25519PrivateKey) -> Checkpoint | None:
        head = unit.audit.head(lock=True)
        existing = unit.audit.checkpoints()
        if head.size == 0 or (existing and existing[-1].tree_size >= head.size):
            return None
        checkpoint = sign_checkpoint(signer, head.size, head.root(), self._clock())
        unit.audit.add_checkpoint(checkpoint)
        return checkpoint

    def _current_signer(self, unit: UnitOfWork) -> Ed25519PrivateKey:
        own = self._signing_key
        if own is None:
            raise StoreError("no audit signing key is loaded", code=ErrorCode.SIGNING_KEY_MISSING)
        return self._signer_of(unit, own)

    def _signer_of(self, unit: UnitOfWork, own: Ed25519PrivateKey) -> Ed25519PrivateKey:
        """The private key of the chain's current key (the head is locked first, so a
        rotation cannot slip in between); ``signing_key_retired`` if not here."""
        unit.audit.head(lock=True)
        latest = _latest_link(unit)
        if latest is None:
            return own
        key = self._find_key(latest.key_id)
        if key is None:
            raise Unavailable(
                f"this server does not have the current audit signing key {latest.key_id} "
                f"(rotated in at record {latest.seq}): checkpoints are left to servers that do",
                code=ErrorCode.SIGNING_KEY_RETIRED,
                help="copy the new key file beside this server's CHARTER_SIGNING_KEY "
                "(docs/audit-log.md#rotating-the-signing-key)",
            )
        return key

    def rotate_key(self, actor: Principal, new_key: Ed25519PrivateKey) -> KeyLink:
        """Hand checkpoint signing over to ``new_key``, in one transaction: sign what the
        current key should still sign (the checkpoint, and on a sharded store the seal),
        append the link it signs for the new key (an ``audit.key_rotated`` record of the
        default shard, signed for its place there, naming every shard's size in the
        current key's last seal), and sign the first checkpoint (and seal) with the new
        key."""
        require_roles(actor, "rotate the audit signing key", HumanRole.ADMIN)
        if self._signing_key is None:
            raise StoreError("no audit signing key is loaded", code=ErrorCode.SIGNING_KEY_MISSING)
        with self._store.write() as unit:
            if unit.audit.shard != DEFAULT_TREE:
                raise InvalidInput(
                    f"this store appends to audit shard {unit.audit.shard!r}: the signing key "
                    "is rotated where the default shard is appended to",
                    code=ErrorCode.INVALID_INPUT,
                    help="run 'charter audit rotate-key' without --audit-shard",
                )
            sharded = _sharded(unit)
            current = self._current_signer(unit)
            self._seal(unit, current)
            if sharded:
                self._seal_shards(unit, current)
            at = self._clock()
            place = unit.audit.head(lock=True).size
            sealed = _last_sealed(unit.audit.last_seal(), key_id(current.public_key()))
            link = sign_link(current, new_key.public_key(), place, at, sealed)
            record = unit.audit.append(
                AuditEntry(
                    type=_KEY_ROTATED,
                    actor=actor.ref,
                    at=at,
                    subject=link.key_id,
                    data=link.to_json(),
                )
            )
            if record.shard != DEFAULT_TREE or record.index != place:
                raise StoreError(
                    "the audit log moved during the key rotation", code=ErrorCode.AUDIT_LOG_BROKEN
                )
            self._seal(unit, new_key)
            if sharded:
                self._seal_shards(unit, new_key)
        log.info("audit signing key rotated: %s -> %s", link.previous_key_id, link.key_id)
        return link

    def key_chain(self) -> list[KeyLink]:
        """Every link of the chain of signing keys, oldest first."""
        links: list[KeyLink] = []
        with self._store.read() as unit:
            after = -1
            while True:
                page = unit.audit.query(
                    AuditQuery(
                        types=(KEY_ROTATED,),
                        after_seq=after,
                        limit=MAX_PAGE,
                        shard=DEFAULT_TREE,
                        past_horizon=True,
                    )
                )
                links += [_link_of(record) for record in page]
                if len(page) < MAX_PAGE:
                    return links
                after = page[-1].seq

    def key_chain_for(self, actor: Principal) -> list[KeyLink]:
        """The chain, for auditors and admins (to verify offline from the root key)."""
        require_roles(actor, "read the key chain", HumanRole.AUDITOR, HumanRole.ADMIN)
        return self.key_chain()

    def record_refusal(self, actor: Principal, *, code: str, where: str) -> None:
        """Record that ``actor`` was refused a call (its own transaction: the call rolled back)."""
        now: datetime = self._clock()
        with self._store.write() as unit:
            unit.audit.append(
                AuditEntry(
                    type="auth.forbidden",
                    actor=actor.ref,
                    at=now,
                    agent=None if actor.is_human else actor.id,
                    subject=actor.credential_id,
                    data={"code": code, "where": where},
                )
            )


def _sharded(unit: UnitOfWork) -> bool:
    """True once the log has named shards, seals or exported segments."""
    return len(unit.audit.shards()) > 1 or bool(unit.audit.seals()) or bool(unit.audit.segments())


def _last_sealed(last: Seal | None, retiring: str) -> dict[str, int]:
    """What the retiring key sealed last, shard by shard, for its link: the newest seal
    if it signed it (every seal since it came in is its own, the head being locked), none
    otherwise, so no seal of it can vouch for any shard once it is retired."""
    if last is None or last.key_id != retiring:
        return {}
    return {shard: head.size for shard, head in last.shards.items()}


def _broken(error: StoreError) -> VerifyReport:
    return VerifyReport(
        ok=False,
        records=0,
        root="",
        checkpoints_verified=0,
        last_checkpoint_size=None,
        unsealed_records=0,
        problem=VerifyProblem(error.code, None, error.message),
    )


def _link_of(record: AuditRecord) -> KeyLink:
    try:
        return link_from_json(json.loads(record.body).get("data"))
    except ValueError as error:
        raise StoreError(
            f"the key rotation record {record.seq} is malformed: {error}",
            code=ErrorCode.AUDIT_LOG_BROKEN,
            help="run 'charter audit verify'",
        ) from None


def _latest_link(unit: UnitOfWork) -> KeyLink | None:
    """The newest link: read past the stable horizon, or a server of another shard
    would not see a rotation that committed since, and sign with the retired key (the
    caller holds the default head, so no link is still to commit)."""
    latest = unit.audit.query(
        AuditQuery(
            types=(KEY_ROTATED,), newest_first=True, limit=1, shard=DEFAULT_TREE, past_horizon=True
        )
    )
    return _link_of(latest[0]) if latest else None
