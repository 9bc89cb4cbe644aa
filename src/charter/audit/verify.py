"""Offline verification of the audit log: finds the first edited, missing or moved record.

Checked for each record, in sequence order:

1. its sequence number is the next expected one (a gap means a deletion);
2. its body is canonical JSON whose ``seq`` is its position and whose fields match the
   indexed columns (an edit in either place shows);
3. its leaf hash is the hash of its body, and the tree root stored with it is the root
   recomputed over every record so far (so a moved or re-inserted record shows);
4. at every signed checkpoint, the recomputed root equals the signed root and the
   signature holds (so a rewrite that recomputed every stored hash still shows);
5. every *trusted* checkpoint (exported earlier and kept elsewhere) is still in the store,
   so deleting checkpoint rows to hide a rewrite or a truncated tail shows too.

Finally the log's head (its recorded size and root) must match what was read, and no
checkpoint may cover more records than exist (a truncated tail).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter.audit.checkpoints import Checkpoint, signature_holds
from charter.audit.merkle import Frontier, leaf_hash
from charter.audit.records import AuditRecord, canonical_json
from charter.clock import format_time

__all__ = ["VerifyProblem", "VerifyReport", "verify_log"]


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """The first thing found wrong: a stable code, the record it concerns, and why."""

    code: str
    seq: int | None
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of verifying the whole log."""

    ok: bool
    records: int
    root: str
    checkpoints_verified: int
    last_checkpoint_size: int | None
    unsealed_records: int
    problem: VerifyProblem | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        """The report as the API and ``--json`` show it."""
        return {
            "ok": self.ok,
            "records": self.records,
            "root": self.root,
            "checkpoints_verified": self.checkpoints_verified,
            "last_checkpoint_size": self.last_checkpoint_size,
            "unsealed_records": self.unsealed_records,
            "problem": None
            if self.problem is None
            else {
                "code": self.problem.code,
                "seq": self.problem.seq,
                "message": self.problem.message,
            },
            "notes": list(self.notes),
        }


class _Failed(Exception):
    def __init__(self, problem: VerifyProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _check_body(record: AuditRecord) -> None:
    def bad(what: str) -> _Failed:
        return _Failed(VerifyProblem("record_altered", record.seq, f"record {record.seq}: {what}"))

    try:
        body = json.loads(record.body)
    except ValueError:
        raise bad("body is not valid JSON") from None
    if not isinstance(body, dict) or canonical_json(body) != record.body:
        raise bad("body is not in canonical form")
    expected = {
        "seq": record.seq,
        "at": format_time(record.at),
        "type": record.type,
        "actor": record.actor,
        "agent": record.agent,
        "subject": record.subject,
    }
    for key, value in expected.items():
        if body.get(key) != value:
            raise bad(
                f"column {key!r} ({value!r}) differs from the sealed body ({body.get(key)!r})"
            )
    if leaf_hash(record.body.encode("utf-8")) != record.leaf_hash:
        raise bad("body does not match its leaf hash (the record was edited)")


def verify_log(
    records: Iterable[AuditRecord],
    checkpoints: Sequence[Checkpoint],
    *,
    public_key: Ed25519PublicKey | None,
    head_size: int,
    head_root: bytes,
    trusted: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Verify ``records`` (in sequence order) against ``checkpoints`` and the log head.

    ``trusted`` are checkpoints kept outside the store (exported earlier): each must also
    be in the store, so deleting checkpoint rows to hide a rewrite or truncation shows.
    """
    stored = {(cp.tree_size, cp.root, cp.signature) for cp in checkpoints}
    by_size: dict[int, list[Checkpoint]] = {}
    for cp in [*checkpoints, *trusted]:
        by_size.setdefault(cp.tree_size, []).append(cp)
    frontier = Frontier.empty()
    verified = 0
    last_good_checkpoint = 0
    last_checkpoint: int | None = None
    notes: list[str] = []
    if public_key is None and (checkpoints or trusted):
        notes.append("no public key given: checkpoint signatures were not checked")

    def report(problem: VerifyProblem | None) -> VerifyReport:
        return VerifyReport(
            ok=problem is None,
            records=frontier.size,
            root=frontier.root().hex(),
            checkpoints_verified=verified,
            last_checkpoint_size=last_checkpoint,
            unsealed_records=frontier.size - (last_checkpoint or 0),
            problem=problem,
            notes=tuple(notes),
        )

    try:
        for record in records:
            expected = frontier.size
            if record.seq != expected:
                raise _Failed(
                    VerifyProblem(
                        "record_missing",
                        expected,
                        f"record {expected} is missing (the next record present is {record.seq})",
                    )
                )
            _check_body(record)
            frontier = frontier.append(record.leaf_hash)
            if frontier.root() != record.tree_root:
                raise _Failed(
                    VerifyProblem(
                        "tree_mismatch",
                        record.seq,
                        f"record {record.seq}: stored tree root differs from the recomputed "
                        "one (a record before it was moved, inserted or rewritten)",
                    )
                )
            for checkpoint in by_size.get(frontier.size, ()):
                _check_checkpoint(checkpoint, frontier, public_key, last_good_checkpoint)
                verified += 1
                last_checkpoint = checkpoint.tree_size
            if frontier.size in by_size:
                last_good_checkpoint = frontier.size
        beyond = [cp for size, group in by_size.items() if size > frontier.size for cp in group]
        for checkpoint in beyond:
            # A forged row must not make an intact log look truncated.
            _check_signature(checkpoint, public_key)
        if beyond:
            beyond_sizes = [cp.tree_size for cp in beyond]
            raise _Failed(
                VerifyProblem(
                    "log_truncated",
                    frontier.size,
                    f"a signed checkpoint covers {max(beyond_sizes)} records but only "
                    f"{frontier.size} remain: records from {frontier.size} on were deleted",
                )
            )
        for checkpoint in trusted:
            if (checkpoint.tree_size, checkpoint.root, checkpoint.signature) not in stored:
                raise _Failed(
                    VerifyProblem(
                        "checkpoint_missing",
                        checkpoint.tree_size - 1,
                        f"the trusted checkpoint at size {checkpoint.tree_size} is not in the "
                        "store: checkpoint rows were deleted or replaced",
                    )
                )
        if head_size != frontier.size or head_root != frontier.root():
            raise _Failed(
                VerifyProblem(
                    "head_mismatch",
                    min(head_size, frontier.size),
                    f"the log head records {head_size} entries but {frontier.size} were read "
                    f"(records from {min(head_size, frontier.size)} on were deleted or added)",
                )
            )
    except _Failed as failure:
        return report(failure.problem)
    return report(None)


def _check_signature(checkpoint: Checkpoint, public_key: Ed25519PublicKey | None) -> None:
    if public_key is not None and not signature_holds(checkpoint, public_key):
        raise _Failed(
            VerifyProblem(
                "checkpoint_signature_invalid",
                checkpoint.tree_size - 1,
                f"the checkpoint at size {checkpoint.tree_size} has a bad signature "
                "or was signed by another key",
            )
        )


def _check_checkpoint(
    checkpoint: Checkpoint,
    frontier: Frontier,
    public_key: Ed25519PublicKey | None,
    previous_size: int,
) -> None:
    _check_signature(checkpoint, public_key)
    if checkpoint.root != frontier.root():
        raise _Failed(
            VerifyProblem(
                "checkpoint_mismatch",
                previous_size,
                f"records {previous_size}..{checkpoint.tree_size - 1} were rewritten: their "
                f"root no longer matches the checkpoint signed at size {checkpoint.tree_size}",
            )
        )
