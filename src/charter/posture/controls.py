"""The control catalogue: the framework controls posture findings map to, as data.

Three frameworks: the OWASP Top 10 for Agentic Applications (``ASI01``..``ASI10``, under
the key ``owasp-agentic``), the OWASP Non-Human Identities Top 10 (``NHI1``..``NHI10``)
and the NIST Cybersecurity Framework 2.0 (the subcategories Charter bears on). Each
control names the Charter mechanisms that address it, so a report can say what covers a
control and which findings show it is not yet covered. ``FINDING_CONTROLS`` maps each
kind of finding to the controls it is evidence against.

This is Charter's one catalogue: posture findings and compliance reports
(``charter.compliance``, which adds only the live figures that speak to each control)
both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTROLS",
    "FINDING_CONTROLS",
    "FRAMEWORKS",
    "Control",
    "control",
    "controls_for",
    "controls_of",
]

FRAMEWORKS: dict[str, str] = {
    "owasp-agentic": "OWASP Top 10 for Agentic Applications (2026)",
    "owasp-nhi": "OWASP Non-Human Identities Top 10 (2025)",
    "nist-csf": "NIST Cybersecurity Framework 2.0",
}
"""Framework key (as ``charter compliance report --framework`` takes it) -> name."""


@dataclass(frozen=True, slots=True)
class Control:
    """One control of one framework, and the Charter mechanisms that address it."""

    id: str
    framework: str
    title: str
    mechanisms: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The control as the API shows it."""
        return {
            "id": self.id,
            "framework": self.framework,
            "title": self.title,
            "mechanisms": list(self.mechanisms),
        }

    @property
    def ref(self) -> str:
        """The control named with its framework, ``owasp-nhi:NHI7``: unambiguous in a
        report that mixes frameworks."""
        return f"{self.framework}:{self.id}"


def _asi(number: int, title: str, *mechanisms: str) -> Control:
    return Control(f"ASI{number:02d}", "owasp-agentic", title, mechanisms)


def _nhi(number: int, title: str, *mechanisms: str) -> Control:
    return Control(f"NHI{number}", "owasp-nhi", title, mechanisms)


def _csf(id_: str, title: str, *mechanisms: str) -> Control:
    return Control(id_, "nist-csf", title, mechanisms)


CONTROLS: tuple[Control, ...] = (
    _asi(1, "Agent goal hijack", "registered purpose", "step-up guardrails", "guardrails"),
    _asi(2, "Tool misuse and exploitation", "roles and permissions", "guardrail conditions"),
    _asi(
        3,
        "Identity and privilege abuse",
        "one owned identity per agent",
        "short-lived agent tokens",
        "JIT grants",
        "approvals",
    ),
    _asi(4, "Agentic supply chain", "MCP gateway", "approvals"),
    _asi(5, "Unexpected code execution", "eligible (JIT) bindings", "guardrails"),
    _asi(6, "Memory and context poisoning", "inference provenance (derived_from)", "audit log"),
    _asi(7, "Insecure inter-agent communication", "agent tokens", "on_behalf_of in the audit"),
    _asi(8, "Cascading failures", "suspension (kill switch)", "rate conditions"),
    _asi(
        9,
        "Human-agent trust exploitation",
        "approval screens",
        "separation of duties",
        "step-up confirmations",
        "posture: rubber-stamp approvals",
    ),
    _asi(10, "Rogue agents", "suspension", "retirement", "audit log", "access reviews"),
    _nhi(1, "Improper offboarding", "owners", "recertify_by", "access reviews", "retirement"),
    _nhi(2, "Secret leakage", "secrets guard", "leaked-secret registry", "rotation marks"),
    _nhi(3, "Vulnerable third-party NHI", "agent registry", "approvals"),
    _nhi(4, "Insecure authentication", "hashed agent tokens", "token expiry"),
    _nhi(5, "Overprivileged NHI", "least-privilege roles", "usage", "access reviews", "JIT"),
    _nhi(6, "Insecure cloud deployment configuration", "token audience conditions"),
    _nhi(7, "Long-lived secrets", "maximum token lifetime", "token rotation"),
    _nhi(8, "Environment isolation", "agent labels", "selector bindings"),
    _nhi(9, "NHI reuse", "one identity per agent", "audit log"),
    _nhi(10, "Human use of NHI", "on_behalf_of", "step-up confirmations"),
    _csf("GV.RR-02", "Roles, responsibilities and authorities are established", "owners"),
    _csf("GV.PO-01", "Policy is established, communicated and enforced", "policy-as-code", "tests"),
    _csf("ID.AM-02", "Inventories of software, services and systems", "agent registry"),
    _csf("ID.AM-08", "Assets are managed through their life cycles", "lifecycle", "recertify_by"),
    _csf("PR.AA-01", "Identities and credentials are managed", "agent registry", "tokens"),
    _csf("PR.AA-02", "Identities are proofed and bound to credentials", "agent tokens"),
    _csf("PR.AA-03", "Users, services and hardware are authenticated", "tokens", "step-up"),
    _csf("PR.AA-04", "Identity assertions are protected and verified", "hashed tokens"),
    _csf(
        "PR.AA-05",
        "Access permissions are defined in policy, managed, enforced and reviewed",
        "policy",
        "JIT grants",
        "access reviews",
        "separation of duties",
    ),
    _csf("PR.PS-04", "Log records are generated for continuous monitoring", "audit log"),
    _csf(
        "PR.DS-01",
        "The confidentiality and integrity of data at rest are protected",
        "signed checkpoints",
    ),
    _csf("DE.CM-03", "Personnel activity and technology use are monitored", "audit log"),
    _csf("DE.CM-09", "Computing hardware, software and data are monitored", "secrets guard"),
    _csf("RS.MI-01", "Incidents are contained", "suspension", "leak registry"),
)
"""Every control, framework by framework."""

