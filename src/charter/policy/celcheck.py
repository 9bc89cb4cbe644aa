"""Type-checking CEL conditions at load time, with Google's cel-cpp (``cel-expr-python``).

The Rust-backed ``cel`` package that evaluates conditions parses but does not check
types, so a condition like ``now > 5`` or ``size(1)`` would only fail at run time (and
fail closed). Checking each expression once, at load, against the declared variables
turns those into diagnostics with a position, as a policy author expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from cel_expr_python import cel as cel_cpp  # type: ignore[import-untyped]

__all__ = ["TypeProblem", "check_types"]

_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")


@dataclass(frozen=True, slots=True)
class TypeProblem:
    """What is wrong with an expression's types, and where in it."""

    code: str
    message: str
    line: int
    column: int


@cache
def _environment() -> Any:
    kind = cel_cpp.Type
    document = kind.Map(kind.STRING, kind.DYN)
    return cel_cpp.NewEnv(
        variables={
            "agent": document,
            "resource": document,
            "request": document,
            "context": document,
            "now": kind.TIMESTAMP,
        }
    )


def check_types(expression: str) -> TypeProblem | None:
    """The first type problem of ``expression``, or None when it checks."""
    try:
        checked = _environment().compile(expression)
    except RuntimeError as error:
        found = _ERROR.search(str(error))
        message = found.group(3) if found else str(error).splitlines()[0]
        line, column = (int(found.group(1)), int(found.group(2))) if found else (1, 1)
        code = "cel_unknown_variable" if "undeclared reference" in message else "cel_type"
        return TypeProblem(code, message, line, column)
    result = checked.return_type().name()
    if result not in ("bool", "dyn", "BOOL", "DYN"):
        return TypeProblem(
            "cel_not_boolean", f"the condition gives {result.lower()}, not bool", 1, 1
        )
    return None
