"""CEL conditions, compiled once at load with the Rust-backed ``cel`` package.

The package parses but does not type-check; the loader checks types separately
(``charter.policy.celcheck``). What only data can reveal (a string where the policy
expects a number, a missing key read without ``has()``) surfaces at run time as a
``ConditionError``, which the evaluator turns into a fail-closed result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import cel

from charter.policy.compiled import ConditionError, Variables

__all__ = ["VARIABLES", "CelCondition", "CelSyntaxError", "compile_condition"]

VARIABLES = frozenset({"agent", "resource", "request", "context", "now"})
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")


class CelSyntaxError(ValueError):
    """An expression that does not compile."""

    def __init__(self, message: str, *, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


@dataclass(frozen=True, slots=True)
class CelCondition:
    """A compiled CEL expression that must evaluate to a boolean."""

    expression: str
    _program: Any = field(repr=False, compare=False)
    _reads: frozenset[str] = field(repr=False, compare=False, default=frozenset())

    def _context(self, variables: Variables) -> Any:
        return cel.Context(variables.values(self._reads))

    def holds(self, variables: Variables) -> bool:
        """Evaluate; any error or a non-boolean result raises ``ConditionError``."""
        try:
            # Convert only the variables this expression reads: most read one or two.
            context = variables.prepared(self._reads, self._context)
            result = self._program.execute(context)
        except Exception as error:
            # The runtime raises many types (ZeroDivisionError for ``1 / 0``, IndexError for
            # ``[1][5]``, ...): any of them is an evaluation error, and must fail closed.
            raise ConditionError(_first_line(str(error))) from None
        if not isinstance(result, bool):
            raise ConditionError(f"evaluated to {type(result).__name__}, not a boolean")
        return result


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "evaluation failed"


def compile_condition(expression: str) -> CelCondition:
    """Compile ``expression``, or raise ``CelSyntaxError`` with its position."""
    try:
        program = cel.compile(expression)
    except ValueError as error:
        found = _POSITION.search(str(error))
        if found:
            raise CelSyntaxError(
                found.group(3), line=int(found.group(1)), column=int(found.group(2))
            ) from None
        raise CelSyntaxError(_first_line(str(error))) from None
    reads = frozenset(program.variables()) & VARIABLES
    return CelCondition(expression, program, reads)
