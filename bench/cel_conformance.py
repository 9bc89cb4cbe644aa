"""Run Google's CEL conformance cases as Charter conditions.

    python -m bench.cel_conformance PATH_TO_CEL_SPEC/tests/simple/testdata [--show N] [--list]

Each case of the ``tests/simple`` text protos (an expression, optional bindings, and an
expected value or evaluation error) becomes conditions, loaded and evaluated as a
policy's ``when`` is:

- a case that expects a boolean gives ``EXPR`` (the spec's answer: that boolean) and
  ``!(EXPR)`` (its negation);
- a case that expects another value gives ``(EXPR) == LITERAL`` (true) and its negation
  (false); a NaN is expected with ``(EXPR) != (EXPR)``;
- a case that expects an error gives ``(EXPR) == (EXPR)`` and its negation, both errors.

Bindings become keys of ``context`` (``x`` is read as ``context.x``). Each case runs in
two modes: ``literal`` (as written) and ``context`` (its scalar literals — ints, doubles,
strings, booleans, null — moved into ``context``: ``-true`` becomes ``-context.v0`` with
``{"v0": true}``); the context mode is counted only when it moved something. Cases
Charter conditions cannot express (protocol buffer messages, enums, containers, uints,
bytes or timestamps as bindings, type-checking-only cases) are skipped.

A condition's outcome is ``true``, ``false``, ``error`` (``ConditionError``) or
``refused`` (the loader's checks refuse it). It **agrees** when it equals the spec's
answer, or is refused where the spec expects an error or the case is marked
``disable_check`` (the type checker may refuse what only an unchecked evaluation
accepts). It is **dangerous** when it is ``true`` where the spec says false or error:
a policy would allow where it must not.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charter.policy.cel import CelSyntaxError, compile_condition
from charter.policy.celcheck import check_types
from charter.policy.celparse import INT64_MAX, INT64_MIN, Unreadable, tokens
from charter.policy.compiled import ConditionError, Variables

# --- the text proto subset the cases are written in ---------------------------------

Message = list[tuple[str, Any]]

_TOKEN = re.compile(
    r"\s+|#[^\n]*"
    r"|(?P<string>\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*')"
    r"|(?P<ext>\[[A-Za-z0-9_./]+\])"
    r"|(?P<number>-?(?:0[xX][0-9a-fA-F]+|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)[fFuU]?)"
    r"|(?P<word>-?[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<punct>[{}<>:\[\],;])",
    re.DOTALL,
)


def _unescape(body: str) -> bytes:
    out = bytearray()
    at = 0
    raw = body.encode()
    while at < len(raw):
        byte = raw[at]
        if byte != 0x5C:
            out.append(byte)
            at += 1
            continue
        kind = chr(raw[at + 1])
        simple = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11}
        if kind in simple:
            out.append(simple[kind])
            at += 2
        elif kind in "01234567":
            digits = re.match(rb"[0-7]{1,3}", raw[at + 1 :])
            if digits is None:
                raise ValueError("bad octal escape")
            out.append(int(digits.group(), 8) & 0xFF)
            at += 1 + len(digits.group())
        elif kind in "xX":
            digits = re.match(rb"[0-9a-fA-F]{1,2}", raw[at + 2 :])
            if digits is None:
                raise ValueError("bad hex escape")
            out.append(int(digits.group(), 16))
            at += 2 + len(digits.group())
        elif kind in "uU":
            width = 4 if kind == "u" else 8
            out += chr(int(raw[at + 2 : at + 2 + width], 16)).encode("utf-8", "surrogatepass")
            at += 2 + width
        else:
            out.append(ord(kind))
            at += 2
    return bytes(out)


def read_textproto(text: str) -> Message:
    """A text proto as nested ``[(field, value)]`` lists; strings stay bytes."""
    found = [
        (m.lastgroup, m.group(m.lastgroup))
        for m in _TOKEN.finditer(text)
        if m.lastgroup is not None
    ]
    at = 0

    def message(closing: str | None) -> Message:
        nonlocal at
        fields: Message = []
        while at < len(found):
            kind, value = found[at]
            if kind == "punct" and value == closing:
                at += 1
                return fields
            if kind == "punct" and value in ",;":
                at += 1
                continue
            at += 1
            name = value[1:-1] if kind == "ext" else value
            if found[at] == ("punct", ":"):
                at += 1
            fields.append((name, scalar_or_message()))
        if closing is not None:
            raise ValueError("unterminated message")
        return fields

    def scalar_or_message() -> Any:
        nonlocal at
        kind, value = found[at]
        if kind == "punct" and value in "{<":
            at += 1
            return message("}" if value == "{" else ">")
        if kind == "punct" and value == "[":
            at += 1
            items = []
            while found[at] != ("punct", "]"):
                if found[at] == ("punct", ","):
                    at += 1
                    continue
                items.append(scalar_or_message())
            at += 1
            return items
        if kind == "string":
            parts = b""
            while at < len(found) and found[at][0] == "string":
                parts += _unescape(found[at][1][1:-1])
                at += 1
            return parts
        at += 1
        return value

    return message(None)


def _get(message: Message, name: str) -> Any:
    for key, value in message:
        if key == name:
            return value
    return None


def _all(message: Message, name: str) -> list[Any]:
    return [value for key, value in message if key == name]


# --- expected values ----------------------------------------------------------------


class Skip(Exception):
    """A case Charter conditions cannot express."""


@dataclass(frozen=True)
class Uint:
    value: int


@dataclass(frozen=True)
class Bytes:
    value: bytes


@dataclass(frozen=True)
class Literal:
    """A CEL value the runner writes as a literal."""

    text: str


def _number(text: str) -> float:
    lowered = text.lower()
    if lowered in ("inf", "infinity"):
        return math.inf
    if lowered in ("-inf", "-infinity"):
        return -math.inf
    if lowered == "nan":
        return math.nan
    return float(lowered)


def cel_value(value: Message) -> Any:
    """A ``cel.expr.Value`` as Python: JSON types as themselves, others as ``Uint``,
    ``Bytes`` or ``Literal``; raise ``Skip``."""
    if not value:
        raise Skip("empty value")
    kind, item = value[0]
    if kind == "null_value":
        return None
    if kind == "bool_value":
        return item == "true"
    if kind == "int64_value":
        return int(item, 0)
    if kind == "uint64_value":
        return Uint(int(item, 0))
    if kind == "double_value":
        return _number(item)
    if kind == "string_value":
        return item.decode("utf-8", "surrogatepass")
    if kind == "bytes_value":
        return Bytes(item)
    if kind == "list_value":
        return [cel_value(v) for v in _all(item, "values")]
    if kind == "map_value":
        entries = {}
        for entry in _all(item, "entries"):
            key = cel_value(_get(entry, "key"))
            if isinstance(key, list | dict):
                raise Skip("map key")
            entries[_hashable(key)] = cel_value(_get(entry, "value"))
        return entries
    if kind == "type_value":
        name = item.decode()
        if "." in name:
            raise Skip("message type")
        return Literal(name)
    if kind == "object_value":
        url, body = item[0]
        if url.endswith("google.protobuf.Duration"):
            seconds = int(_get(body, "seconds") or 0)
            nanos = int(_get(body, "nanos") or 0)
            return Literal(f'duration("{seconds * 10**9 + nanos}ns")')
        if url.endswith("google.protobuf.Timestamp"):
            seconds = int(_get(body, "seconds") or 0)
            nanos = int(_get(body, "nanos") or 0)
            return Literal(f'timestamp({seconds}) + duration("{nanos}ns")')
        raise Skip("message value")
    raise Skip(kind)


def _hashable(key: Any) -> Any:
    return key


def literal(value: Any) -> str:
    """``value`` written as a CEL literal."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "(1.0/0.0)" if value > 0 else "(-1.0/0.0)"
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, str):
        return '"' + "".join(_char(c) for c in value) + '"'
    if isinstance(value, Uint):
        return f"{value.value}u"
    if isinstance(value, Bytes):
        return 'b"' + "".join(f"\\x{b:02x}" for b in value.value) + '"'
    if isinstance(value, Literal):
        return value.text
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise Skip(type(value).__name__)


