"""The gateway as an MCP server: ``tools/list`` and ``tools/call`` answered through the
``Gateway``, for the agent each client session is.

Which agent a session is comes from outside the protocol: the configuration's ``agent``
for a stdio client (one process, one agent), or the Charter agent token the client
presented as its OAuth bearer over HTTP (``charter.gateway.http``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from charter.errors import CharterError
from charter.gateway.proxy import APPROVAL_KEY, Channel, Gateway, Result, Via
from charter.version import __version__

__all__ = ["AgentOf", "channel_of", "gateway_server"]

AgentOf = Callable[[ServerRequestContext[Any, Any]], str]
"""Which agent the client of a request is (raises ``CharterError`` when none)."""

_INTERNAL_ERROR = -32603


def channel_of(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> Channel:
    """How this call's client can be shown an approval: the ``input_required`` result on
    a 2026-07-28 connection, a URL elicitation on 2025-11-25, or neither."""
    capabilities = ctx.session.client_capabilities
    url_mode = (
        capabilities is not None
        and capabilities.elicitation is not None
        and capabilities.elicitation.url is not None
    )
    if not url_mode:
        return Channel(Via.NONE)
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        response = (params.input_responses or {}).get(APPROVAL_KEY)
        if response is None:
            return Channel(Via.INPUT_REQUIRED)
        action = response.action if isinstance(response, types.ElicitResult) else "cancel"
        return Channel(Via.INPUT_REQUIRED, answer=action)
    if not ctx.session.can_send_request:
        return Channel(Via.NONE)

    async def elicit(message: str, url: str, elicitation_id: str) -> str:
        answer = await ctx.session.elicit_url(
            message, url, elicitation_id, related_request_id=ctx.request_id
        )
        return answer.action

    return Channel(Via.ELICITATION, elicit=elicit)


def gateway_server(gateway: Gateway, agent_of: AgentOf) -> Server[Any]:
    """An MCP server that lists and calls the upstreams' tools through ``gateway``."""

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        try:
            tools = await gateway.tools_for(agent_of(ctx))
        except CharterError as error:
            # Fail closed: no list rather than a list nobody checked.
            raise MCPError(
                _INTERNAL_ERROR, f"Charter could not be asked ({error.code}): {error.message}"
            ) from None
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> Result:
        try:
            agent = agent_of(ctx)
        except CharterError as error:
            raise MCPError(_INTERNAL_ERROR, error.message) from None
        return await gateway.call(
            agent, params.name, params.arguments or {}, channel_of(ctx, params)
        )

    return Server(
        "charter-gateway",
        version=__version__,
        instructions=(
            "Tools behind Charter's gateway: each call is decided by Charter first. A "
            "refused call says why; one that needs a human approval gives its link, and "
            "the same call succeeds once it is approved."
        ),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
