"""Mounts the console on the API's app: its pages, static files, headers and errors."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.codes import ErrorCode
from charter.errors import AuthenticationError
from charter.server.console.pages import PAGES
from charter.server.console.web import (
    CONSOLE_PREFIX,
    SignInNeeded,
    error_page,
    sign_in_url,
)

__all__ = ["install_console"]

# Nothing but the console's own files: no inline script, no other origin, no framing.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def install_console(app: FastAPI) -> None:
    """Serve the console under ``/ui`` on ``app``."""
    for page in PAGES:
        app.include_router(page.router, prefix=CONSOLE_PREFIX, include_in_schema=False)
    app.mount(
        f"{CONSOLE_PREFIX}/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="console-static",
    )

    @app.get(CONSOLE_PREFIX, include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(f"{CONSOLE_PREFIX}/inbox", status_code=303)

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, signal: SignInNeeded) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(sign_in_url(request), status_code=303)
        why = signal.why or AuthenticationError("not signed in", code=ErrorCode.SESSION_MISSING)
        return error_page(request, why, 401)

    app.add_middleware(ConsoleHeaders)


class ConsoleHeaders:
    """ASGI middleware: the console's answers carry its security headers (and, but for
    static files, ``Cache-Control: no-store``); every other answer passes untouched.

    Plain ASGI rather than an ``http`` middleware function: that costs every API request
    a task and a streamed copy of its answer, console or not.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if not (path == CONSOLE_PREFIX or path.startswith(f"{CONSOLE_PREFIX}/")):
            await self.app(scope, receive, send)
            return
        cached = path.startswith(f"{CONSOLE_PREFIX}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(_HEADERS)
                if not cached:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
