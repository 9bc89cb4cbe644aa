"""Each step of a decision, in order: invariants, deny guardrails and ``require``,
permissions (standing, selected, expiring, grants, approvals, eligible), friction,
fields, and the default deny."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from charter.identity.agents import AgentStatus
from charter.policy import (
    AgentFacts,
    Capability,
    Decision,
    Effect,
    Engine,
    Facts,
    Grant,
    Request,
)
from charter.policy.model import ApprovalSpec

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BOT = "support-bot"

AGENT = """\
apiVersion: charter/v1
kind: Agent
metadata: {name: support-bot, labels: {team: support}}
spec: {owner: "user:alice", riskTier: medium}
"""

READER = """\
apiVersion: charter/v1
kind: Role
metadata: {name: support-reader}
spec:
  permissions:
    - capability: request
      actions: [crm.customer.read]
      resources: ["crm/customer/*"]
      fields: [name, email, account_status]
      when: 'context.purpose == "account_recovery"'
    - capability: do
      actions: [ticket.create]
      resources: ["ticketing/queue/remediation"]
"""

STANDING = """\
apiVersion: charter/v1
kind: Binding
metadata: {name: support-bot-reader}
spec: {role: support-reader, agents: [support-bot]}
"""

RECOVERY = {"purpose": "account_recovery"}


def doc(kind: str, name: str, spec: str) -> str:
    """A document; ``spec`` is the YAML under ``spec:``, indented two spaces."""
    return f"apiVersion: charter/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec:\n{spec}"


def role(name: str, *permissions: str) -> str:
    return doc(kind="Role", name=name, spec="  permissions:\n" + "".join(permissions))


def binding(name: str, role_name: str, extra: str = "  agents: [support-bot]\n") -> str:
    return doc("Binding", name, f"  role: {role_name}\n{extra}")


def guardrail(name: str, body: str) -> str:
    return doc("Guardrail", name, body)


def engine(*documents: str) -> Engine:
    return Engine.from_documents("\n---\n".join((AGENT, *documents)))


def active(
    agent: str = BOT,
    *,
    status: AgentStatus = AgentStatus.ACTIVE,
    labels: dict[str, str] | None = None,
    grants: tuple[Grant, ...] = (),
    approval_id: str | None = None,
) -> Facts:
    return Facts(
        agent=AgentFacts(
            id=agent,
            owner="user:alice",
            status=status,
            labels={"team": "support"} if labels is None else labels,
        ),
        grants=grants,
        approval_id=approval_id,
    )


def read(
    resource: str = "crm/customer/42",
    *,
    fields: tuple[str, ...] = (),
    context: dict[str, object] | None = None,
    agent: str = BOT,
) -> Request:
    return Request(
        agent=agent,
        capability=Capability.REQUEST,
        action="crm.customer.read",
        resource=resource,
        fields=fields,
        context=RECOVERY if context is None else context,
    )


def do(action: str, resource: str, context: dict[str, object] | None = None) -> Request:
    return Request(
        agent=BOT, capability=Capability.DO, action=action, resource=resource, context=context or {}
    )


def decide(
    eng: Engine, request: Request, facts: Facts | None = None, now: datetime = NOW
) -> Decision:
    return eng.decide(request, facts=facts if facts is not None else active(), now=now)


# --- 1. invariants ---------------------------------------------------------------------

EVERYTHING = role("everything", "    - {capability: request, actions: ['**']}\n")


def test_the_baseline_is_allowed() -> None:
    decision = decide(engine(READER, STANDING), read())
    assert decision.effect is Effect.ALLOW
    assert decision.allowed
    assert decision.code == "allowed"


def test_an_agent_without_facts_is_unknown() -> None:
    eng = engine(READER, STANDING)
    decision = eng.decide(read(), facts=Facts(agent=None), now=NOW)
    assert decision.effect is Effect.DENY
    assert decision.code == "agent_unknown"
    assert decision.reasons[0].policy == "invariant"
    assert decision.reasons[0].rule == "known_agent"
    assert not decision.allowed


def test_facts_about_another_agent_do_not_count() -> None:
    decision = decide(engine(READER, STANDING), read(), active("other-bot"))
    assert decision.code == "agent_unknown"


def test_the_engine_knows_only_declared_agents_on_its_own() -> None:
    eng = engine(READER, STANDING)
    assert eng.decide(read(), now=NOW).effect is Effect.ALLOW
    assert eng.decide(read(agent="ghost-bot"), now=NOW).code == "agent_unknown"


@pytest.mark.parametrize("status", [AgentStatus.SUSPENDED, AgentStatus.RETIRED])
def test_an_inactive_agent_is_denied_whatever_it_holds(status: AgentStatus) -> None:
    eng = engine(READER, STANDING, EVERYTHING, binding("all", "everything"))
    decision = decide(eng, read(), active(status=status, approval_id="apr_1"))
    assert decision.effect is Effect.DENY
    assert decision.code == f"agent_{status.value}"
    assert decision.reasons[0].rule == "active_agent"


@pytest.mark.parametrize("action", ["charter.approval.approve", "charter.policy.apply"])
def test_agents_never_act_on_governance(action: str) -> None:
    eng = engine(EVERYTHING, binding("all", "everything"))
    request = Request(agent=BOT, capability=Capability.REQUEST, action=action, resource="x")
    decision = decide(eng, request, active(approval_id="apr_1"))
    assert decision.effect is Effect.DENY
    assert decision.code == "agent_governance"
    assert decision.reasons[0].rule == "humans_govern"
    other = Request(agent=BOT, capability=Capability.REQUEST, action="charterx.read", resource="x")
    assert decide(eng, other).allowed


# --- 2. deny guardrails and require ------------------------------------------------------

NO_PROD_ROTATION = guardrail(
    "no-prod-rotation",
    "  effect: deny\n"
    "  match: {capabilities: [do], actions: [secrets.rotate], resources: ['vault/prod/**']}\n"
    "  message: not in production\n",
)
ROTATOR = role(
    "rotator", "    - {capability: do, actions: [secrets.rotate], resources: ['vault/**']}\n"
)


def test_a_matching_deny_guardrail_beats_a_permission() -> None:
    eng = engine(ROTATOR, binding("rot", "rotator"), NO_PROD_ROTATION)
    decision = decide(eng, do("secrets.rotate", "vault/prod/db/root"))
    assert decision.effect is Effect.DENY
    assert decision.code == "guardrail"
    assert decision.reasons[0].policy == "Guardrail/no-prod-rotation"
    assert decision.reasons[0].effect is Effect.DENY
    assert decision.message == "not in production"


def test_a_deny_guardrail_that_does_not_match_lets_the_permission_through() -> None:
    eng = engine(ROTATOR, binding("rot", "rotator"), NO_PROD_ROTATION)
    assert decide(eng, do("secrets.rotate", "vault/staging/db")).allowed
    assert decide(eng, do("secrets.rotate", "vault/production")).allowed


def test_a_deny_guardrail_without_capabilities_matches_every_capability() -> None:
    deny = guardrail("no-crm", "  effect: deny\n  match: {actions: ['crm.**']}\n")
    decision = decide(engine(READER, STANDING, deny), read())
    assert decision.code == "guardrail"


@pytest.mark.parametrize(("context", "denied"), [({"env": "prod"}, True), ({"env": "dev"}, False)])
def test_a_deny_guardrail_applies_only_when_its_condition_holds(
    context: dict[str, object], denied: bool
) -> None:
    deny = guardrail(
        "no-prod",
        "  effect: deny\n  match: {actions: [secrets.rotate]}\n  when: 'context.env == \"prod\"'\n",
    )
    eng = engine(ROTATOR, binding("rot", "rotator"), deny)
    decision = decide(eng, do("secrets.rotate", "vault/a", context))
    assert (decision.code == "guardrail") is denied
    assert decision.allowed is not denied
    assert decision.errors == ()


@pytest.mark.parametrize(
    "condition",
    ['context.env == "prod"', "context.count > 3", "1 / context.zero == 1", "[1][context.i] == 1"],
)
def test_a_deny_guardrail_whose_condition_errors_denies(condition: str) -> None:
    deny = guardrail(
        "careful",
        f"  effect: deny\n  match: {{actions: [secrets.rotate]}}\n  when: '{condition}'\n",
    )
    eng = engine(ROTATOR, binding("rot", "rotator"), deny)
    # No 'env', a string 'count', a zero divisor, an index out of range: each errors.
    decision = decide(eng, do("secrets.rotate", "vault/a", {"count": "many", "zero": 0, "i": 5}))
    assert decision.effect is Effect.DENY
    assert decision.code == "guardrail"
    assert len(decision.errors) == 1
    assert decision.errors[0].startswith("Guardrail/careful.when: ")


TICKET_GATE = guardrail(
    "elevation-needs-ticket",
    "  effect: require_approval\n"
    "  match: {capabilities: [do], actions: [pam.elevate]}\n"
    "  require: 'has(context.ticket) && context.ticket.status == \"open\"'\n"
    "  approval: {approvers: ['group:identity-ops'], quorum: 1, expiresIn: 30m}\n",
)
ELEVATOR = role("elevator", "    - {capability: do, actions: [pam.elevate]}\n")


def test_a_false_require_denies() -> None:
    eng = engine(ELEVATOR, binding("elev", "elevator"), TICKET_GATE)
    decision = decide(eng, do("pam.elevate", "hosts/db1", {"ticket": {"status": "closed"}}))
    assert decision.effect is Effect.DENY
    assert decision.code == "requirement_unmet"
    assert decision.reasons[0].policy == "Guardrail/elevation-needs-ticket"
    assert decision.reasons[0].rule == "require"
    assert "context.ticket.status" in decision.message
    assert decision.errors == ()


def test_a_require_is_checked_before_permissions() -> None:
    decision = decide(engine(TICKET_GATE), do("pam.elevate", "hosts/db1"))
    assert decision.code == "requirement_unmet"


def test_an_erroring_require_denies_with_the_error() -> None:
    gate = guardrail(
        "gate",
        "  effect: require_step_up\n  match: {actions: [pam.elevate]}\n"
        "  require: 'context.ticket.status == \"open\"'\n",
    )
    decision = decide(engine(ELEVATOR, binding("elev", "elevator"), gate), do("pam.elevate", "h"))
    assert decision.code == "requirement_unmet"
    assert len(decision.errors) == 1
    assert decision.errors[0].startswith("Guardrail/gate.require: ")


def test_a_met_require_leaves_the_guardrail_to_ask_for_approval() -> None:
    eng = engine(ELEVATOR, binding("elev", "elevator"), TICKET_GATE)
    decision = decide(eng, do("pam.elevate", "hosts/db1", {"ticket": {"status": "open"}}))
    assert decision.effect is Effect.APPROVAL_REQUIRED
    assert decision.code == "approval_required"
    assert decision.approval is not None
    assert decision.approval.policy == "Guardrail/elevation-needs-ticket"
    assert decision.approval.spec == ApprovalSpec(
        approvers=("group:identity-ops",), quorum=1, expires_in=timedelta(minutes=30)
    )
    assert decision.approval.role is None


# --- 3. permissions ------------------------------------------------------------------------


def test_a_standing_permission_allows_and_names_its_rule() -> None:
    eng = engine(READER, STANDING)
    decision = decide(eng, do("ticket.create", "ticketing/queue/remediation"))
    assert decision.allowed
    assert [(r.policy, r.rule, r.effect) for r in decision.reasons] == [
        ("Role/support-reader", "permissions[1]", Effect.ALLOW)
    ]


@pytest.mark.parametrize(
    "request_",
    [
        read(context={"purpose": "marketing"}),
        read("crm/customer/42/notes"),
        read("billing/customer/42"),
        Request(
            agent=BOT,
            capability=Capability.DO,
            action="crm.customer.read",
            resource="crm/customer/42",
            context=RECOVERY,
        ),
        do("ticket.create", "ticketing/queue/other"),
        do("ticket.delete", "ticketing/queue/remediation"),
    ],
)
def test_what_no_permission_covers_is_denied_by_default(request_: Request) -> None:
    decision = decide(engine(READER, STANDING), request_)
    assert decision.effect is Effect.DENY
    assert decision.code == "no_permission"
    assert [(r.policy, r.rule) for r in decision.reasons] == [("default", "deny")]
    assert decision.errors == ()


def test_a_permission_whose_condition_errors_does_not_grant() -> None:
    decision = decide(engine(READER, STANDING), read(context={}))
    assert decision.code == "no_permission"
    assert len(decision.errors) == 1
    assert decision.errors[0].startswith("Role/support-reader.permissions[0].when: ")


def test_a_permission_without_resources_covers_every_resource() -> None:
    anywhere = role("anywhere", "    - {capability: do, actions: [report.run]}\n")
    eng = engine(anywhere, binding("any", "anywhere"))
    assert decide(eng, do("report.run", "reports/a/b/c")).allowed
    assert decide(eng, do("report.run", "x")).allowed


def test_no_bindings_at_all_is_default_deny() -> None:
    decision = decide(engine(READER), read())
    assert decision.code == "no_permission"


@pytest.mark.parametrize(
    ("labels", "allowed"),
    [
        ({"team": "support"}, True),
        ({"team": "support", "tier": "1"}, True),
        ({"team": "sales"}, False),
        ({}, False),
    ],
)
def test_a_binding_selects_agents_by_label(labels: dict[str, str], allowed: bool) -> None:
    selected = binding("team-readers", "support-reader", "  selector: {labels: {team: support}}\n")
    decision = decide(engine(READER, selected), read(), active(labels=labels))
    assert decision.allowed is allowed


EXPIRES = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (EXPIRES - timedelta(seconds=1), True),
        (EXPIRES, False),
        (EXPIRES + timedelta(days=1), False),
    ],
)
def test_an_expired_binding_gives_nothing(now: datetime, allowed: bool) -> None:
    expiring = binding(
        "temp", "support-reader", "  agents: [support-bot]\n  expiresAt: 2026-07-01T00:00:00Z\n"
    )
    decision = decide(engine(READER, expiring), read(), now=now)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code == "no_permission"


def test_an_active_grant_permits_and_is_named() -> None:
    grant = Grant(id="grt_1", role="support-reader", expires_at=NOW + timedelta(hours=1))
    decision = decide(engine(READER), read(), active(grants=(grant,)))
    assert decision.allowed
    assert decision.reasons[0].policy == "Role/support-reader"
    assert decision.reasons[0].rule == "permissions[0]"
    assert decision.reasons[0].message == "through grant grt_1"


@pytest.mark.parametrize(
    "grant",
    [
        Grant(id="grt_1", role="support-reader", expires_at=NOW),
        Grant(id="grt_1", role="support-reader", expires_at=NOW - timedelta(minutes=1)),
        Grant(id="grt_1", role="no-such-role", expires_at=NOW + timedelta(hours=1)),
    ],
)
def test_expired_or_unknown_grants_are_ignored(grant: Grant) -> None:
    decision = decide(engine(READER), read(), active(grants=(grant,)))
    assert decision.code == "no_permission"


def test_a_grant_still_needs_the_permission_condition() -> None:
    grant = Grant(id="grt_1", role="support-reader", expires_at=NOW + timedelta(hours=1))
    decision = decide(engine(READER), read(context={"purpose": "other"}), active(grants=(grant,)))
    assert decision.code == "no_permission"


def test_an_approval_for_this_request_permits() -> None:
    decision = decide(engine(READER), read(fields=("ssn",)), active(approval_id="apr_7"))
    assert decision.allowed
    assert [(r.policy, r.rule) for r in decision.reasons] == [("Approval/apr_7", "approved")]
    assert decision.released_fields == ("ssn",)
    assert decision.redacted_fields == ()


BREAK_GLASS = """\
apiVersion: charter/v1
kind: Binding
metadata: {name: reader-break-glass}
spec:
  role: support-reader
  agents: [support-bot]
  activation: eligible
  approval: {approvers: [owner, "user:bob"], quorum: 2, expiresIn: 2h}
