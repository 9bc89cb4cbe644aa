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

from charter.policy.celparse import Node, Unreadable, parse

__all__ = ["TypeProblem", "check_types", "environment"]

_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")


@dataclass(frozen=True, slots=True)
class TypeProblem:
    """What is wrong with an expression's types, and where in it."""

    code: str
    message: str
    line: int
    column: int


@cache
def environment() -> Any:
    """cel-cpp's environment of a condition: its variables and their types."""
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
        checked = environment().compile(expression)
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
    return _unsupported(expression)


def _unsupported(expression: str) -> TypeProblem | None:
    """The first construct the evaluator cannot be trusted with, or None.

    cel-cpp builds a map literal whose keys are equal numbers of different types
    (``{0: 'a', 0u: 'b'}``, or ``{context.n: 'a', 0u: 'b'}`` with ``n`` 0) instead of
    failing on the repeated key as CEL's specification says; a uint key beside a
    computed key or an int key of the same number is refused. (An expression the reader
    does not follow has no such map: the reader knows every way to write one.)
    """
    try:
        tree = parse(expression)
    except (Unreadable, RecursionError):
        return None
    for node in _walk(tree):
        if node.kind == "map" and _mixes_uint_keys(node.args[0::2]):
            line, column = _position(expression, node.start)
            return TypeProblem(
                "cel_unsupported",
                "a map literal may not have a uint key beside a computed key or an int "
                "key of the same number (write every key as an int, or every key as a uint)",
                line,
                column,
            )
    return None


def _walk(node: Node) -> list[Node]:
    found, pending = [], [node]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.args)
        if current.target is not None:
            pending.append(current.target)
    return found


def _mixes_uint_keys(keys: tuple[Node, ...]) -> bool:
    """True when an int and a uint key may be the same number."""
    uints = {key.value[1] for key in keys if key.kind == "literal" and key.value[0] == "uint"}
    if not uints:
        return False
    for key in keys:
        if key.kind != "literal" or (key.value[0] == "int" and key.value[1] in uints):
            return True
    return False


def _position(expression: str, offset: int) -> tuple[int, int]:
    before = expression[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
