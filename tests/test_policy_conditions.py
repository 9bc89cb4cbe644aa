"""CEL conditions remember their outcomes by the exact values they read, and a
remembered outcome is always the one a fresh evaluation gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cel
import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.policy.cel import OUTCOMES_LIMIT, VARIABLES, reads_of
from charter.policy.cel import compile_condition as compile_any
from charter.policy.celcheck import environment
from charter.policy.compiled import ConditionError, Variables
from charter.policy.frozen import BUDGET, Unfreezable, freeze

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def compile_condition(expression: str) -> Any:
    """A condition evaluated by cel-cpp, never natively: these tests are about what
    such conditions remember (native ones remember nothing: they need not)."""
    return compile_any(expression, native=False)


class Given(Variables):
    """Variables from a plain mapping, counting how often each is built."""

    __slots__ = ("built", "given")

    def __init__(self, **given: Any) -> None:
        super().__init__()
        self.given = given
        self.built: list[str] = []

    def build(self, name: str) -> Any:
        self.built.append(name)
        return self.given[name]


def fresh(expression: str, **given: Any) -> bool | str:
    """What cel-cpp gives for the expression on all of the variables, with nothing
    remembered and nothing cut down: ``"error"`` for an error or a non-boolean."""
    try:
        result = environment().compile(expression).eval(data=given)
    except Exception:
        return "error"
    return result.value() if result.type().name() == "BOOL" else "error"


def outcome(condition: Any, **given: Any) -> bool | str:
    try:
        return bool(condition.holds(Given(**given)))
    except ConditionError:
        return "error"


def test_values_python_finds_equal_are_told_apart() -> None:
    condition = compile_condition("context.level == 1")
    results = [outcome(condition, context={"level": value}) for value in (1, 1.0, True, 1)]
    expected = [fresh("context.level == 1", context={"level": v}) for v in (1, 1.0, True, 1)]
    assert results == expected
    assert results[0] is True
    assert results[2] != results[0]  # true is not 1 in CEL: no overload, or false
    assert len(condition._outcomes or {}) == 3


def test_an_error_is_remembered_and_still_fails() -> None:
    condition = compile_condition("context.level > 2")
    for _ in range(2):
        with pytest.raises(ConditionError):
            condition.holds(Given(context={}))
    assert len(condition._outcomes or {}) == 1


def test_a_remembered_outcome_skips_the_evaluation_but_not_the_variables() -> None:
    condition = compile_condition("context.level > 2")
    assert condition.holds(Given(context={"level": 3}))
    again = Given(context={"level": 3})
    assert condition.holds(again)
    assert again.built == ["context"]
    assert again._prepared is None  # no CEL context was made for it


def test_a_condition_reading_now_is_never_remembered() -> None:
    condition = compile_condition('now > timestamp("2026-01-01T00:00:00Z")')
    assert condition.holds(Given(now=NOW))
    assert condition._outcomes is None


def test_the_memo_is_bounded() -> None:
    condition = compile_condition("context.n >= 0")
    for n in range(3 * OUTCOMES_LIMIT):
        assert condition.holds(Given(context={"n": n}))
    assert 0 < len(condition._outcomes or {}) <= OUTCOMES_LIMIT


def test_large_or_unusual_values_are_not_frozen() -> None:
    with pytest.raises(Unfreezable):
        freeze({"x": "a" * (64 * BUDGET)}, [BUDGET])
    with pytest.raises(Unfreezable):
        freeze(list(range(BUDGET + 1)), [BUDGET])
    with pytest.raises(Unfreezable):
        freeze({1: "non-string key"}, [BUDGET])
    with pytest.raises(Unfreezable):
        freeze(NOW, [BUDGET])
    assert Given(context={"x": "a" * (64 * BUDGET)}).frozen((("context", None),)) is None
    condition = compile_condition('context.x.startsWith("a")')
    assert condition.holds(Given(context={"x": "a" * (64 * BUDGET)}))
    assert condition._outcomes == {}


def test_floats_are_frozen_by_their_bits() -> None:
    assert freeze(0.0, [BUDGET]) != freeze(-0.0, [BUDGET])
    assert freeze(float("nan"), [BUDGET]) == freeze(float("nan"), [BUDGET])
    assert freeze(1, [BUDGET]) != freeze(1.0, [BUDGET]) != freeze(True, [BUDGET])


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from(["", "a", "open", "account_recovery"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["level", "status", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)
EXPRESSIONS = [
    "context.level >= 2",
    'has(context.status) && context.status == "open"',
    "context.x == context.level",
    "context.x == []",
    "context.x == {}",
    "context.x == 1.0",
    "has(context.x) || context.level == 1",
    "context.x.level == 1",
    'has(context.status) && context.status == "open" && context.level != 0',
    "size(context) > 1",
    '"open" in context.x',
    "context.level",
]


CONTEXTS = st.dictionaries(
    st.sampled_from(["level", "status", "x", "trace", "other"]), VALUES, max_size=5
)


@given(st.sampled_from(EXPRESSIONS), st.lists(CONTEXTS, min_size=1, max_size=6))
def test_remembered_outcomes_match_fresh_evaluations(
    expression: str, contexts: list[dict[str, Any]]
) -> None:
    condition = compile_condition(expression)
    for context in contexts + contexts:
        assert outcome(condition, context=context) == fresh(expression, context=context)


def test_an_empty_map_and_an_empty_list_are_different_keys() -> None:
    assert freeze({}, [BUDGET]) != freeze([], [BUDGET])
    assert freeze({"a": []}, [BUDGET]) != freeze({"a": {}}, [BUDGET])
    condition = compile_condition("context.x == []")
    assert outcome(condition, context={"x": []}) == fresh("context.x == []", context={"x": []})
    assert outcome(condition, context={"x": {}}) == fresh("context.x == []", context={"x": {}})


@pytest.mark.parametrize(
    ("expression", "shape"),
    [
        ("context.level >= 2", (("context", ("level",)),)),
        ('has(context.ticket) && context.ticket.status == "open"', (("context", ("ticket",)),)),
        ("context .\n level > 1", (("context", ("level",)),)),
        ('agent.riskTier == "low"', (("agent", ("riskTier",)),)),
        (
            'resource.attributes.region == "eu" && request.action == "x"',
            (("request", ("action",)), ("resource", ("attributes",))),
        ),
        # Text in a string literal may add a key, never take one away.
        ('"context.secret" == context.level', (("context", ("level", "secret")),)),
        # Any other use of the name keeps the whole variable.
        ("size(context) > 1", (("context", None),)),
        ('context["level"] == 1', (("context", None),)),
        ('context.all(k, k != "x")', (("context", None),)),
        ("context.size() > 0", (("context", None),)),
        ('"level" in context', (("context", None),)),
        ('now > timestamp("2026-01-01T00:00:00Z")', (("now", None),)),
    ],
)
def test_what_a_condition_reads(expression: str, shape: object) -> None:
    condition = compile_condition(expression)
    assert condition._reads == shape
    assert reads_of(expression, VARIABLES & frozenset(cel.compile(expression).variables())) == shape


def test_a_condition_converts_only_the_keys_it_reads() -> None:
    condition = compile_condition("context.level >= 2")
    variables = Given(context={"level": 3, "trace": "t-1", "ticket": {"id": "T-1"}})
    assert variables.parts(condition._reads) == {"context": {"level": 3}}
    assert condition.holds(variables)
    # The key is the value read, so another trace is the same key.
    assert condition.holds(Given(context={"level": 3, "trace": "t-2"}))
    assert len(condition._outcomes or {}) == 1


def test_a_missing_key_and_a_null_one_are_different_keys() -> None:
    condition = compile_condition("has(context.x)")
    assert outcome(condition, context={}) == fresh("has(context.x)", context={}) is False
    assert outcome(condition, context={"x": None}) == fresh("has(context.x)", context={"x": None})
    assert len(condition._outcomes or {}) == 2
