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

The public key given is the *root* of the chain of signing keys (``audit/keychain.py``):
each ``audit.key_rotated`` record met on the way must be a link signed by the key it
retires, and each checkpoint must be signed by the key of the chain in force at its size.

Finally the log's head (its recorded size and root) must match what was read, and no
checkpoint may cover more records than exist (a truncated tail).

A sharded log is verified one shard at a time by the same steps (positions are places in
the shard's tree, which a record's body names when they are not its ``seq``), starting
from the frontier a pruned segment left; ``charter.audit.shards`` then checks the seals
that tie the shards together.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter.audit.checkpoints import Checkpoint
from charter.audit.keychain import DEFAULT_TREE, KEY_ROTATED, KeyRing, link_from_json
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
    shard: str | None = None
    """The shard it concerns, on a sharded log (``seq``: the place in that shard)."""

    def to_json(self) -> dict[str, object]:
        """The problem as the API and ``--json`` show it."""
        shown: dict[str, object] = {"code": self.code, "seq": self.seq, "message": self.message}
        if self.shard is not None:
            shown["shard"] = self.shard
        return shown


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
    shards: tuple[dict[str, object], ...] = ()
    """On a sharded log: each shard's figures (records, root, pruned, unsealed)."""
    seals_verified: int = 0

    def to_json(self) -> dict[str, object]:
        """The report as the API and ``--json`` show it."""
        shown = self._to_json()
        if self.shards:
            shown["shards"] = [dict(shard) for shard in self.shards]
            shown["seals_verified"] = self.seals_verified
        return shown

    def _to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "records": self.records,
            "root": self.root,
            "checkpoints_verified": self.checkpoints_verified,
            "last_checkpoint_size": self.last_checkpoint_size,
            "unsealed_records": self.unsealed_records,
            "problem": None if self.problem is None else self.problem.to_json(),
            "notes": list(self.notes),
        }


