"""Edge cases of the engine: double bindings, naive times, step-up without approval."""

from __future__ import annotations

from datetime import UTC, datetime

from charter import Capability, Effect, Engine, Request

POLICY = """
apiVersion: charter/v1
kind: Agent
metadata: {name: support-bot, labels: {team: support}}
spec: {owner: user:alice}
---
apiVersion: charter/v1
kind: Role
metadata: {name: ticketer}
spec:
  permissions:
    - {capability: do, actions: [ticket.create, ticket.close]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: both-ways}
spec:
  role: ticketer
  agents: [support-bot]
  selector: {labels: {team: support}}
  expiresAt: 2026-06-01T00:00:00Z
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: confirm-closing}
spec:
  effect: require_step_up
  match: {actions: [ticket.close]}
"""
ENGINE = Engine.from_documents(POLICY)


def _request(action: str) -> Request:
    return Request("support-bot", Capability.DO, action, "ticketing/42")


def test_a_binding_that_names_and_selects_an_agent_counts_once() -> None:
    decision = ENGINE.decide(_request("ticket.create"), now=datetime(2026, 5, 1, tzinfo=UTC))
    assert decision.allowed
    assert len(decision.reasons) == 1


def test_a_naive_time_is_taken_as_utc() -> None:
    before = ENGINE.decide(_request("ticket.create"), now=datetime(2026, 5, 31, 23, 59))
    after = ENGINE.decide(_request("ticket.create"), now=datetime(2026, 6, 1, 0, 0))
    assert before.allowed
    assert after.code == "no_permission"  # the binding expired at midnight UTC


def test_step_up_needs_the_human_not_an_approval() -> None:
    decision = ENGINE.decide(_request("ticket.close"), now=datetime(2026, 5, 1, tzinfo=UTC))
    assert decision.effect is Effect.STEP_UP_REQUIRED
    # What the confirmation needs (the guardrail behind it, how long it stays open); who
    # confirms is the on-behalf-of human, found at run time, never an approver set.
    assert decision.approval is not None
    assert decision.approval.policy == "Guardrail/confirm-closing"
    assert decision.approval.role is None


EXPLAINED = """
apiVersion: charter/v1
kind: Agent
metadata: {name: support-bot}
spec: {owner: user:alice}
---
apiVersion: charter/v1
kind: Role
metadata: {name: reader}
spec:
  permissions:
    - capability: request
      actions: [crm.customer.read]
      resources: ["crm/customer/*"]
      fields: [name]
      when: 'context.purpose == "recovery"'
---
apiVersion: charter/v1
kind: Binding
metadata: {name: reads}
spec: {role: reader, agents: [support-bot]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: needs-level}
spec:
  effect: deny
  match: {actions: ["crm.**"]}
  when: 'context.level > 3'
"""


def test_explain_names_every_rule_considered_and_its_conditions() -> None:
    engine = Engine.from_documents(EXPLAINED)
    request = Request(
        "support-bot",
        Capability.REQUEST,
        "crm.customer.read",
        "crm/customer/7",
        fields=("name", "ssn"),
        context={"purpose": "recovery", "level": "high"},
    )
    text = engine.explain(request, now=datetime(2026, 5, 1, tzinfo=UTC))
    # The guardrail's condition errors (a string compared with a number): it fails closed.
    assert text.startswith("DENY [guardrail]")
    assert "Guardrail/needs-level (deny) matches; when: `context.level > 3` failed:" in text
    assert "condition error (failed closed)" in text
    allowed = engine.explain(
        Request(
            "support-bot",
            Capability.REQUEST,
            "crm.customer.read",
            "crm/customer/7",
            fields=("name", "ssn"),
            context={"purpose": "recovery", "level": 1},
        ),
        now=datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert allowed.startswith("ALLOW [allowed]")
    assert "when: `context.level > 3` did not hold" in allowed
    assert (
        "Binding/reads (standing) gives Role/reader permissions[0]; "
        'when: `context.purpose == "recovery"` held'
    ) in allowed
    assert "redacted fields: ssn" in allowed
    unknown = engine.explain(Request("nobody", Capability.DO, "x.y", "z"))
    assert "the agent is not known to the registry" in unknown
