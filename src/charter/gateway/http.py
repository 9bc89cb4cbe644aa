"""The gateway over Streamable HTTP: each client presents its Charter agent token as an
OAuth bearer (``Authorization: Bearer cht_...``), which the gateway checks against
Charter (``GET /v1/whoami``) on every request and keeps to itself: the agent it names
is who the calls are decided for, and the token never goes upstream.

A token Charter does not accept (unknown, expired, revoked, a suspended agent's, a
human's), or a Charter that cannot be asked, gets ``401``: fail closed.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import ServerRequestContext
from starlette.applications import Starlette

from charter.codes import ErrorCode
from charter.errors import AuthenticationError, CharterError
from charter.gateway.config import GatewayConfig
from charter.gateway.proxy import Gateway
from charter.gateway.server import gateway_server
from charter.sdk.client import AsyncClient

__all__ = ["AgentTokens", "agent_of_bearer", "http_app"]

log = logging.getLogger("charter.gateway")


class AgentTokens:
    """Checks a client's bearer with Charter: only a valid agent token passes. Every
    request is checked afresh (nothing is cached), so a revoked token, or a suspended
    agent's, is refused on its next request; the checks share one connection pool."""

    def __init__(self, config: GatewayConfig, pool: httpx.AsyncClient) -> None:
        self._config, self._pool = config, pool

    async def verify_token(self, token: str) -> AccessToken | None:
        """The agent the token stands for, or None (the client gets ``401``)."""
        try:
            with anyio.fail_after(self._config.charter.timeout * 2):
                who = await AsyncClient(self._config.charter.url, token, http=self._pool).whoami()
        except CharterError as error:
            log.info("a client's bearer was refused: %s", error.code)
            return None
        except TimeoutError:
            log.info("a client's bearer could not be checked in time")
            return None
        if who.kind != "agent":
            log.info("a client presented a %s token; only agent tokens are accepted", who.kind)
            return None
        # The token itself is not kept: its id names it in logs and sessions.
        return AccessToken(token=who.credential_id, client_id=who.id, scopes=[], subject=who.id)


def agent_of_bearer(ctx: ServerRequestContext[Any, Any]) -> str:
    """The agent whose token authenticated this request."""
    access = get_access_token()
    if access is None:
        request = ctx.request
        user = getattr(request, "user", None) if request is not None else None
        access = getattr(user, "access_token", None)
    if not isinstance(access, AccessToken):
        raise AuthenticationError("no agent token on this request", code=ErrorCode.TOKEN_MISSING)
    return access.client_id


def http_app(gateway: Gateway, pool: httpx.AsyncClient, *, public_url: str, host: str) -> Starlette:
    """The Starlette app serving the gateway at ``<public_url>`` (path ``/mcp``); ``pool``
    carries the checks of clients' tokens."""
    server = gateway_server(gateway, agent_of_bearer)
    auth = AuthSettings(
        issuer_url=gateway.config.charter.url,
        resource_server_url=public_url,
        # Charter's agent tokens carry no audience: the verifier asks Charter instead.
        validate_token_resource=False,
    )
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        auth=auth,
        token_verifier=AgentTokens(gateway.config, pool),
        host=host,
    )
