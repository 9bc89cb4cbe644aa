"""Evidence bundles: cited audit records an auditor can check offline with the public key.

A bundle holds each cited record exactly as stored (its canonical body), the RFC 6962
inclusion proof of its leaf in the tree a signed checkpoint commits to, and that
checkpoint with its signature. Anyone holding the public key can then check, without the
store or the server, that every cited record is in the log as it stands: the checkpoint's
signature covers its size and root, and each proof leads from the record's leaf hash to
that root. Editing a record, a proof hash, the root or the signature, or checking with
another key, makes verification fail and name what failed.

Format ``charter-evidence/v1`` (docs/compliance.md)::

    {"format": "charter-evidence/v1", "key_id": "...", "created_at": "...",
     "checkpoint": {"tree_size": n, "root": hex, "at": time, "key_id": ..., "signature": hex},
     "records": [{"seq": s, "body": "<canonical JSON>", "leaf_hash": hex,
                  "proof": [hex, ...]}, ...],
     "key_chain": [<link>, ...]}

``key_chain`` is there only when the signing key was rotated before the checkpoint: the
links (``audit/keychain.py``) from the root key to the one that signed it. A verifier
holding the root key checks them; one that also holds the full chain, exported apart,
checks with that instead (a bundle could leave out the link retiring a stolen key).

On a sharded log (docs/scaling.md) the bundle holds a ``seal`` instead of a
``checkpoint``, and each cited record its ``shard`` and ``index``: its proof leads to that
shard's root in the seal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter.audit.checkpoints import Checkpoint, checkpoint_from_json
from charter.audit.checkpoints import key_id as checkpoint_key_id
from charter.audit.keychain import KeyLink, KeyRing, link_from_json
from charter.audit.merkle import MerkleTree, leaf_hash, root_from_inclusion_proof
from charter.audit.records import AuditRecord, canonical_json
from charter.audit.seals import Seal, seal_from_json, seal_holds
from charter.clock import format_time

__all__ = [
    "BUNDLE_FORMAT",
    "CitedRecord",
    "EvidenceBundle",
    "EvidenceProblem",
    "EvidenceReport",
    "build_bundle",
    "build_sealed_bundle",
    "bundle_from_json",
    "verify_bundle",
]

BUNDLE_FORMAT = "charter-evidence/v1"
MAX_CITED = 1000
"""Records one bundle may cite: enough for a report, small enough to check by hand."""


@dataclass(frozen=True, slots=True)
class CitedRecord:
    """One record as stored, with the audit path of its leaf."""

    seq: int
    body: str
    leaf_hash: bytes
    proof: tuple[bytes, ...]
    shard: str = ""
    index: int | None = None
    """Its place in its shard's tree, in a sealed (sharded) bundle."""

    def to_json(self) -> dict[str, Any]:
        """The cited record as a bundle holds it."""
        shown: dict[str, Any] = {
            "seq": self.seq,
            "body": self.body,
            "leaf_hash": self.leaf_hash.hex(),
            "proof": [step.hex() for step in self.proof],
        }
        if self.index is not None:
            shown["shard"] = self.shard
            shown["index"] = self.index
        return shown

    def fields(self) -> dict[str, Any]:
        """The record's fields, parsed from its body (for reports that quote it)."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass(frozen=True, slots=True)
class EvidenceBundle:
    """Cited records and their proofs against one signed checkpoint."""

    checkpoint: Checkpoint
    records: tuple[CitedRecord, ...]
    created_at: datetime
    key_chain: tuple[KeyLink, ...] = ()
    """The links from the root key to the checkpoint's key (none without a rotation)."""
    seal: Seal | None = None
    """On a sharded log: the seal the records are proved against."""

    @property
    def key_id(self) -> str:
        """The key that signed the checkpoint: the one an auditor verifies with."""
        return self.checkpoint.key_id

    @property
    def seqs(self) -> list[int]:
        """The sequence numbers cited, in order."""
        return [record.seq for record in self.records]

    def to_json(self) -> dict[str, Any]:
        """The bundle as written to a file or answered by the API."""
        body: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "key_id": self.key_id,
            "created_at": format_time(self.created_at),
            "records": [record.to_json() for record in self.records],
        }
        if self.seal is None:
            body["checkpoint"] = self.checkpoint.to_json()
        else:
            body["seal"] = self.seal.to_json()
        if self.key_chain:
            body["key_chain"] = [link.to_json() for link in self.key_chain]
        return body


