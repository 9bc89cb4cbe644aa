"""Sealed segments: a shard's records up to a sealed size, in a file that verifies alone.

A segment holds records ``start``..``end - 1`` of one shard, the frontier the shard's
tree had at ``start``, the seal that signed the tree at ``end`` (and, when ``start`` is
not 0, the seal that signed it at ``start``), and the links of the chain of signing keys
up to its seal when the key was rotated. With the root public key only, anyone can check
that the records are exactly the ones sealed: each body hashes to its leaf, the leaves
continue the starting frontier to the sealed root, and both seals are signed.

Once a segment is exported, the store may delete its records (``--prune``): it keeps a
row naming the segment's end and frontier, so the records it keeps still verify against
the seals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter.audit.keychain import KeyLink, KeyRing, chain_links, links_before
from charter.audit.merkle import Frontier, leaf_hash
from charter.audit.records import AuditRecord, canonical_json
from charter.audit.seals import Seal, seal_from_json

__all__ = [
    "SEGMENT_FORMAT",
    "SegmentProblem",
    "SegmentReport",
    "segment_json",
    "verify_segment",
]

SEGMENT_FORMAT = "charter-audit-segment/v1"


def segment_json(
    shard: str,
    start: Frontier,
    records: Sequence[AuditRecord],
    seal: Seal,
    start_seal: Seal | None,
    key_chain: Sequence[KeyLink] = (),
) -> dict[str, Any]:
    """The file of a segment: ``records`` continue ``start`` up to ``seal``'s size;
    ``key_chain``: the links from the root key to the keys that signed its seals."""
    document: dict[str, Any] = {
        "format": SEGMENT_FORMAT,
        "shard": shard,
        "start": start.size,
        "end": start.size + len(records),
        "start_frontier": [part.hex() for part in start.hashes],
        "start_seal": None if start_seal is None else start_seal.to_json(),
        "seal": seal.to_json(),
        "records": [
            {
                "seq": record.seq,
                "body": record.body,
                "leaf_hash": record.leaf_hash.hex(),
                "tree_root": record.tree_root.hex(),
            }
            for record in records
        ],
    }
    needed = links_before(key_chain, seal)
    if needed:
        document["key_chain"] = [link.to_json() for link in needed]
    return document


@dataclass(frozen=True, slots=True)
class SegmentProblem:
    """What is wrong with a segment file: a stable code, the place, why."""

    code: str
    index: int | None
    message: str


@dataclass(frozen=True, slots=True)
class SegmentReport:
    """The outcome of verifying a segment file."""

    ok: bool
    shard: str
    start: int
    end: int
    root: str
    seal: int | None
    problem: SegmentProblem | None = None

    def to_json(self) -> dict[str, object]:
        """The report as ``--json`` shows it."""
        return {
            "ok": self.ok,
            "shard": self.shard,
            "start": self.start,
            "end": self.end,
            "root": self.root,
            "seal": self.seal,
            "problem": None
            if self.problem is None
            else {
                "code": self.problem.code,
                "index": self.problem.index,
                "message": self.problem.message,
            },
        }


class _Bad(Exception):
    def __init__(self, code: str, index: int | None, message: str) -> None:
        super().__init__(message)
        self.problem = SegmentProblem(code, index, message)


def verify_segment(
    document: Mapping[str, Any],
    public_key: Ed25519PublicKey | None,
    key_chain: Sequence[KeyLink] | None = None,
) -> SegmentReport:
    """Verify a segment file as ``segment_json`` wrote it, trusting the root key
    ``public_key`` and the keys it vouches for through ``key_chain`` (the file's own
    links when None)."""
    shard = str(document.get("shard", "")) if isinstance(document, Mapping) else ""
    start = end = 0
    seal_number: int | None = None
    frontier = Frontier.empty()
    try:
        if not isinstance(document, Mapping) or document.get("format") != SEGMENT_FORMAT:
            raise _Bad("segment_malformed", None, "not a Charter audit segment file")
        try:
            start, end = int(document["start"]), int(document["end"])
            hashes = tuple(bytes.fromhex(str(part)) for part in document["start_frontier"])
            seal = seal_from_json(document["seal"])
            start_seal = (
                None
                if document.get("start_seal") is None
                else seal_from_json(document["start_seal"])
            )
            records = list(document["records"])
            links = chain_links(document.get("key_chain", []))
        except (KeyError, TypeError, ValueError) as error:
            raise _Bad(
                "segment_malformed", None, f"the segment file is malformed: {error}"
            ) from None
        seal_number = seal.number
        frontier = Frontier(start, hashes)
        keys = (
            None
            if public_key is None
            else _ring(public_key, links if key_chain is None else key_chain)
        )
        _check_seals(shard, start, end, frontier, seal, start_seal, keys)
        frontier = _check_records(shard, frontier, records, end)
        sealed = seal.shards[shard]
        if frontier.size != sealed.size or frontier.root() != sealed.root:
            raise _Bad(
                "seal_mismatch",
                frontier.size,
                f"the segment's records do not make the root seal {seal.number} signed for "
                f"shard {shard!r} at size {sealed.size}",
            )
    except _Bad as bad:
        return SegmentReport(
            False, shard, start, end, frontier.root().hex(), seal_number, bad.problem
        )
    return SegmentReport(True, shard, start, end, frontier.root().hex(), seal_number)


def _check_seals(
    shard: str,
    start: int,
    end: int,
    frontier: Frontier,
    seal: Seal,
    start_seal: Seal | None,
    keys: KeyRing | None,
) -> None:
    for each in (seal, start_seal):
        problem = None if each is None or keys is None else keys.seal_problem(each)
        if problem is not None:
            raise _Bad(problem[0], None, problem[1])
    head = seal.shards.get(shard)
    if head is None or head.size != end:
        raise _Bad(
            "segment_malformed", end, f"seal {seal.number} does not cover shard {shard!r} at {end}"
        )
    if not frontier.is_consistent():
        raise _Bad("segment_malformed", start, "the starting frontier is not a tree's")
    if start == 0:
        return
    first = None if start_seal is None else start_seal.shards.get(shard)
    if first is None or first.size != start or first.root != frontier.root():
        raise _Bad(
            "seal_mismatch",
            start,
            f"the segment starts at {start} from a tree no seal signed for shard {shard!r}",
        )


def _ring(public_key: Ed25519PublicKey, links: Sequence[KeyLink]) -> KeyRing:
    ring = KeyRing(public_key)
    for link in sorted(links, key=lambda link: link.seq):
        broken = ring.accept(link)
        if broken is not None:
            raise _Bad("key_chain_broken", link.seq, broken)
    return ring


def _check_records(shard: str, frontier: Frontier, records: Sequence[Any], end: int) -> Frontier:
    for entry in records:
        index = frontier.size
        try:
            body_text = str(entry["body"])
            body = json.loads(body_text)
            leaf = bytes.fromhex(str(entry["leaf_hash"]))
            root = bytes.fromhex(str(entry["tree_root"]))
            seq = int(entry["seq"])
        except (KeyError, TypeError, ValueError):
            raise _Bad("record_altered", index, f"record {index}: malformed") from None
        if not isinstance(body, dict) or canonical_json(body) != body_text:
            raise _Bad("record_altered", index, f"record {index}: body is not canonical")
        placed = (body.get("shard", ""), body.get("index", body.get("seq")), body.get("seq"))
        if placed != (shard, index, seq):
            raise _Bad(
                "record_missing" if placed[1] != index else "record_altered",
                index,
                f"record {index}: its body places it at {placed[1]} of shard {placed[0]!r} "
                f"(seq {placed[2]}), not at {index} of {shard!r} (seq {seq})",
            )
        if leaf_hash(body_text.encode("utf-8")) != leaf:
            raise _Bad("record_altered", index, f"record {index}: body does not match its leaf")
        frontier = frontier.append(leaf)
        if frontier.root() != root:
            raise _Bad("tree_mismatch", index, f"record {index}: tree root differs")
    if frontier.size != end:
        raise _Bad(
            "record_missing",
            frontier.size,
            f"the segment ends at {frontier.size}, not at its sealed {end}: records were removed",
        )
    return frontier
