"""What every CLI command shares: connection options, output, and error handling."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from pydantic import BaseModel
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from charter.codes import ErrorCode
from charter.durations import parse_duration
from charter.errors import CharterError, InvalidInput
from charter.jsonbounds import loads
from charter.policy.model import Capability
from charter.sdk.client import Client

__all__ = [
    "ActionName",
    "AsJson",
    "CapabilityName",
    "CommandGroup",
    "ContextJson",
    "Exit",
    "Fields",
    "ResourcePath",
    "Server",
    "Token",
    "capability_option",
    "client",
    "emit",
    "fail",
    "group",
    "handled",
    "json_option",
    "parsing",
    "table",
]


class Exit(IntEnum):
    """What every ``charter`` command exits with (docs/cli.md, "exit codes")."""

    OK = 0
    """Done; for a check (``decide``, ``audit verify``...), the answer is yes."""
    ERROR = 1
    """Could not do it: refused, not found, unreachable, a store or key problem."""
    USAGE = 2
    """The command line is wrong: unknown command or option, missing or bad value."""
    NO = 3
    """Done, and the answer is no or something was found: a decision other than allow,
    an approval not approved, a failing policy test, an invalid policy, a secret in the
    scanned text, a broken audit log."""


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


class CommandGroup(TyperGroup):
    """A group whose help lists each command with its whole first sentence (not cut off
    at the terminal's width with "...")."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def group(help: str) -> typer.Typer:
    """A command group: plain help (flags without a type placeholder), every command
    listed whole, and its help when called with no command."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, cls=CommandGroup)


def fail(error: CharterError, *, code: Exit = Exit.ERROR, hint: str | None = None) -> typer.Exit:
    """Print ``error`` to stderr and return the exit to raise."""
    err.print(f"error: {error.message} [{error.code}]", markup=False)
    if hint or error.help:
        err.print(f"hint: {hint or error.help}", markup=False)
    return typer.Exit(code)


@contextmanager
def handled() -> Iterator[None]:
    """Turn Charter errors into a message and exit code 1."""
    try:
        yield
    except CharterError as error:
        raise fail(error) from None


@contextmanager
def parsing() -> Iterator[None]:
    """Turn a bad option value (a duration, JSON, an id) into a message and exit code 2,
    before anything is sent."""
    try:
        yield
    except InvalidInput as error:
        raise fail(error, code=Exit.USAGE) from None


TIMEOUT_VARIABLE = "CHARTER_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
"""Seconds the CLI waits for each answer when ``CHARTER_TIMEOUT`` is unset."""
MAX_TIMEOUT = 3600.0


def _timeout() -> float:
    """``CHARTER_TIMEOUT`` (``30s``, ``2m``) in seconds, or the default when it is unset;
    a malformed or out-of-range value is a usage error, never silently the default."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = parse_duration(text).total_seconds()
        if seconds > MAX_TIMEOUT:
            raise InvalidInput(f"{text!r} is longer than 1h", code=ErrorCode.INVALID_DURATION)
    except InvalidInput as error:
        raise fail(
            InvalidInput(f"{TIMEOUT_VARIABLE}: {error.message}", code=error.code),
            code=Exit.USAGE,
            hint=f"write a duration of at most 1h, e.g. {TIMEOUT_VARIABLE}=30s",
        ) from None
    return seconds


def _connection_hint(
    error: CharterError, server: str, token: str | None, timeout: float
) -> str | None:
    """What to do about ``error``, when the server's own hint does not fit the CLI."""
    if urlsplit(server).path.rstrip("/").endswith("/v1"):
        base = server.rstrip("/").removesuffix("/v1")
        return f"--server (CHARTER_SERVER) is the server's base URL, without /v1: {base}"
    if error.code == ErrorCode.TIMEOUT:
        return f"no answer in {timeout:g}s: set {TIMEOUT_VARIABLE} (e.g. 30s) to wait longer"
    if error.code == ErrorCode.UNREACHABLE:
        return "is `charter serve` running there? Point --server (or CHARTER_SERVER) at it"
    if error.code == ErrorCode.TOKEN_MISSING and not token:
        return "set CHARTER_TOKEN, or pass --token"
    return None


@contextmanager
def client(server: str, token: str | None) -> Iterator[Client]:
    """A client for the command, with errors handled: each says what to do. It waits up
    to ``CHARTER_TIMEOUT`` (default 10 s) for each answer."""
    timeout = _timeout()
    try:
        with Client(server, token or None, timeout=timeout) as connected:
            yield connected
    except CharterError as error:
        if error.code == ErrorCode.UNREACHABLE:
            reason = error.message.removeprefix("the Charter server cannot be reached: ")
            error = CharterError(
                f"cannot reach the Charter server at {server} ({reason})", code=error.code
            )
        raise fail(error, hint=_connection_hint(error, server, token, timeout)) from None


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


_FREE_TEXT_WIDTH = 12
"""The narrowest a free-text column gets before the table is printed wider than the
terminal instead."""


def table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, wrap: Collection[str] = ()
) -> None:
    """Print a table. Only the columns named in ``wrap`` (free text: a purpose, a note)
    wrap to fit the terminal; every other cell (ids, times, states) is printed whole,
    wider than the terminal if it must be."""
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    grid = Table(box=None, pad_edge=False, header_style="bold")
    needed = 2 * (len(columns) - 1)
    for index, name in enumerate(columns):
        widest = max([cell_len(name), *(cell_len(row[index]) for row in cells)])
        if name in wrap:
            grid.add_column(name, overflow="fold")
            needed += min(widest, _FREE_TEXT_WIDTH)
        else:
            grid.add_column(name, no_wrap=True, min_width=widest)
            needed += widest
    for row in cells:
        grid.add_row(*row)
    wide = needed > out.width
    (Console(file=out.file, width=needed, highlight=False) if wide else out).print(grid)
