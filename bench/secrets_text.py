"""Texts built from pieces, some of them labelled secrets, with the labels' offsets kept.

A template writes a sample as a list of parts: plain strings and `Secret`s. `render`
joins them and records where each secret landed; `json_parts` serialises a JSON-like
value whose strings may hold secrets, escaping each piece as JSON would, so a label
covers the secret exactly as it appears in the JSON text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Secret:
    """A labelled secret as it appears in the text (its encoded form if ``encoding``)."""

    type: str
    text: str
    encoding: str | None = None


@dataclass(frozen=True, slots=True)
class Joined:
    """A JSON string value made of parts, e.g. ``"Bearer "`` and a secret."""

    parts: tuple[str | Secret, ...]


Part = str | Secret


def render(parts: list[Part]) -> tuple[str, list[dict[str, Any]]]:
    """The text and its labels: ``{"type", "start", "end", "encoding"}`` in text order."""
    pieces: list[str] = []
    labels: list[dict[str, Any]] = []
    offset = 0
    for part in parts:
        if isinstance(part, Secret):
            labels.append(
                {
                    "type": part.type,
                    "start": offset,
                    "end": offset + len(part.text),
                    "encoding": part.encoding,
                }
            )
            text = part.text
        else:
            text = part
        pieces.append(text)
        offset += len(text)
    return "".join(pieces), labels


def _escaped(part: Part) -> Part:
    if isinstance(part, Secret):
        return Secret(part.type, json.dumps(part.text)[1:-1], part.encoding)
    return json.dumps(part)[1:-1]


def json_parts(value: Any, indent: int | None = None, _level: int = 0) -> list[Part]:
    """``value`` as JSON text parts (``json.dumps`` layout), secrets kept as `Secret`."""
    if isinstance(value, Secret | Joined):
        inner = value.parts if isinstance(value, Joined) else (value,)
        return ['"', *(_escaped(part) for part in inner), '"']
    if isinstance(value, dict | list):
        items = list(value.items()) if isinstance(value, dict) else list(value)
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if not items:
            return [opening + closing]
        if indent is None:
            separator, before, after = ", ", "", ""
        else:
            pad = " " * (indent * (_level + 1))
            separator, before = ",\n" + pad, "\n" + pad
            after = "\n" + " " * (indent * _level)
        parts: list[Part] = [opening + before]
        for index, item in enumerate(items):
            if index:
                parts.append(separator)
            if isinstance(value, dict):
                key, item = item
                parts.append(json.dumps(key) + ": ")
            parts.extend(json_parts(item, indent, _level + 1))
        parts.append(after + closing)
        return parts
    return [json.dumps(value)]
