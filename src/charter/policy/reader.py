"""Reading YAML nodes into typed values, reporting every problem with its line and column."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

import yaml

from charter.durations import parse_duration
from charter.errors import InvalidInput
from charter.policy.diagnostics import Diagnostic, Severity, did_you_mean
from charter.policy.model import Source

__all__ = ["NodeReader"]

E = TypeVar("E", bound=StrEnum)
_INT = "tag:yaml.org,2002:int"
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_DECIMAL = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)
_MAX_TIMESTAMP = 64
MAX_INTEGER = 1000
"""The largest whole number a policy holds unless a reader says otherwise (a quorum)."""


class NodeReader:
    """Reads one file's nodes, collecting diagnostics instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    def source(self, node: yaml.Node) -> Source:
        """Where ``node`` starts, 1-based."""
        return Source(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: yaml.Node, code: str, message: str, help: str | None = None) -> None:
        """Report an error at ``node``."""
        self.diagnostics.append(Diagnostic(Severity.ERROR, code, message, self.source(node), help))

    def warning(self, node: yaml.Node, code: str, message: str, help: str | None = None) -> None:
        """Report a warning at ``node``."""
        self.diagnostics.append(
            Diagnostic(Severity.WARNING, code, message, self.source(node), help)
        )

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> dict[str, yaml.Node] | None:
        """The keys of a mapping node; unknown keys and missing required ones are reported."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "expected_mapping", f"{what} must be a mapping")
            return None
        allowed = tuple(allowed)
        keys: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is None or name not in allowed:
                self.error(
                    key,
                    "unknown_key",
                    f"unknown key {name!r} in {what}",
                    did_you_mean(str(name), allowed) or f"allowed: {', '.join(allowed)}",
                )
            elif name in keys:
                self.error(key, "duplicate_key", f"{name!r} appears twice in {what}")
            else:
                keys[name] = value
        for name in required:
            if name not in keys:
                self.error(node, "missing_key", f"{what} needs {name!r}")
        return keys

    def string(self, node: yaml.Node, what: str, *, pattern: str | None = None) -> str | None:
        """A scalar string (numbers are refused: quote them)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (_STR,):
            self.error(node, "expected_string", f"{what} must be a string")
            return None
        value: str = node.value
        if pattern is not None and not re.fullmatch(pattern, value):
            self.error(node, "invalid_value", f"{what} {value!r} is not valid")
            return None
        return value

    def strings(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]] | None:
        """A list of strings (a single string is taken as a list of one)."""
        if isinstance(node, yaml.ScalarNode):
            value = self.string(node, what)
            return None if value is None else [(value, node)]
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, "expected_list", f"{what} must be a list of strings")
            return None
        found = []
        for item in node.value:
            value = self.string(item, f"each of {what}")
            if value is not None:
                found.append((value, item))
        return found

    def string_map(self, node: yaml.Node, what: str) -> dict[str, str] | None:
        """A mapping of strings to strings."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "expected_mapping", f"{what} must be a mapping of strings")
            return None
        found: dict[str, str] = {}
        for key, value in node.value:
            name = self.string(key, f"a key of {what}")
            text = self.string(value, f"a value of {what}")
            if name is not None and text is not None:
                found[name] = text
        return found

    def choice(self, node: yaml.Node, what: str, enum: type[E]) -> E | None:
        """One of an enum's values, with a suggestion for a near miss."""
        value = self.string(node, what)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            options = [member.value for member in enum]
            self.error(
                node,
                "invalid_value",
                f"{what} {value!r} is not one of {', '.join(options)}",
                did_you_mean(value, options),
            )
            return None

    def integer(
        self, node: yaml.Node, what: str, *, minimum: int, maximum: int = MAX_INTEGER
    ) -> int | None:
        """A whole number from ``minimum`` to ``maximum``, written in plain decimal digits
        (YAML's hex, octal, ``1_000`` and ``1:30`` forms are refused)."""
        if (
            not isinstance(node, yaml.ScalarNode)
            or node.tag != _INT
            or not _DECIMAL.fullmatch(node.value)
        ):
            self.error(node, "expected_integer", f"{what} must be a whole number")
            return None
        value = int(node.value)
        if not minimum <= value <= maximum:
            self.error(node, "invalid_value", f"{what} must be between {minimum} and {maximum}")
            return None
        return value

    def duration(self, node: yaml.Node, what: str) -> timedelta | None:
        """A duration such as ``30m``, ``1h`` or ``7d``."""
        value = self.string(node, what)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except InvalidInput as error:
            self.error(node, "invalid_duration", f"{what}: {error.message}", error.help)
            return None

    def timestamp(self, node: yaml.Node, what: str) -> datetime | None:
        """An ISO 8601 time; without a zone it is UTC."""
        if not isinstance(node, yaml.ScalarNode) or node.tag == _NULL:
            self.error(node, "expected_timestamp", f"{what} must be an ISO 8601 time")
            return None
        try:
            if len(node.value) > _MAX_TIMESTAMP:
                raise ValueError("too long")
            moment = datetime.fromisoformat(node.value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except (ValueError, OverflowError):
            # OverflowError: an offset pushes the time past year 9999 (or before 1) in UTC.
            shown = node.value[:_MAX_TIMESTAMP]
            self.error(
                node,
                "expected_timestamp",
                f"{what} {shown!r} is not an ISO 8601 time between years 1 and 9999 in UTC",
            )
            return None
