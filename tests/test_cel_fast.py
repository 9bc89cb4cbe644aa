"""The native evaluator of simple conditions gives exactly what CEL gives.

Random expressions of the subset (comparisons, ``in``, ``has()``, ``&&``, ``||``,
``!``) on random JSON contexts are evaluated natively and by cel-cpp, Google's CEL
implementation, which passes the conformance cases the native subset touches
(``tests/test_cel_conformance.py``); they must agree on true, false and error.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from charter.policy.cel import compile_condition
from charter.policy.celcheck import environment
from charter.policy.celfast import CelError, Unsupported, compile_native
from charter.policy.compiled import ConditionError, Variables

SETTINGS = settings(
    max_examples=int(os.environ.get("CEL_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class Given(Variables):
    __slots__ = ("given",)

    def __init__(self, **given: Any) -> None:
        super().__init__()
        self.given = given

    def build(self, name: str) -> Any:
        return self.given[name]


def native(expression: str, **given: Any) -> bool | str:
    evaluate = compile_native(expression)
    assert evaluate is not None, expression
    try:
        return evaluate(Given(**given).get)
    except CelError:
        return "error"


def spec(expression: str, **given: Any) -> bool | str | None:
    """cel-cpp's answer; None when it does not type-check the expression."""
    try:
        program = environment().compile(expression)
    except Exception:
        return None
    result = program.eval(data=given)
    value = result.value()
    return value if value is True or value is False else "error"


# --- the subset, written by hand -----------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "context", "expected"),
    [
        ("context.amount < 500", {"amount": 499}, True),
        ("context.amount < 500", {"amount": 500.0}, False),
        ("context.amount < 500", {"amount": "499"}, "error"),
        ("context.amount < 500", {}, "error"),
        ("context.amount < 500", {"amount": None}, "error"),
        ("context.amount < 500", {"amount": math.nan}, False),
        ("context.amount >= 500", {"amount": math.nan}, False),
        ("context.x == 1", {"x": 1.0}, True),
        ("context.x == 1", {"x": True}, False),
        ("context.x != 1", {"x": True}, True),
        ("context.x == 'a'", {"x": 1}, False),
        ("context.x == null", {"x": None}, True),
        ("context.x == null", {"x": 0}, False),
        ("context.x == [1, 'a']", {"x": [1.0, "a"]}, True),
        ("context.x == context.y", {"x": {"a": 1}, "y": {"a": 1.0}}, True),
        ("context.x == context.y", {"x": {"a": 1}, "y": {"b": 1}}, False),
        ("context.x == context.y", {"x": [], "y": {}}, False),
        ("context.x == context.x", {"x": math.nan}, False),
        ("context.x < 9223372036854775807", {"x": 9.3e18}, False),
        ("context.x < 9223372036854775807", {"x": 9223372036854775806}, True),
        ("context.x == -9223372036854775808", {"x": -(2**63)}, True),
        ("context.s < 'b'", {"s": "a\U0001f600"}, True),
        ("context.s > '\uffff'", {"s": "\U00010000"}, True),
        ("context.b < true", {"b": False}, True),
        ("context.b < 1", {"b": False}, "error"),
        ("context.x < [1]", {"x": [0]}, "error"),
        ("agent.riskTier == 'high'", None, True),
        ("context.tier in ['low', 'medium']", {"tier": "high"}, False),
        ("context.n in [1, 2.5]", {"n": 1.0}, True),
        ("context.n in [1, 2.5]", {"n": True}, False),
        ("'a' in context.tags", {"tags": ["b", "a"]}, True),
        ("'a' in context.m", {"m": {"a": 0}}, True),
        ("'a' in context.s", {"s": "abc"}, "error"),
        ("has(context.x)", {"x": None}, True),
        ("has(context.x)", {}, False),
        ("has(context.x.y)", {"x": {"y": 1}}, True),
        ("has(context.x.y)", {"x": "y"}, "error"),
        ("has(context.x.y)", {}, "error"),
        ("context['x'] == 1", {"x": 1}, True),
        ("context.x.y == 1", {"x": [1]}, "error"),
        ("!context.flag", {"flag": False}, True),
        ("!context.flag", {"flag": 0}, "error"),
        ("false && context.missing", {}, False),
        ("context.missing && false", {}, False),
        ("true && context.missing", {}, "error"),
        ("true || context.missing", {}, True),
        ("context.missing || true", {}, True),
        ("context.missing || false", {}, "error"),
        ("context.s && false", {"s": "horses"}, False),
        ("context.s && true", {"s": "horses"}, "error"),
        ("context.a || context.b", {"a": False, "b": 1}, "error"),
        ("context.x", {"x": True}, True),
        ("context.x", {"x": 1}, "error"),
        ("request.action in ['read', 'list'] && resource.id == 'db'", None, True),
    ],
)
def test_the_subset_follows_cel(expression: str, context: Any, expected: bool | str) -> None:
    given = {
        "context": context if context is not None else {},
        "agent": {"riskTier": "high"},
        "request": {"action": "read"},
        "resource": {"id": "db"},
    }
    assert native(expression, **given) == expected
    assert spec(expression, **given) in (expected, None)
    condition = compile_condition(expression)
    assert condition.native
    try:
        got: bool | str = condition.holds(Given(**given))
    except ConditionError:
        got = "error"
    assert got == expected


