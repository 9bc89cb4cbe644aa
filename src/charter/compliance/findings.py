"""What a report needs of a finding, and the adapter that turns posture findings into it.

A report's finding names the controls it holds back as ``framework:control`` (for example
``owasp-nhi:NHI7``) and cites the audit records that show it by sequence number; those
records go into the report's evidence bundle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from charter.posture import Finding as PostureFinding
from charter.posture.controls import control

__all__ = ["BLOCKING", "Finding", "FindingLike", "Severity", "from_posture"]


class Severity(StrEnum):
    """How much a finding holds a control back, most severe first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


BLOCKING = frozenset({Severity.CRITICAL, Severity.HIGH})
"""Severities that make a control a gap; any other finding makes it partial."""


class FindingLike(Protocol):
    """Any finding a report can take (``from_posture`` makes one of a posture finding)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def controls(self) -> Sequence[str]: ...
    @property
    def evidence(self) -> Sequence[int]: ...


@dataclass(frozen=True, slots=True)
class Finding:
    """A finding as the report keeps it."""

    id: str
    title: str
    severity: Severity
    controls: tuple[str, ...]
    evidence: tuple[int, ...] = ()

    @classmethod
    def of(cls, finding: FindingLike) -> Finding:
        """Copy any ``FindingLike``; an unknown severity is read as high (fail closed)."""
        try:
            severity = Severity(str(finding.severity).lower())
        except ValueError:
            severity = Severity.HIGH
        return cls(
            finding.id,
            finding.title,
            severity,
            tuple(finding.controls),
            tuple(int(seq) for seq in finding.evidence),
        )


def _seqs(evidence: Mapping[str, Any]) -> Iterable[int]:
    # Posture quotes audit records as ``seqs`` (a list) or ``<something>_seq`` (one);
    # every other value is a count, a date or a name.
    for key, value in evidence.items():
        if key == "seqs" and isinstance(value, list | tuple):
            yield from (v for v in value if isinstance(v, int) and not isinstance(v, bool))
        elif key.endswith("_seq") and isinstance(value, int) and not isinstance(value, bool):
            yield value


def from_posture(finding: PostureFinding) -> Finding:
    """A posture finding as a report takes it: control ids become ``framework:control``
    refs (from the one catalogue), and the audit seqs it quotes become its evidence."""
    refs = tuple(c.ref for c in map(control, finding.controls) if c is not None)
    return Finding(
        finding.id,
        finding.title,
        Severity(finding.severity.value),
        refs,
        tuple(sorted(set(_seqs(finding.evidence)))),
    )
