"""The API's bodies for posture findings and for marking a leak rotated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, StringConstraints

from charter.posture import CONTROLS, FRAMEWORKS, Finding, Severity
from charter.secrets.leaks import MAX_NOTE
from charter.wire.base import InModel, masked_within, printable

__all__ = ["ControlOut", "FindingOut", "LeakRotatedIn", "LeakRotatedOut", "PostureOut"]


class FindingOut(BaseModel):
    """One posture finding."""

    id: str
    kind: str
    severity: str
    title: str
    objects: list[str]
    evidence: dict[str, Any]
    remediation: str
    controls: list[str]


class ControlOut(BaseModel):
    """One control of the catalogue, and the findings against it in this answer."""

    id: str
    framework: str
    title: str
    mechanisms: list[str]
    findings: int


class PostureOut(BaseModel):
    """Findings (the most severe first), their count by severity, and the controls
    catalogue with how many findings bear on each control."""

    generated_at: str
    findings: list[FindingOut]
    by_severity: dict[str, int]
    frameworks: dict[str, str]
    controls: list[ControlOut]

    @classmethod
    def of(cls, findings: Sequence[Finding], *, generated_at: str) -> PostureOut:
        """The API's view of ``findings``."""
        severities = Counter(f.severity.value for f in findings)
        against = Counter(control for f in findings for control in f.controls)
        return cls(
            generated_at=generated_at,
            findings=[FindingOut(**f.to_json()) for f in findings],
            by_severity={s.value: severities[s.value] for s in Severity},
            frameworks=dict(FRAMEWORKS),
            controls=[
                ControlOut(**control.to_json(), findings=against[control.id])
                for control in CONTROLS
            ],
        )


class LeakRotatedIn(InModel):
    """Why the leak is known rotated (a ticket, who rotated it)."""

    note: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_NOTE),
        AfterValidator(printable),
        masked_within(MAX_NOTE),
    ]


class LeakRotatedOut(BaseModel):
    """The mark: the audit record that holds it."""

    fingerprint: str
    rotated: bool
    seq: int