def _char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if " " <= char <= "~":
        return char
    return f"\\U{ord(char):08x}"


def _contains_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list):
        return any(_contains_nan(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_nan(v) for v in value.values())
    return False


def _json(value: Any) -> bool:
    """True when ``value`` can travel in a request's ``context`` (JSON, 64-bit ints)."""
    if value is None or isinstance(value, bool | str | float):
        return True
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, list):
        return all(_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json(v) for k, v in value.items())
    return False


# --- cases and conditions -----------------------------------------------------------

_MESSAGES = re.compile(
    r"\b(TestAllTypes|NestedTestAllTypes|google\.protobuf|cel\.expr|proto[23]\b)"
)


@dataclass(frozen=True)
class Condition:
    """One condition a case gives, and the spec's answer for it."""

    file: str
    case: str
    mode: str
    expression: str
    context: dict[str, Any]
    expected: str
    """``true``, ``false`` or ``error``."""
    lenient: bool = False
    """The case is ``disable_check``: a refusal at load agrees."""


@dataclass
class Tally:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    disagreements: list[tuple[Condition, str]] = field(default_factory=list)


EXTENSIONS = re.compile(r".*_ext|optionals|macros2|unknowns|proto2|proto3|wrappers|enums")
"""Files of CEL's optional extensions (not in Charter's conditions) and of protocol
buffer messages (which conditions never see): skipped unless asked for."""


