"""The console's pages, one module an area; ``PAGES`` is what the app mounts."""

from __future__ import annotations

from charter.server.console.pages import (
    agents,
    analytics,
    audit,
    inbox,
    posture,
    reviews,
    sign_in,
)

__all__ = ["PAGES"]

# analytics before inbox: /approvals/stats is no approval id
PAGES = (sign_in, analytics, inbox, reviews, agents, audit, posture)
