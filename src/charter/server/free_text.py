"""The server's leaked-secret registry in scope for every request it handles."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from charter.secrets.free_text import Registry, leak_registry

__all__ = ["LeakRegistryScope"]


class LeakRegistryScope:
    """ASGI middleware, outermost: what arrives with a request and is checked for secrets
    before it is kept (free text, names, the request id, the path an audit record names,
    a policy file) is checked against this server's registered leaks as well as the
    detectors (``charter.secrets.free_text``)."""

    def __init__(self, app: ASGIApp, registry: Registry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with leak_registry(self.registry):
            await self.app(scope, receive, send)
