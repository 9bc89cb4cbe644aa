"""The upstream MCP servers, as the gateway holds them: one connection each, opened at
start and kept, every request bounded by the upstream's timeout.

An upstream that cannot be reached at start, or fails later, is *down*: its tools are
not listed and a call to one fails closed (``upstream_unavailable``). Nothing the
gateway knows about its client (the agent's token above all) is passed upstream: the
connections belong to the gateway.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, get_default_environment
from mcp.server import Server
from mcp.server.mcpserver import MCPServer

from charter.codes import ErrorCode
from charter.errors import Unavailable
from charter.gateway.config import Upstream

__all__ = ["Connected", "Target", "Upstreams", "target_of"]

log = logging.getLogger("charter.gateway")

Target = Server[Any] | MCPServer | StdioServerParameters | str


def target_of(upstream: Upstream) -> Target:
    """What ``mcp.Client`` connects to for ``upstream``: a command over stdio, or a URL."""
    if upstream.command is not None:
        return StdioServerParameters(
            command=upstream.command[0],
            args=list(upstream.command[1:]),
            env={**get_default_environment(), **upstream.env},
            cwd=upstream.cwd,
        )
    if upstream.url is None:
        raise ValueError(f"upstream {upstream.name!r} has neither a command nor a URL")
    return upstream.url


@dataclass(slots=True)
class Connected:
    """One upstream and its open client (None while it is down)."""

    upstream: Upstream
    client: Client | None
    tools: dict[str, types.Tool]


class Upstreams:
    """Every upstream of a configuration; enter it (``async with``) to connect them all.

    ``targets`` replaces what an upstream connects to (an in-process ``Server`` in tests).
    """

    def __init__(
        self, upstreams: tuple[Upstream, ...], targets: Mapping[str, Target] | None = None
    ) -> None:
        self._targets = dict(targets or {})
        self.connected = {u.name: Connected(u, None, {}) for u in upstreams}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Upstreams:
        await self._stack.__aenter__()
        for connected in self.connected.values():
            await self._connect(connected)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _connect(self, connected: Connected) -> None:
        upstream = connected.upstream
        target = self._targets.get(upstream.name) or target_of(upstream)
        client = Client(target, read_timeout_seconds=upstream.timeout, mode="legacy", cache=None)
        # No cancel scope around this: the client's task group lives on past it. The
        # handshake is bounded by the client's read timeout.
        try:
            connected.client = await self._stack.enter_async_context(client)
        except Exception as error:  # any failure to start or greet: the upstream is down
            log.warning("upstream %s is down: %s", upstream.name, type(error).__name__)
            connected.client = None

    async def list_tools(self, name: str) -> list[types.Tool]:
        """The upstream's tools (every page), remembered for ``tool``; ``Unavailable``
        when it is down or does not answer in time."""
        connected = self.connected[name]
        client = self._client(connected)
        tools: list[types.Tool] = []
        cursor: str | None = None
        try:
            with anyio.fail_after(connected.upstream.timeout):
                for _ in range(100):
                    page = await client.list_tools(cursor=cursor)
                    tools.extend(page.tools)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
        except Exception as error:
            raise _down(connected.upstream, error) from None
        connected.tools = {tool.name: tool for tool in tools}
        return tools

    async def call_tool(
        self, name: str, tool: str, arguments: dict[str, Any]
    ) -> types.CallToolResult:
        """Call ``tool`` on the upstream; ``Unavailable`` when it is down, fails or does
        not answer within its timeout."""
        connected = self.connected[name]
        client = self._client(connected)
        try:
            with anyio.fail_after(connected.upstream.timeout):
                return await client.call_tool(tool, arguments)
        except Exception as error:
            raise _down(connected.upstream, error) from None

    @staticmethod
    def _client(connected: Connected) -> Client:
        if connected.client is None:
            raise Unavailable(
                f"upstream {connected.upstream.name!r} is not connected",
                code=ErrorCode.UPSTREAM_UNAVAILABLE,
                help="check its command or URL; the gateway connects to upstreams at start",
            )
        return connected.client


def _down(upstream: Upstream, error: Exception) -> Unavailable:
    what = "did not answer in time" if isinstance(error, TimeoutError) else "failed"
    log.warning("upstream %s %s: %s", upstream.name, what, type(error).__name__)
    return Unavailable(f"upstream {upstream.name!r} {what}", code=ErrorCode.UPSTREAM_UNAVAILABLE)
