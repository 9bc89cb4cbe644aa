"""How a replayed decision differs from the recorded one, and which rule made it differ.

A flip is named by where the decision went: ``allow_to_deny`` and ``deny_to_allow``
between the two plain answers, ``to_allow`` and ``to_deny`` from an approval or step-up
to a plain answer, ``to_approval_required`` and ``to_step_up_required`` into one, and
``fields_changed`` for an allow that now releases or redacts other fields. A decision
whose effect and fields stay the same is no flip, even if its reasons changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from charter.policy.decision import Decision, Effect

__all__ = ["FLIP_KINDS", "Flip", "FlipKind", "cause_of", "flip_of"]


class FlipKind(StrEnum):
    """Where a replayed decision went from the recorded one."""

    ALLOW_TO_DENY = "allow_to_deny"
    DENY_TO_ALLOW = "deny_to_allow"
    TO_ALLOW = "to_allow"
    TO_DENY = "to_deny"
    TO_APPROVAL_REQUIRED = "to_approval_required"
    TO_STEP_UP_REQUIRED = "to_step_up_required"
    FIELDS_CHANGED = "fields_changed"


FLIP_KINDS = tuple(kind.value for kind in FlipKind)
"""Every flip kind, as ``--fail-on`` names them."""


@dataclass(frozen=True, slots=True)
class Flip:
    """One recorded decision that the candidate policy decides otherwise."""

    decision_id: str
    kind: FlipKind
    cause: str
    """The rule that caused it (``<policy>#<rule>``)."""
    agent: str
    action: str
    resource: str
    before: str
    after: str
    before_code: str
    after_code: str
    fields_before: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    """Released and redacted fields as recorded."""
    fields_after: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    """Released and redacted fields as replayed."""

    def to_json(self) -> dict[str, Any]:
        """The flip as the report shows it for an example."""
        body: dict[str, Any] = {
            "decision_id": self.decision_id,
            "agent": self.agent,
            "action": self.action,
            "resource": self.resource,
            "before": {"decision": self.before, "code": self.before_code},
            "after": {"decision": self.after, "code": self.after_code},
        }
        if self.kind is FlipKind.FIELDS_CHANGED:
            for side, (released, redacted) in (
                ("before", self.fields_before),
                ("after", self.fields_after),
            ):
                body[side] |= {"released_fields": list(released), "redacted_fields": list(redacted)}
        return body


def _fields(released: Any, redacted: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(sorted(released or ())), tuple(sorted(redacted or ()))


def flip_of(recorded: Mapping[str, Any], replayed: Decision) -> FlipKind | None:
    """The kind of flip from ``recorded`` (an audit record's data) to ``replayed``; None
    when the candidate decides the same."""
    before, after = Effect(recorded["decision"]), replayed.effect
    if before is after:
        if after is not Effect.ALLOW:
            return None
        was = _fields(recorded.get("released_fields"), recorded.get("redacted_fields"))
        now = _fields(replayed.released_fields, replayed.redacted_fields)
        return None if was == now else FlipKind.FIELDS_CHANGED
    if after is Effect.APPROVAL_REQUIRED:
        return FlipKind.TO_APPROVAL_REQUIRED
    if after is Effect.STEP_UP_REQUIRED:
        return FlipKind.TO_STEP_UP_REQUIRED
    if after is Effect.ALLOW:
        return FlipKind.DENY_TO_ALLOW if before is Effect.DENY else FlipKind.TO_ALLOW
    return FlipKind.ALLOW_TO_DENY if before is Effect.ALLOW else FlipKind.TO_DENY


def cause_of(recorded: Mapping[str, Any], replayed: Decision) -> str:
    """The rule that caused the flip: the first reason of the replayed decision with its
    effect (the guardrail that now denies, the permission that now allows); when it has
    none (the default deny, a field no longer released), the first reason of the recorded
    one with the recorded effect, which the candidate no longer honours."""
    for reason in replayed.reasons:
        if reason.effect is replayed.effect and reason.policy != "default":
            return f"{reason.policy}#{reason.rule}"
    for reason in recorded.get("reasons", ()):
        if reason.get("effect") == recorded["decision"]:
            return f"{reason['policy']}#{reason['rule']} (no longer applies)"
    first = replayed.reasons[0] if replayed.reasons else None
    return f"{first.policy}#{first.rule}" if first else str(replayed.code)