class _Failed(Exception):
    def __init__(self, problem: VerifyProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _check_body(record: AuditRecord) -> None:
    def bad(what: str) -> _Failed:
        return _Failed(
            VerifyProblem("record_altered", record.index, f"record {record.index}: {what}")
        )

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
    # Where the record sits in its shard's tree: named in the body unless it is ``seq``
    # in the default log.
    placed = {"shard": body.get("shard", ""), "index": body.get("index", body.get("seq"))}
    for key, value in {"shard": record.shard, "index": record.index}.items():
        if placed[key] != value:
            raise bad(f"column {key!r} ({value!r}) differs from the sealed body ({placed[key]!r})")
    if leaf_hash(record.body.encode("utf-8")) != record.leaf_hash:
        raise bad("body does not match its leaf hash (the record was edited)")


@dataclass(slots=True)
class _Progress:
    """How far verification got: what the report shows, whether it failed or not."""

    frontier: Frontier = field(default_factory=Frontier.empty)
    verified: int = 0
    last_checkpoint: int | None = None
    last_good_checkpoint: int = 0
    keys: KeyRing | None = None
    """The keys the root vouches for so far (None: signatures are not checked)."""


def verify_log(
    records: Iterable[AuditRecord],
    checkpoints: Sequence[Checkpoint],
    *,
    public_key: Ed25519PublicKey | None,
    head_size: int,
    head_root: bytes,
    trusted: Sequence[Checkpoint] = (),
    shard: str | None = None,
    start: Frontier | None = None,
    watch: Collection[int] = (),
    roots: dict[int, bytes] | None = None,
    keys: KeyRing | None = None,
) -> VerifyReport:
    """Verify ``records`` (in sequence order) against ``checkpoints`` and the log head.

    ``trusted`` are checkpoints kept outside the store (exported earlier): each must also
    be in the store, so deleting checkpoint rows to hide a rewrite or truncation shows.

    On a sharded log: ``shard`` names the shard verified (problems name it), ``start`` is
    the frontier its kept records continue (after a pruned segment), and the tree's root
    at each size in ``watch`` is put in ``roots`` (for the seals); ``keys``, when given,
    is the chain learnt from ``public_key`` so far, and is taught the links met (so the
    seals can be checked against it after the default shard).
    """
    by_size: dict[int, list[Checkpoint]] = {}
    # A trusted copy of a stored checkpoint is one checkpoint: checked, and counted, once.
    unique = {(cp.tree_size, cp.root, cp.signature): cp for cp in [*trusted, *checkpoints]}
    for cp in unique.values():
        by_size.setdefault(cp.tree_size, []).append(cp)
    progress = _Progress(
        frontier=start or Frontier.empty(),
        keys=keys if keys is not None or public_key is None else KeyRing(public_key),
    )
    if roots is not None and progress.frontier.size in watch:
        roots[progress.frontier.size] = progress.frontier.root()
    notes: list[str] = []
    if public_key is None and (checkpoints or trusted):
        notes.append("no public key given: checkpoint signatures were not checked")
    try:
        for record in records:
            _check_record(record, progress, by_size)
            if roots is not None and progress.frontier.size in watch:
                roots[progress.frontier.size] = progress.frontier.root()
        _check_not_truncated(by_size, progress.frontier, progress.keys)
        _check_trusted_kept(trusted, checkpoints)
        _check_head(head_size, head_root, progress.frontier)
    except _Failed as failure:
        problem = failure.problem
        if shard is not None:
            problem = VerifyProblem(
                problem.code, problem.seq, f"shard {shard!r}: {problem.message}", shard
            )
        return _report(progress, notes, problem)
    if progress.keys is not None and progress.keys.rotations:
        notes.append(
            f"signing key rotated {progress.keys.rotations} time(s): current key "
            f"{progress.keys.current_key_id}, root {progress.keys.root_key_id}"
        )
    return _report(progress, notes, None)


def _report(progress: _Progress, notes: list[str], problem: VerifyProblem | None) -> VerifyReport:
    frontier = progress.frontier
    return VerifyReport(
        ok=problem is None,
        records=frontier.size,
        root=frontier.root().hex(),
        checkpoints_verified=progress.verified,
        last_checkpoint_size=progress.last_checkpoint,
        unsealed_records=frontier.size - (progress.last_checkpoint or 0),
        problem=problem,
        notes=tuple(notes),
    )


def _check_record(
    record: AuditRecord,
    progress: _Progress,
    by_size: dict[int, list[Checkpoint]],
) -> None:
    """Steps 1 to 4 for one record; ``progress`` advances as far as the record holds."""
    expected = progress.frontier.size
    if record.index != expected:
        raise _Failed(
            VerifyProblem(
                "record_missing",
                expected,
                f"record {expected} is missing (the next record present is {record.index})",
            )
        )
    _check_body(record)
    frontier = progress.frontier = progress.frontier.append(record.leaf_hash)
    if frontier.root() != record.tree_root:
        raise _Failed(
            VerifyProblem(
                "tree_mismatch",
                record.index,
                f"record {record.index}: stored tree root differs from the recomputed "
                "one (a record before it was moved, inserted or rewritten)",
            )
        )
    if record.type == KEY_ROTATED and progress.keys is not None:
        _follow_link(record, progress.keys)
    for checkpoint in by_size.get(frontier.size, ()):
        _check_checkpoint(checkpoint, frontier, progress.keys, progress.last_good_checkpoint)
        progress.verified += 1
        progress.last_checkpoint = checkpoint.tree_size
    if frontier.size in by_size:
        progress.last_good_checkpoint = frontier.size


def _check_not_truncated(
    by_size: dict[int, list[Checkpoint]],
    frontier: Frontier,
    keys: KeyRing | None,
) -> None:
    """No (validly signed) checkpoint covers more records than were read."""
    beyond = [cp for size, group in by_size.items() if size > frontier.size for cp in group]
    for checkpoint in beyond:
        # A forged row must not make an intact log look truncated.
        if keys is not None and not keys.signs(checkpoint):
            raise _Failed(
                VerifyProblem(
                    "checkpoint_signature_invalid",
                    checkpoint.tree_size - 1,
                    f"the checkpoint at size {checkpoint.tree_size} has a bad signature "
                    "or was signed by a key outside the chain",
                )
            )
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


def _check_trusted_kept(trusted: Sequence[Checkpoint], checkpoints: Sequence[Checkpoint]) -> None:
    """Step 5: every trusted checkpoint is still in the store, unchanged."""
    stored = {(cp.tree_size, cp.root, cp.signature) for cp in checkpoints}
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


def _check_head(head_size: int, head_root: bytes, frontier: Frontier) -> None:
    """The log head's recorded size and root match what was read."""
    if head_size != frontier.size or head_root != frontier.root():
        raise _Failed(
            VerifyProblem(
                "head_mismatch",
                min(head_size, frontier.size),
                f"the log head records {head_size} entries but {frontier.size} were read "
                f"(records from {min(head_size, frontier.size)} on were deleted or added)",
            )
        )


def _follow_link(record: AuditRecord, keys: KeyRing) -> None:
    """A key rotation record: the chain must accept its link (checked after its body).
    Links live in the default shard, signed for their place in its tree."""
    if record.shard != DEFAULT_TREE:
        why: str | None = (
            f"record {record.seq} is a key link in shard {record.shard!r}: links are "
            "records of the default shard only"
        )
    else:
        try:
            link = link_from_json(json.loads(record.body).get("data"))
        except ValueError as error:
            why = f"the key link at record {record.seq} is malformed: {error}"
        else:
            why = keys.accept(link, record.index)
    if why is not None:
        raise _Failed(VerifyProblem("key_chain_broken", record.index, why))


def _check_signature(checkpoint: Checkpoint, keys: KeyRing | None) -> None:
    problem = None if keys is None else keys.problem(checkpoint)
    if problem is None:
        return
    code, message = problem
    if code == "checkpoint_key_retired":
        raise _Failed(VerifyProblem("checkpoint_key_retired", checkpoint.tree_size - 1, message))
    raise _Failed(VerifyProblem("checkpoint_signature_invalid", checkpoint.tree_size - 1, message))


def _check_checkpoint(
    checkpoint: Checkpoint,
    frontier: Frontier,
    keys: KeyRing | None,
    previous_size: int,
) -> None:
    _check_signature(checkpoint, keys)
    if checkpoint.root != frontier.root():
        raise _Failed(
            VerifyProblem(
                "checkpoint_mismatch",
                previous_size,
                f"records {previous_size}..{checkpoint.tree_size - 1} were rewritten: their "
                f"root no longer matches the checkpoint signed at size {checkpoint.tree_size}",
            )
        )
