"""The optimised evaluator gives exactly the decision of the plain one it replaced
(``tests/policy_reference.py``): effect, code, reasons, errors, fields, approval and
message, over random policies, facts and requests (review outcomes, grants, approvals,
label selectors, citations of inferences, conditions that hold, fail and error, names
that are not canonical), and over the benchmark's generated workload."""

from __future__ import annotations

import dataclasses
import math
import pickle
import random
from collections.abc import Hashable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from bench.workload import NOW as BENCH_NOW
from bench.workload import build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.identity.agents import AgentStatus
from charter.policy import AgentFacts, Capability, Facts, Request
from charter.policy.canonical import non_canonical
from charter.policy.cel import compile_condition
from charter.policy.compiled import Shape, Snapshot
from charter.policy.compiler import compile_policy, compile_withdrawals
from charter.policy.decision import Advisory, Withdrawal, WithdrawalKind
from charter.policy.evaluate import evaluate, request_variables
from charter.policy.frozen import BUDGET, Unfreezable, freeze_part
from charter.policy.model import Binding, ExcessFields, Permission, Policy, Role
from tests import policy_reference as reference
from tests.test_policy_properties import (
    ACTIONS,
    AGENT,
    CAPABILITIES,
    FIELDS,
    NOW,
    RESOURCES,
    facts,
    permissions,
    policies,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Names as callers may send them: canonical ones, and spellings the check refuses.
ODD_NAMES: tuple[Any, ...] = (
    *("", "x/../y", "X.Read", "a..b", " a.read", "x//1", "\uff58/1", 7, None),
)
PLAIN = st.fixed_dictionaries({"flag": st.booleans()})
ODD_CONTEXTS = st.one_of(
    st.fixed_dictionaries({"flag": st.booleans(), "level": st.integers(-3, 3)}),
    st.fixed_dictionaries({"flag": st.booleans(), "n": st.sampled_from((1.5, math.nan))}),
    st.fixed_dictionaries({"flag": st.booleans(), "deep": st.just({"x": [math.inf]})}),
    st.fixed_dictionaries({"on_behalf_of": st.sampled_from(("user:bob", "user: bob", ["x"]))}),
    st.fixed_dictionaries({"derived_from": st.sampled_from(("dec_1", ["dec_1"], "dec_2", 3))}),
    st.just({}),
)


def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> Any:
    """``common`` nine times in ten: most cases should reach the rules."""
    return st.sampled_from((False,) * 9 + (True,)).flatmap(lambda odd: rare if odd else common)


def _requests(odd: bool) -> st.SearchStrategy[Request]:
    """Requests in canonical form, or (``odd``) with any name possibly not."""

    def either(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> Any:
        return st.one_of(common, rare) if odd else common

    return st.builds(
        Request,
        agent=either(st.just(AGENT), st.sampled_from(("bot-two", "Bot-One", 3))),
        capability=st.sampled_from(CAPABILITIES),
        action=either(st.sampled_from(ACTIONS), st.sampled_from(ODD_NAMES)),
        resource=either(st.sampled_from(RESOURCES), st.sampled_from(ODD_NAMES)),
        resource_attributes=either(
            st.just({}), st.sampled_from(({"data_class": "pii"}, {"Bad": 1}, {"v": 1e400}))
        ),
        fields=st.lists(
            either(st.sampled_from(FIELDS), st.just("F1")), max_size=3, unique=True
        ).map(tuple),
        context=either(PLAIN, ODD_CONTEXTS),
    )


@st.composite
def withdrawals(draw: st.DrawFn, policy: Policy) -> tuple[Withdrawal, ...]:
    chosen = []
    for binding in policy.bindings:
        if draw(st.integers(0, 3)) != 0:
            continue
        kind = draw(st.sampled_from(WithdrawalKind))
        role = None
        if kind is WithdrawalKind.REDUCE:
            role = Role(binding.role, tuple(draw(st.lists(permissions, max_size=2))))
        chosen.append(Withdrawal(binding.name, kind, "rvc_1", f"rvi_{binding.name}", role))
    return tuple(chosen)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Snapshot, Request, Facts]:
    policy = draw(policies())
    if draw(st.booleans()):
        # A broad role held outright, so that guardrails, fields and grants are reached.
        wide = Role(
            "r-wide",
            tuple(
                Permission(
                    capability,
                    ("**",),
                    fields=draw(st.sampled_from((None, ("f1",), ("f1", "f2")))),
                    when=draw(st.sampled_from((None, None, "context.flag == true"))),
                    on_excess_fields=draw(st.sampled_from(ExcessFields)),
                )
                for capability in CAPABILITIES
            ),
        )
        policy = replace(
            policy,
            roles=(*policy.roles, wide),
            bindings=(*policy.bindings, Binding("b-wide", "r-wide", agents=(AGENT,))),
        )
    snapshot = compile_policy(policy, revision="rev_test", conditions=compile_condition)
    given_facts = draw(facts())
    agent = given_facts.agent
    assert agent is not None
    agent = AgentFacts(
        agent.id,
        agent.owner,
        draw(_mostly(st.just(AgentStatus.ACTIVE), st.sampled_from(AgentStatus))),
        labels=agent.labels,
    )
    withdrawn = compile_withdrawals(
        snapshot, AGENT, draw(withdrawals(policy)), conditions=compile_condition
    )
    if withdrawn and draw(st.integers(0, 4)) == 0:
        # An outcome compiled for another revision withdraws its binding outright.
        other = compile_policy(policy, revision="rev_other", conditions=compile_condition)
        withdrawn = compile_withdrawals(
            other, AGENT, [w.withdrawal for w in withdrawn], conditions=compile_condition
        )
    advisories = draw(
        st.lists(
            st.builds(
                Advisory,
                decision_id=st.sampled_from(("dec_1", "dec_2")),
                agent=st.sampled_from((AGENT, "bot-two")),
                action=st.sampled_from(ACTIONS),
                decided_at=st.sampled_from((NOW - timedelta(minutes=5), NOW - timedelta(days=1))),
            ),
            max_size=2,
        )
    )
    leaked = draw(_mostly(st.just(()), st.just(("fp_1",))))
    combined = Facts(
        agent=draw(_mostly(st.just(agent), st.none())),
        grants=given_facts.grants,
        approval_id=given_facts.approval_id,
        leaked=leaked,
        advisories=tuple(advisories),
        withdrawn=withdrawn,
    )
    return snapshot, draw(_mostly(_requests(odd=False), _requests(odd=True))), combined


@SETTINGS
@given(cases())
def test_the_optimised_evaluator_decides_as_the_reference(
    case: tuple[Snapshot, Request, Facts],
) -> None:
    snapshot, request, given_facts = case
    expected = reference.evaluate(request, snapshot, given_facts, NOW)
    # Twice: the second time meets every memo the first one filled.
    assert evaluate(request, snapshot, given_facts, NOW) == expected
    assert evaluate(request, snapshot, given_facts, NOW) == expected


@SETTINGS
@given(_requests(odd=True))
def test_the_canonical_check_finds_what_the_reference_finds(request: Request) -> None:
    expected = reference.non_canonical(request)
    assert non_canonical(request) == expected
    assert non_canonical(request) == expected  # now from the remembered names


def test_the_benchmark_workload_is_decided_as_the_reference() -> None:
    workload = build(300, requests=2_000)
    snapshot = compile_policy(workload.policy, revision="rev_bench", conditions=compile_condition)
    rng = random.Random(3)
    mixed = [
        *workload.requests,
        *workload.conditional_requests,
        *workload.novel_conditional_requests[:500],
        *workload.guarded_requests,
    ]
    rng.shuffle(mixed)
    codes = set()
    for request in mixed:
        given_facts = workload.facts[request.agent]
        if rng.random() < 0.05:
            given_facts = Facts(given_facts.agent, given_facts.grants, approval_id="apr_1")
        expected = reference.evaluate(request, snapshot, given_facts, BENCH_NOW)
        assert evaluate(request, snapshot, given_facts, BENCH_NOW) == expected, request
        codes.add(expected.code)
    # The sample reaches every way the workload decides.
    assert codes >= {"allowed", "no_permission", "guardrail"}


def test_a_request_with_every_kind_of_name_wrong_is_refused_for_the_first() -> None:
    request = Request(
        "Bot", Capability.DO, "A.b", "x/../y", {"Bad": 1}, ("F",), {"on_behalf_of": 1}
    )
    assert non_canonical(request) == reference.non_canonical(request)
    assert "agent" in (non_canonical(request) or "")


SCALARS = st.one_of(
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.just("x" * 2000),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@SETTINGS
@given(st.dictionaries(st.sampled_from(("level", "other")), SCALARS, max_size=2))
def test_a_condition_reading_one_key_is_keyed_as_the_general_walk_keys_it(
    context: dict[str, Any],
) -> None:
    # The short path of `Variables.frozen` (one key of one map) must give the key the
    # general one gives, or remembered outcomes would be missed, or worse, mixed up.
    shape: Shape = (("context", ("level",)),)
    request = Request(AGENT, Capability.DO, "a.read", "x/1", context=context)
    variables = request_variables(request, AgentFacts(AGENT, "user:a", AgentStatus.ACTIVE), NOW)
    try:
        expected: Hashable | None = freeze_part(context, ("level",), [BUDGET])
    except Unfreezable:
        expected = None
    assert variables.frozen(shape) == expected


def test_a_request_is_built_whole_frozen_and_with_maps_of_its_own() -> None:
    first = Request(AGENT, Capability.DO, "a.read", "x/1")
    second = Request(AGENT, Capability.DO, "a.read", "x/1")
    assert first == second
    assert first.context == {}
    assert first.resource_attributes == {}
    assert first.context is not second.context
    assert first.resource_attributes is not second.resource_attributes
    full = Request(AGENT, Capability.DO, "a.read", "x/1", {"k": 1}, ("f1",), {"flag": True}, ())
    assert [getattr(full, f.name) for f in dataclasses.fields(Request)] == [
        AGENT,
        Capability.DO,
        "a.read",
        "x/1",
        {"k": 1},
        ("f1",),
        {"flag": True},
        (),
    ]
    assert dataclasses.replace(full, action="b.read").action == "b.read"
    # Frozen: FrozenInstanceError in pure Python; the compiled core's extension type
    # raises the AttributeError it derives from (its fields are read-only).
    with pytest.raises(AttributeError, match="action"):
        full.action = "b.read"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(full)) == full


def test_an_agent_a_policy_names_is_refused_still_when_not_canonical() -> None:
    # The compiler checks the names of a policy ahead of requests (globs refuse odd
    # actions and resources already; agents are only names); one a policy built in code
    # gets wrong must still be refused when a request carries it.
    odd = "Bot_One"
    policy = Policy(
        roles=(Role("r", (Permission(Capability.DO, ("a.write",), ("x/1",)),)),),
        bindings=(Binding("b", "r", agents=(odd, AGENT)),),
    )
    snapshot = compile_policy(policy, revision="rev_test", conditions=compile_condition)
    request = Request(odd, Capability.DO, "a.write", "x/1")
    decision = evaluate(
        request, snapshot, Facts(AgentFacts(odd, "user:a", AgentStatus.ACTIVE)), NOW
    )
    assert decision.code == "invalid_request"
    allowed = dataclasses.replace(request, agent=AGENT)
    facts_of = Facts(AgentFacts(AGENT, "user:a", AgentStatus.ACTIVE))
    assert evaluate(allowed, snapshot, facts_of, NOW).allowed
