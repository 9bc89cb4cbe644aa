"""The web console at ``/ui``: server-rendered pages for approvers, owners and auditors.

It calls the same services, with the same role checks, as the API: a page shows and
does only what the signed-in human could through ``/v1``. Pages work without
JavaScript; ``static/console.js`` adds live updates and confirmations on top.
"""

from __future__ import annotations

from charter.server.console.app import install_console

__all__ = ["install_console"]