def cases(directory: Path, *, everything: bool = False) -> Iterator[tuple[str, str, Message]]:
    for path in sorted(directory.glob("*.textproto")):
        if not everything and EXTENSIONS.fullmatch(path.stem):
            continue
        document = read_textproto(path.read_text())
        for section in _all(document, "section"):
            section_name = (_get(section, "name") or b"").decode()
            for test in _all(section, "test"):
                name = (_get(test, "name") or b"").decode()
                yield path.stem, f"{section_name}/{name}", test


def conditions(file: str, case: str, test: Message) -> list[Condition]:
    """The conditions one case gives (raise ``Skip``)."""
    expression = _get(test, "expr").decode()
    if _get(test, "check_only") == "true" or _get(test, "unknown") is not None:
        raise Skip("check only or unknowns")
    if _get(test, "typed_result") is not None:
        raise Skip("typed result")
    if _MESSAGES.search(expression):
        raise Skip("messages")
    if _get(test, "container") is not None and re.search(r"\b[A-Z]", expression):
        raise Skip("container")
    lenient = _get(test, "disable_check") == "true"
    context: dict[str, Any] = {}
    for binding in _all(test, "bindings"):
        key = _get(binding, "key").decode()
        value = cel_value(_get(_get(binding, "value"), "value"))
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or not _json(value):
            raise Skip("binding")
        context[key] = value
    if context:
        expression = _bind(expression, set(context))
    if _get(test, "eval_error") is not None or _get(test, "any_eval_errors") is not None:
        pair = [(f"({expression}) == ({expression})", "error")]
    else:
        value_message = _get(test, "value")
        if value_message is None:
            raise Skip("no expected value")
        expected = cel_value(value_message)
        if expected is True or expected is False:
            pair = [(expression, "true" if expected else "false")]
        elif _contains_nan(expected):
            if not isinstance(expected, float):
                raise Skip("NaN inside a value")
            pair = [(f"({expression}) != ({expression})", "true")]
        else:
            pair = [(f"({expression}) == {literal(expected)}", "true")]
    made = []
    for text, answer in pair:
        negated = {"true": "false", "false": "true", "error": "error"}[answer]
        made.append(Condition(file, case, "literal", text, context, answer, lenient))
        made.append(Condition(file, case, "literal", f"!({text})", context, negated, lenient))
        moved = _move_literals(expression)
        if moved is not None:
            moved_text, values = moved
            new_text = text.replace(expression, moved_text)
            both = {**context, **values}
            made.append(Condition(file, case, "context", new_text, both, answer, lenient))
            made.append(Condition(file, case, "context", f"!({new_text})", both, negated, lenient))
    return made


def _bind(expression: str, names: set[str]) -> str:
    """``expression`` with each binding's name read from ``context``."""
    try:
        found = tokens(expression)
    except Unreadable as error:
        raise Skip("unreadable") from error
    out = []
    last = 0
    for before, token in zip([None, *found], found, strict=False):
        if token.kind == "name" and token.value in names:
            if before is not None and before.kind == "op" and before.value == ".":
                continue
            out.append(expression[last : token.start])
            out.append(f"context.{token.value}")
            last = token.end
    out.append(expression[last:])
    return "".join(out)