"""


def test_an_eligible_binding_makes_it_approval_required() -> None:
    decision = decide(engine(READER, BREAK_GLASS), read())
    assert decision.effect is Effect.APPROVAL_REQUIRED
    assert decision.code == "approval_required"
    assert decision.reasons[0].policy == "Binding/reader-break-glass"
    assert decision.reasons[0].effect is Effect.APPROVAL_REQUIRED
    assert decision.approval is not None
    assert decision.approval.policy == "Binding/reader-break-glass"
    assert decision.approval.role == "support-reader"
    assert decision.approval.spec == ApprovalSpec(
        approvers=("owner", "user:bob"), quorum=2, expires_in=timedelta(hours=2)
    )
    assert not decision.allowed


def test_an_eligible_binding_that_does_not_cover_the_request_is_default_deny() -> None:
    decision = decide(engine(READER, BREAK_GLASS), read(context={"purpose": "other"}))
    assert decision.code == "no_permission"
    decision = decide(engine(READER, BREAK_GLASS), do("ticket.delete", "x"))
    assert decision.code == "no_permission"


def test_an_expired_eligible_binding_offers_nothing() -> None:
    expired = BREAK_GLASS.replace(
        "  activation: eligible\n", "  activation: eligible\n  expiresAt: 2026-01-01T00:00:00Z\n"
    )
    assert decide(engine(READER, expired), read()).code == "no_permission"


def test_an_eligible_binding_activated_by_a_grant_allows() -> None:
    grant = Grant(id="grt_9", role="support-reader", expires_at=NOW + timedelta(minutes=5))
    decision = decide(engine(READER, BREAK_GLASS), read(), active(grants=(grant,)))
    assert decision.allowed


def test_a_standing_permission_wins_over_an_eligible_one() -> None:
    decision = decide(engine(READER, STANDING, BREAK_GLASS), read())
    assert decision.allowed


# --- 4. friction ---------------------------------------------------------------------------

STEP_UP = guardrail(
    "confirm-reads",
    "  effect: require_step_up\n"
    "  match: {capabilities: [request], actions: ['crm.**'], resources: ['crm/customer/*']}\n"
    "  message: the customer's human must confirm\n",
)
NEEDS_APPROVAL = guardrail(
    "approve-reads",
    "  effect: require_approval\n"
    "  match: {actions: [crm.customer.read]}\n"
    "  approval: {approvers: ['group:privacy'], quorum: 1, expiresIn: 15m}\n",
)


def test_a_step_up_guardrail_asks_for_step_up() -> None:
    decision = decide(engine(READER, STANDING, STEP_UP), read())
    assert decision.effect is Effect.STEP_UP_REQUIRED
    assert decision.code == "step_up_required"
    assert decision.reasons[0].policy == "Guardrail/confirm-reads"
    assert decision.reasons[0].effect is Effect.STEP_UP_REQUIRED
    assert decision.message == "the customer's human must confirm"


def test_an_approval_guardrail_asks_for_its_approval() -> None:
    decision = decide(engine(READER, STANDING, NEEDS_APPROVAL), read())
    assert decision.effect is Effect.APPROVAL_REQUIRED
    assert decision.approval is not None
    assert decision.approval.policy == "Guardrail/approve-reads"
    assert decision.approval.spec.approvers == ("group:privacy",)
    assert decision.approval.spec.expires_in == timedelta(minutes=15)


@pytest.mark.parametrize("gate", [STEP_UP, NEEDS_APPROVAL])
def test_friction_is_satisfied_by_an_approval(gate: str) -> None:
    decision = decide(engine(READER, STANDING, gate), read(), active(approval_id="apr_1"))
    assert decision.allowed
    assert ("Approval/apr_1", "approved") in [(r.policy, r.rule) for r in decision.reasons]


@pytest.mark.parametrize("gate", [STEP_UP, NEEDS_APPROVAL])
def test_friction_is_satisfied_by_a_grant(gate: str) -> None:
    grant = Grant(id="grt_1", role="support-reader", expires_at=NOW + timedelta(hours=1))
    decision = decide(engine(READER, gate), read(), active(grants=(grant,)))
    assert decision.allowed


def test_an_expired_grant_does_not_satisfy_friction() -> None:
    grant = Grant(id="grt_1", role="support-reader", expires_at=NOW - timedelta(hours=1))
    decision = decide(engine(READER, STANDING, STEP_UP), read(), active(grants=(grant,)))
    assert decision.effect is Effect.STEP_UP_REQUIRED


def test_friction_does_not_stand_in_for_a_permission() -> None:
    decision = decide(engine(READER, STEP_UP), read())
    assert decision.code == "no_permission"


def test_friction_outside_its_match_or_condition_does_not_apply() -> None:
    gate = guardrail(
        "big-reads",
        "  effect: require_step_up\n  match: {actions: [crm.customer.read]}\n"
        "  when: 'size(request.fields) > 2'\n",
    )
    eng = engine(READER, STANDING, gate, STEP_UP.replace("crm/customer/*", "crm/vip/*"))
    assert decide(eng, read(fields=("name",))).allowed
    decision = decide(eng, read(fields=("name", "email", "account_status")))
    assert decision.effect is Effect.STEP_UP_REQUIRED
    assert decision.reasons[0].policy == "Guardrail/big-reads"


def test_friction_whose_condition_errors_applies() -> None:
    gate = guardrail(
        "odd",
        "  effect: require_step_up\n  match: {actions: [crm.customer.read]}\n"
        "  when: 'context.missing == 1'\n",
    )
    decision = decide(engine(READER, STANDING, gate), read())
    assert decision.effect is Effect.STEP_UP_REQUIRED
    assert len(decision.errors) == 1
    assert decision.errors[0].startswith("Guardrail/odd.when: ")


# --- 5. fields -------------------------------------------------------------------------------


def test_requested_fields_beyond_the_permission_are_redacted() -> None:
    decision = decide(engine(READER, STANDING), read(fields=("ssn", "email", "name", "dob")))
    assert decision.allowed
    assert decision.released_fields == ("email", "name")
    assert decision.redacted_fields == ("ssn", "dob")


def test_no_fields_requested_releases_none() -> None:
    decision = decide(engine(READER, STANDING), read())
    assert decision.released_fields == ()
    assert decision.redacted_fields == ()


def test_fields_are_the_union_over_matching_permissions() -> None:
    more = role(
        "ssn-reader",
        "    - {capability: request, actions: [crm.customer.read], fields: [ssn]}\n",
    )
    eng = engine(READER, STANDING, more, binding("ssn", "ssn-reader"))
    decision = decide(eng, read(fields=("ssn", "email", "dob")))
    assert decision.released_fields == ("ssn", "email")
    assert decision.redacted_fields == ("dob",)
    assert {r.policy for r in decision.reasons} == {"Role/support-reader", "Role/ssn-reader"}


def test_a_permission_without_fields_releases_every_field() -> None:
    everything = role("all-fields", "    - {capability: request, actions: [crm.customer.read]}\n")
    eng = engine(READER, STANDING, everything, binding("all", "all-fields"))
    decision = decide(eng, read(fields=("ssn", "email")))
    assert decision.released_fields == ("ssn", "email")
    assert decision.redacted_fields == ()


STRICT = role(
    "strict-reader",
    "    - capability: request\n"
    "      actions: [crm.customer.read]\n"
    "      fields: [name]\n"
    "      onExcessFields: deny\n",
)


def test_on_excess_fields_deny_refuses_the_request() -> None:
    eng = engine(STRICT, binding("strict", "strict-reader"))
    decision = decide(eng, read(fields=("name", "ssn")))
    assert decision.effect is Effect.DENY
    assert decision.code == "excess_fields"
    assert decision.reasons[0].policy == "Role/strict-reader"
    assert decision.reasons[0].rule == "permissions[0]"
    assert "ssn" in decision.reasons[0].message
    assert decide(eng, read(fields=("name",))).allowed


def test_an_excess_fields_deny_names_the_permission_that_says_deny() -> None:
    eng = engine(STRICT, binding("strict", "strict-reader"))
    decision = decide(eng, read(fields=("name", "ssn")))
    assert decision.code == "excess_fields"
    assert (decision.reasons[0].policy, decision.reasons[0].rule) == (
        "Role/strict-reader",
        "permissions[0]",
    )


def test_a_redacting_permission_beside_a_strict_one_still_allows_with_redaction() -> None:
    # Permissions add up: a strict role does not take away what another role allows.
    eng = engine(READER, STANDING, STRICT, binding("strict", "strict-reader"))
    decision = decide(eng, read(fields=("name", "ssn")))
    assert decision.allowed
    assert decision.released_fields == ("name",)
    assert decision.redacted_fields == ("ssn",)


# --- every decision ---------------------------------------------------------------------------


def test_every_decision_carries_the_policy_revision() -> None:
    ticketer = role("ticketer", "    - {capability: do, actions: [ticket.create]}\n")
    confirm = guardrail(
        "confirm", "  effect: require_step_up\n  match: {actions: [ticket.create]}\n"
    )
    eng = engine(
        READER,
        BREAK_GLASS,
        ticketer,
        binding("tick", "ticketer"),
        confirm,
        NO_PROD_ROTATION,
        ROTATOR,
        binding("rot", "rotator"),
    )
    decisions = [
        decide(eng, read(), active(approval_id="apr_1")),
        decide(eng, read()),
        decide(eng, do("ticket.create", "ticketing/queue/a")),
        decide(eng, do("secrets.rotate", "vault/prod/x")),
        decide(eng, do("nothing.here", "x")),
        eng.decide(read(), facts=Facts(agent=None), now=NOW),
    ]
    assert [d.effect for d in decisions] == [
        Effect.ALLOW,
        Effect.APPROVAL_REQUIRED,
        Effect.STEP_UP_REQUIRED,
        Effect.DENY,
        Effect.DENY,
        Effect.DENY,
    ]
    assert {d.policy_revision for d in decisions} == {eng.revision}
    assert eng.revision.startswith("rev_")
    assert all(d.reasons for d in decisions)


def test_reasons_serialise_for_the_api() -> None:
    decision = decide(
        engine(READER, STANDING, NO_PROD_ROTATION), do("secrets.rotate", "vault/prod/a")
    )
    assert decision.reasons[0].to_json() == {
        "policy": "Guardrail/no-prod-rotation",
        "rule": "effect",
        "effect": "deny",
        "message": "not in production",
    }


@pytest.mark.parametrize("offset", [0, 2, -5])
def test_the_engine_decides_at_the_same_instant_in_any_time_zone(offset: int) -> None:
    expiring = binding(
        "temp", "support-reader", "  agents: [support-bot]\n  expiresAt: 2026-07-01T00:00:00Z\n"
    )
    eng = engine(READER, expiring)
    zone = timezone(timedelta(hours=offset))
    before = (EXPIRES - timedelta(seconds=1)).astimezone(zone)
    # The engine's own facts (the policy declares the agent), and the time as given.
    assert eng.decide(read(), now=before).allowed
    assert not eng.decide(read(), now=EXPIRES.astimezone(zone)).allowed
    # A naive time is taken as UTC.
    assert eng.decide(read(), now=(EXPIRES - timedelta(seconds=1)).replace(tzinfo=None)).allowed
    assert not eng.decide(read(), now=EXPIRES.replace(tzinfo=None)).allowed
    assert eng.decide(read(agent="not-declared"), now=before).code == "agent_unknown"
