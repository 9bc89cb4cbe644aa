"""The server's leaked-secret registry in scope for every request it handles."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from charter.secrets.free_text import Masker, leak_registry

__all__ = ["LeakRegistryScope"]


class LeakRegistryScope:
    """ASGI middleware, outermost: what arrives with a request and is checked for secrets
    before it is kept (free text, label values, the request id, the path an audit record
    names) is checked against this server's registered leaks as well as the detectors
    (``charter.secrets.free_text``)."""

    def __init__(self, app: ASGIApp, masker: Masker) -> None:
        self.app = app
        self.masker = masker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with leak_registry(self.masker):
            await self.app(scope, receive, send)
