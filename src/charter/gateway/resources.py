"""Resource paths built from a tool call's arguments, one path segment per placeholder.

A gateway's policy is written on resources (``vault/prod/**``), and the resource is
built from what the model passed: the one place where a model could steer a decision to
a resource it was never meant to reach. So an argument fills exactly one segment and is
refused, never repaired, unless every character of it is in the canonical alphabet of a
resource segment (``charter.policy.canonical``: ASCII letters, digits, ``_ . : @ = +
-``, not only dots, not ending with one). That closes the whole class at once: ``../``,
``/``, ``%2f``, backslashes, NUL and other control characters, spaces, fullwidth and
other Unicode look-alikes, and empty values are all outside the alphabet.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.policy.canonical import RESOURCE_ID

__all__ = ["ResourceTemplate", "TemplateError"]

_MAX_SEGMENT = 200


class TemplateError(ValueError):
    """A template that is not well formed (reported at its place in the config)."""


def _one_segment(text: str) -> bool:
    return len(text) <= _MAX_SEGMENT and "/" not in text and RESOURCE_ID.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class ResourceTemplate:
    """``vault/{env}/{name}``: literal text and placeholders naming tool arguments."""

    text: str
    parts: tuple[tuple[str, str | None], ...]
    """Each literal and the argument that follows it (None after the last literal)."""

    @classmethod
    def parse(cls, text: str) -> ResourceTemplate:
        """Read a template, or raise ``TemplateError`` saying what is wrong with it."""
        parts: list[tuple[str, str | None]] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as error:
            raise TemplateError(f"resource template {text!r}: {error}") from None
        for literal, name, spec, conversion in parsed:
            if name is not None and (not name.isidentifier() or spec or conversion):
                raise TemplateError(
                    f"resource template {text!r}: {{{name}}} must name one argument, "
                    "with no format or conversion"
                )
            parts.append((literal, name))
        sample = "".join(literal + ("x" if name else "") for literal, name in parts)
        if RESOURCE_ID.fullmatch(sample) is None:
            raise TemplateError(
                f"resource template {text!r} is not a canonical resource path: segments "
                "of ASCII letters, digits and _ . : @ = + - joined by single slashes"
            )
        for index, (preceding, name) in enumerate(parts):
            if name is None:
                continue
            following = parts[index + 1][0] if index + 1 < len(parts) else None
            if following is not None and not following.startswith("/"):
                raise TemplateError(
                    f"resource template {text!r}: {{{name}}} must be followed by '/' or end "
                    "the path, so that each argument fills one whole segment"
                )
            if (preceding or index > 0) and not preceding.endswith("/"):
                raise TemplateError(f"resource template {text!r}: {{{name}}} must start a segment")
        return cls(text, tuple(parts))

    @property
    def arguments(self) -> tuple[str, ...]:
        """The arguments the template reads."""
        return tuple(name for _, name in self.parts if name)

    def render(self, arguments: Mapping[str, Any]) -> str:
        """The resource for one call, or ``InvalidInput`` (``unsafe_resource_argument``)
        when an argument is missing, is not a string or a whole number, or is not one
        canonical path segment."""
        out = []
        for literal, name in self.parts:
            out.append(literal)
            if name is None:
                continue
            if name not in arguments:
                raise _unsafe(name, "is missing", self.text)
            value = arguments[name]
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise _unsafe(name, "must be a string or a whole number", self.text)
            text = str(value)
            if not _one_segment(text):
                raise _unsafe(
                    name,
                    f"= {_shown(text)} is not one canonical path segment",
                    self.text,
                )
            out.append(text)
        return "".join(out)


def _shown(text: str) -> str:
    """The value as the error shows it: escaped, so control characters and look-alikes
    are visible, and cut short."""
    escaped = text.encode("unicode_escape").decode("ascii")
    return repr(escaped if len(escaped) <= 80 else escaped[:77] + "...")


def _unsafe(name: str, what: str, template: str) -> InvalidInput:
    return InvalidInput(
        f"argument {name!r} {what} of resource {template!r}",
        code=ErrorCode.UNSAFE_RESOURCE_ARGUMENT,
        help="each argument fills exactly one segment: ASCII letters, digits and _ . : @ = + -",
    )
