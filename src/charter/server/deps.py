"""Request-scoped dependencies: the wired services and the authenticated caller."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from charter.errors import Unavailable
from charter.identity.principals import Principal
from charter.secrets.free_text import masked
from charter.service import Services

__all__ = [
    "Caller",
    "Wired",
    "authenticate",
    "bearer_token",
    "ttl_of",
    "where",
]


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


_LONGEST_SCANNED = 4096
"""Characters of a path scanned for secrets (the rest is cut off anyway)."""


def where(request: Request) -> str:
    """The call as recorded in audit records: method and path, printable, with the
    secrets the detectors find and the registered leaks masked (a path is the caller's
    to fill: a token pasted into an id, say), and bounded."""
    path = "".join(ch if ch.isprintable() else "?" for ch in request.url.path[:_LONGEST_SCANNED])
    try:
        return masked(f"{request.method} {path}")[:200]
    except Unavailable:  # the registry not read yet: the route, nothing the caller wrote
        route = getattr(request.scope.get("route"), "path", None) or "?"
        return f"{request.method} {route}"[:200]


_AMBIGUOUS = "two Authorization headers"
"""Stands for the token of a request with more than one ``Authorization`` header: never
well formed, so refused (``token_invalid``) rather than picking one of them, which a
proxy in front might have picked differently."""


def bearer_token(request: Request) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, if it has one."""
    return bearer_of(request.headers.getlist("authorization"))


def bearer_of(headers: list[str]) -> str | None:
    """The bearer token of a request's ``Authorization`` headers (their values, as
    Starlette decodes them): ``_AMBIGUOUS`` for more than one, None for none or another
    scheme. Every route reads the token through here, the fast decision route too."""
    if len(headers) > 1:
        return _AMBIGUOUS
    header = headers[0] if headers else ""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def authenticate(request: Request) -> Principal:
    """The caller behind the request's bearer token (remembered for the error handler)."""
    token = bearer_token(request)
    principal = _services(request).tokens.authenticate(token, where=where(request))
    request.state.principal = principal
    return principal


Wired = Annotated[Services, Depends(_services)]
Caller = Annotated[Principal, Depends(authenticate)]


def ttl_of(seconds: int | None) -> timedelta | None:
    """A requested token lifetime, or None for the default."""
    return None if seconds is None else timedelta(seconds=seconds)
