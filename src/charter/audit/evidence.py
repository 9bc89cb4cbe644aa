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
shard's root in the seal. Its ``key_chain`` then holds the links inside the default shard's
tree the seal covers: the seal's key must be the one in force there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter.audit.checkpoints import Checkpoint, checkpoint_from_json
from charter.audit.keychain import DEFAULT_TREE, KeyLink, KeyRing, chain_links, links_before
from charter.audit.merkle import MerkleTree, leaf_hash, root_from_inclusion_proof
from charter.audit.records import AuditRecord, canonical_json
from charter.audit.seals import Seal, ShardHead, seal_from_json
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
    head = ShardHead(checkpoint.tree_size, checkpoint.root)
    signed = f"the checkpoint of {checkpoint.tree_size} records"
    cited = _prove(records, {DEFAULT_TREE: leaves}, {DEFAULT_TREE: head}, signed, placed=False)
    chain = tuple(link for link in key_chain if link.seq < checkpoint.tree_size)
    return EvidenceBundle(checkpoint, cited, at, chain)


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
    key_chain: Sequence[KeyLink] = (),
) -> EvidenceBundle:
    """Prove ``records`` of a sharded log against ``seal``, given each cited shard's first
    sealed-size leaf hashes; ``ValueError`` as ``build_bundle``. ``key_chain``: every
    link of the chain (the bundle keeps those inside the default tree the seal covers)."""
    cited = _prove(records, leaves, seal.shards, f"seal {seal.number}", placed=True)
    chain = tuple(links_before(key_chain, seal))
    return EvidenceBundle(_seal_as_checkpoint(seal), cited, at, chain, seal=seal)


def _prove(
    records: Sequence[AuditRecord],
    leaves: Mapping[str, Sequence[bytes]],
    heads: Mapping[str, ShardHead],
    signed: str,
    *,
    placed: bool,
) -> tuple[CitedRecord, ...]:
    """Each record with the inclusion proof of its leaf in its shard's tree at the size
    ``heads`` gives (what ``signed`` names signed); ``placed``: cite shard and index."""
    trees: dict[str, MerkleTree] = {}
    cited = []
    for record in sorted(records, key=lambda record: record.seq):
        shard, index = (record.shard, record.index) if placed else (DEFAULT_TREE, record.seq)
        head = heads.get(shard)
        if head is None or not 0 <= index < head.size:
            raise ValueError(f"record {record.seq} is not covered by {signed}")
        shard_leaves = leaves.get(shard, ())
        tree = trees.get(shard)
        if tree is None:
            if len(shard_leaves) != head.size:
                raise ValueError(
                    f"{len(shard_leaves)} leaf hashes given for shard {shard!r} of "
                    f"{head.size} records signed by {signed}"
                )
            tree = trees[shard] = MerkleTree(shard_leaves)
            if tree.root() != head.root:
                raise ValueError(
                    f"shard {shard!r}'s first {head.size} records do not make the root of {signed}"
                )
        leaf = leaf_hash(record.body.encode("utf-8"))
        if leaf != shard_leaves[index]:
            raise ValueError(f"record {record.seq} does not hash to its leaf in the log")
        proof = tuple(tree.inclusion_proof(index))
        if placed:
            cited.append(CitedRecord(record.seq, record.body, leaf, proof, shard, index))
        else:
            cited.append(CitedRecord(record.seq, record.body, leaf, proof))
    return tuple(cited)


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
        key_chain=tuple(chain_links(chain)),
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
    """Check every cited record is in the log the checkpoint (or seal) signed, trusting
    only the root key ``public_key`` and the keys it vouches for through ``key_chain``
    (the bundle's own links when None).

    In order: each link holds; the checkpoint's key is the root or one the links vouch
    for, in force at the checkpoint's size (a seal's: at the size of the default shard
    it seals); the signature covers the checkpoint's size and root (the seal's every
    shard); each record's body is canonical and placed at its seq (its shard and index),
    hashes to its leaf, and its proof leads from that leaf to the signed root. Stops at
    the first failure.
    """
    checkpoint, seal = bundle.checkpoint, bundle.seal
    if seal is None:
        heads: Mapping[str, ShardHead] = {
            DEFAULT_TREE: ShardHead(checkpoint.tree_size, checkpoint.root)
        }
        signed = f"the checkpoint of {checkpoint.tree_size} records"
    else:
        heads, signed = seal.shards, f"seal {seal.number}"

    def failed(code: str, seq: int | None, message: str) -> EvidenceReport:
        return reported(EvidenceProblem(code, seq, message))

    def reported(problem: EvidenceProblem | None) -> EvidenceReport:
        return EvidenceReport(
            ok=problem is None,
            records=len(bundle.records),
            tree_size=checkpoint.tree_size,
            root=None if seal is not None else checkpoint.root.hex(),
            key_id=checkpoint.key_id,
            problem=problem,
        )

    ring = KeyRing(public_key)
    for link in sorted(bundle.key_chain if key_chain is None else key_chain, key=_seq_of):
        broken = ring.accept(link)
        if broken is not None:
            return failed("key_chain_broken", link.seq, broken)
    problem = ring.problem(checkpoint) if seal is None else ring.seal_problem(seal)
    if problem is not None and checkpoint.key_id not in ring:
        return failed(
            "key_mismatch",
            None,
            f"the {'checkpoint' if seal is None else 'seal'} was signed by key "
            f"{checkpoint.key_id}, not by the key given ({ring.root_key_id}) nor one it "
            "vouches for",
        )
    if problem is not None and problem[0].endswith("_key_retired"):
        return failed("checkpoint_key_retired", None, problem[1])
    if problem is not None:
        return failed(
            "checkpoint_signature_invalid",
            None,
            f"the signature of {signed} does not hold: it was altered or not signed by this key",
        )
    for cited in bundle.records:
        wrong = _cited_problem(cited, heads, signed, placed=seal is not None)
        if wrong is not None:
            return failed(wrong[0], cited.seq, f"record {cited.seq}: {wrong[1]}")
    return reported(None)


def _cited_problem(
    cited: CitedRecord, heads: Mapping[str, ShardHead], signed: str, *, placed: bool
) -> tuple[str, str] | None:
    """``(code, why)`` when ``cited`` is not proved in its tree at the size ``heads``
    gives (what ``signed`` names signed); None when it is."""
    shard = cited.shard if placed else DEFAULT_TREE
    index = cited.index if placed and cited.index is not None else cited.seq
    head = heads.get(shard)
    if head is None or index >= head.size:
        return "record_not_covered", f"not among the records {signed} covers"
    wrong = _body_problem(cited)
    if wrong is not None:
        return "record_altered", wrong
    if leaf_hash(cited.body.encode("utf-8")) != cited.leaf_hash:
        return (
            "record_altered",
            "its body does not hash to its leaf hash (the record was edited)",
        )
    if root_from_inclusion_proof(cited.leaf_hash, index, head.size, cited.proof) != head.root:
        tree = f"shard {shard!r}" if placed else "the log"
        return (
            "proof_invalid",
            f"its inclusion proof does not lead to the root of {tree} in {signed}",
        )
    return None


def _seq_of(link: KeyLink) -> int:
    return link.seq
