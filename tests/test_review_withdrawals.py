"""Review outcomes in force, applied by the evaluator over the active revision: revoke,
reduce and make eligible, per binding and per agent; and bindings' ``excludeAgents``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.codes import DecisionCode
from charter.errors import InvalidInput
from charter.identity.agents import AgentStatus
from charter.policy import AgentFacts, Capability, Decision, Effect, Engine, Facts, Grant, Request
from charter.policy.cel import compile_condition
from charter.policy.compiler import compile_withdrawals
from charter.policy.decision import Withdrawal, WithdrawalKind
from charter.policy.evaluate import evaluate
from charter.policy.explain import explain, trace
from charter.policy.model import ApprovalSpec, Permission, Role

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BOT, OTHER = "support-bot", "other-bot"
CAMPAIGN, ITEM = "rvc_q2", "rvi_1"

AGENTS = """\
apiVersion: charter/v1
kind: Agent
metadata: {name: support-bot, labels: {team: support}}
spec: {owner: "user:alice"}
---
apiVersion: charter/v1
kind: Agent
metadata: {name: other-bot, labels: {team: support}}
spec: {owner: "user:bob"}
"""

READER = """\
apiVersion: charter/v1
kind: Role
metadata: {name: reader}
spec:
  permissions:
    - capability: request
      actions: [crm.customer.read]
      resources: ["crm/customer/*"]
      fields: [name, email]
      when: 'context.purpose == "support"'
    - capability: request
      actions: [crm.customer.delete]
      resources: ["crm/customer/*"]
    - capability: do
      actions: ["ticket.*"]
      resources: ["ticketing/queue/*"]
"""

NARROWER = Role(
    "reader",
    (
        Permission(
            Capability.REQUEST,
            ("crm.customer.read",),
            ("crm/customer/7",),
            ("name", "email"),
            'context.purpose == "support"',
        ),
        Permission(Capability.DO, ("ticket.create",), ("ticketing/queue/remediation",)),
    ),
)
NARROWER_YAML = """\
apiVersion: charter/v1
kind: Role
metadata: {name: reader}
spec:
  permissions:
    - capability: request
      actions: [crm.customer.read]
      resources: ["crm/customer/7"]
      fields: [name, email]
      when: 'context.purpose == "support"'
    - capability: do
      actions: [ticket.create]
      resources: ["ticketing/queue/remediation"]
