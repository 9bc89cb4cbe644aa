"""What the gateway's tests share: a recording upstream like the example desk server, a
configuration for it, and the gateway run in process against a live Charter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import MCPServer

from charter.gateway.config import GatewayConfig, read_config
from charter.gateway.proxy import Gateway
from charter.gateway.server import gateway_server
from charter.gateway.upstream import Target, Upstreams
from charter.sdk.client import AsyncClient

# A patient wait on Charter: a loaded CI machine may take seconds to answer a decision.
CONFIG = """\
charter:
  url: {url}
  timeout: 30s
agent: desk-assistant
approvals:
  wait: {wait}
upstreams:
  desk:
    command: [python, examples/mcp/desk_server.py]
    timeout: 10s
    tools:
      lookup_status:
        capability: request
        resource: desk/services/{{service}}
      read_secret:
        capability: request
        resource: vault/{{env}}/{{name}}
      restart_service:
        capability: do
        resource: desk/services/{{service}}
      delete_service:
        capability: do
        resource: desk/services/{{service}}
"""


def desk_config(url: str, *, wait: str = "5s") -> GatewayConfig:
    """The example's configuration, pointed at ``url``."""
    return read_config(CONFIG.format(url=url, wait=wait), "gateway.yaml")


@dataclass
class Desk:
    """An upstream like ``examples/mcp/desk_server.py`` that records every call."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    secrets: dict[tuple[str, str], str] = field(default_factory=dict)

    def server(self) -> MCPServer:
        desk = MCPServer("desk")
        calls, secrets = self.calls, self.secrets

        @desk.tool()
        def lookup_status(service: str) -> dict[str, Any]:
            """The status of a service."""
            calls.append(("lookup_status", {"service": service}))
            return {"service": service, "status": "running", "owner": "it-desk"}

        @desk.tool()
        def read_secret(env: str, name: str) -> dict[str, Any]:
            """A secret from the vault."""
            calls.append(("read_secret", {"env": env, "name": name}))
            return {"env": env, "name": name, "value": secrets.get((env, name), "")}

        @desk.tool()
        def restart_service(service: str) -> str:
            """Restart a service."""
            calls.append(("restart_service", {"service": service}))
            return f"{service} restarted"

        @desk.tool()
        def delete_service(service: str) -> str:
            """Delete a service."""
            calls.append(("delete_service", {"service": service}))
            return f"{service} deleted"

        return desk


@asynccontextmanager
async def running_gateway(
    config: GatewayConfig,
    token: str,
    targets: dict[str, Target] | None = None,
    agent: str = "desk-assistant",
) -> AsyncIterator[Any]:
    """The gateway's MCP server, over a Charter client and connected upstreams."""
    async with (
        AsyncClient(config.charter.url, token, timeout=config.charter.timeout) as charter,
        Upstreams(config.upstreams, targets) as upstreams,
    ):
        yield gateway_server(Gateway(config, charter, upstreams), lambda ctx: agent)
