"""What a report needs of a finding: the small interface posture checks plug into.

A finding names the controls it holds back as ``framework:control`` (for example
``owasp-nhi:NHI7``) and cites the audit records that show it by sequence number; those
records go into the report's evidence bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["BLOCKING", "Finding", "FindingLike", "Severity"]


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
    """Any finding a report can take (posture findings satisfy it as they are)."""

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
