"""CEL conditions, compiled once at load.

A condition of the simple subset ``charter.policy.celfast`` covers (comparisons of
request values with constants, ``in``, ``has()``, ``&&``, ``||``, ``!``) is evaluated
natively in Python; any other, and any whose values the native evaluator leaves aside,
is evaluated by Google's cel-cpp (``cel-expr-python``), which follows CEL's
specification where the Rust-backed ``cel`` package does not (``size()`` of a string
counts code points, ``bool()``, ``timestamp(int)``, arithmetic that overflows is an
error, ``-x`` on a boolean is an error, maps with keys of several numeric types). The
``cel`` package still parses each expression first, for its positioned syntax errors.

The loader checks types separately (``charter.policy.celcheck``). What only data can
reveal (a string where the policy expects a number, a missing key read without
``has()``) surfaces at run time as a ``ConditionError``, which the evaluator turns into
a fail-closed result.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import cel

from charter.policy.celcheck import environment, unsupported
from charter.policy.celfast import CelError, Native, Unsupported, compile_native
from charter.policy.compiled import ConditionError, Shape, Variables

__all__ = [
    "OUTCOMES_LIMIT",
    "VARIABLES",
    "CelCondition",
    "CelSyntaxError",
    "compile_condition",
    "reads_of",
]

VARIABLES = frozenset({"agent", "resource", "request", "context", "now"})
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")


class CelSyntaxError(ValueError):
    """An expression that does not compile."""

    def __init__(self, message: str, *, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


OUTCOMES_LIMIT = 512
"""Outcomes one condition remembers; past that it forgets them all and starts again.
With keys of at most ``frozen.BUDGET`` that is about half a megabyte a condition at worst."""


@dataclass(frozen=True, slots=True)
class CelCondition:
    """A compiled CEL expression that must evaluate to a boolean.

    A simple expression (``charter.policy.celfast``) is evaluated natively each time.
    Any other remembers what it gave for the values it read (true, false or an error),
    keyed by those values frozen exactly (``charter.policy.frozen``), so a request that
    repeats them skips the conversion into CEL, which costs several times the
    evaluation. Expressions that read ``now`` are not remembered: it differs each time.
    """

    expression: str
    _program: Any = field(repr=False, compare=False)
    """The cel-cpp program, or None when there is none to trust (``_problem`` says why)."""
    _reads: Shape = field(repr=False, compare=False, default=())
    _outcomes: dict[Hashable, bool | str] | None = field(repr=False, compare=False, default=None)
    _native: Native | None = field(repr=False, compare=False, default=None)
    _problem: str = field(repr=False, compare=False, default="")

    @property
    def native(self) -> bool:
        """True when the expression is of the subset evaluated natively."""
        return self._native is not None

    def _data(self, variables: Variables) -> Any:
        parts = variables.parts(self._reads)
        # ``repr`` shows, cheaply, whether the values may need a closer look: a NUL
        # character is written \x00, a datetime or timedelta with its module's name.
        # (A value whose ``repr`` hides either is of a type cel-cpp refuses anyway.)
        text = repr(parts)
        if "\\x00" in text or "datetime." in text:
            return _prepared(parts)
        return parts

    def holds(self, variables: Variables) -> bool:
        """Evaluate; any error or a non-boolean result raises ``ConditionError``."""
        native = self._native
        if native is not None:
            try:
                return native(variables.get)
            except CelError as error:
                raise ConditionError(str(error)) from None
            except Unsupported:
                pass  # a value outside JSON's types: the full engine decides
        outcomes = self._outcomes
        key = None if outcomes is None else variables.frozen(self._reads)
        if outcomes is None or key is None:
            outcome = self._evaluate(variables)
        else:
            found = outcomes.get(key)
            if found is None:
                found = self._evaluate(variables)
                if len(outcomes) >= OUTCOMES_LIMIT:
                    outcomes.clear()
                outcomes[key] = found
            outcome = found
        if outcome is True or outcome is False:
            return outcome
        raise ConditionError(outcome)

    def _evaluate(self, variables: Variables) -> bool | str:
        """The boolean the expression gives, or the error it meets."""
        if self._program is None:
            return self._problem
        try:
            # Convert only the variables this expression reads: most read one or two.
            data = variables.prepared(self._reads, self._data)
            if data is None:
                return "a string or bytes value with a NUL character cannot be evaluated"
            result = self._program.eval(data=data)
            value = result.value()
            if value is True or value is False:
                return value
            kind = result.type().name()
        except Exception as error:
            # A value cel-cpp cannot take (a tuple, a lone surrogate, ...) must fail closed.
            return _first_line(str(error))
        if kind == "ERROR":
            return _first_line(str(result))
        return f"evaluated to {kind.lower()}, not a boolean"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "evaluation failed"


class _Nul(Exception):
    """A string or bytes value with a NUL character."""


def _prepared(value: Any) -> Any:
    """``value`` as cel-cpp takes it, or None when it holds a NUL character.

    cel-cpp cuts a string (or bytes) at its first NUL, so ``"admin\\x00x"`` would compare as
    "admin": such a value is not handed over at all. It takes a timestamp or a duration
    inside a map only as protocol buffer messages: datetimes and timedeltas become them.
    """
    try:
        return _converted(value)
    except _Nul:
        return None


def _converted(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {_converted(key): _converted(item) for key, item in value.items()}
    if kind is list:
        return [_converted(item) for item in value]
    if isinstance(value, str):
        if "\x00" in value:
            raise _Nul
        return value
    if isinstance(value, bytes | bytearray):
        if b"\x00" in value:
            raise _Nul
        return value
    if isinstance(value, datetime | timedelta):
        return _message(value)
    return value


def _message(value: datetime | timedelta) -> Any:
    """A datetime as a ``google.protobuf.Timestamp``, a timedelta as a ``Duration``
    (naive datetimes are UTC); outside their ranges, the value as it is (refused)."""
    try:
        # Imported on first need: contexts with datetimes come from embedded callers only.
        from google.protobuf import duration_pb2, timestamp_pb2  # type: ignore[import-untyped]

        if isinstance(value, datetime):
            stamp = timestamp_pb2.Timestamp()
            stamp.FromDatetime(value)
            return stamp
        span = duration_pb2.Duration()
        span.FromTimedelta(value)
        return span
    except (ImportError, ValueError, OverflowError):
        return value


def compile_condition(expression: str, *, native: bool = True) -> CelCondition:
    """Compile ``expression``, or raise ``CelSyntaxError`` with its position.

    With ``native`` (the default), an expression of ``charter.policy.celfast``'s subset
    is evaluated natively; without, always by cel-cpp (tests compare the two)."""
    try:
        program = cel.compile(expression)
    except ValueError as error:
        found = _POSITION.search(str(error))
        if found:
            raise CelSyntaxError(
                found.group(3), line=int(found.group(1)), column=int(found.group(2))
            ) from None
        raise CelSyntaxError(_first_line(str(error))) from None
    reads = reads_of(expression, frozenset(program.variables()) & VARIABLES)
    # An expression reading `now` sees a new value every time: nothing to remember.
    remembered: dict[Hashable, bool | str] | None = (
        None if any(name == "now" for name, _ in reads) else {}
    )
    fast = compile_native(expression) if native else None
    checked, problem = _cel_cpp(expression)
    return CelCondition(expression, checked, reads, remembered, fast, problem)


def _cel_cpp(expression: str) -> tuple[Any, str]:
    """cel-cpp's program for ``expression``, or None and why not.

    The loader refuses an expression that does not type-check or that ``celcheck``
    finds unsupported. Compiled without the loader, the first is evaluated unchecked
    (as CEL's conformance suite evaluates such cases) and the second always fails.
    """
    problem = unsupported(expression)
    if problem is not None:
        return None, problem.message
    try:
        return environment().compile(expression), ""
    except Exception:  # noqa: S110 - a type error: evaluate unchecked below
        pass
    try:
        return environment().compile(expression, disable_check=True), ""
    except Exception as error:
        return None, _first_line(str(error))


_NAME = re.compile(r"\b(agent|resource|request|context)\b")
_FIELD = re.compile(r"\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")


def reads_of(expression: str, names: frozenset[str]) -> Shape:
    """Which of ``names`` the expression reads, and which keys of each map.

    A map variable read only as ``name.key`` (``has(name.key)`` included) needs only
    those keys: converting a map into CEL costs about 2 µs a string, so a condition
    on ``agent.riskTier`` should not pay for the agent's id, owner and labels. The
    scan is of the raw text and errs one way only: a use it does not recognise (the
    bare name, ``name[...]``, ``name.?key``, ``name.all(...)``, a name it cannot find)
    keeps the whole variable, and text inside a string literal can only add keys.
    """
    keys: dict[str, set[str] | None] = {name: set() for name in names if name != "now"}
    seen: set[str] = set()
    for found in _NAME.finditer(expression):
        name = found.group(1)
        if name not in keys:
            continue
        seen.add(name)
        selected = _FIELD.match(expression, found.end())
        wanted = keys[name]
        if selected is None:
            keys[name] = None
        elif wanted is not None:
            wanted.add(selected.group(1))
    shape = [
        (name, None if wanted is None or name not in seen else tuple(sorted(wanted)))
        for name, wanted in keys.items()
    ]
    if "now" in names:
        shape.append(("now", None))
    return tuple(sorted(shape))
