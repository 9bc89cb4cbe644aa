"""Policy revisions: the files of a policy as applied, named by their content hash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ActivePolicy", "PolicyRevision", "summarise"]


@dataclass(frozen=True, slots=True)
class PolicyRevision:
    """An immutable, applied policy: its files and a summary of what they hold."""

    id: str
    created_at: datetime
    created_by: str
    files: Mapping[str, str]
    summary: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActivePolicy:
    """Which revision is in force, since when, by whose hand."""

    revision: str
    activated_at: datetime
    activated_by: str


def summarise(policy: Any) -> dict[str, Any]:
    """Document names per kind, for listings and diffs."""
    return {
        "agents": sorted(agent.name for agent in policy.agents),
        "roles": sorted(role.name for role in policy.roles),
        "bindings": sorted(binding.name for binding in policy.bindings),
        "guardrails": sorted(guardrail.name for guardrail in policy.guardrails),
        "separations_of_duty": sorted(separation.name for separation in policy.separations),
    }
