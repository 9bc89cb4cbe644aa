"""The console's pages, one module an area; ``PAGES`` is what the app mounts."""

from __future__ import annotations

from charter.server.console.pages import agents, audit, inbox, posture, reviews, sign_in

__all__ = ["PAGES"]

PAGES = (sign_in, inbox, reviews, agents, audit, posture)
