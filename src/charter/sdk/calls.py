"""One API call as a value, and what both clients share to send one and read its answer.

An ``Operation`` describes a call once (method, path, query, body, how to read the
answer) without sending it; ``Client`` sends it over ``httpx.Client`` and ``AsyncClient``
over ``httpx.AsyncClient``, so the two clients cannot drift apart. Every failure is a
``CharterError`` of the family the server named; a server that cannot be reached, answers
with a 5xx, or answers with something that is not Charter's raises ``Unavailable``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

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
from charter.jsonbounds import dumps
from charter.policy.diagnostics import Diagnostic, Severity
from charter.policy.engine import PolicyInvalid
from charter.policy.model import Source

if TYPE_CHECKING:
    from charter.sdk.client import AsyncClient, Client

__all__ = [
    "Call",
    "Operation",
    "adapted",
    "drop_none",
    "model",
    "operation",
    "reaching",
    "segment",
    "text",
]

P = ParamSpec("P")
T = TypeVar("T")
Model = TypeVar("Model", bound=BaseModel)

_FAMILIES: dict[int, type[CharterError]] = {
    400: InvalidInput,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
}


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request to send and how to read a successful answer to it."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    timeout: float | None = None
    """Seconds to wait for this call; ``None``: the client's timeout."""

    def request(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The keyword arguments of ``httpx.Client.request`` for this call, sent with
        ``headers``; a body the server would refuse as JSON is ``InvalidInput`` here."""
        request: dict[str, Any] = {
            "method": self.method,
            "url": self.path,
            "params": self.params,
            "headers": headers,
        }
        if self.json is not None:
            request["content"] = dumps(self.json).encode("utf-8")
            request["headers"] = {**headers, "Content-Type": "application/json"}
        return request if self.timeout is None else {**request, "timeout": self.timeout}

    def answer(self, response: httpx.Response) -> T:
        """The answer read, or the error it stands for raised."""
        if response.is_error:
            raise _error_of(response)
        return self.read(response)


@contextmanager
def reaching() -> Iterator[None]:
    """Turn a transport failure (timeout, refused connection, ...) into ``Unavailable``."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise Unavailable(
            f"the Charter server did not answer in time: {exc}", code=ErrorCode.TIMEOUT
        ) from None
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"the Charter server cannot be reached: {exc}", code=ErrorCode.UNREACHABLE
        ) from None


class Operation(Generic[P, T]):
    """An API call declared once on ``Api``: a method of ``Client`` that returns ``T`` and
    a method of ``AsyncClient`` that returns an awaitable of ``T``."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__
        parameters = list(inspect.signature(build).parameters.values())[1:]
        self.signature = inspect.Signature(parameters)

    def adopt(self, method: Callable[..., Any]) -> None:
        """Give a client's bound method this operation's name, docstring and signature."""
        functools.update_wrapper(method, self.build)
        method.__dict__["__signature__"] = self.signature

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Operation[P, T]: ...

    @overload
    def __get__(self, instance: Client, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(
        self, instance: AsyncClient, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        if instance is None:
            return self
        return instance._bind(self)


def operation(build: Callable[Concatenate[Any, P], Call[T]]) -> Operation[P, T]:
    """Declare an API call on ``Api`` from a method that builds its ``Call``."""
    return Operation(build)


def _error_of(response: httpx.Response) -> CharterError:
    try:
        body = response.json()["error"]
        code, message, help = str(body["code"]), str(body["message"]), body.get("help")
    except (ValueError, KeyError, TypeError):
        code, message, help = ErrorCode.HTTP_ERROR, f"HTTP {response.status_code}", None
    if response.status_code >= 500:
        return Unavailable(message, code=code, help=help)
    if code == ErrorCode.INVALID_POLICY:
        return PolicyInvalid(_diagnostics(body.get("diagnostics")))
    family = _FAMILIES.get(response.status_code, CharterError)
    return family(message, code=code, help=help)


def _diagnostics(items: Any) -> list[Diagnostic]:
    """The server's diagnostics back as values (malformed entries are skipped)."""
    found = []
    for item in items if isinstance(items, list) else []:
        try:
            found.append(
                Diagnostic(
                    Severity(item["severity"]),
                    str(item["code"]),
                    str(item["message"]),
                    Source(str(item["file"]), int(item["line"]), int(item["column"])),
                    item.get("help"),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _parse(response: httpx.Response, validate: Callable[[bytes], T]) -> T:
    try:
        return validate(response.content)
    except ValidationError:
        raise Unavailable(
            f"{response.request.url} did not answer as a Charter server does",
            code=ErrorCode.INVALID_RESPONSE,
        ) from None


def model(kind: type[Model]) -> Callable[[httpx.Response], Model]:
    """Read the answer as ``kind``."""
    return lambda response: _parse(response, kind.model_validate_json)


def adapted(adapter: TypeAdapter[T]) -> Callable[[httpx.Response], T]:
    """Read the answer through a pydantic ``TypeAdapter``."""
    return lambda response: _parse(response, adapter.validate_json)


def text(response: httpx.Response) -> str:
    """Read the answer as text."""
    return response.text


def segment(value: str) -> str:
    """``value`` as one escaped path segment, so no id can steer a call elsewhere."""
    # Escaped '/' keeps an id in its segment; escaped dots stop '..' from being resolved.
    return quote(value, safe="").replace(".", "%2E")


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the keys whose value is ``None``."""
    return {key: value for key, value in values.items() if value is not None}
