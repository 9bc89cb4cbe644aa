"""Properties of the evaluator over small random policies.

Policies are built as model objects over a small alphabet of actions, resources, fields
and conditions, compiled with the real compiler and CEL, and evaluated with the real
evaluator: adding a deny guardrail never allows more, removing a binding never grants
more (an ``onExcessFields: deny`` permission denies excess fields only when every
matching permission says so, so it takes nothing away from another that redacts), and an
unknown or inactive agent is always denied; and no spelling of a resource under a denied
prefix is allowed.
"""

from __future__ import annotations

import dataclasses
import unicodedata
import urllib.parse
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from charter.identity.agents import AgentStatus
from charter.policy import AgentFacts, Capability, Decision, Effect, Facts, Grant, Request
from charter.policy.cel import compile_condition
from charter.policy.compiler import compile_policy
from charter.policy.evaluate import evaluate
from charter.policy.model import (
    Activation,
    Binding,
    ExcessFields,
    Guardrail,
    GuardrailEffect,
    Match,
    Permission,
    Policy,
    Role,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
AGENT = "bot-one"
ROLES = ("r-a", "r-b", "r-c")
ACTIONS = ("a.read", "a.write", "b.read")
ACTION_PATTERNS = (*ACTIONS, "a.*", "*.read", "**")
RESOURCES = ("x/1", "x/2", "y/1")
RESOURCE_PATTERNS = (*RESOURCES, "x/*", "x/**", "**")
FIELDS = ("f1", "f2", "f3")
# Conditions that hold, fail, or error (``context.nope`` is never sent).
CONDITIONS = (None, "context.flag == true", "context.flag == false", "context.nope == 1")
TIMES = (None, NOW - timedelta(hours=1), NOW, NOW + timedelta(hours=1))
# Mostly no condition and no expiry, so that several rules apply to one request.
LIKELY_CONDITIONS = (None, None, None, *CONDITIONS[1:])
LIKELY_TIMES = (None, None, None, *TIMES[1:])

CAPABILITIES = (Capability.REQUEST, Capability.DO)
SETTINGS = settings(max_examples=100, deadline=None)


def _sub(items: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(items), max_size=3, unique=True).map(tuple)


permissions = st.builds(
    Permission,
    capability=st.sampled_from(CAPABILITIES),
    actions=st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2, unique=True).map(
        tuple
    ),
    resources=_sub(RESOURCE_PATTERNS),
    fields=st.one_of(st.none(), _sub(FIELDS), _sub(FIELDS), _sub(FIELDS)),
    when=st.sampled_from(LIKELY_CONDITIONS),
    on_excess_fields=st.sampled_from(ExcessFields),
)

roles = st.tuples(*(st.lists(permissions, max_size=3).map(tuple) for _ in ROLES)).map(
    lambda perms: tuple(Role(name, p) for name, p in zip(ROLES, perms, strict=True))
)


@st.composite
def bindings(draw: st.DrawFn, number: int) -> Binding:
    by_label = draw(st.booleans())
    return Binding(
        name=f"b-{number}",
        role=draw(st.sampled_from(ROLES)),
        agents=() if by_label else (AGENT,),
        selector={"team": draw(st.sampled_from(("red", "blue")))} if by_label else None,
        activation=draw(st.sampled_from(Activation)),
        expires_at=draw(st.sampled_from(LIKELY_TIMES)),
    )


matches = st.builds(
    Match,
    capabilities=st.lists(st.sampled_from(Capability), max_size=2, unique=True).map(tuple),
    actions=_sub(ACTION_PATTERNS),
    resources=_sub(RESOURCE_PATTERNS),
)


@st.composite
def guardrails(draw: st.DrawFn, number: int, effect: GuardrailEffect | None = None) -> Guardrail:
    chosen = effect or draw(st.sampled_from(GuardrailEffect))
    return Guardrail(
        name=f"g-{number}",
        effect=chosen,
        match=draw(matches),
        when=draw(st.sampled_from(CONDITIONS)),
        require=None
        if chosen is GuardrailEffect.DENY
        else draw(st.sampled_from((None, *CONDITIONS[1:]))),
    )


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    binding_count = draw(st.integers(0, 4))
    guardrail_count = draw(st.integers(0, 2))
    return Policy(
        roles=draw(roles),
        bindings=tuple(draw(bindings(n)) for n in range(binding_count)),
        guardrails=tuple(draw(guardrails(n)) for n in range(guardrail_count)),
    )


