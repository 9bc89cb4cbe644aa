"""``charter.Client`` and ``charter.AsyncClient``: the Charter HTTP API from Python.

Both offer every call declared on ``charter.sdk.api.Api``, the first over
``httpx.Client``, the second over ``httpx.AsyncClient``. Every failure is a
``CharterError`` of the family the server named; a server that cannot be reached, that
does not answer within ``timeout`` seconds (2 by default), that answers with a 5xx, or
that answers with something that is not Charter's, raises ``Unavailable``, which callers
must treat as a deny. Ids are sent as single, escaped path segments, so no id can steer a
call to another endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any, ParamSpec, Protocol, TypeVar

import httpx

from charter.sdk.api import Api
from charter.sdk.calls import Call, Operation, reaching
from charter.sdk.decisions import ApprovalWait
from charter.wire import AgentOut
from charter.wire_approvals import ApprovalOut, GrantOut
from charter.wire_secrets import LeakOut

__all__ = ["AsyncClient", "Client"]

P = ParamSpec("P")
T = TypeVar("T")
Page = TypeVar("Page", bound="_Page")


class _Page(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _walk(fetch: Callable[[str | None], Page], items: Callable[[Page], list[T]]) -> Iterator[T]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from items(page)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


class Client(Api):
    """A synchronous client for one Charter server and one token.

    ``http`` replaces the connection pool (e.g. an ``httpx.Client`` over an ASGI app);
    a pool passed in is left open by ``close``.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 2.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._headers = _headers(token)
        self._owns_http = http is None
        self._http = http or httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    @property
    def url(self) -> str:
        """The server's base URL, as this client reaches it."""
        return str(self._http.base_url).rstrip("/")

    def close(self) -> None:
        """Close the connection pool."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _bind(self, operation: Operation[P, T]) -> Callable[P, T]:
        def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return self._send(operation.build(self, *args, **kwargs))

        operation.adopt(method)
        return method

    def _send(self, call: Call[T]) -> T:
        with reaching():
            response = self._http.request(**call.request(self._headers))
        return call.answer(response)

    def wait_for_approval(self, approval_id: str, *, timeout: float = 60.0) -> ApprovalOut:
        """Long-poll an approval until it is decided or about ``timeout`` seconds pass;
        return it as it then stands (still ``pending`` after a timeout)."""
        wait = ApprovalWait(approval_id, timeout)
        approval = self._send(wait.first())
        while (call := wait.next(approval)) is not None:
            approval = self._send(call)
        return approval

    def iter_agents(self, **filters: Any) -> Iterator[AgentOut]:
        """Every agent matching the filters, page by page."""
        return _walk(lambda cursor: self.list_agents(cursor=cursor, **filters), lambda p: p.agents)

    def iter_audit(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every audit record matching the filters, page by page."""
        return _walk(lambda cursor: self.query_audit(cursor=cursor, **filters), lambda p: p.records)

    def iter_approvals(self, **filters: Any) -> Iterator[ApprovalOut]:
        """Every approval matching the filters, page by page."""
        return _walk(
            lambda cursor: self.list_approvals(cursor=cursor, **filters), lambda p: p.approvals
        )

    def iter_grants(self, **filters: Any) -> Iterator[GrantOut]:
        """Every grant matching the filters, page by page."""
        return _walk(lambda cursor: self.list_grants(cursor=cursor, **filters), lambda p: p.grants)

    def iter_leaks(self) -> Iterator[LeakOut]:
        """Every registered leak, page by page."""
        return _walk(lambda cursor: self.list_leaks(cursor=cursor), lambda p: p.leaks)


class AsyncClient(Api):
    """An asynchronous client for one Charter server and one token: the same calls as
    ``Client``, each awaited.

    ``http`` replaces the connection pool (e.g. an ``httpx.AsyncClient`` over an ASGI
    app); a pool passed in is left open by ``aclose``.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 2.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._headers = _headers(token)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout)

    @property
    def url(self) -> str:
        """The server's base URL, as this client reaches it."""
        return str(self._http.base_url).rstrip("/")

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def _bind(self, operation: Operation[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self._send(operation.build(self, *args, **kwargs))

        operation.adopt(method)
        return method

    async def _send(self, call: Call[T]) -> T:
        with reaching():
            response = await self._http.request(**call.request(self._headers))
        return call.answer(response)

    async def wait_for_approval(self, approval_id: str, *, timeout: float = 60.0) -> ApprovalOut:
        """Long-poll an approval until it is decided or about ``timeout`` seconds pass;
        return it as it then stands (still ``pending`` after a timeout)."""
        wait = ApprovalWait(approval_id, timeout)
        approval = await self._send(wait.first())
        while (call := wait.next(approval)) is not None:
            approval = await self._send(call)
        return approval
