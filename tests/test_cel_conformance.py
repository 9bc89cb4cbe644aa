"""Conditions give CEL's answer, or are refused at load; they never allow where CEL
says false or error.

Each class of case where the Rust-backed ``cel`` package used to disagree with CEL's
conformance suite (``cel-spec/tests/simple``) is written here twice: with literal
operands, and with the operands read from ``context`` (as a request would send them).
The expected answers are the spec's. ``bench/cel_conformance.py`` runs the suite itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bench.cel_conformance import conditions, judge, outcome, read_textproto, run

from charter.policy.cel import CelSyntaxError, compile_condition
from charter.policy.celcheck import check_types
from charter.policy.compiled import ConditionError, Variables


class Given(Variables):
    __slots__ = ("given",)

    def __init__(self, **given: Any) -> None:
        super().__init__()
        self.given = given

    def build(self, name: str) -> Any:
        return self.given[name]


def decide(expression: str, context: dict[str, Any] | None = None) -> str:
    """What a policy makes of ``expression`` as a ``when``: ``true``, ``false``,
    ``error`` (fails closed) or ``refused`` (the loader refuses the policy)."""
    try:
        condition = compile_condition(expression)
    except CelSyntaxError:
        return "refused"
    if check_types(expression) is not None:
        return "refused"
    try:
        holds = condition.holds(Given(context=context or {}, agent={}, request={}, resource={}))
    except ConditionError:
        return "error"
    return "true" if holds else "false"


# (literal form, context form, context, the spec's answer)
CLASSES: dict[str, list[tuple[str, str, dict[str, Any], str]]] = {
    "unary minus of a boolean": [
        ("-true < 0", "-context.a < 0", {"a": True}, "error"),
        ("!(-false == 0)", "!(-context.a == 0)", {"a": False}, "error"),
    ],
    "int overflow": [
        (
            "-(-9223372036854775808) > 0",
            "-(context.n) > 0",
            {"n": -(2**63)},
            "error",
        ),
        ("9223372036854775807 + 1 > 0", "context.n + 1 > 0", {"n": 2**63 - 1}, "error"),
        ("!(9223372036854775807 * 2 == 0)", "!(context.n * 2 == 0)", {"n": 2**63 - 1}, "error"),
    ],
    "size of a string counts code points": [
        ("size('πέντε') == 5", "size(context.s) == 5", {"s": "πέντε"}, "true"),
        ("!(size('ÿ') == 1)", "!(size(context.s) == 1)", {"s": "ÿ"}, "false"),
    ],
    "bool() of a string": [
        ("bool('t')", "bool(context.s)", {"s": "t"}, "true"),
        ("!bool('TRUE')", "!bool(context.s)", {"s": "TRUE"}, "false"),
        ("bool('0')", "bool(context.s)", {"s": "0"}, "false"),
        ("bool('yes')", "bool(context.s)", {"s": "yes"}, "error"),
        ("bool(true)", "bool(context.b)", {"b": True}, "true"),
    ],
    "timestamps from and to ints": [
        (
            "timestamp(1234567890) == timestamp('2009-02-13T23:31:30Z')",
            "timestamp(context.n) == timestamp('2009-02-13T23:31:30Z')",
            {"n": 1234567890},
            "true",
        ),
        (
            "!(int(timestamp('2009-02-13T23:31:30Z')) == 1234567890)",
            "!(int(timestamp(context.t)) == 1234567890)",
            {"t": "2009-02-13T23:31:30Z"},
            "false",
        ),
    ],
    "timestamps and durations as strings": [
        (
            "!(string(timestamp('2009-02-13T23:31:30Z')) == '2009-02-13T23:31:30Z')",
            "!(string(timestamp(context.t)) == '2009-02-13T23:31:30Z')",
            {"t": "2009-02-13T23:31:30Z"},
            "false",
        ),
        (
            "!(string(duration('1000000s')) == '1000000s')",
            "!(string(duration(context.d)) == '1000000s')",
            {"d": "1000000s"},
            "false",
        ),
    ],
    "a duration plus a timestamp": [
        (
            "duration('120s') + timestamp('2009-02-13T23:01:00Z') == "
            "timestamp('2009-02-13T23:03:00Z')",
            "duration(context.d) + timestamp(context.t) == timestamp('2009-02-13T23:03:00Z')",
            {"d": "120s", "t": "2009-02-13T23:01:00Z"},
            "true",
        ),
    ],
    "timestamps and durations out of range": [
        (
            "timestamp('0000-01-01T00:00:00Z') < timestamp('2000-01-01T00:00:00Z')",
            "timestamp(context.t) < timestamp('2000-01-01T00:00:00Z')",
            {"t": "0000-01-01T00:00:00Z"},
            "error",
        ),
        (
            "!(duration('320000000000s') > duration('0s'))",
            "!(duration(context.d) > duration('0s'))",
            {"d": "320000000000s"},
            "error",
        ),
        (
            "!(duration('200000000000s') + duration('200000000000s') > duration('0s'))",
            "!(duration(context.d) + duration(context.d) > duration('0s'))",
            {"d": "200000000000s"},
            "error",
        ),
    ],
    "maps with keys of several numeric types": [
        ("{1: 'a', 2u: 'b'}[2] == 'b'", "{1: 'a', 2u: 'b'}[context.k] == 'b'", {"k": 2}, "true"),
        (
            "!({1: 1.0, 2u: 3u} == {1u: 1, 2: 3.0})",
            "!({1: context.x, 2u: 3u} == {1u: 1, 2: context.y})",
            {"x": 1.0, "y": 3.0},
            "false",
        ),
        ("3.0 in {1: 1, 3u: 3}", "context.d in {1: 1, 3u: 3}", {"d": 3.0}, "true"),
        ("!(3.1 in {1: 1, 3u: 3})", "!(context.d in {1: 1, 3u: 3})", {"d": 3.1}, "true"),
    ],
    "a repeated map key": [
        (
            "!({0: 'a', 0u: 'b'}[0] == 'a')",
            "!({0: 'a', 0u: 'b'}[context.k] == 'a')",
            {"k": 0},
            "refused",
        ),
        (
            "!({true: 1, true: 2}[true] == 1)",
            "!({context.k: 1, true: 2}[true] == 1)",
            {"k": True},
            "error",
        ),
    ],
    "all() and exists() absorb an error": [
        (
            "[1, 2, 3].all(e, 6 / (2 - e) == 6)",
            "context.xs.all(e, 6 / (2 - e) == 6)",
            {"xs": [1, 2, 3]},
            "false",
        ),
        (
            "!([1, 2, 3].all(e, 6 / (2 - e) == 6))",
            "!(context.xs.all(e, 6 / (2 - e) == 6))",
            {"xs": [1, 2, 3]},
            "true",
        ),
        (
            "[2].all(e, 6 / (2 - e) == 6)",
            "context.xs.all(e, 6 / (2 - e) == 6)",
            {"xs": [2]},
            "error",
        ),
        (
            "[2, 1].exists(e, 6 / (2 - e) == 6)",
            "context.xs.exists(e, 6 / (2 - e) == 6)",
            {"xs": [2, 1]},
            "true",
        ),
    ],
    "a list index that is a double": [
        ("[7, 8, 9][dyn(0.0)] == 7", "[7, 8, 9][dyn(context.i)] == 7", {"i": 0.0}, "true"),
        ("[7, 8, 9][dyn(0.5)] == 7", "[7, 8, 9][dyn(context.i)] == 7", {"i": 0.5}, "error"),
    ],
    "a timestamp compared with null": [
        (
            "dyn(timestamp(0)) == null",
            "dyn(timestamp(context.n)) == context.z",
            {"n": 0, "z": None},
            "false",
        ),
    ],
    "numbers of different types": [
        ("dyn(1) == 1.0", "context.x == 1", {"x": 1.0}, "true"),
        ("!(dyn(true) == 1)", "!(context.x == 1)", {"x": True}, "true"),
        (
            "dyn(9223372036854775807) < 9223372036854775808.0",
            "context.x < 9223372036854775808.0",
            {"x": 2**63 - 1},
            "false",
        ),
    ],
}


@pytest.mark.parametrize(
    ("literal", "in_context", "context", "expected"),
    [
        pytest.param(*case, id=f"{name}-{index}")
        for name, cases in CLASSES.items()
        for index, case in enumerate(cases)
    ],
)
def test_each_class_follows_the_spec(
    literal: str, in_context: str, context: dict[str, Any], expected: str
) -> None:
    got = decide(in_context, context)
    assert got == expected
    literal_got = decide(literal)
    if expected == "error":
        # The type checker may refuse what would fail at run time: both never allow.
        assert literal_got in ("error", "refused")
    else:
        assert literal_got == expected


def test_a_string_with_a_nul_character_never_passes_for_another() -> None:
    # cel-cpp cuts a string it is handed at its first NUL: "admin\0x" would be "admin".
    assert decide("context.u == 'admin'", {"u": "admin\x00x"}) == "false"  # natively
    assert decide("context.u != 'admin'", {"u": "admin\x00x"}) == "true"
    both = "context.u.startsWith('admin') && context.u == 'admin'"
    assert decide(both, {"u": "admin\x00x"}) == "error"  # not native: fails closed
    assert decide(both, {"u": "admin"}) == "true"
    assert decide("'admin\\x00x'.startsWith('admin') && 'admin\\x00x' == 'admin'") == "false"


def test_bytes_with_a_nul_character_fail_closed_too() -> None:
    # Only embedded callers can send bytes; cel-cpp would cut them at the NUL as well.
    assert decide('context.b == b"a"', {"b": b"a\x00b"}) == "error"
    assert decide('context.b == b"a\\x00b"', {"b": b"a\x00b"}) == "error"
    assert decide('context.b == b"ab"', {"b": b"ab"}) == "true"


def test_datetimes_and_timedeltas_from_embedded_callers_are_timestamps_and_durations() -> None:
    stamp = datetime(2021, 1, 1, 12, tzinfo=UTC)
    assert decide("context.t > timestamp('2021-01-01T11:59:59Z')", {"t": stamp}) == "true"
    assert decide("string(context.t) == '2021-01-01T12:00:00Z'", {"t": stamp}) == "true"
    naive = datetime(2021, 1, 1, 12)  # taken as UTC
    assert decide("context.t == timestamp('2021-01-01T12:00:00Z')", {"t": naive}) == "true"
    assert decide("context.d == duration('90s')", {"d": timedelta(seconds=90)}) == "true"
    assert decide("context.d + context.d > duration('179s')", {"d": timedelta(seconds=90)}) == (
        "true"
    )
    assert decide("[context.t][0] < context.t + context.d", {"t": stamp, "d": timedelta(1)}) == (
        "true"
    )


def test_a_refused_map_names_the_construct() -> None:
    problem = check_types("{context.k: 'a', 0u: 'b'}[0u] == 'b'")
    assert problem is not None
    assert problem.code == "cel_unsupported"
    assert "uint key" in problem.message
    assert (problem.line, problem.column) == (1, 1)
    assert check_types("{1: 'a', 2u: 'b'}[2] == 'b'") is None
    assert check_types("{context.k: 'a', 2: 'b'}[2] == 'b'") is None
    # A key read from a variable is a uint only beyond the int range; a computed one may
    # be a uint anywhere.
    assert check_types("{context.k: 'a', context.j: 'b'}[2] == 'b'") is None
    for expression in (
        "{uint(context.k): 'a', 0: 'b'}[0] == 'b'",
        "{uint(context.k): 'a', context.j: 'b'}[0] == 'b'",
        "has({'x': {0: 1, 0u: 2}}.x)",
    ):
        refused = check_types(expression)
        assert refused is not None
        assert refused.code == "cel_unsupported"


def test_without_the_loader_an_unsupported_map_fails_closed() -> None:
    condition = compile_condition("!({0: 'a', 0u: 'b'}[0] == 'a')")
    with pytest.raises(ConditionError):
        condition.holds(Given(context={}))
    with pytest.raises(ConditionError):
        compile_condition("!({context.k: 'a', 0u: 'b'}[0] == 'a')").holds(Given(context={"k": 0}))


def test_without_the_loader_an_ill_typed_condition_is_evaluated_unchecked() -> None:
    # As the conformance suite's disable_check cases are: the loader refuses these.
    assert compile_condition("'horses' && false").holds(Given(context={})) is False
    with pytest.raises(ConditionError):
        compile_condition("'horses' && true").holds(Given(context={}))
    assert compile_condition("(true ? 'cows' : 17) == 'cows'").holds(Given()) is True


SAMPLE = r"""
name: "sample"
section {
  name: "s"
  test { name: "bool" expr: "-x < 0" bindings { key: "x" value { value { int64_value: 3 } } }
         value: { bool_value: true } }
  test { name: "value" expr: "'a' + 'b'" value: { string_value: "ab" } }
  test { name: "err" expr: "1 / 0 > 2" eval_error: { errors: { message: "division by zero" } } }
  test { name: "map" expr: "{'k': [1u, 2.5]}" value: { map_value {
         entries { key { string_value: "k" } value { list_value {
           values { uint64_value: 1 } values { double_value: 2.5 } } } } } } }
  test { name: "proto" expr: "TestAllTypes{}" value: { bool_value: true } }
}
"""


def test_the_runner_turns_cases_into_conditions(tmp_path: Path) -> None:
    document = read_textproto(SAMPLE)
    tests = [test for _, test in document[1][1] if _ == "test"]
    made = conditions("sample", "s/bool", tests[0])
    assert [(c.mode, c.expression, c.expected) for c in made] == [
        ("literal", "-context.x < 0", "true"),
        ("literal", "!(-context.x < 0)", "false"),
        ("context", "-context.x < context.v0", "true"),
        ("context", "!(-context.x < context.v0)", "false"),
    ]
    assert made[2].context == {"x": 3, "v0": 0}
    value = conditions("sample", "s/value", tests[1])
    assert value[0].expression == "('a' + 'b') == \"ab\""
    assert value[2].context == {"v0": "a", "v1": "b"}
    error = conditions("sample", "s/err", tests[2])
    assert {c.expected for c in error} == {"error"}
    assert conditions("sample", "s/map", tests[3])[0].expression == (
        "({'k': [1u, 2.5]}) == {\"k\": [1u, 2.5]}"
    )
    for condition in (*made, *value, *error):
        assert judge(condition, outcome(condition)) == "agree"
    (tmp_path / "sample.textproto").write_text(SAMPLE)
    tally, skipped = run(tmp_path)
    assert skipped == {"messages": 1}
    assert tally.disagreements == []
    assert sum(tally.outcomes.values()) == 4 + 4 + 4 + 4


def test_the_runner_counts_an_allow_the_spec_forbids_as_dangerous() -> None:
    (condition,) = [
        c
        for c in conditions(
            "x",
            "x",
            read_textproto('expr: "1 == 2" value: { bool_value: false }'),
        )
        if c.mode == "literal" and c.expression.startswith("!")
    ]
    assert condition.expected == "true"
    wrong = type(condition)(**{**condition.__dict__, "expected": "false"})
    assert judge(wrong, "true") == "dangerous"
    assert judge(wrong, "error") == "disagree"
    assert judge(wrong, "refused") == "refused"
