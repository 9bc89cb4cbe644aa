"""How ``charter.guard`` turns one call's arguments into a decision request."""

from __future__ import annotations

import inspect
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.policy.model import Capability

__all__ = [
    "Arguments",
    "Asked",
    "ResourceTemplate",
    "capability_of",
    "field_names",
    "fields_source",
    "input_source",
    "refuse",
    "source",
]

Arguments = Mapping[str, Any]
"""A call's arguments by parameter name, defaults applied (read-only)."""

_NOT_INPUT = frozenset({"self", "cls"})


def refuse(message: str, help: str | None = None) -> InvalidInput:
    """The error for a guard that is set up wrongly (raised when decorating)."""
    return InvalidInput(message, code=ErrorCode.INVALID_GUARD, help=help)


@dataclass(frozen=True, slots=True)
class Asked:
    """One decision request, built from one call's arguments."""

    resource: str
    resource_attributes: Mapping[str, Any]
    fields: tuple[str, ...]
    context: Mapping[str, Any]
    input: Any


class ResourceTemplate:
    """A resource path formatted from the call's arguments, one segment per placeholder."""

    def __init__(self, template: str, parameters: Mapping[str, inspect.Parameter]) -> None:
        self._template, self._formatter = template, string.Formatter()
        open_ended = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        for _, name, _, _ in self._formatter.parse(template):
            if name is None:
                continue
            base = name.split(".", 1)[0].split("[", 1)[0]
            if not base.isidentifier() or (base not in parameters and not open_ended):
                raise refuse(
                    f"resource {template!r}: {{{name}}} names no parameter of the function",
                    help=f"parameters: {', '.join(parameters) or 'none'}",
                )

    def __call__(self, arguments: Arguments) -> str:
        parts = []
        for literal, name, spec, conversion in self._formatter.parse(self._template):
            parts.append(literal)
            if name is None:
                continue
            value, _ = self._formatter.get_field(name, (), arguments)
            text = self._formatter.format_field(
                self._formatter.convert_field(value, conversion), spec or ""
            )
            # An argument fills one segment: '42/../43' must not reach another resource.
            if text in {"", ".", ".."} or "/" in text:
                raise InvalidInput(
                    f"argument {{{name}}}={text!r} would not be one segment of {self._template!r}",
                    code=ErrorCode.UNSAFE_RESOURCE_ARGUMENT,
                    help="pass resource= a callable to build paths of several segments",
                )
            parts.append(text)
        return "".join(parts)


def source(value: Any, name: str, default: Any) -> Callable[[Arguments], Any]:
    """How a request part comes from a call: a callable of its arguments, or a constant."""
    if value is None:
        return lambda _arguments: default
    if callable(value):
        return cast(Callable[[Arguments], Any], value)
    if isinstance(value, Mapping):
        frozen = dict(value)
        return lambda _arguments: frozen
    raise refuse(f"{name}= must be a mapping or a callable of the call's arguments")


def fields_source(fields: Any, parameters: Mapping[str, inspect.Parameter]) -> Callable[..., Any]:
    """How the requested fields come from a call: a list, an argument's name, a callable."""
    if isinstance(fields, str):
        if fields not in parameters:
            raise refuse(f"fields={fields!r} names no parameter of the function")
        return lambda arguments: arguments[fields]
    if callable(fields):
        return cast(Callable[[Arguments], Any], fields)
    static = tuple(fields)
    return lambda _arguments: static


def field_names(value: Any) -> tuple[str, ...]:
    """The field names a call asks for, checked to be strings."""
    if value is None:
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(name, str) for name in names):
        raise InvalidInput("the requested fields must be strings", code=ErrorCode.INVALID_FIELDS)
    return names


def capability_of(value: Capability | str) -> Capability:
    """The capability named, or ``invalid_guard``."""
    try:
        return Capability(value)
    except ValueError:
        raise refuse(f"capability= must be request, infer or do, not {value!r}") from None


def input_source(value: bool | Callable[[Arguments], Any]) -> Callable[[Arguments], Any] | None:
    """How the input sent for secret scanning comes from a call, if at all."""
    if value is True:
        return lambda arguments: {k: v for k, v in arguments.items() if k not in _NOT_INPUT}
    if value is False:
        return None
    return value
