"""Refuse JSON bodies holding numbers that do not survive a round trip, for every route.

The framework reads ``NaN``, ``Infinity``, ``1e999999`` and integers of any size
(``charter.jsonbounds``); an approver would then be shown ``null`` for a value the
request's digest covers. So a body holding one is answered ``400 invalid_json`` before
any route or model sees it, as is a body nested too deep to parse. Bodies that are not
JSON at all are left to the routes (``400 malformed_json``).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.jsonbounds import loads

__all__ = ["FiniteJson", "json_problem"]


def json_problem(body: bytes) -> str | None:
    """Why ``body`` is refused as JSON, or None when it is fine (or not JSON at all)."""
    try:
        loads(body)
    except InvalidInput as refused:
        return refused.message
    except ValueError:
        return None  # not JSON: the route answers for it
    return None


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
        problem = json_problem(body) if body.strip() else None
        if problem is not None:
            await _refuse(send, problem)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(send: Send, problem: str) -> None:
    body = json.dumps(
        {
            "error": {
                "code": ErrorCode.INVALID_JSON,
                "message": f"the request body is refused: {problem}",
                "help": "send finite numbers, and integers between -2^63 and 2^63-1",
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