requests = st.builds(
    Request,
    agent=st.just(AGENT),
    capability=st.sampled_from(CAPABILITIES),
    action=st.sampled_from(ACTIONS),
    resource=st.sampled_from(RESOURCES),
    fields=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True).map(tuple),
    context=st.fixed_dictionaries({"flag": st.booleans()}),
)


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    grants = draw(
        st.lists(
            st.builds(
                Grant,
                id=st.just("grt_1"),
                role=st.sampled_from((*ROLES, "r-unknown")),
                expires_at=st.sampled_from((NOW - timedelta(minutes=1), NOW + timedelta(hours=1))),
            ),
            max_size=1,
        )
    )
    return Facts(
        agent=AgentFacts(
            id=AGENT,
            owner="user:alice",
            status=AgentStatus.ACTIVE,
            labels={"team": draw(st.sampled_from(("red", "blue")))},
        ),
        grants=tuple(grants),
        approval_id=draw(st.sampled_from((None, None, None, "apr_1"))),
    )


def decide(policy: Policy, request: Request, given_facts: Facts) -> Decision:
    snapshot = compile_policy(policy, revision="rev_test", conditions=compile_condition)
    return evaluate(request, snapshot, given_facts, NOW)


@SETTINGS
@given(policies(), guardrails(99, GuardrailEffect.DENY), requests, facts())
def test_adding_a_deny_guardrail_never_allows_more(
    policy: Policy, deny: Guardrail, request: Request, given_facts: Facts
) -> None:
    before = decide(policy, request, given_facts)
    after = decide(
        dataclasses.replace(policy, guardrails=(*policy.guardrails, deny)), request, given_facts
    )
    assert after.effect in (before.effect, Effect.DENY)
    if not before.allowed:
        assert not after.allowed
    if after.effect is not Effect.DENY:
        assert after.released_fields == before.released_fields


def _without_one_binding(policy: Policy, drop: int) -> Policy:
    drop %= len(policy.bindings)
    return dataclasses.replace(
        policy, bindings=tuple(b for n, b in enumerate(policy.bindings) if n != drop)
    )


_WIDE = Permission(Capability.REQUEST, ("a.read",), fields=("f1", "f2"))
_STRICT = Permission(
    Capability.REQUEST, ("a.read",), fields=("f1",), on_excess_fields=ExcessFields.DENY
)
_EXCESS_EXAMPLE = Policy(
    roles=(Role("r-a", (_WIDE,)), Role("r-b", (_STRICT,)), Role("r-c", ())),
    bindings=(Binding("b-0", "r-a", agents=(AGENT,)), Binding("b-1", "r-b", agents=(AGENT,))),
)
_EXCESS_REQUEST = Request(AGENT, Capability.REQUEST, "a.read", "x/1", fields=("f1", "f3"))
_ACTIVE = Facts(AgentFacts(AGENT, "user:alice", AgentStatus.ACTIVE))


def test_one_strict_permission_does_not_take_away_what_another_allows() -> None:
    # The case that once broke monotonicity: a strict role beside a redacting one.
    both = decide(_EXCESS_EXAMPLE, _EXCESS_REQUEST, _ACTIVE)
    assert both.allowed
    assert (both.released_fields, both.redacted_fields) == (("f1",), ("f3",))
    strict_only = dataclasses.replace(_EXCESS_EXAMPLE, bindings=_EXCESS_EXAMPLE.bindings[1:])
    assert decide(strict_only, _EXCESS_REQUEST, _ACTIVE).code == "excess_fields"


_NO_FIELDS = Permission(Capability.DO, ("a.read",), fields=(), on_excess_fields=ExcessFields.DENY)
_HIDDEN_ELIGIBLE = Policy(
    roles=(Role("r-a", ()), Role("r-b", (_NO_FIELDS,)), Role("r-c", ())),
    bindings=(
        Binding("b-0", "r-b", agents=(AGENT,)),
        Binding("b-1", "r-a", agents=(AGENT,)),
        Binding("b-2", "r-b", agents=(AGENT,), activation=Activation.ELIGIBLE),
    ),
)
_FIELD_REQUEST = Request(AGENT, Capability.DO, "a.read", "x/1", fields=("f1",))


@SETTINGS
@given(policies().filter(lambda p: bool(p.bindings)), st.integers(0, 3), requests, facts())
@example(_EXCESS_EXAMPLE, 1, _EXCESS_REQUEST, _ACTIVE)
@example(_HIDDEN_ELIGIBLE, 0, _FIELD_REQUEST, _ACTIVE)
def test_removing_a_binding_never_grants_more(
    policy: Policy, drop: int, request: Request, given_facts: Facts
) -> None:
    before = decide(policy, request, given_facts)
    after = decide(_without_one_binding(policy, drop), request, given_facts)
    if after.allowed:
        assert before.allowed, (before, after)
        assert set(after.released_fields) <= set(before.released_fields)
    if before.effect is Effect.DENY:
        assert after.effect is Effect.DENY


