"""The console's navigation: one entry per area, shown to those whose roles can use it.

A new area (posture reports, say) adds its pages module and one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from charter.identity.humans import HumanRole
from charter.identity.principals import Principal

__all__ = ["NAV", "Area", "areas_for"]


@dataclass(frozen=True, slots=True)
class Area:
    """A top-level section of the console."""

    key: str
    label: str
    href: str
    roles: frozenset[HumanRole] | None = None
    """Who sees it: None for every signed-in human."""


NAV: tuple[Area, ...] = (
    Area("inbox", "Inbox", "/ui/inbox"),
    Area("reviews", "Reviews", "/ui/reviews"),
    Area("agents", "Agents", "/ui/agents"),
    Area("audit", "Audit", "/ui/audit", frozenset({HumanRole.ADMIN, HumanRole.AUDITOR})),
    Area("posture", "Posture", "/ui/posture", frozenset({HumanRole.ADMIN, HumanRole.AUDITOR})),
    Area(
        "analytics",
        "Approval stats",
        "/ui/approvals/stats",
        frozenset({HumanRole.ADMIN, HumanRole.AUDITOR}),
    ),
)


def areas_for(principal: Principal) -> list[Area]:
    """The areas ``principal`` may open."""
    return [area for area in NAV if area.roles is None or principal.has_any(*area.roles)]
