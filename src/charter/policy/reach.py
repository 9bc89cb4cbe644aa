"""Whether an agent could ever be allowed an action: the question a gateway asks to show
an agent only the tools it may call at all.

A decision answers for one request (one resource, one context, at one moment); a tool
list needs the weaker question "is there any resource, context and approval under which
this agent's ``capability`` on ``action`` could be allowed?". The answer here is an
upper bound, read from the compiled policy alone: a role permission matching the
capability and action, held through one of the agent's bindings that has not expired,
standing or eligible (an eligible one needs an approval, which issues a grant of the
same role). Conditions, resources, guardrails and review outcomes are left to the
decision itself, so "possible" may still be denied; "not possible" is never allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from charter.policy.compiled import Snapshot, whole_role
from charter.policy.model import Capability

__all__ = ["Reach", "Via", "reach"]


class Via(StrEnum):
    """How an action could be allowed: through a standing binding, or only after an
    approval of an eligible one."""

    STANDING = "standing"
    ELIGIBLE = "eligible"


@dataclass(frozen=True, slots=True)
class Reach:
    """The answer for one capability and action: ``via`` is None when no binding of the
    agent's could ever allow it."""

    capability: Capability
    action: str
    via: Via | None

    @property
    def possible(self) -> bool:
        """True when some request with this capability and action could be allowed."""
        return self.via is not None


def reach(
    snapshot: Snapshot,
    agent: str,
    labels: Mapping[str, str],
    asked: Sequence[tuple[Capability, str]],
    now: datetime,
) -> list[Reach]:
    """For each ``(capability, action)``, whether the agent's bindings could allow it."""
    bindings = [
        binding
        for binding in snapshot.bindings_for(agent, labels)
        if binding.expires_at is None or now < binding.expires_at
    ]
    answers = []
    for capability, action in asked:
        roles = snapshot.rules_for(capability, action).by_role
        via: Via | None = None
        for binding in bindings:
            if whole_role(binding.role) not in roles:
                continue
            if binding.activation is None:
                via = Via.STANDING
                break
            via = Via.ELIGIBLE
        answers.append(Reach(capability, action, via))
    return answers
