"""Verifying a sharded log: every shard's tree, then the seals that tie them together.

Each shard is verified as a log of its own (``verify_log``), from the frontier its last
pruned segment left. Then every seal:

1. seals are numbered 0, 1, 2, ... with none missing, and each is signed by the key of
   the chain of signing keys (learnt from the default shard's records) in force at the
   size of the default shard it seals;
2. each seal covers every shard the one before it did, never with fewer records
   (successive seals are consistent: both roots are of prefixes of one verified tree);
3. each shard's root in each seal is the root recomputed from that shard's records at
   that size, or, for a size inside a pruned segment, the segment's sealed end;
4. no seal covers more records of a shard than the shard holds (a truncated shard).

Problems name the shard and the place in its tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter.audit.checkpoints import Checkpoint
from charter.audit.keychain import DEFAULT_TREE, KeyRing
from charter.audit.merkle import Frontier
from charter.audit.records import AuditRecord
from charter.audit.seals import Seal
from charter.audit.verify import VerifyProblem, VerifyReport, verify_log

__all__ = ["ShardLog", "verify_shards"]


@dataclass(frozen=True, slots=True)
class ShardLog:
    """One shard as the store holds it."""

    shard: str
    records: Iterable[AuditRecord]
    head: Frontier | None
    """None: the head row cannot be read."""
    checkpoints: Sequence[Checkpoint] = ()
    """The default log's checkpoints (named shards have seals only)."""
    start: Frontier = field(default_factory=Frontier.empty)
    """Where the kept records continue: the end of the last pruned segment."""
    start_seal: int | None = None
    """The seal that covers ``start`` (None when nothing was pruned)."""


