"""Refuse JSON bodies that do not survive a round trip, for every route.

The framework reads ``NaN``, ``Infinity``, ``1e999999`` and integers of any size
(``charter.jsonbounds``); an approver would then be shown ``null`` for a value the
request's digest covers. It also reads an object naming a key twice with the last value,
where other parsers take the first: ``{"action": "crm.customer.read", "action":
"crm.customer.delete"}`` would be decided as one request and carried out as another. So a
body holding either is answered ``400 invalid_json`` before any route or model sees it,
as is a body nested too deep to parse. Bodies that are not JSON at all are left to the
routes (``400 malformed_json``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.jsonbounds import MAX_INTEGER, MIN_INTEGER, loads

__all__ = ["PARSED", "FiniteJson", "json_problem", "parsed_body"]

PARSED = "charter.json_body"
"""Where ``FiniteJson`` leaves the body it parsed in the request's scope, for a route
that would otherwise parse it again (``parsed_body``)."""

_DEEPEST = 64
"""Bodies nested deeper than this are checked the slow way, as before."""

_LARGE = float(2**63)


def json_problem(body: bytes) -> str | None:
    """Why ``body`` is refused as JSON, or None when it is fine (or not JSON at all)."""
    refused = _refusal(body)
    return None if refused is None else refused.message


def _refusal(body: bytes) -> InvalidInput | None:
    try:
        loads(body)
    except InvalidInput as refused:
        return refused
    except ValueError:
        return None  # not JSON: the route answers for it
    return None


def parsed_body(scope: Scope) -> Any:
    """The body ``FiniteJson`` parsed for this request (``None`` if it did not, or the
    body was not one it could read quickly: parse it yourself then)."""
    return scope.get(PARSED)


def _quickly(body: bytes) -> tuple[Any, bool]:
    """``body`` parsed by orjson (``None`` if it cannot be, or is the JSON ``null``), and
    whether ``loads`` is known to read it the same and accept it; when not, it must be
    checked the slow way."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, False  # not JSON, or JSON orjson refuses (NaN, lone surrogates, ...)
    colons = _colons_within_bounds(value, 0)
    if colons < 0:
        return None, False
    # orjson keeps the last of a key named twice. Each object member has one ':' outside
    # strings, and without \u escapes a string holds as many ':' as it shows in the
    # body: so as many as in the body means no member was lost.
    return value, colons == body.count(b":") and b"\\u" not in body


def _colons_within_bounds(node: Any, depth: int) -> int:
    """How many ':' ``node`` accounts for (one per object member, and those in its
    strings and keys), at any depth; -1 if it holds a number ``loads`` might refuse or
    nests deep enough to be checked the slow way."""
    if isinstance(node, str):
        return node.count(":")
    if isinstance(node, dict):
        if depth >= _DEEPEST:
            return -1
        colons = 0
        for key, item in node.items():
            inner = _colons_within_bounds(item, depth + 1)
            if inner < 0:
                return -1
            colons += 1 + key.count(":") + inner
        return colons
    if isinstance(node, list):
        if depth >= _DEEPEST:
            return -1
        colons = 0
        for item in node:
            inner = _colons_within_bounds(item, depth + 1)
            if inner < 0:
                return -1
            colons += inner
        return colons
    if isinstance(node, float):
        # orjson reads an integer beyond 64 bits as a float: large ones go the slow way.
        return 0 if math.isfinite(node) and -_LARGE < node < _LARGE else -1
    if isinstance(node, int):
        return 0 if MIN_INTEGER <= node <= MAX_INTEGER else -1
    return 0


class FiniteJson:
    """ASGI middleware: a request body that ``json_problem`` refuses gets 400 ``invalid_json``.

    Every body is checked, whatever its Content-Type: the framework reads some bodies as
    JSON without one. Runs inside ``BodySizeLimit``, so bodies are bounded already.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # Most bodies are plain JSON that orjson reads as fast as it checks; the rest, and
        # all that might be refused, go the slow way, which words the refusal.
        value, certain = _quickly(body) if body else (None, False)
        if not certain:
            refused = _refusal(body) if body.strip() else None
            if refused is not None:
                await _refuse(send, refused)
                return
        if value is not None:
            scope[PARSED] = value  # what loads would read: checked, or known to be
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(send: Send, refused: InvalidInput) -> None:
    body = json.dumps(
        {
            "error": {
                "code": ErrorCode.INVALID_JSON,
                "message": f"the request body is refused: {refused.message}",
                "help": refused.help
                or "send finite numbers, and integers between -2^63 and 2^63-1",
            }
        },
        separators=(",", ":"),
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
