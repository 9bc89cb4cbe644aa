"""Running the gateway: over stdio for one local client, or over Streamable HTTP for
many, with its upstreams connected for as long as it runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx
import uvicorn
from mcp.server.stdio import stdio_server

from charter.codes import ErrorCode
from charter.errors import InvalidInput, Unavailable
from charter.gateway.config import GatewayConfig
from charter.gateway.http import http_app
from charter.gateway.proxy import Gateway
from charter.gateway.server import gateway_server
from charter.gateway.upstream import Target, Upstreams
from charter.identity.humans import HumanRole
from charter.sdk.client import AsyncClient

__all__ = ["check_enforcer", "serve_http", "serve_stdio"]

log = logging.getLogger("charter.gateway")


async def check_enforcer(charter: AsyncClient) -> None:
    """Refuse to start with a token that is not an enforcer's. A Charter that cannot be
    reached is only warned about: every call fails closed until it answers."""
    try:
        who = await charter.whoami()
    except Unavailable as error:
        log.warning("Charter cannot be reached (%s): every call is refused until it is", error.code)
        return
    if who.kind != "human" or HumanRole.ENFORCER not in who.roles:
        raise InvalidInput(
            f"the gateway's token stands for {who.kind} {who.id}, not an enforcer",
            code=ErrorCode.INVALID_GATEWAY_CONFIG,
            help="give a human the enforcer role: charter tokens issue --human <id>",
        )


async def serve_stdio(config: GatewayConfig, targets: Mapping[str, Target] | None = None) -> None:
    """Serve one client on this process's stdin and stdout, as the configured agent."""
    agent = config.agent
    if agent is None:
        raise InvalidInput(
            f"{config.file}: a stdio gateway needs 'agent': the agent its client is",
            code=ErrorCode.INVALID_GATEWAY_CONFIG,
        )
    link = config.charter
    async with AsyncClient(link.url, config.token(), timeout=link.timeout) as charter:
        await check_enforcer(charter)
        async with Upstreams(config.upstreams, targets) as upstreams:
            server = gateway_server(Gateway(config, charter, upstreams), lambda _ctx: agent)
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())


async def serve_http(
    config: GatewayConfig,
    host: str,
    port: int,
    targets: Mapping[str, Target] | None = None,
    *,
    started: list[uvicorn.Server] | None = None,
) -> None:
    """Serve Streamable HTTP at ``http://host:port/mcp``; each client is the agent its
    bearer token names. ``started`` receives the uvicorn server (so a test can stop it)."""
    link = config.charter
    async with (
        AsyncClient(link.url, config.token(), timeout=link.timeout) as charter,
        httpx.AsyncClient(base_url=link.url, timeout=link.timeout) as pool,
    ):
        await check_enforcer(charter)
        async with Upstreams(config.upstreams, targets) as upstreams:
            gateway = Gateway(config, charter, upstreams)
            public = f"http://{_netloc(host, port)}/mcp"
            app = http_app(gateway, pool, public_url=public, host=host)
            server = uvicorn.Server(
                uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
            )
            if started is not None:
                started.append(server)
            await server.serve()


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