"""


def binding(name: str, spec: str, role: str = "reader") -> str:
    head = f"apiVersion: charter/v1\nkind: Binding\nmetadata: {{name: {name}}}\n"
    return head + f"spec: {{role: {role}, {spec}}}\n"


DIRECT = binding("reader-direct", "agents: [support-bot]")
TEAM = binding("reader-team", "selector: {labels: {team: support}}")
JIT = binding("reader-jit", "agents: [support-bot], activation: eligible, maxDuration: 2h")


def engine(*documents: str) -> Engine:
    return Engine.from_documents("\n---\n".join((AGENTS, READER, *documents)))


def agent(name: str = BOT) -> AgentFacts:
    owner = "user:alice" if name == BOT else "user:bob"
    return AgentFacts(name, owner, AgentStatus.ACTIVE, labels={"team": "support"})


def withdrawn(eng: Engine, *withdrawals: Withdrawal, who: str = BOT, **facts: object) -> Facts:
    compiled = compile_withdrawals(eng.snapshot, who, withdrawals, conditions=compile_condition)
    return Facts(agent(who), withdrawn=compiled, **facts)  # type: ignore[arg-type]


def out(name: str, kind: WithdrawalKind, role: Role | None = None, item: str = ITEM) -> Withdrawal:
    return Withdrawal(name, kind, CAMPAIGN, item, role)


def read(resource: str = "crm/customer/7", who: str = BOT, **extra: object) -> Request:
    return Request(
        who,
        Capability.REQUEST,
        "crm.customer.read",
        resource,
        context={"purpose": "support"},
        **extra,  # type: ignore[arg-type]
    )


def decide(eng: Engine, request: Request, facts: Facts) -> Decision:
    return evaluate(request, eng.snapshot, facts, NOW)


# --- revoke -----------------------------------------------------------------------------


def test_a_revoked_binding_gives_the_agent_nothing_and_the_deny_names_the_item() -> None:
    eng = engine(DIRECT)
    assert decide(eng, read(), Facts(agent())).allowed
    decision = decide(eng, read(), withdrawn(eng, out("reader-direct", WithdrawalKind.REVOKE)))
    assert decision.effect is Effect.DENY
    assert decision.code is DecisionCode.REVOKED_BY_REVIEW
    (reason,) = decision.reasons
    assert (reason.policy, reason.rule, reason.effect) == (
        f"Review/{CAMPAIGN}",
        "items/rvi_1",
        "deny",
    )
    assert reason.message == (
        "binding reader-direct withdrawn from support-bot by review item rvi_1 (revoke)"
    )
    assert decision.message == reason.message
    assert decision.policy_revision == eng.snapshot.revision


def test_a_request_the_revoked_binding_never_covered_stays_the_default_deny() -> None:
    eng = engine(DIRECT)
    facts = withdrawn(eng, out("reader-direct", WithdrawalKind.REVOKE))
    # Outside the role's resources, and a condition that does not hold: no_permission.
    assert decide(eng, read("hr/employee/1"), facts).code is DecisionCode.NO_PERMISSION
    off_purpose = replace(read(), context={"purpose": "marketing"})
    assert decide(eng, off_purpose, facts).code is DecisionCode.NO_PERMISSION


def test_another_binding_giving_the_same_role_still_counts() -> None:
    eng = engine(DIRECT, TEAM)
    decision = decide(eng, read(), withdrawn(eng, out("reader-direct", WithdrawalKind.REVOKE)))
    assert decision.allowed
    both = withdrawn(
        eng,
        out("reader-direct", WithdrawalKind.REVOKE),
        out("reader-team", WithdrawalKind.REVOKE, item="rvi_2"),
    )
    assert decide(eng, read(), both).code is DecisionCode.REVOKED_BY_REVIEW


def test_a_revoke_on_a_selector_binding_is_for_that_agent_only() -> None:
    eng = engine(TEAM)
    facts = withdrawn(eng, out("reader-team", WithdrawalKind.REVOKE))
    assert decide(eng, read(), facts).code is DecisionCode.REVOKED_BY_REVIEW
    assert decide(eng, read(who=OTHER), Facts(agent(OTHER))).allowed


def test_a_revoked_eligible_binding_no_longer_asks_for_approval() -> None:
    eng = engine(JIT)
    assert decide(eng, read(), Facts(agent())).effect is Effect.APPROVAL_REQUIRED
    decision = decide(eng, read(), withdrawn(eng, out("reader-jit", WithdrawalKind.REVOKE)))
    assert decision.code is DecisionCode.REVOKED_BY_REVIEW


def test_grants_and_approvals_are_not_affected_by_withdrawals() -> None:
    eng = engine(JIT)
    grant = Grant("grt_1", "reader", NOW + timedelta(hours=1))
    facts = withdrawn(eng, out("reader-jit", WithdrawalKind.REVOKE), grants=(grant,))
    assert decide(eng, read(), facts).allowed
    approved = withdrawn(eng, out("reader-jit", WithdrawalKind.REVOKE), approval_id="apr_1")
    assert decide(eng, read(), approved).allowed


def test_a_withdrawal_of_a_binding_the_revision_no_longer_has_is_left_out() -> None:
    eng = engine(DIRECT)
    gone = compile_withdrawals(
        eng.snapshot, BOT, [out("retired", WithdrawalKind.REVOKE)], conditions=compile_condition
    )
    assert gone == ()


# --- reduce -----------------------------------------------------------------------------


def test_a_reduced_binding_gives_only_the_narrower_role() -> None:
    eng = engine(DIRECT)
    facts = withdrawn(eng, out("reader-direct", WithdrawalKind.REDUCE, NARROWER))
    allowed = decide(eng, read("crm/customer/7"), facts)
    assert allowed.allowed
    assert allowed.reasons[0].policy == "Role/reader"
    assert allowed.reasons[0].message == "as reduced by rvi_1"
    narrowed = decide(eng, read("crm/customer/8"), facts)
    assert narrowed.code is DecisionCode.REVOKED_BY_REVIEW
    assert narrowed.reasons[0].message.endswith("by review item rvi_1 (reduce)")
    dropped = Request(BOT, Capability.REQUEST, "crm.customer.delete", "crm/customer/7")
    assert decide(eng, dropped, facts).code is DecisionCode.REVOKED_BY_REVIEW
    ticket = Request(BOT, Capability.DO, "ticket.create", "ticketing/queue/remediation")
    assert decide(eng, ticket, facts).allowed
    # Fields and conditions stay those of the original permission.
    fields = decide(eng, read(fields=("name", "ssn")), facts)
    assert (fields.released_fields, fields.redacted_fields) == (("name",), ("ssn",))
    off_purpose = replace(read(), context={"purpose": "marketing"})
    assert not decide(eng, off_purpose, facts).allowed


def test_a_reduced_eligible_binding_asks_approval_for_the_narrower_role_only() -> None:
    eng = engine(JIT)
    facts = withdrawn(eng, out("reader-jit", WithdrawalKind.REDUCE, NARROWER))
    asked = decide(eng, read("crm/customer/7"), facts)
    assert asked.effect is Effect.APPROVAL_REQUIRED
    assert asked.approval is not None
    # The grant its approval yields is the narrower role, not the binding's whole role.
    assert asked.approval.role == "reader@reader-jit"
    assert "reduced by review item rvi_1" in asked.reasons[-1].message
    narrowed = decide(eng, read("crm/customer/8"), facts)
    assert narrowed.code is DecisionCode.REVOKED_BY_REVIEW
    grant = Grant("grt_1", asked.approval.role, NOW + timedelta(hours=1))
    granted = withdrawn(eng, out("reader-jit", WithdrawalKind.REDUCE, NARROWER), grants=(grant,))
    assert decide(eng, read("crm/customer/7"), granted).allowed
    assert not decide(eng, read("crm/customer/8"), granted).allowed
    dropped = Request(BOT, Capability.REQUEST, "crm.customer.delete", "crm/customer/7")
    assert not decide(eng, dropped, granted).allowed
    # Once the outcome is no longer in force, the narrowed grant gives nothing at all.
    assert not decide(eng, read("crm/customer/7"), Facts(agent(), grants=(grant,))).allowed


def test_a_reduce_needs_the_narrower_role_named_like_the_binding_role() -> None:
    eng = engine(DIRECT)
    for role in (None, replace(NARROWER, name="writer")):
        with pytest.raises(InvalidInput, match="needs the narrower role"):
            compile_withdrawals(
                eng.snapshot,
                BOT,
                [out("reader-direct", WithdrawalKind.REDUCE, role)],
                conditions=compile_condition,
            )


ACTIONS = st.sampled_from(
    [
        (Capability.REQUEST, "crm.customer.read"),
        (Capability.REQUEST, "crm.customer.delete"),
        (Capability.DO, "ticket.create"),
        (Capability.DO, "ticket.close"),
        (Capability.INFER, "crm.customer.read"),
    ]
)
RESOURCES = st.sampled_from(
    [
        "crm/customer/7",
        "crm/customer/8",
        "ticketing/queue/remediation",
        "ticketing/queue/billing",
        "hr/employee/1",
    ]
)
PURPOSES = st.sampled_from(["support", "marketing"])
FIELDS = st.lists(st.sampled_from(["name", "email", "ssn"]), max_size=2, unique=True)


def request(
    action: tuple[Capability, str], resource: str, purpose: str, fields: list[str]
) -> Request:
    capability, name = action
    return Request(
        BOT, capability, name, resource, fields=tuple(fields), context={"purpose": purpose}
    )


REDUCED_ENGINE = engine(DIRECT)
NARROWED_POLICY = Engine.from_documents("\n---\n".join((AGENTS, NARROWER_YAML, DIRECT)))


@settings(max_examples=150, deadline=None)
@given(ACTIONS, RESOURCES, PURPOSES, FIELDS)
def test_reduce_allows_exactly_what_the_narrower_role_allows(
    action: tuple[Capability, str], resource: str, purpose: str, fields: list[str]
) -> None:
    asked = request(action, resource, purpose, fields)
    facts = withdrawn(REDUCED_ENGINE, out("reader-direct", WithdrawalKind.REDUCE, NARROWER))
    overlaid = decide(REDUCED_ENGINE, asked, facts)
    written = decide(NARROWED_POLICY, asked, Facts(agent()))
    assert overlaid.effect is written.effect
    assert overlaid.released_fields == written.released_fields
    assert overlaid.redacted_fields == written.redacted_fields
    original = decide(REDUCED_ENGINE, asked, Facts(agent()))
    if overlaid.allowed:
        assert original.allowed  # reducing never allows more
    elif original.allowed:
        assert overlaid.code is DecisionCode.REVOKED_BY_REVIEW


def test_an_outcome_compiled_for_another_revision_withdraws_the_binding_outright() -> None:
    old = engine(DIRECT)
    new = engine(DIRECT, TEAM.replace("team: support", "team: nobody"))
    assert old.snapshot.revision != new.snapshot.revision
    stale = withdrawn(old, out("reader-direct", WithdrawalKind.REDUCE, NARROWER))
    assert decide(old, read("crm/customer/7"), stale).allowed
    decision = decide(new, read("crm/customer/7"), stale)
    assert decision.code is DecisionCode.REVOKED_BY_REVIEW


# --- make eligible ----------------------------------------------------------------------


def test_make_eligible_turns_a_standing_binding_into_an_owner_approval() -> None:
    eng = engine(
        binding(
            "reader-direct",
            "agents: [support-bot], maxDuration: 4h, "
            "approval: {approvers: ['group:sec'], quorum: 2}",
        )
    )
    assert decide(eng, read(), Facts(agent())).allowed
    facts = withdrawn(eng, out("reader-direct", WithdrawalKind.MAKE_ELIGIBLE))
    decision = decide(eng, read(), facts)
    assert decision.effect is Effect.APPROVAL_REQUIRED
    assert decision.code is DecisionCode.APPROVAL_REQUIRED
    assert decision.approval is not None
    assert decision.approval.policy == "Binding/reader-direct"
    assert decision.approval.spec == ApprovalSpec()
    assert decision.approval.role == "reader"
    assert decision.approval.max_duration == timedelta(hours=4)
    review = [r for r in decision.reasons if r.policy == f"Review/{CAMPAIGN}"]
    assert [r.rule for r in review] == ["items/rvi_1"]
    assert "made eligible by review item rvi_1" in review[0].message
    # Outside the binding's role: still the default deny.
    assert decide(eng, read("hr/employee/1"), facts).code is DecisionCode.NO_PERMISSION
    # The grant an approval yields allows it.
    grant = Grant("grt_1", "reader", NOW + timedelta(hours=1))
    with_grant = withdrawn(eng, out("reader-direct", WithdrawalKind.MAKE_ELIGIBLE), grants=(grant,))
    assert decide(eng, read(), with_grant).allowed


def test_make_eligible_on_an_eligible_binding_changes_nothing() -> None:
    eng = engine(JIT)
    facts = withdrawn(eng, out("reader-jit", WithdrawalKind.MAKE_ELIGIBLE))
    assert decide(eng, read(), facts) == decide(eng, read(), Facts(agent()))


# --- explain ----------------------------------------------------------------------------


def test_explain_shows_the_review_reason_and_the_trace_the_outcome() -> None:
    eng = engine(DIRECT)
    facts = withdrawn(eng, out("reader-direct", WithdrawalKind.REVOKE))
    decision = decide(eng, read(), facts)
    text = explain(read(), decision, trace(read(), eng.snapshot, facts, NOW))
    assert "DENY [revoked_by_review]" in text
    assert f"because Review/{CAMPAIGN} items/rvi_1 (deny) - binding reader-direct withdrawn" in text
    assert f"Binding/reader-direct revoke by Review/{CAMPAIGN} items/rvi_1" in text


# --- no outcome in force: the same decisions ---------------------------------------------

EVERY = engine(DIRECT, TEAM, JIT)


@settings(max_examples=150, deadline=None)
@given(ACTIONS, RESOURCES, PURPOSES, FIELDS, st.booleans())
def test_outcomes_that_do_not_concern_the_agent_change_no_decision(
    action: tuple[Capability, str], resource: str, purpose: str, fields: list[str], other: bool
) -> None:
    asked = request(action, resource, purpose, fields)
    plain = decide(EVERY, asked, Facts(agent()))
    assert plain == decide(EVERY, asked, Facts(agent(), withdrawn=()))
    # Another agent's outcomes, compiled for it, on a binding this agent holds...
    theirs = withdrawn(EVERY, out("reader-team", WithdrawalKind.REVOKE), who=OTHER)
    # ...or this agent's outcome on a binding it does not hold: nothing changes.
    unheld = compile_withdrawals(
        engine(DIRECT, TEAM, JIT, binding("ops", "agents: [other-bot]")).snapshot,
        BOT,
        [out("ops", WithdrawalKind.REVOKE)],
        conditions=compile_condition,
    )
    facts = Facts(agent(), withdrawn=unheld if other else theirs.withdrawn)
    assert decide(EVERY, asked, facts) == plain


# --- excludeAgents ----------------------------------------------------------------------


def test_an_excluded_agent_never_gets_the_binding_named_or_selected() -> None:
    named = engine(
        binding("reader-direct", "agents: [support-bot, other-bot], excludeAgents: [support-bot]")
    )
    assert decide(named, read(), Facts(agent())).code is DecisionCode.NO_PERMISSION
    assert decide(named, read(who=OTHER), Facts(agent(OTHER))).allowed
    selected = engine(
        binding("reader-team", "selector: {labels: {team: support}}, excludeAgents: [support-bot]")
    )
    assert decide(selected, read(), Facts(agent())).code is DecisionCode.NO_PERMISSION
    assert decide(selected, read(who=OTHER), Facts(agent(OTHER))).allowed
    assert selected.snapshot.bindings_for(BOT, {"team": "support"}) == ()