@SETTINGS
@given(
    policies(),
    requests,
    facts(),
    st.sampled_from(("missing", "other", AgentStatus.SUSPENDED, AgentStatus.RETIRED)),
)
def test_an_unknown_or_inactive_agent_is_always_denied(
    policy: Policy, request: Request, given_facts: Facts, how: str
) -> None:
    assert given_facts.agent is not None
    if how == "missing":
        agent = None
    elif how == "other":
        agent = dataclasses.replace(given_facts.agent, id="bot-two")
    else:
        agent = dataclasses.replace(given_facts.agent, status=AgentStatus(how))
    decision = decide(policy, request, dataclasses.replace(given_facts, agent=agent))
    assert decision.effect is Effect.DENY
    expected = "agent_unknown" if how in ("missing", "other") else f"agent_{how}"
    assert decision.code == expected
    assert decision.released_fields == ()


@SETTINGS
@given(policies(), requests, facts())
def test_governance_actions_are_never_allowed(
    policy: Policy, request: Request, given_facts: Facts
) -> None:
    governance = dataclasses.replace(request, action="charter.policy.apply")
    decision = decide(policy, governance, given_facts)
    assert decision.effect is Effect.DENY
    assert decision.code == "agent_governance"


@SETTINGS
@given(policies(), requests, facts())
def test_a_decision_is_deterministic_and_released_fields_were_requested(
    policy: Policy, request: Request, given_facts: Facts
) -> None:
    first = decide(policy, request, given_facts)
    assert decide(policy, request, given_facts) == first
    assert first.policy_revision == "rev_test"
    assert first.reasons
    assert set(first.released_fields) | set(first.redacted_fields) <= set(request.fields)
    if first.allowed:
        assert sorted((*first.released_fields, *first.redacted_fields)) == sorted(request.fields)
    else:
        assert first.released_fields == ()


def _downstream(resource: str) -> str:
    """What a lenient system downstream might make of a resource id: escapes decoded,
    compatibility forms folded, invisible characters dropped, case and dot segments
    ignored, trailing dots trimmed (as Windows does)."""
    text = resource
    for _ in range(3):
        text = urllib.parse.unquote(text)
    text = unicodedata.normalize("NFKC", text).replace("\\", "/")
    text = "".join(c for c in text if unicodedata.category(c) not in {"Cc", "Cf", "Zs"})
    parts: list[str] = []
    for segment in text.lower().split("/"):
        if segment in {"", "."}:
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment.rstrip(".") or segment)
    return "/".join(parts)


_TRICKS = (
    lambda s, i: s[:i] + s[i:].swapcase(),
    lambda s, i: s[:i] + "./" + s[i:] if i == 0 or s[i - 1] == "/" else s,
    lambda s, i: s[:i] + "y/../" + s[i:] if i == 0 or s[i - 1] == "/" else s,
    lambda s, i: s[:i] + "/" + s[i:],
    lambda s, i: s[:i] + f"%{ord(s[i]):02x}" + s[i + 1 :] if i < len(s) else s,
    lambda s, i: s[:i] + "%2e%2e/" + s[i:],
    lambda s, i: s[:i] + chr(ord(s[i]) + 0xFEE0) + s[i + 1 :] if i < len(s) and s[i] != "/" else s,
    lambda s, i: s[:i] + "\u200b" + s[i:],
    lambda s, i: s[:i] + "\u00ad" + s[i:],
    lambda s, i: s[:i] + " " + s[i:],
    lambda s, i: s[:i] + "\t" + s[i:],
    lambda s, i: s[:i] + "." + s[i:],
    lambda s, i: s.replace("/", "\\"),
    lambda s, i: s.replace("/", "%2F"),
)


@st.composite
def spellings(draw: st.DrawFn) -> str:
    spelled: str = draw(st.sampled_from(("x/1", "x/2", "x/1/deep", "x")))
    for trick in draw(st.lists(st.sampled_from(_TRICKS), min_size=1, max_size=4)):
        spelled = trick(spelled, draw(st.integers(0, len(spelled))))
    return spelled


@SETTINGS
@given(policies(), requests, facts(), spellings())
def test_no_spelling_of_a_resource_under_a_denied_prefix_is_allowed(
    policy: Policy, request: Request, given_facts: Facts, spelled: str
) -> None:
    # Beside whatever else the policy says, the agent holds every action on every resource:
    # only the wall stands between it and x/.
    everything = Role("r-all", tuple(Permission(c, ("**",), ("**",)) for c in CAPABILITIES))
    wall = Guardrail("wall", GuardrailEffect.DENY, Match(resources=("x/**",)))
    walled = dataclasses.replace(
        policy,
        roles=(*policy.roles, everything),
        bindings=(*policy.bindings, Binding("b-all", "r-all", agents=(AGENT,))),
        guardrails=(*policy.guardrails, wall),
    )
    target = _downstream(spelled)
    decision = decide(walled, dataclasses.replace(request, resource=spelled), given_facts)
    if target == "x" or target.startswith("x/"):
        assert not decision.allowed, (spelled, target, decision)