@pytest.mark.parametrize(
    "expression",
    [
        "context.x + 1 > 2",
        "-context.x < 0",
        "size(context.s) < 5",
        "context.x in [1u]",
        "now > timestamp('2026-01-01T00:00:00Z')",
        "context.a ? true : false",
        "context.tags.exists(t, t == 'a')",
        "context[context.k] == 1",
        "{'a': 1}.a == 1",
        "context.s.startsWith('a')",
        "x == 1",
        "context.x == b'a'",
    ],
)
def test_anything_else_is_left_to_cel_cpp(expression: str) -> None:
    assert compile_native(expression) is None


def test_values_outside_json_are_left_to_cel_cpp() -> None:
    evaluate = compile_native("context.x == 1")
    assert evaluate is not None
    unusual: list[object] = [(1,), 2**64, b"x", frozenset(), "\ud800"]
    for value in unusual:
        with pytest.raises(Unsupported):
            evaluate(Given(context={"x": value}).get)
    for expression in ("context.x != 'a'", "context.x < 'a'", "context.x in ['a']"):
        with pytest.raises(Unsupported):
            compile_native(expression)(Given(context={"x": "\ud800"}).get)  # type: ignore[misc]
        with pytest.raises(ConditionError):  # a lone surrogate is not text: fail closed
            compile_condition(expression).holds(Given(context={"x": "\ud800"}))
    # ... and the condition still answers, failing closed where cel-cpp cannot take it.
    condition = compile_condition("context.x == 1")
    with pytest.raises(ConditionError):
        condition.holds(Given(context={"x": (1,)}))
    assert condition.holds(Given(context={"x": 2**63})) is False  # a uint to cel-cpp
    with pytest.raises(ConditionError):
        condition.holds(Given(context={"x": 2**64}))  # beyond 64 bits


def test_a_nul_character_is_compared_natively_and_fails_closed_elsewhere() -> None:
    # cel-cpp cuts strings at a NUL: "admin\0x" would equal "admin".
    assert native("context.user == 'admin'", context={"user": "admin\x00x"}) is False
    assert native("context.user != 'admin'", context={"user": "admin\x00x"}) is True
    slow = compile_condition("context.user.startsWith('admin') && context.user == 'admin'")
    assert not slow.native
    with pytest.raises(ConditionError):
        slow.holds(Given(context={"user": "admin\x00x"}))


# --- random expressions, differentially ----------------------------------------------

KEYS = ["a", "b", "n"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 2, 2**53 + 1, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, 2.0**53, 9.223372036854776e18, math.inf, math.nan]),
    st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=3),
    st.sampled_from(["", "a", "b", "A", "é", "\U0001f600", "\uffff"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=6,
)
CONTEXTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3)


def _literal(value: Any) -> str | None:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, str):
        return '"' + "".join(f"\\U{ord(c):08x}" for c in value) + '"'
    if isinstance(value, list):
        items = [_literal(v) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    return None


LITERALS = SCALARS.map(_literal).filter(lambda text: text is not None) | st.lists(
    SCALARS, max_size=3
).map(_literal).filter(lambda text: text is not None)
PATHS = st.sampled_from(
    ["context.a", "context.b", "context.n", "context.a.b", "context['n']", "context.b.a"]
)
OPERANDS = st.one_of(PATHS, LITERALS)
COMPARISONS = st.builds(
    lambda left, op, right: f"{left} {op} {right}",
    OPERANDS,
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in"]),
    OPERANDS,
)
HAS = st.sampled_from(["has(context.a)", "has(context.b)", "has(context.a.b)", "has(context.n.a)"])
ATOMS = st.one_of(COMPARISONS, HAS, PATHS, st.sampled_from(["true", "false"]))
EXPRESSIONS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda e: f"!({e})", inner),
        st.builds(lambda a, b: f"({a}) && ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) || ({b})", inner, inner),
    ),
    max_leaves=4,
)


@SETTINGS
@given(EXPRESSIONS, CONTEXTS)
@example("context.a == context.b", {"a": 1, "b": 1.0})
@example("context.a < context.b", {"a": 2**63 - 1, "b": 9.223372036854776e18})
@example("(context.a) && (false)", {"a": "x"})
@example("!(context.a.b)", {"a": {"b": True}})
def test_native_evaluation_matches_cel(expression: str, context: dict[str, Any]) -> None:
    expected = spec(expression, context=context)
    assume(expected is not None)
    assert native(expression, context=context) == expected, (expression, context)
