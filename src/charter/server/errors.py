"""The one place where errors become HTTP responses.

Every error answers ``{"error": {"code", "message", "help"?, "request_id"}}``. Charter's own errors
map by family; validation errors become 422 (400 for a body that is not JSON at all)
with the offending field paths; anything unexpected is logged here and answered with
a bare 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from charter.codes import ErrorCode
from charter.errors import (
    AuthenticationError,
    CharterError,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unavailable,
)
from charter.identity.principals import Principal
from charter.policy.engine import PolicyInvalid
from charter.secrets import redact
from charter.secrets.free_text import masked
from charter.server.console.web import html_error, is_console
from charter.server.deps import where
from charter.server.logs import current_request_id
from charter.service import Services
from charter.storage.sql.store import store_unavailable

__all__ = ["error_response", "install_error_handlers", "status_of"]

log = logging.getLogger("charter.server")

_STATUS: list[tuple[type[CharterError], int]] = [
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (PayloadTooLarge, 413),
    (Unavailable, 503),
]

_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def status_of(error: CharterError) -> int:
    """The HTTP status for a Charter error."""
    for family, status in _STATUS:
        if isinstance(error, family):
            return status
    return 500


def error_response(
    status: int, code: str, message: str, *, help: str | None = None, **extra: Any
) -> JSONResponse:
    """A response in the JSON error shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if help:
        body["help"] = help
    body.update(extra)
    rid = current_request_id()
    if rid is not None:
        body["request_id"] = rid
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    help: str | None = None,
    **extra: Any,
) -> Response:
    """The error in the JSON shape, or as a console page for a console request."""
    if is_console(request):
        return html_error(request, status, code, message, help)
    return error_response(status, code, message, help=help, **extra)


def _route(request: Request) -> str:
    """The route template of ``request`` (never the path as sent, which may carry an id,
    a token or a secret) for a log line."""
    return str(getattr(request.scope.get("route"), "path", None) or "unmatched")


def _field_path(location: tuple[Any, ...]) -> str:
    """Where a refused value is, its keys' secrets masked (a key is the caller's text)."""
    path = ".".join(str(part) for part in location)
    try:
        return masked(path)
    except Unavailable:  # the registry not read yet: what the detectors find
        return redact(path)


def install_error_handlers(app: FastAPI, services: Services) -> None:
    """Map every error to the JSON error shape."""

    @app.exception_handler(CharterError)
    async def charter_error(request: Request, error: CharterError) -> Response:
        if isinstance(error, PermissionDenied):
            principal: Principal | None = getattr(request.state, "principal", None)
            if principal is not None:
                await run_in_threadpool(
                    services.audit.record_refusal,
                    principal,
                    code=error.code,
                    where=where(request),
                )
        extra: dict[str, Any] = {}
        if isinstance(error, PolicyInvalid):
            extra["diagnostics"] = [d.to_json() for d in error.diagnostics]
        return _answer(
            request, status_of(error), error.code, error.message, help=error.help, **extra
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        problems = error.errors()
        if any(problem.get("type") == "json_invalid" for problem in problems):
            return _answer(
                request,
                400,
                ErrorCode.MALFORMED_JSON,
                "the request body is not valid JSON",
                help="send a JSON object with Content-Type: application/json",
            )
        fields = [
            {"path": _field_path(problem.get("loc", ())), "message": str(problem.get("msg", ""))}
            for problem in problems
        ]
        summary = "; ".join(f"{field['path']}: {field['message']}" for field in fields[:5])
        return _answer(
            request, 422, ErrorCode.INVALID_REQUEST, summary or "invalid request", fields=fields
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        code = _HTTP_CODES.get(error.status_code, ErrorCode.HTTP_ERROR)
        return _answer(request, error.status_code, code, str(error.detail))

    # The store translates these into ``Unavailable``; any that escape it (a driver or
    # pool error raised outside a unit of work) still answer 503, never 500.
    async def store_down(request: Request, error: Exception) -> Response:
        if not isinstance(error, OperationalError | PoolTimeout) and not (
            isinstance(error, DBAPIError) and error.connection_invalidated
        ):
            return await unexpected(request, error)
        unavailable = store_unavailable(error)
        log.error("store unavailable on %s %s: %s", request.method, _route(request), error)
        return _answer(request, 503, unavailable.code, unavailable.message, help=unavailable.help)

    app.add_exception_handler(OperationalError, store_down)
    app.add_exception_handler(PoolTimeout, store_down)
    app.add_exception_handler(DBAPIError, store_down)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, _route(request))
        return _answer(
            request, 500, ErrorCode.INTERNAL_ERROR, "the server failed; the error was logged"
        )
