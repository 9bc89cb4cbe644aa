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

__all__ = ["TypeProblem", "check_types", "environment", "unsupported"]

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
    return unsupported(expression)


def unsupported(expression: str) -> TypeProblem | None:
    """The first construct the evaluator cannot be trusted with, or None.

    cel-cpp builds a map literal whose keys are equal numbers of different types
    (``{0: 'a', 0u: 'b'}``, or ``{context.n: 'a', 0u: 'b'}`` with ``n`` 0) instead of
    failing on the repeated key as CEL's specification says: a map whose keys may be
    such a pair is refused. (An expression the reader
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
                "a map literal may not have keys that could be the same number as an int "
                "and as a uint (a uint key beside an int key of the same number or a "
                "computed key, or a computed key such as uint(x) beside another int or "
                "computed key)",
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
    """True when two keys may be the same number as an int and as a uint.

    A key read from a variable (``context.k``) is an int, or a uint only beyond the
    int range: it can meet a uint key, never an int one. Any other computed key
    (``uint(context.k)``, ``context.k + 1``) may be either.
    """
    uints = {key.value[1] for key in keys if key.kind == "literal" and key.value[0] == "uint"}
    ints = {key.value[1] for key in keys if key.kind == "literal" and key.value[0] == "int"}
    read = sum(1 for key in keys if _is_read(key))
    computed = sum(1 for key in keys if key.kind != "literal" and not _is_read(key))
    if uints & ints or (uints and (read or computed)):
        return True
    return computed > 0 and (computed + read + len(ints)) > 1


def _is_read(node: Node) -> bool:
    """``agent.x.y``, ``context['k']``: a value read from a variable."""
    while node.kind == "select" or (
        node.kind == "call"
        and node.value == "_[_]"
        and node.args[1].kind == "literal"
        and node.args[1].value[0] == "string"
    ):
        node = node.args[0]
    return node.kind == "name" and node.value in ("agent", "resource", "request", "context")


def _position(expression: str, offset: int) -> tuple[int, int]:
    before = expression[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
