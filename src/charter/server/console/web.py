"""What every console page shares: templates, the signed-in visitor, form checks.

A page handler takes a ``Visitor`` (the human behind the session cookie, checked
again on this request) and renders with ``render``. A state-changing handler also
calls ``check_form`` with its form's ``csrf`` field: the token must be the session's,
and a browser that says the request came from another site is refused outright.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from charter.codes import ErrorCode
from charter.errors import AuthenticationError, CharterError, PermissionDenied
from charter.identity.principals import Principal
from charter.identity.sessions import ConsoleSession, csrf_token
from charter.server.console.nav import areas_for
from charter.service import Services

__all__ = [
    "CONSOLE_PREFIX",
    "SESSION_COOKIE",
    "SignInNeeded",
    "Visiting",
    "Visitor",
    "check_form",
    "cookie_name",
    "error_page",
    "html_error",
    "is_console",
    "render",
    "services_of",
    "templates",
]

CONSOLE_PREFIX = "/ui"

SESSION_COOKIE = "charter_session"
"""The session cookie's name over plain HTTP; behind TLS it is ``__Host-`` prefixed."""

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _moment(value: datetime | str | None) -> datetime | None:
    """A datetime, or one written in ISO 8601 (as evidence keeps them); None for neither."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _time(value: datetime | str | None) -> str:
    """A moment as people read it, in UTC: ``2026-12-06 14:05:09 UTC``."""
    moment = _moment(value)
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _day(value: datetime | str | None) -> str:
    """A date as people read it, in UTC: ``Sun 6 Dec 2026, 14:05 UTC``."""
    moment = _moment(value)
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} UTC"


def _since(value: datetime | str | None, now: datetime) -> str:
    """How far ``value`` is from ``now``, as a person says it: ``in 3 d 4 h``,
    ``2 h 5 min ago``."""
    moment = _moment(value)
    if moment is None:
        return ""
    delta = moment - now
    if abs(delta.total_seconds()) < 60:
        return "now"
    return f"in {_left(delta)}" if delta.total_seconds() > 0 else f"{_left(-delta)} ago"


def _left(delta: timedelta) -> str:
    """A time left, as a person says it: ``3 h 5 min``, ``4 min``, ``under a minute``."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "no time"
    if seconds < 60:
        return "under a minute"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


templates.env.filters["time"] = _time
templates.env.filters["left"] = _left
templates.env.filters["day"] = _day
templates.env.filters["since"] = _since


class SignInNeeded(Exception):
    """No live session: pages send the visitor to sign in, forms answer 401."""

    def __init__(self, why: AuthenticationError | PermissionDenied | None = None) -> None:
        super().__init__(why.message if why else "not signed in")
        self.why = why


def services_of(request: Request) -> Services:
    """The wired services."""
    services: Services = request.app.state.services
    return services


def secure(request: Request) -> bool:
    """True when the browser reached us over TLS (directly or through a trusted proxy)."""
    return request.url.scheme == "https"


def cookie_name(request: Request) -> str:
    """The session cookie's name: ``__Host-`` prefixed (Secure, host-only) behind TLS."""
    return f"__Host-{SESSION_COOKIE}" if secure(request) else SESSION_COOKIE


@dataclass(frozen=True, slots=True)
class Visitor:
    """The signed-in human, as of this request."""

    principal: Principal
    session: ConsoleSession
    csrf: str
    ends_at: datetime


def _visitor(request: Request) -> Visitor:
    services = services_of(request)
    cookie = request.cookies.get(cookie_name(request))
    try:
        principal, session = services.sessions.resume(cookie)
    except (AuthenticationError, PermissionDenied) as why:
        raise SignInNeeded(why) from None
    request.state.principal = principal  # refusals below are audited as the API's are
    csrf = csrf_token(cookie or "")  # resume refused a missing cookie
    return Visitor(principal, session, csrf, services.sessions.ends_at(session))


Visiting = Annotated[Visitor, Depends(_visitor)]


def check_form(request: Request, visitor: Visitor, csrf: str) -> None:
    """Refuse a state-changing request without this session's form token, or one the
    browser says another site sent."""
    if not same_origin(request) or not hmac.compare_digest(
        visitor.csrf.encode(), csrf.encode("utf-8", "replace")
    ):
        raise PermissionDenied(
            "the form was not sent from this console page (missing or wrong form token)",
            code=ErrorCode.CSRF_FAILED,
            help="reload the page and try again",
        )


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site or origin."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    ours = urlsplit(str(request.base_url))
    theirs = urlsplit(origin)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def render(
    request: Request,
    template: str,
    visitor: Visitor | None,
    *,
    status: int = 200,
    area: str = "",
    **context: Any,
) -> HTMLResponse:
    """A page of the console, with the layout's navigation for ``visitor``."""
    response = templates.TemplateResponse(
        request,
        template,
        {
            "me": None if visitor is None else visitor.principal,
            "visitor": visitor,
            "csrf": "" if visitor is None else visitor.csrf,
            "areas": [] if visitor is None else areas_for(visitor.principal),
            "area": area,
            **context,
        },
        status_code=status,
    )
    return response


def sign_in_url(request: Request) -> str:
    """Where to send a visitor with no session, coming back here afterwards."""
    target = request.url.path
    if request.url.query:
        target += f"?{request.url.query}"
    return f"/ui/sign-in?next={quote(target, safe='')}"


def error_page(request: Request, error: CharterError, status: int) -> HTMLResponse:
    """A console page for an error, in words, with its code for support."""
    return render(
        request,
        "error.html",
        None,
        status=status,
        message=error.message,
        help=error.help,
        code=error.code,
    )


def is_console(request: Request) -> bool:
    """True for a request to the console (its errors answer as pages)."""
    path = request.url.path
    return path == CONSOLE_PREFIX or path.startswith(f"{CONSOLE_PREFIX}/")


def html_error(
    request: Request, status: int, code: str, message: str, help: str | None = None
) -> HTMLResponse:
    """The console's page for an error raised while serving it."""
    return error_page(request, CharterError(message, code=code, help=help), status)
