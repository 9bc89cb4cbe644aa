"""What every CLI command shares: connection options, output, and error handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from charter.codes import ErrorCode
from charter.errors import CharterError, InvalidInput
from charter.jsonbounds import loads
from charter.policy.model import Capability
from charter.sdk.client import Client

__all__ = [
    "EXIT_ERROR",
    "ActionName",
    "AsJson",
    "CapabilityName",
    "ContextJson",
    "Fields",
    "ResourcePath",
    "Server",
    "Token",
    "capability_option",
    "client",
    "emit",
    "fail",
    "handled",
    "json_option",
    "table",
]

EXIT_ERROR = 1
DEFAULT_SERVER = "http://127.0.0.1:8080"

Server = Annotated[
    str, typer.Option("--server", envvar="CHARTER_SERVER", help="Charter server URL.")
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="CHARTER_TOKEN", help="Bearer token.", show_default=False),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

# The parts of a decision request, shared by `charter decide` and `charter policy check`.
CapabilityName = Annotated[str, typer.Option("--capability", help="request, infer or do.")]
ActionName = Annotated[str, typer.Option("--action", help="Dotted action name.")]
ResourcePath = Annotated[str, typer.Option("--resource", help="Resource path.")]
Fields = Annotated[list[str] | None, typer.Option("--field", help="Requested field (repeatable).")]
ContextJson = Annotated[str, typer.Option("--context", help="Context as a JSON object.")]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(error: CharterError) -> typer.Exit:
    """Print ``error`` to stderr and return the exit to raise."""
    err.print(f"error: {error.message} [{error.code}]", markup=False)
    if error.help:
        err.print(f"hint: {error.help}", markup=False)
    return typer.Exit(EXIT_ERROR)


@contextmanager
def handled() -> Iterator[None]:
    """Turn Charter errors into a message and exit code 1."""
    try:
        yield
    except CharterError as error:
        raise fail(error) from None


@contextmanager
def client(server: str, token: str | None) -> Iterator[Client]:
    """A client for the command, with errors handled."""
    with handled(), Client(server, token, timeout=10.0) as connected:
        yield connected


def json_option(text: str, *, option: str, code: str, object_only: bool = True) -> Any:
    """The JSON value an option was given, or ``InvalidInput`` with ``code``."""
    try:
        parsed = loads(text, code=code)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{option} is not JSON: {error}", code=code) from None
    if object_only and not isinstance(parsed, dict):
        raise InvalidInput(f"{option} must be a JSON object", code=code)
    return parsed


def capability_option(value: str) -> Capability:
    """The capability named by ``--capability``, or ``InvalidInput``."""
    try:
        return Capability(value)
    except ValueError:
        raise InvalidInput(
            f"--capability must be request, infer or do, not {value!r}",
            code=ErrorCode.INVALID_CAPABILITY,
        ) from None


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def emit(value: Any, *, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``value`` as JSON, or call ``human`` to print it for people."""
    if as_json:
        sys.stdout.write(json.dumps(_plain(value), indent=2) + "\n")
    else:
        human()


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table."""
    grid = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    out.print(grid)
