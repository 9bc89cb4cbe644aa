"""A tiny MCP server for the gateway's demo: an IT help desk with four tools.

- ``lookup_status``: harmless, reads a service's status;
- ``read_secret``: reads a secret from a pretend vault, by environment and name;
- ``restart_service``: sensitive, restarts a service;
- ``delete_service``: destructive, and no agent's policy covers it.

It knows nothing of Charter: run it behind ``charter gateway mcp`` with
``examples/mcp/gateway.yaml``. Run it alone with ``python examples/mcp/desk_server.py``
(it speaks MCP over stdio).
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

VAULT = {
    ("dev", "db-password"): "dev-only-password",
    ("prod", "db-password"): "correct-horse-battery-staple",
}

desk = MCPServer("desk")


@desk.tool()
def lookup_status(service: str) -> dict[str, Any]:
    """The status of a service."""
    return {"service": service, "status": "running", "owner": "it-desk"}


@desk.tool()
def read_secret(env: str, name: str) -> dict[str, Any]:
    """A secret from the vault."""
    value = VAULT.get((env, name))
    return {"env": env, "name": name, "found": value is not None, "value": value or ""}


@desk.tool()
def restart_service(service: str) -> str:
    """Restart a service."""
    return f"{service} restarted"


@desk.tool()
def delete_service(service: str) -> str:
    """Delete a service for good."""
    return f"{service} deleted"


if __name__ == "__main__":
    desk.run()
