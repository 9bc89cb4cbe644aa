"""The upstream MCP servers, as the gateway holds them: one connection each, opened at
start and kept (and opened again when it breaks), every request bounded by the
upstream's timeout.

An upstream that cannot be reached, or whose connection broke, is *down* until it is
connected again: its tools are not listed and a call to one fails closed
(``upstream_unavailable``). Nothing the
gateway knows about its client (the agent's token above all) is passed upstream: the
connections belong to the gateway.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
import mcp_types as types
from anyio.abc import TaskGroup, TaskStatus
from mcp import Client
from mcp.client.stdio import StdioServerParameters, get_default_environment
from mcp.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import CONNECTION_CLOSED

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


_RETRY_SECONDS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)
"""How long to wait before each new attempt to connect to an upstream that is down."""


@dataclass(slots=True)
class Connected:
    """One upstream and its open client (None while it is down)."""

    upstream: Upstream
    client: Client | None
    tools: dict[str, types.Tool]
    broken: anyio.Event | None = None
    """Set when a request finds the connection broken: its keeper connects again."""


class Upstreams:
    """Every upstream of a configuration; enter it (``async with``) to connect them all.

    Each upstream has a keeper task that holds its connection, and connects again (after
    0, 1, 2, 5, 10, then every 30 seconds) when it cannot be reached or its connection
    breaks (a stdio server that exits, say). Meanwhile its tools are not listed and calls
    to them fail closed. ``targets`` replaces what an upstream connects to (an in-process
    ``Server`` in tests).
    """

    def __init__(
        self, upstreams: tuple[Upstream, ...], targets: Mapping[str, Target] | None = None
    ) -> None:
        self._targets = dict(targets or {})
        self.connected = {u.name: Connected(u, None, {}) for u in upstreams}
        self._group: TaskGroup | None = None

    async def __aenter__(self) -> Upstreams:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        for connected in self.connected.values():
            # Returns once the first attempt is over, connected or not.
            await self._group.start(self._keep, connected)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._group is not None:
            self._group.cancel_scope.cancel()
            await self._group.__aexit__(kind, error, trace)

    async def _keep(
        self, connected: Connected, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        upstream = connected.upstream
        target = self._targets.get(upstream.name) or target_of(upstream)
        attempt, started, was_up = 0, False, True
        while True:
            connected.broken = broken = anyio.Event()
            # The handshake is bounded by the client's read timeout.
            client = Client(
                target, read_timeout_seconds=upstream.timeout, mode="legacy", cache=None
            )
            try:
                async with client:
                    connected.client, attempt, was_up = client, 0, True
                    log.info("upstream %s is connected", upstream.name)
                    if not started:
                        task_status.started()
                        started = True
                    await broken.wait()
            except Exception as error:  # any failure to start, greet or stay up
                if was_up:
                    log.warning("upstream %s is down: %s", upstream.name, type(error).__name__)
                was_up = False
            connected.client = None
            if not started:
                task_status.started()
                started = True
            await anyio.sleep(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])
            attempt += 1

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
            raise _down(connected, error) from None
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
            raise _down(connected, error) from None

    @staticmethod
    def _client(connected: Connected) -> Client:
        if connected.client is None:
            raise Unavailable(
                f"upstream {connected.upstream.name!r} is not connected",
                code=ErrorCode.UPSTREAM_UNAVAILABLE,
                help="check its command or URL; the gateway keeps trying to connect",
            )
        return connected.client


def _down(connected: Connected, error: Exception) -> Unavailable:
    """The refusal for a request that failed; a broken connection is handed back to its
    keeper (a timeout or an error the upstream answered leaves it as it is)."""
    upstream = connected.upstream
    timed_out = isinstance(error, TimeoutError)
    answered = isinstance(error, MCPError) and error.code != CONNECTION_CLOSED
    if not timed_out and not answered and connected.broken is not None:
        connected.broken.set()
    what = "did not answer in time" if timed_out else "failed"
    log.warning("upstream %s %s: %s", upstream.name, what, type(error).__name__)
    return Unavailable(f"upstream {upstream.name!r} {what}", code=ErrorCode.UPSTREAM_UNAVAILABLE)
