"""A simulation's report: flips by kind and by the rule that caused them, with examples,
and the decisions that could not be replayed, with why."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from charter.simulation.flips import Flip, FlipKind

__all__ = ["EXAMPLES", "NotReplayed", "SimulationReport", "Skip"]

EXAMPLES = 3
"""Examples kept per kind and rule, and per reason a decision was not replayed."""


class Skip(StrEnum):
    """Why a recorded decision was not replayed."""

    NOT_KEPT = "not_kept"
    """No request is kept for it: decided before its retention started or with retention
    off, or kept past its retention and purged."""
    DIGEST_MISMATCH = "digest_mismatch"
    """The request kept for it does not match the digest in its audit record: a replay
    runs only on what was really asked, so it is refused."""
    DECIDED_BEFORE_POLICY = "decided_before_policy"
    """Denied for a registered leaked secret before any policy rule was read: no policy
    changes it."""


_EXPLAINED = {
    Skip.NOT_KEPT: "no request kept: decided before the replay retention covered it, "
    "with retention off, or purged after it",
    Skip.DIGEST_MISMATCH: "the kept request does not match the digest in its audit record; refused",
    Skip.DECIDED_BEFORE_POLICY: "denied for a leaked secret before any policy rule",
}


@dataclass(frozen=True, slots=True)
class NotReplayed:
    """A recorded decision that was not replayed, and why."""

    decision_id: str
    why: Skip


@dataclass(slots=True)
class SimulationReport:
    """Adds up replayed decisions; ``to_json`` is what the API answers."""

    considered: int = 0
    unchanged: int = 0
    truncated: bool = False
    flips: list[Flip] = field(default_factory=list)
    skipped: list[NotReplayed] = field(default_factory=list)

    def replayed(self, flip: Flip | None) -> None:
        """Count one replayed decision, flipped or not."""
        self.considered += 1
        if flip is None:
            self.unchanged += 1
        else:
            self.flips.append(flip)

    def skip(self, decision_id: str, why: Skip) -> None:
        """Count one decision that was not replayed."""
        self.considered += 1
        self.skipped.append(NotReplayed(decision_id, why))

    def counts(self) -> Counter[str]:
        """Flips by kind."""
        return Counter(flip.kind.value for flip in self.flips)

    def to_json(self) -> dict[str, Any]:
        """Totals, flips by kind then rule (count and examples), and what was not
        replayed by reason."""
        by_kind: dict[FlipKind, dict[str, list[Flip]]] = defaultdict(lambda: defaultdict(list))
        for flip in self.flips:
            by_kind[flip.kind][flip.cause].append(flip)
        flips = {
            kind.value: {
                "count": sum(len(found) for found in by_kind[kind].values()),
                "by_rule": [
                    {
                        "rule": cause,
                        "count": len(found),
                        "examples": [flip.to_json() for flip in found[:EXAMPLES]],
                    }
                    for cause, found in sorted(
                        by_kind[kind].items(), key=lambda item: (-len(item[1]), item[0])
                    )
                ],
            }
            for kind in FlipKind
            if kind in by_kind
        }
        reasons: dict[Skip, list[str]] = defaultdict(list)
        for skipped in self.skipped:
            reasons[skipped.why].append(skipped.decision_id)
        not_replayed = [
            {
                "reason": why.value,
                "explanation": _EXPLAINED[why],
                "count": len(ids),
                "examples": ids[:EXAMPLES],
            }
            for why, ids in sorted(reasons.items())
        ]
        return {
            "considered": self.considered,
            "replayed": self.considered - len(self.skipped),
            "unchanged": self.unchanged,
            "flipped": len(self.flips),
            "not_replayed_count": len(self.skipped),
            "truncated": self.truncated,
            "flips": flips,
            "not_replayed": not_replayed,
        }
