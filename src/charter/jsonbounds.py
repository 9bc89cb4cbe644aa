"""JSON that survives a round trip: finite numbers and integers that fit in 64 bits, and
objects that name each key once.

Python's ``json`` reads ``NaN``, ``Infinity`` and ``-Infinity``, turns ``1e999999`` into
infinity and reads integers of any size; none of them is JSON another client (or
PostgreSQL's ``jsonb``) reads back the same. An object naming a key twice
(``{"on_behalf_of": "user:bob", "on_behalf_of": "user:eve"}``) is read with the last value
here and with the first by other parsers, so what was decided would not be what a tool
downstream reads. The server refuses bodies holding either (``charter.server.json_body``),
the SDK never sends them and the CLI never reads them.
"""

from __future__ import annotations

import json
import math
from typing import Any

from charter.codes import ErrorCode
from charter.errors import InvalidInput

__all__ = ["MAX_INTEGER", "MIN_INTEGER", "dumps", "loads"]

MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1
_HELP = "send finite numbers, and integers between -2^63 and 2^63-1"
_DUPLICATE_HELP = "name each key once in an object"


class _Refused(ValueError):
    """A number Python's parser reads but that is not accepted here."""


def _constant(name: str) -> object:
    raise _Refused(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is too large to be represented")
    return value


class _Duplicate(ValueError):
    """An object names the same key twice."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(f"the key {key[:40]!r} appears twice in one object")
            seen.add(key)
    return value


def _integer(text: str) -> int:
    # Digit count first: int() of thousands of digits is slow, and refused past 4300.
    if len(text.lstrip("-")) > 19 or not MIN_INTEGER <= int(text) <= MAX_INTEGER:
        raise _Refused(f"the integer {text[:40]} does not fit in 64 bits")
    return int(text)


def loads(text: str | bytes, *, code: str = ErrorCode.INVALID_JSON) -> Any:
    """Parse JSON, refusing non-finite numbers, integers beyond 64 bits, a key named twice
    in one object and nesting too deep to parse with ``InvalidInput(code)``. Text that is
    not JSON at all raises ``json.JSONDecodeError`` (a ``ValueError``), as ``json.loads``
    does."""
    try:
        return json.loads(
            text,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_integer,
            object_pairs_hook=_object,
        )
    except _Refused as refused:
        raise InvalidInput(str(refused), code=code, help=_HELP) from None
    except _Duplicate as duplicate:
        raise InvalidInput(str(duplicate), code=code, help=_DUPLICATE_HELP) from None
    except RecursionError:
        raise InvalidInput("the JSON nests too deep", code=code, help=_HELP) from None


def dumps(value: Any, *, code: str = ErrorCode.INVALID_JSON) -> str:
    """Compact JSON text of ``value``; a non-finite number, an integer beyond 64 bits, a
    lone surrogate or a value JSON cannot hold is ``InvalidInput(code)``."""

    def check(node: Any) -> None:
        if isinstance(node, dict):
            for item in node.values():
                check(item)
        elif isinstance(node, list | tuple):
            for item in node:
                check(item)
        elif (
            isinstance(node, int)
            and not isinstance(node, bool)
            and not MIN_INTEGER <= node <= MAX_INTEGER
        ):
            raise ValueError("an integer does not fit in 64 bits")

    try:
        check(value)
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        text.encode("utf-8")  # a lone surrogate cannot be sent
        return text
    except (ValueError, TypeError, RecursionError) as error:
        raise InvalidInput(
            f"the value cannot be sent as JSON: {error}", code=code, help=_HELP
        ) from None
