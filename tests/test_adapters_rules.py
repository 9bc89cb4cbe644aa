"""``ToolRule`` turns a tool call into a decision request, and ``Gate`` reads Charter's
answers; a rule that does not fit the call, or a Charter that cannot be asked, is a deny
with the reason, never an exception a framework could swallow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from charter import AsyncClient, Client, InvalidInput
from charter.adapters import Gate, ToolRule
from charter.service import Services
from tests.adapters_world import AGENT, RULES, nowhere
from tests.helpers import agent_token
from tests.servers import Served


def test_by_default_a_tool_call_asks_to_do_the_tool_on_its_own_resource() -> None:
    asked = ToolRule().request("lookup", {"query": "x"})
    assert asked == {
        "capability": "do",
        "action": "lookup",
        "resource": "tools/lookup",
        "fields": (),
        "context": {},
        "resource_attributes": {},
        "input": {"query": "x"},
    }


def test_a_rule_fills_the_request_from_the_arguments() -> None:
    rule = ToolRule(
        capability="request",
        action="crm.customer.read",
        resource="crm/customer/{customer_id}",
        fields="fields",
        context=lambda args: {"on_behalf_of": args["user"]},
        resource_attributes={"tier": "gold"},
        input=False,
    )
    asked = rule.request("read", {"customer_id": "42", "fields": ["name"], "user": "user:bob"})
    assert asked["capability"] == "request"
    assert (asked["action"], asked["resource"]) == ("crm.customer.read", "crm/customer/42")
    assert (asked["fields"], asked["context"]) == (("name",), {"on_behalf_of": "user:bob"})
    assert (asked["resource_attributes"], asked["input"]) == ({"tier": "gold"}, None)


def test_a_rule_set_up_wrongly_is_refused_when_made() -> None:
    with pytest.raises(InvalidInput) as bad:
        ToolRule(capability="launch")
    assert bad.value.code == "invalid_guard"
    with pytest.raises(InvalidInput):
        ToolRule(context="not a mapping")  # type: ignore[arg-type]


@pytest.fixture
def ops(served: Served, services: Services) -> Iterator[Client]:
    with Client(served.url, agent_token(services, AGENT)) as client:
        yield client


def test_an_argument_that_would_leave_its_segment_is_a_deny(ops: Client) -> None:
    gate = Gate(ops, tools=RULES)
    verdict = gate.decide("elevate", {"host": "../../vault"})
    assert (verdict.effect, verdict.code) == ("deny", "unsafe_resource_argument")
    missing = gate.decide("elevate", {"hostname": "db-1"})
    assert missing.effect == "deny"
    assert "could not decide elevate" in missing.message


def test_the_answers_as_the_adapters_read_them(ops: Client) -> None:
    gate = Gate(ops, tools=RULES, console_url="https://charter.example.com/")
    assert gate.decide("score", {"user": "u42"}).allowed
    denied = gate.decide("rotate", {"environment": "prod"})
    assert (denied.effect, denied.code) == ("deny", "guardrail")
    assert denied.decision_id is not None
    pending = gate.decide("elevate", {"host": "db-1"})
    assert (pending.effect, pending.kind) == ("pending", "approval")
    assert pending.link == f"https://charter.example.com/ui/approvals/{pending.approval_id}"
    assert pending.approval_id is not None
    settled = gate.approval(pending.approval_id)
    assert (settled.status, settled.approved) == ("pending", False)
    unknown = gate.approval("apr_nosuchapproval")
    assert (unknown.status, unknown.approved) == ("unknown", False)


def test_an_unknown_token_or_no_server_is_a_deny(served: Served) -> None:
    with Client(served.url, "agt_not_a_real_token") as stranger:
        verdict = Gate(stranger).decide("score", {"user": "u42"})
    assert (verdict.effect, verdict.code) == ("deny", "token_invalid")
    with nowhere() as client:
        verdict = Gate(client).decide("score", {"user": "u42"})
        assert (verdict.effect, verdict.code) == ("deny", "unreachable")
        assert Gate(client).approval("apr_x").status == "unknown"


@pytest.mark.anyio
async def test_a_blocking_run_needs_a_blocking_client(served: Served) -> None:
    async with AsyncClient(served.url, "agt_unused") as client:
        verdict = Gate(client).decide("score", {"user": "u42"})
    assert (verdict.effect, verdict.code) == ("deny", "invalid_guard")


def test_a_step_up_is_pending_like_an_approval(served: Served, services: Services) -> None:
    with Client(served.url, agent_token(services, "support-bot")) as bot:
        gate = Gate(
            bot,
            tools={
                "update_customer": ToolRule(
                    action="crm.customer.update",
                    resource="crm/customer/{customer_id}",
                    context={"on_behalf_of": "user:alice"},
                )
            },
        )
        verdict = gate.decide("update_customer", {"customer_id": "42", "email": "a@x.test"})
    assert (verdict.effect, verdict.code, verdict.kind) == (
        "pending",
        "step_up_required",
        "step_up",
    )
    assert "step-up" in verdict.message
    assert verdict.payload()["approval_id"] == verdict.approval_id