def build_bundle(
    records: Sequence[AuditRecord],
    leaves: Sequence[bytes],
    checkpoint: Checkpoint,
    *,
    at: datetime,
    key_chain: Sequence[KeyLink] = (),
) -> EvidenceBundle:
    """Prove ``records`` against ``checkpoint``, given the first ``tree_size`` leaf hashes.

    Raises ``ValueError`` when the leaves do not make the checkpoint's root or a record
    is not one of them: a bundle is never built from a log that does not verify.
    """
    if len(leaves) != checkpoint.tree_size:
        raise ValueError(
            f"{len(leaves)} leaf hashes given for a checkpoint of {checkpoint.tree_size} records"
        )
    tree = MerkleTree(leaves)
    if tree.root() != checkpoint.root:
        raise ValueError(
            f"the log's first {checkpoint.tree_size} records do not make the checkpoint's root"
        )
    cited = []
    for record in sorted(records, key=lambda record: record.seq):
        if not 0 <= record.seq < checkpoint.tree_size:
            raise ValueError(f"record {record.seq} is not covered by the checkpoint")
        leaf = leaf_hash(record.body.encode("utf-8"))
        if leaf != leaves[record.seq]:
            raise ValueError(f"record {record.seq} does not hash to its leaf in the log")
        proof = tuple(tree.inclusion_proof(record.seq))
        cited.append(CitedRecord(record.seq, record.body, leaf, proof))
    chain = tuple(link for link in key_chain if link.seq < checkpoint.tree_size)
    return EvidenceBundle(checkpoint, tuple(cited), at, chain)


def _seal_as_checkpoint(seal: Seal) -> Checkpoint:
    """What a sealed bundle shows where others show their checkpoint."""
    size = sum(head.size for head in seal.shards.values())
    return Checkpoint(size, b"", seal.at, seal.key_id, seal.signature)


def build_sealed_bundle(
    records: Sequence[AuditRecord],
    leaves: Mapping[str, Sequence[bytes]],
    seal: Seal,
    *,
    at: datetime,
) -> EvidenceBundle:
    """Prove ``records`` of a sharded log against ``seal``, given each cited shard's first
    sealed-size leaf hashes; ``ValueError`` as ``build_bundle``."""
    trees: dict[str, MerkleTree] = {}
    cited = []
    for record in sorted(records, key=lambda record: record.seq):
        head = seal.shards.get(record.shard)
        shard_leaves = leaves.get(record.shard, ())
        if head is None or not 0 <= record.index < head.size:
            raise ValueError(f"record {record.seq} is not covered by seal {seal.number}")
        if len(shard_leaves) != head.size:
            raise ValueError(
                f"{len(shard_leaves)} leaf hashes given for shard {record.shard!r} of "
                f"{head.size} sealed records"
            )
        tree = trees.get(record.shard)
        if tree is None:
            tree = trees[record.shard] = MerkleTree(shard_leaves)
            if tree.root() != head.root:
                raise ValueError(
                    f"shard {record.shard!r}'s first {head.size} records do not make the "
                    "seal's root"
                )
        leaf = leaf_hash(record.body.encode("utf-8"))
        if leaf != shard_leaves[record.index]:
            raise ValueError(f"record {record.seq} does not hash to its leaf in the log")
        proof = tuple(tree.inclusion_proof(record.index))
        cited.append(CitedRecord(record.seq, record.body, leaf, proof, record.shard, record.index))
    return EvidenceBundle(_seal_as_checkpoint(seal), tuple(cited), at, seal=seal)


# -- reading and verifying, offline ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceProblem:
    """What failed: a stable code, the record it concerns (if one), and why."""

    code: str
    seq: int | None
    message: str


@dataclass(frozen=True, slots=True)
class EvidenceReport:
    """The outcome of verifying a bundle."""

    ok: bool
    records: int
    tree_size: int | None
    root: str | None
    key_id: str | None
    problem: EvidenceProblem | None = None

    def to_json(self) -> dict[str, Any]:
        """The report as ``charter audit verify-evidence --json`` prints it."""
        return {
            "ok": self.ok,
            "records": self.records,
            "tree_size": self.tree_size,
            "root": self.root,
            "key_id": self.key_id,
            "problem": None
            if self.problem is None
            else {
                "code": self.problem.code,
                "seq": self.problem.seq,
                "message": self.problem.message,
            },
        }


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a hex string")
    raw = bytes.fromhex(value)
    if len(raw) != 32:
        raise ValueError(f"{what} is not a SHA-256 hash")
    return raw