FINDING_CONTROLS: dict[str, tuple[str, ...]] = {
    "orphaned_agent": ("NHI1", "ASI10", "GV.RR-02", "ID.AM-08", "PR.AA-01"),
    "recertification_overdue": ("NHI1", "ASI03", "ID.AM-08", "PR.AA-05"),
    "recertification_due": ("NHI1", "ID.AM-08"),
    "dormant_agent": ("NHI1", "NHI5", "ASI10", "ID.AM-08", "PR.AA-01"),
    "unused_token": ("NHI4", "NHI7", "PR.AA-01"),
    "long_lived_token": ("NHI7", "NHI4", "ASI03", "PR.AA-01", "PR.AA-04"),
    "standing_sensitive_privilege": ("NHI5", "ASI03", "ASI05", "PR.AA-05"),
    "wildcard_on_high_risk_agent": ("NHI5", "ASI02", "ASI03", "PR.AA-05"),
    "inference_can_change_privileges": ("ASI06", "ASI01", "ASI03", "PR.AA-05"),
    "on_behalf_without_step_up": ("NHI10", "ASI09", "ASI03", "PR.AA-03"),
    "leak_not_rotated": ("NHI2", "NHI7", "DE.CM-09", "RS.MI-01"),
    "rubber_stamp_approvals": ("ASI09", "PR.AA-05", "DE.CM-03"),
    "guardrail_never_matched": ("ASI02", "GV.PO-01"),
    "policy_without_tests": ("GV.PO-01", "PR.AA-05"),
    "checkpoint_stale": ("PR.PS-04", "PR.DS-01", "DE.CM-03"),
}
"""Kind of finding -> the ids of the controls it is evidence against."""

_BY_ID = {control.id: control for control in CONTROLS}


def controls_for(kind: str) -> tuple[Control, ...]:
    """The controls a kind of finding maps to (none for an unknown kind)."""
    return tuple(_BY_ID[id_] for id_ in FINDING_CONTROLS.get(kind, ()))


def control(id_: str) -> Control | None:
    """The control with id ``id_`` (ids are unique across frameworks), or ``None``."""
    return _BY_ID.get(id_)


def controls_of(framework: str) -> tuple[Control, ...]:
    """The controls of ``framework``, in catalogue order; ``KeyError`` names the known
    frameworks."""
    if framework not in FRAMEWORKS:
        raise KeyError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
    return tuple(c for c in CONTROLS if c.framework == framework)
