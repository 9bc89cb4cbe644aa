"""Signing in with a token, and signing out.

The sign-in form is itself guarded against cross-site posts: a random value in a
short-lived, SameSite=Strict cookie must come back in the form (login CSRF). The token
is never echoed back, logged or kept: only the session it opens is.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from charter.codes import ErrorCode
from charter.errors import AuthenticationError, CharterError, PermissionDenied
from charter.server.console.web import (
    Visiting,
    check_form,
    cookie_name,
    render,
    same_origin,
    secure,
    services_of,
)
from charter.server.deps import where

__all__ = ["router"]

router = APIRouter()

_SIGN_IN_COOKIE = "charter_sign_in"
_NEXT_PATH = re.compile(r"/ui(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*/?")
_NEXT_QUERY = re.compile(r"[A-Za-z0-9._~%&=+-]*")
_TOKEN_FIELD_MAX = 200


def _safe_next(target: str | None) -> str:
    """Only a console path: never another site, ``//host``, a dot segment or an escape
    in the path (the query may hold escapes: it stays a query)."""
    path, _, query = (target or "").partition("?")
    if _NEXT_PATH.fullmatch(path) and _NEXT_QUERY.fullmatch(query):
        return target or "/ui/inbox"
    return "/ui/inbox"


def _form(
    request: Request, next_: str, *, status: int = 200, error: str | None = None
) -> HTMLResponse:
    nonce = request.cookies.get(_SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request, "sign_in.html", None, status=status, next=next_, nonce=nonce, error=error
    )
    response.set_cookie(
        _SIGN_IN_COOKIE,
        nonce,
        max_age=3600,
        path="/ui/sign-in",
        secure=secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/sign-in", response_model=None)
def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form (or straight on, for someone already signed in)."""
    target = _safe_next(next)
    try:
        services_of(request).sessions.resume(request.cookies.get(cookie_name(request)))
    except (AuthenticationError, PermissionDenied):
        return _form(request, target)
    return RedirectResponse(target, status_code=303)


@router.post("/sign-in", response_model=None)
async def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=_TOKEN_FIELD_MAX)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/ui/inbox",
) -> Response:
    """Exchange a human's token for a session cookie."""
    target = _safe_next(next)
    nonce = request.cookies.get(_SIGN_IN_COOKIE, "")
    if not same_origin(request) or not nonce or not hmac.compare_digest(nonce, csrf):
        return _form(
            request,
            target,
            status=403,
            error="The sign-in form expired or came from another site. Please try again.",
        )
    if not token.strip():
        return _form(request, target, status=422, error="Paste your Charter token to sign in.")
    services = services_of(request)
    try:
        opened = await run_in_threadpool(services.sessions.sign_in, token, where=where(request))
    except AuthenticationError as failure:
        return _form(request, target, status=401, error=_why(failure))
    except PermissionDenied as refusal:
        return _form(request, target, status=403, error=refusal.message)
    # A session this browser held before (perhaps someone else's) ends here.
    await run_in_threadpool(services.sessions.sign_out, request.cookies.get(cookie_name(request)))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        cookie_name(request),
        opened.cookie,
        # Relative, so a browser whose clock differs from ours still keeps it the right time.
        max_age=max(
            int((opened.session.expires_at - opened.session.created_at).total_seconds()), 1
        ),
        path="/",
        secure=secure(request),
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(_SIGN_IN_COOKIE, path="/ui/sign-in")
    return response


def _why(failure: CharterError) -> str:
    reasons: dict[str, str] = {
        ErrorCode.TOKEN_EXPIRED: "That token has expired. Ask an admin for a new one.",
        ErrorCode.TOKEN_REVOKED: "That token was revoked.",
        ErrorCode.HUMAN_INACTIVE: "Your account is deactivated.",
    }
    return reasons.get(failure.code, "That is not a valid Charter token.")


@router.post("/sign-out", response_model=None)
async def sign_out(
    request: Request, visitor: Visiting, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """End the session and forget its cookie."""
    check_form(request, visitor, csrf)
    cookie = request.cookies.get(cookie_name(request))
    await run_in_threadpool(services_of(request).sessions.sign_out, cookie)
    response = RedirectResponse("/ui/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(cookie_name(request), path="/", secure=secure(request))
    return response