def _cited_from_json(value: Any, index: int) -> CitedRecord:
    where = f"records[{index}]"
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} is not an object")
    try:
        seq, body, proof = value["seq"], value["body"], value["proof"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError(f"{where}.seq is not a sequence number")
        if not isinstance(body, str):
            raise ValueError(f"{where}.body is not a string")
        if not isinstance(proof, list) or len(proof) > 64:
            raise ValueError(f"{where}.proof is not a list of hashes")
        place: Any = value.get("index")
        if place is not None and (not isinstance(place, int) or isinstance(place, bool)):
            raise ValueError(f"{where}.index is not a place in a tree")
        return CitedRecord(
            seq=seq,
            body=body,
            leaf_hash=_hex(value["leaf_hash"], f"{where}.leaf_hash"),
            proof=tuple(_hex(step, f"{where}.proof") for step in proof),
            shard=str(value.get("shard", "")),
            index=place,
        )
    except KeyError as missing:
        raise ValueError(f"{where} has no {missing}") from None


def bundle_from_json(value: Any) -> EvidenceBundle:
    """Read a bundle as ``EvidenceBundle.to_json`` wrote it; ``ValueError`` says what is
    malformed (an unknown format, a missing field, a hash that is not one)."""
    if not isinstance(value, Mapping):
        raise ValueError("an evidence bundle is a JSON object")
    if value.get("format") != BUNDLE_FORMAT:
        raise ValueError(
            f"unknown bundle format {str(value.get('format'))[:40]!r} (expected {BUNDLE_FORMAT})"
        )
    records = value.get("records")
    if not isinstance(records, list) or not records or len(records) > MAX_CITED:
        raise ValueError(f"records must be a list of 1 to {MAX_CITED} cited records")
    seal = None
    if isinstance(value.get("seal"), Mapping):
        seal = seal_from_json(value["seal"])
        checkpoint = _seal_as_checkpoint(seal)
    elif isinstance(value.get("checkpoint"), Mapping):
        checkpoint = checkpoint_from_json(value["checkpoint"])
    else:
        raise ValueError("checkpoint is missing")
    if value.get("key_id") != checkpoint.key_id:
        raise ValueError("the bundle's key_id differs from its checkpoint's")
    try:
        created = datetime.strptime(str(value["created_at"]), "%Y-%m-%dT%H:%M:%S.%fZ")
    except (KeyError, ValueError):
        raise ValueError("created_at is not a Charter time") from None
    chain = value.get("key_chain", [])
    if not isinstance(chain, list) or len(chain) > MAX_CITED:
        raise ValueError("key_chain must be a list of key links")
    return EvidenceBundle(
        checkpoint=checkpoint,
        records=tuple(_cited_from_json(record, i) for i, record in enumerate(records)),
        created_at=created.replace(tzinfo=UTC),
        key_chain=tuple(link_from_json(link) for link in chain),
        seal=seal,
    )


def _body_problem(cited: CitedRecord) -> str | None:
    """Why ``cited.body`` is not a stored record body placed at ``cited.seq``, or None."""
    try:
        parsed = json.loads(cited.body)
    except ValueError:
        return "its body is not JSON"
    if not isinstance(parsed, dict) or canonical_json(parsed) != cited.body:
        return "its body is not a canonical record body"
    if parsed.get("seq") != cited.seq:
        return f"its body says seq {parsed.get('seq')!r}"
    if cited.index is not None:
        placed = (parsed.get("shard", ""), parsed.get("index", parsed.get("seq")))
        if placed != (cited.shard, cited.index):
            return f"its body places it at {placed[1]!r} of shard {placed[0]!r}"
    return None


def verify_bundle(
    bundle: EvidenceBundle,
    public_key: Ed25519PublicKey,
    key_chain: Sequence[KeyLink] | None = None,
) -> EvidenceReport:
    """Check every cited record is in the log the checkpoint signed, trusting only the
    root key ``public_key`` and the keys it vouches for through ``key_chain`` (the
    bundle's own links when None).

    In order: each link holds; the checkpoint's key is the root or one the links vouch
    for, in force at the checkpoint's size; the signature covers the checkpoint's size
    and root; each record's body is canonical and placed at its seq, hashes to its leaf,
    and its proof leads from that leaf to the signed root. Stops at the first failure.
    """
    if bundle.seal is not None:
        return _verify_sealed(bundle, bundle.seal, public_key)
    checkpoint = bundle.checkpoint

    def failed(code: str, seq: int | None, message: str) -> EvidenceReport:
        return EvidenceReport(
            ok=False,
            records=len(bundle.records),
            tree_size=checkpoint.tree_size,
            root=checkpoint.root.hex(),
            key_id=checkpoint.key_id,
            problem=EvidenceProblem(code, seq, message),
        )

    ring = KeyRing(public_key)
    for link in sorted(bundle.key_chain if key_chain is None else key_chain, key=_seq_of):
        broken = ring.accept(link)
        if broken is not None:
            return failed("key_chain_broken", link.seq, broken)
    problem = ring.problem(checkpoint)
    if problem is not None and checkpoint.key_id not in ring:
        return failed(
            "key_mismatch",
            None,
            f"the checkpoint was signed by key {checkpoint.key_id}, not by the key given "
            f"({ring.root_key_id}) nor one it vouches for",
        )
    if problem is not None and problem[0] == "checkpoint_key_retired":
        return failed("checkpoint_key_retired", None, problem[1])
    if problem is not None:
        return failed(
            "checkpoint_signature_invalid",
            None,
            f"the checkpoint's signature does not hold for its size {checkpoint.tree_size} "
            "and root: the checkpoint was altered or not signed by this key",
        )
    for cited in bundle.records:
        if cited.seq >= checkpoint.tree_size:
            return failed(
                "record_not_covered",
                cited.seq,
                f"record {cited.seq}: beyond the checkpoint's {checkpoint.tree_size} records",
            )
        wrong = _body_problem(cited)
        if wrong is not None:
            return failed("record_altered", cited.seq, f"record {cited.seq}: {wrong}")
        if leaf_hash(cited.body.encode("utf-8")) != cited.leaf_hash:
            return failed(
                "record_altered",
                cited.seq,
                f"record {cited.seq}: its body does not hash to its leaf hash (the record "
                "was edited)",
            )
        reached = root_from_inclusion_proof(
            cited.leaf_hash, cited.seq, checkpoint.tree_size, cited.proof
        )
        if reached != checkpoint.root:
            return failed(
                "proof_invalid",
                cited.seq,
                f"record {cited.seq}: its inclusion proof does not lead to the signed root "
                f"of {checkpoint.tree_size} records",
            )
    return EvidenceReport(
        ok=True,
        records=len(bundle.records),
        tree_size=checkpoint.tree_size,
        root=checkpoint.root.hex(),
        key_id=checkpoint.key_id,
    )


def _seq_of(link: KeyLink) -> int:
    return link.seq


def _verify_sealed(
    bundle: EvidenceBundle, seal: Seal, public_key: Ed25519PublicKey
) -> EvidenceReport:
    """``verify_bundle`` for a bundle proved against a seal over shards."""
    size = sum(head.size for head in seal.shards.values())

    def failed(code: str, seq: int | None, message: str) -> EvidenceReport:
        return EvidenceReport(
            ok=False,
            records=len(bundle.records),
            tree_size=size,
            root=None,
            key_id=seal.key_id,
            problem=EvidenceProblem(code, seq, message),
        )

    given = checkpoint_key_id(public_key)
    if seal.key_id != given:
        return failed(
            "key_mismatch",
            None,
            f"the seal was signed by key {seal.key_id}, not by the key given ({given})",
        )
    if not seal_holds(seal, public_key):
        return failed(
            "checkpoint_signature_invalid",
            None,
            f"seal {seal.number}'s signature does not hold: it was altered or not signed by "
            "this key",
        )
    for cited in bundle.records:
        head = seal.shards.get(cited.shard)
        index = cited.seq if cited.index is None else cited.index
        if head is None or index >= head.size:
            return failed(
                "record_not_covered",
                cited.seq,
                f"record {cited.seq}: not among the records seal {seal.number} covers",
            )
        wrong = _body_problem(cited)
        if wrong is not None:
            return failed("record_altered", cited.seq, f"record {cited.seq}: {wrong}")
        if leaf_hash(cited.body.encode("utf-8")) != cited.leaf_hash:
            return failed(
                "record_altered",
                cited.seq,
                f"record {cited.seq}: its body does not hash to its leaf hash (the record "
                "was edited)",
            )
        reached = root_from_inclusion_proof(cited.leaf_hash, index, head.size, cited.proof)
        if reached != head.root:
            return failed(
                "proof_invalid",
                cited.seq,
                f"record {cited.seq}: its inclusion proof does not lead to shard "
                f"{cited.shard!r}'s root in seal {seal.number}",
            )
    return EvidenceReport(
        ok=True,
        records=len(bundle.records),
        tree_size=size,
        root=None,
        key_id=seal.key_id,
    )