def _move_literals(expression: str) -> tuple[str, dict[str, Any]] | None:
    """``expression`` with its scalar literals read from ``context``, or None."""
    try:
        found = tokens(expression)
    except Unreadable:
        return None
    values: dict[str, Any] = {}
    out = []
    last = 0
    for token in found:
        if token.kind not in ("int", "double", "string", "bool", "null"):
            continue
        if token.kind == "int" and token.value > INT64_MAX:
            continue
        name = f"v{len(values)}"
        values[name] = token.value
        out.append(expression[last : token.start])
        out.append(f"context.{name}")
        last = token.end
    if not values:
        return None
    out.append(expression[last:])
    return "".join(out), values


# --- evaluation ---------------------------------------------------------------------


class _Given(Variables):
    __slots__ = ("given",)

    def __init__(self, given: dict[str, Any]) -> None:
        super().__init__()
        self.given = given

    def build(self, name: str) -> Any:
        return self.given[name]


def outcome(condition: Condition, *, load_checks: bool = True) -> str:
    """What Charter makes of the condition: ``true``, ``false``, ``error`` or ``refused``.
    Without ``load_checks``, only a syntax error refuses (the run time alone is judged)."""
    try:
        compiled = compile_condition(condition.expression)
    except CelSyntaxError:
        return "refused"
    if load_checks and check_types(condition.expression) is not None:
        return "refused"
    variables = _Given(
        {"context": condition.context, "agent": {}, "resource": {}, "request": {}, "now": None}
    )
    try:
        return "true" if compiled.holds(variables) else "false"
    except ConditionError:
        return "error"


def judge(condition: Condition, got: str) -> str:
    """``agree``, ``dangerous`` or ``disagree``."""
    if got == condition.expected:
        return "agree"
    if got == "refused":
        return "agree" if condition.expected == "error" or condition.lenient else "refused"
    if got == "true":
        return "dangerous"
    return "disagree"


def run(
    directory: Path, *, everything: bool = False, load_checks: bool = True
) -> tuple[Tally, Counter[str]]:
    tally = Tally()
    skipped: Counter[str] = Counter()
    for file, case, test in cases(directory, everything=everything):
        try:
            made = conditions(file, case, test)
        except Skip as why:
            skipped[str(why)] += 1
            continue
        for condition in made:
            got = outcome(condition, load_checks=load_checks)
            verdict = judge(condition, got)
            tally.outcomes[(verdict, condition.mode)] += 1
            if verdict != "agree":
                tally.disagreements.append((condition, got))
    return tally, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("testdata", type=Path, help="cel-spec's tests/simple/testdata")
    parser.add_argument("--list", action="store_true", help="list every disagreement")
    parser.add_argument("--all", action="store_true", help="include the extensions' files")
    parser.add_argument(
        "--no-load-checks",
        action="store_true",
        help="skip the loader's type checks: judge what evaluation alone gives",
    )
    arguments = parser.parse_args(argv)
    tally, skipped = run(
        arguments.testdata, everything=arguments.all, load_checks=not arguments.no_load_checks
    )
    total = sum(tally.outcomes.values())
    print(f"conditions evaluated: {total}  (cases skipped: {sum(skipped.values())})")
    for mode in ("literal", "context"):
        counts = {
            v: tally.outcomes[(v, mode)] for v in ("agree", "disagree", "refused", "dangerous")
        }
        print(f"  {mode:8} " + "  ".join(f"{k} {n}" for k, n in counts.items()))
    dangerous = [d for d in tally.disagreements if d[1] == "true"]
    print(f"disagreements: {len(tally.disagreements)}  dangerous: {len(dangerous)}")
    shown = tally.disagreements if arguments.list else dangerous
    for condition, got in shown:
        print(
            f"  [{condition.mode}] {condition.file}:{condition.case}: {condition.expression}"
            f"  context={condition.context!r}  spec={condition.expected} got={got}"
        )
    return 1 if dangerous else 0


if __name__ == "__main__":
    sys.exit(main())
