"""Posture: findings about how well the agents Charter governs are governed.

Pure checks (``charter.posture.findings``) over what the service gathers in one read
transaction (``PostureInput``), and the catalogue of the controls each finding maps to
(``charter.posture.controls``), kept as data so reports can build on it.
"""

from charter.posture.controls import CONTROLS, FRAMEWORKS, Control, controls_for
from charter.posture.findings import (
    DecisionSeen,
    Finding,
    FindingKind,
    PostureInput,
    Severity,
    Thresholds,
    check_all,
)

__all__ = [
    "CONTROLS",
    "FRAMEWORKS",
    "Control",
    "DecisionSeen",
    "Finding",
    "FindingKind",
    "PostureInput",
    "Severity",
    "Thresholds",
    "check_all",
    "controls_for",
]