class _Failed(Exception):
    def __init__(self, problem: VerifyProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _fail(code: str, shard: str | None, seq: int | None, message: str) -> _Failed:
    return _Failed(VerifyProblem(code, seq, message, shard))


def verify_shards(
    shards: Sequence[ShardLog],
    seals: Sequence[Seal],
    *,
    public_key: Ed25519PublicKey | None,
    trusted: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Verify every shard and every seal; the report's ``shards`` has each one's figures.

    The default shard comes first: its records hold the chain of signing keys, which
    says which key may sign each seal (``audit/keychain.py``)."""
    notes: list[str] = []
    if public_key is None and seals:
        notes.append("no public key given: seal signatures were not checked")
    figures: list[dict[str, object]] = []
    default_report: VerifyReport | None = None
    total = 0
    keys = None if public_key is None else KeyRing(public_key)
    ordered = sorted(shards, key=lambda log: log.shard != DEFAULT_TREE)
    try:
        _check_seal_chain(seals)
        if not ordered or ordered[0].shard != DEFAULT_TREE:
            _check_seal_keys(seals, keys)
        for log in ordered:
            sizes = {seal.shards[log.shard].size for seal in seals if log.shard in seal.shards}
            roots: dict[int, bytes] = {}
            if log.head is None:
                raise _fail(
                    "audit_head_corrupt", log.shard, None, f"shard {log.shard!r}: head is corrupt"
                )
            default = log.shard == DEFAULT_TREE
            report = verify_log(
                log.records,
                log.checkpoints,
                public_key=public_key,
                head_size=log.head.size,
                head_root=log.head.root(),
                trusted=trusted if default else (),
                shard=log.shard,
                start=log.start,
                watch=sizes,
                roots=roots,
                keys=keys if default else None,
            )
            total += report.records - log.start.size
            if default:
                default_report = report
            if report.problem is not None:
                raise _Failed(report.problem)
            if default:
                _check_seal_keys(seals, keys)
            _check_start(log, seals)
            sealed = _check_sealed_roots(log, seals, roots, report.records)
            figures.append(
                {
                    "shard": log.shard,
                    "records": report.records,
                    "pruned": log.start.size,
                    "root": report.root,
                    "sealed": sealed,
                    "unsealed": report.records - sealed,
                }
            )
        _check_all_shards_present(shards, seals)
    except _Failed as failure:
        return _report(default_report, total, figures, seals, notes, failure.problem)
    return _report(default_report, total, figures, seals, notes, None)


def _report(
    default: VerifyReport | None,
    total: int,
    figures: list[dict[str, object]],
    seals: Sequence[Seal],
    notes: list[str],
    problem: VerifyProblem | None,
) -> VerifyReport:
    unsealed = sum(int(str(shard["unsealed"])) for shard in figures)
    return VerifyReport(
        ok=problem is None,
        records=total,
        root="" if default is None else default.root,
        checkpoints_verified=0 if default is None else default.checkpoints_verified,
        last_checkpoint_size=None if default is None else default.last_checkpoint_size,
        unsealed_records=unsealed,
        problem=problem,
        notes=tuple([*notes, *(() if default is None else default.notes)]),
        shards=tuple(figures),
        seals_verified=len(seals) if problem is None else 0,
    )


def _check_seal_keys(seals: Sequence[Seal], keys: KeyRing | None) -> None:
    """Each seal is signed by the key of the chain in force at the default shard's size
    it seals (None: no public key, nothing checked)."""
    if keys is None:
        return
    for seal in seals:
        problem = keys.seal_problem(seal)
        if problem is not None:
            code, message = problem
            raise _fail(code, None, None, message)


def _check_seal_chain(seals: Sequence[Seal]) -> None:
    """Steps 1 and 2: numbered without gaps, each covering what the last did (the
    signatures are checked once the key chain is known: ``_check_seal_keys``)."""
    previous: Seal | None = None
    for expected, seal in enumerate(seals):
        if seal.number != expected:
            raise _fail(
                "seal_missing",
                None,
                None,
                f"seal {expected} is missing (the next seal present is {seal.number})",
            )
        if previous is not None:
            for shard, head in previous.shards.items():
                now = seal.shards.get(shard)
                if now is None or now.size < head.size:
                    raise _fail(
                        "seal_inconsistent",
                        shard,
                        head.size,
                        f"seal {seal.number} covers fewer records of shard {shard!r} than "
                        f"seal {previous.number} ({head.size})",
                    )
                if now.size == head.size and now.root != head.root:
                    raise _fail(
                        "seal_inconsistent",
                        shard,
                        head.size,
                        f"seals {previous.number} and {seal.number} give shard {shard!r} "
                        f"two roots at size {head.size}",
                    )
        previous = seal


def _check_start(log: ShardLog, seals: Sequence[Seal]) -> None:
    """A pruned shard continues from a frontier a seal signed."""
    if log.start.size == 0:
        return
    by_number = {seal.number: seal for seal in seals}
    seal = by_number.get(log.start_seal if log.start_seal is not None else -1)
    head = None if seal is None else seal.shards.get(log.shard)
    if head is None or head.size != log.start.size or head.root != log.start.root():
        raise _fail(
            "segment_mismatch",
            log.shard,
            log.start.size,
            f"shard {log.shard!r}: the records kept after its pruned segment (from "
            f"{log.start.size}) do not continue a tree a seal signed",
        )


def _check_sealed_roots(
    log: ShardLog, seals: Sequence[Seal], roots: dict[int, bytes], size: int
) -> int:
    """Steps 3 and 4 for one shard; the largest size a seal covers."""
    sealed = 0
    for seal in seals:
        head = seal.shards.get(log.shard)
        if head is None:
            continue
        if head.size > size:
            raise _fail(
                "log_truncated",
                log.shard,
                size,
                f"shard {log.shard!r}: seal {seal.number} covers {head.size} records but only "
                f"{size} remain: records from {size} on were deleted",
            )
        if head.size < log.start.size:
            sealed = max(sealed, head.size)
            continue  # inside the pruned segment: its file proves it
        if roots.get(head.size) != head.root:
            raise _fail(
                "seal_mismatch",
                log.shard,
                head.size,
                f"shard {log.shard!r}: records before {head.size} were rewritten: their root "
                f"no longer matches seal {seal.number}",
            )
        sealed = max(sealed, head.size)
    return sealed


def _check_all_shards_present(shards: Sequence[ShardLog], seals: Sequence[Seal]) -> None:
    held = {log.shard for log in shards}
    for seal in seals:
        for shard in seal.shards:
            if shard not in held:
                raise _fail(
                    "shard_missing",
                    shard,
                    None,
                    f"seal {seal.number} covers shard {shard!r}, which the store no longer has",
                )
