"""A readable account of a decision: what was asked, what decided it, what was withheld."""

from __future__ import annotations

from charter.policy.decision import Decision, Request

__all__ = ["explain"]


def explain(request: Request, decision: Decision) -> str:
    """Explain ``decision`` for ``request`` in a few lines of plain text."""
    lines = [
        f"{decision.effect.value.upper()} [{decision.code}]: {request.agent} "
        f"{request.capability.value} {request.action} on {request.resource}",
    ]
    for reason in decision.reasons:
        note = f" - {reason.message}" if reason.message else ""
        lines.append(f"  because {reason.policy} {reason.rule} ({reason.effect.value}){note}")
    if decision.approval is not None:
        spec = decision.approval.spec
        grants = f", granting role {decision.approval.role}" if decision.approval.role else ""
        lines.append(
            f"  approval by {', '.join(spec.approvers)} (quorum {spec.quorum}, open for "
            f"{spec.expires_in}){grants}"
        )
    if decision.released_fields:
        lines.append(f"  released fields: {', '.join(decision.released_fields)}")
    if decision.redacted_fields:
        lines.append(f"  redacted fields: {', '.join(decision.redacted_fields)}")
    for error in decision.errors:
        lines.append(f"  condition error (failed closed): {error}")
    lines.append(f"  policy revision {decision.policy_revision}")
    return "\n".join(lines)
