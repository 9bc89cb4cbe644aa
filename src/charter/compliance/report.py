"""A compliance report: each control's status, mechanisms, figures and findings, with
the evidence bundle that proves the cited records are in the signed log.

The controls are the catalogue's (``charter.posture.controls``); this module adds the
live figures ``CONTROL_FIGURES`` names for each.

Status: ``gap`` when a critical or high finding, or a failing figure, holds the control
back; ``partial`` for any other finding or a figure that warns; ``met`` otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from charter.audit.evidence import MAX_CITED, EvidenceBundle
from charter.clock import format_time
from charter.compliance.figures import CONTROL_FIGURES, Figure, Figures, FigureState
from charter.compliance.findings import BLOCKING, Finding, FindingLike, Severity
from charter.posture.controls import FRAMEWORKS, Control, controls_of

__all__ = [
    "ComplianceReport",
    "ControlResult",
    "Framework",
    "Status",
    "assemble",
    "cited_seqs",
    "framework",
]


@dataclass(frozen=True, slots=True)
class Framework:
    """One framework of the catalogue, with its controls."""

    id: str
    title: str
    controls: tuple[Control, ...]


def framework(framework_id: str) -> Framework:
    """The framework keyed ``framework_id``; ``KeyError`` names the known ones."""
    return Framework(framework_id, FRAMEWORKS.get(framework_id, ""), controls_of(framework_id))


class Status(StrEnum):
    """Where a control stands."""

    MET = "met"
    PARTIAL = "partial"
    GAP = "gap"


@dataclass(frozen=True, slots=True)
class ControlResult:
    """One control as the report shows it."""

    control: Control
    ref: str
    status: Status
    figures: tuple[Figure, ...]
    findings: tuple[Finding, ...]

    @property
    def evidence(self) -> tuple[int, ...]:
        """The records cited for this control: its figures' and its findings'."""
        seqs = {s for f in self.figures for s in f.evidence}
        seqs |= {s for f in self.findings for s in f.evidence}
        return tuple(sorted(seqs))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.control.id,
            "ref": self.ref,
            "title": self.control.title,
            "status": self.status.value,
            "mechanisms": list(self.control.mechanisms),
            "figures": [f.id for f in self.figures],
            "findings": [f.id for f in self.findings],
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """Everything a rendered report shows."""

    framework: Framework
    generated_at: datetime
    controls: tuple[ControlResult, ...]
    figures: Figures
    findings: tuple[Finding, ...]
    bundle: EvidenceBundle | None

    def counts(self) -> dict[str, int]:
        """How many controls stand at each status."""
        counted = Counter(c.status.value for c in self.controls)
        return {status.value: counted.get(status.value, 0) for status in Status}

    def findings_by_severity(self) -> dict[str, int]:
        counted = Counter(f.severity.value for f in self.findings)
        return {s.value: counted.get(s.value, 0) for s in Severity}

    def to_json(self) -> dict[str, Any]:
        """The JSON report; ``evidence`` is the bundle ``verify-evidence`` checks."""
        return {
            "report": "charter-compliance/v1",
            "framework": {"id": self.framework.id, "title": self.framework.title},
            "generated_at": format_time(self.generated_at),
            "summary": self.counts(),
            "controls": [c.to_json() for c in self.controls],
            "figures": [f.to_json() for f in self.figures.by_id.values()],
            "findings": [
                {
                    "id": f.id,
                    "title": f.title,
                    "severity": f.severity.value,
                    "controls": list(f.controls),
                    "evidence": list(f.evidence),
                }
                for f in self.findings
            ],
            "charts": {
                "decisions_by_day": self.figures.decisions_by_day,
                "approval_wait_minutes": list(self.figures.approval_waits),
                "findings_by_severity": self.findings_by_severity(),
            },
            "evidence": None if self.bundle is None else self.bundle.to_json(),
        }


def _status(figures: Sequence[Figure], findings: Sequence[Finding]) -> Status:
    if any(f.severity in BLOCKING for f in findings) or any(
        f.state is FigureState.FAIL for f in figures
    ):
        return Status.GAP
    if findings or any(f.state is FigureState.WARN for f in figures):
        return Status.PARTIAL
    return Status.MET


def _results(
    framework: Framework, figures: Figures, findings: Sequence[Finding]
) -> tuple[ControlResult, ...]:
    results = []
    for control in framework.controls:
        mine = tuple(f for f in findings if control.ref in f.controls)
        wanted = CONTROL_FIGURES.get(control.id, ())
        shown = tuple(figures.by_id[f] for f in wanted if f in figures.by_id)
        results.append(ControlResult(control, control.ref, _status(shown, mine), shown, mine))
    return tuple(results)


def cited_seqs(
    framework: Framework, figures: Figures, findings: Iterable[FindingLike]
) -> list[int]:
    """The records a report on ``framework`` cites, at most ``MAX_CITED`` (newest kept)."""
    kept = [Finding.of(f) for f in findings]
    seqs = {s for r in _results(framework, figures, kept) for s in r.evidence}
    return sorted(seqs)[-MAX_CITED:]


def assemble(
    framework: Framework,
    figures: Figures,
    findings: Iterable[FindingLike],
    bundle: EvidenceBundle | None,
    *,
    at: datetime,
) -> ComplianceReport:
    """The report on ``framework``; only findings naming one of its controls are kept."""
    refs = {c.ref for c in framework.controls}
    kept = tuple(f for f in (Finding.of(f) for f in findings) if refs & set(f.controls))
    return ComplianceReport(
        framework, at, _results(framework, figures, kept), figures, kept, bundle
    )
