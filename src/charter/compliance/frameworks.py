"""The control catalogue: for each framework, its controls, the Charter mechanisms that
address each, and the live figures that speak to it.

Data, not logic: a report joins these controls with the figures computed from the audit
log and with the posture findings whose ``controls`` name them (``framework:control``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FRAMEWORKS", "Control", "Framework", "framework"]


@dataclass(frozen=True, slots=True)
class Control:
    """One control of a framework."""

    id: str
    title: str
    mechanisms: tuple[str, ...]
    figures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Framework:
    """A framework's controls, as far as Charter addresses them."""

    id: str
    title: str
    controls: tuple[Control, ...]

    def ref(self, control: Control) -> str:
        """How findings name a control of this framework: ``framework:control``."""
        return f"{self.id}:{control.id}"


OWNERS = "Every agent is a governed identity with an accountable human owner"
LIFECYCLE = "Agent lifecycle: suspend, reinstate, retire, recertify-by dates"
REVIEWS = "Access review campaigns with recorded outcomes"
TOKENS = "Short-lived, revocable agent tokens with a bounded lifetime"
POLICY = "Deny-by-default policy evaluated at run time for every request"
INVARIANTS = "Invariants and deny guardrails that no permission can override"
APPROVALS = "Human approvals and step-up for high-risk actions, with quorum"
JIT = "Just-in-time grants that expire on their own"
SECRETS = "Secrets guard: leaked-secret registry and scanning of request context"
AUDIT = "Tamper-evident audit log: RFC 6962 Merkle tree with signed checkpoints"
EVIDENCE = "Evidence bundles verifiable offline with the public key only"
GATEWAY = "MCP gateway enforcing decisions on tool calls"

OWASP_AGENTIC = Framework(
    "owasp-agentic",
    "OWASP Agentic AI - Threats and Mitigations",
    (
        Control("T2", "Tool misuse", (POLICY, GATEWAY, INVARIANTS), ("denied_by_invariants",)),
        Control(
            "T3",
            "Privilege compromise",
            (POLICY, JIT, REVIEWS, TOKENS),
            ("median_token_lifetime", "agents_past_recertify"),
        ),
        Control(
            "T8",
            "Repudiation and untraceability",
            (AUDIT, EVIDENCE),
            ("decisions_recorded",),
        ),
        Control(
            "T9", "Identity spoofing and impersonation", (OWNERS, TOKENS), ("agents_with_owner",)
        ),
        Control(
            "T10",
            "Overwhelming human in the loop",
            (APPROVALS,),
            ("median_approval_wait",),
        ),
        Control("T13", "Rogue agents", (LIFECYCLE, OWNERS, REVIEWS), ("agents_past_recertify",)),
    ),
)

OWASP_NHI = Framework(
    "owasp-nhi",
    "OWASP Top 10 Non-Human Identities Risks (2025)",
    (
        Control(
            "NHI1", "Improper offboarding", (LIFECYCLE, OWNERS, REVIEWS), ("agents_with_owner",)
        ),
        Control("NHI2", "Secret leakage", (SECRETS,), ("secrets_caught",)),
        Control("NHI4", "Insecure authentication", (TOKENS,), ("median_token_lifetime",)),
        Control(
            "NHI5",
            "Overprivileged NHI",
            (POLICY, JIT, REVIEWS, INVARIANTS),
            ("denied_by_invariants", "agents_past_recertify"),
        ),
        Control("NHI7", "Long-lived secrets", (TOKENS,), ("median_token_lifetime",)),
        Control("NHI10", "Human use of NHI", (TOKENS, AUDIT), ("decisions_recorded",)),
    ),
)

NIST_CSF = Framework(
    "nist-csf",
    "NIST Cybersecurity Framework 2.0",
    (
        Control(
            "GV.RR-02",
            "Roles, responsibilities and authorities are established and enforced",
            (OWNERS,),
            ("agents_with_owner",),
        ),
        Control(
            "PR.AA-01",
            "Identities and credentials are managed",
            (OWNERS, TOKENS, LIFECYCLE),
            ("agents_with_owner", "median_token_lifetime"),
        ),
        Control(
            "PR.AA-05",
            "Access permissions are managed with least privilege",
            (POLICY, JIT, REVIEWS, APPROVALS),
            ("agents_past_recertify", "median_approval_wait"),
        ),
        Control("PR.DS-01", "Data-at-rest is protected", (SECRETS,), ("secrets_caught",)),
        Control(
            "PR.PS-04",
            "Log records are generated and made available for continuous monitoring",
            (AUDIT, EVIDENCE),
            ("decisions_recorded",),
        ),
        Control(
            "DE.CM-03",
            "Personnel activity and technology usage are monitored",
            (AUDIT, INVARIANTS),
            ("denied_by_invariants",),
        ),
    ),
)

FRAMEWORKS = {f.id: f for f in (OWASP_AGENTIC, OWASP_NHI, NIST_CSF)}


def framework(framework_id: str) -> Framework:
    """The framework named ``framework_id``; ``KeyError`` names the known ones."""
    try:
        return FRAMEWORKS[framework_id]
    except KeyError:
        raise KeyError(
            f"unknown framework {framework_id!r}; known: {', '.join(sorted(FRAMEWORKS))}"
        ) from None
