"""The scenarios of the product brief (docs/policy.md, "The example pack"), end to end:
the example policy pack applied to a real server (uvicorn on loopback) over real SQLite
and PostgreSQL, every call made over HTTP with real tokens."""

from __future__ import annotations

from datetime import timedelta

from charter.clock import ManualClock
from tests.scenes import Charter


def test_support_agent_gets_only_the_approved_customer_fields(charter: Charter) -> None:
    decision = charter.decide(
        "support-bot",
        {
            "capability": "request",
            "action": "crm.customer.read",
            "resource": {"id": "crm/customer/42", "attributes": {"region": "eu"}},
            "fields": ["name", "email", "ssn"],
            "context": {"purpose": "account_recovery", "on_behalf_of": "user:erin"},
        },
    )
    assert decision["decision"] == "allow"
    assert decision["released_fields"] == ["name", "email"]
    assert decision["redacted_fields"] == ["ssn"]
    logged = charter.get("/v1/audit", "user:audrey", type="decision")["records"]
    assert [r["subject"] for r in logged] == [decision["decision_id"]]
    assert logged[0]["data"]["redacted_fields"] == ["ssn"]
    # Without someone to act for, customer data is refused.
    bare = charter.decide(
        "support-bot",
        {"capability": "request", "action": "crm.customer.read", "resource": "crm/customer/42"},
    )
    assert bare["decision"] == "deny"


def test_copilot_drafts_reviews_but_never_decides_them_or_changes_rbac(charter: Charter) -> None:
    draft = {"capability": "do", "action": "review.draft", "resource": "reviews/q3"}
    assert charter.decide("compliance-copilot", draft)["decision"] == "allow"
    decide = {"capability": "do", "action": "review.decide", "resource": "reviews/q3"}
    assert charter.decide("compliance-copilot", decide)["code"] == "no_permission"
    rbac = {"capability": "do", "action": "rbac.assign", "resource": "iam/groups/admins"}
    assert charter.decide("compliance-copilot", rbac)["decision"] == "deny"
    approve = {"capability": "do", "action": "charter.approval.approve", "resource": "x"}
    assert charter.decide("compliance-copilot", approve)["code"] == "agent_governance"
    # Nor can its token approve anything.
    refused = charter.post(
        "/v1/approvals/apr_aaaaaaaaaaaaaaaa/approve", "compliance-copilot", {"reason": "looks fine"}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_secrets_agent_opens_tickets_but_never_rotates_production(charter: Charter) -> None:
    ticket = {
        "capability": "do",
        "action": "ticket.create",
        "resource": "ticketing/queue/remediation",
    }
    assert charter.decide("secrets-scanner", ticket)["decision"] == "allow"
    rotate = {"capability": "do", "action": "secrets.rotate", "resource": "vault/prod/payments"}
    refused = charter.decide("secrets-scanner", rotate)
    assert (refused["decision"], refused["code"]) == ("deny", "guardrail")
    assert refused["reasons"][0]["policy"] == "Guardrail/no-prod-credential-rotation"
    dev = {"capability": "do", "action": "secrets.rotate", "resource": "vault/dev/payments"}
    assert charter.decide("secrets-scanner", dev)["decision"] == "allow"


def test_jit_elevation_needs_an_open_ticket_and_a_human_and_lasts_its_grant(
    charter: Charter, clock: ManualClock
) -> None:
    elevate = {"capability": "do", "action": "pam.elevate", "resource": "pam/roles/prod-db"}
    closed = charter.decide(
        "identity-ops-agent", {**elevate, "context": {"ticket": {"id": "C1", "status": "closed"}}}
    )
    assert (closed["decision"], closed["code"]) == ("deny", "requirement_unmet")
    assert closed["approval"] is None  # refused before any human is asked
    with_ticket = {**elevate, "context": {"ticket": {"id": "C2", "status": "open"}}}
    asked = charter.decide("identity-ops-agent", with_ticket)
    assert asked["decision"] == "approval_required"
    approval = asked["approval"]
    assert approval["approvers"] == ["group:identity-ops"]
    inbox = charter.get("/v1/approvals", "user:ivy", status="pending")["approvals"]
    assert [a["id"] for a in inbox] == [approval["id"]]
    assert inbox[0]["request"]["context"]["ticket"]["id"] == "C2"
    owner = charter.post(f"/v1/approvals/{approval['id']}/approve", "user:bob", {"reason": "x"})
    assert owner.status_code == 403  # the owner is not in group identity-ops
    approved = charter.post(
        f"/v1/approvals/{approval['id']}/approve", "user:ivy", {"reason": "CHG C2 reviewed"}
    )
    assert approved.status_code == 200, approved.text
    grant = approved.json()["grant"]
    assert charter.decide("identity-ops-agent", with_ticket)["decision"] == "allow"
    other_ticket = {**elevate, "context": {"ticket": {"id": "C3", "status": "open"}}}
    assert charter.decide("identity-ops-agent", other_ticket)["decision"] == "allow"
    grants = charter.get("/v1/grants", "user:bob", agent="identity-ops-agent")["grants"]
    assert [(g["id"], g["role"], g["status"]) for g in grants] == [
        (grant, "pam-elevator", "active")
    ]
    clock.advance(timedelta(minutes=30))  # the binding's maxDuration
    assert charter.decide("identity-ops-agent", with_ticket)["decision"] == "approval_required"
    types = [r["type"] for r in charter.get("/v1/audit", "user:audrey")["records"]]
    for kind in ("approval.created", "approval.voted", "approval.approved", "grant.issued"):
        assert kind in types


def test_step_up_is_confirmed_by_the_customer_the_agent_acts_for(charter: Charter) -> None:
    update = {
        "capability": "do",
        "action": "crm.customer.update",
        "resource": "crm/customer/42",
        "context": {"on_behalf_of": "user:erin"},
        "input": {"email": "erin@new.example"},
    }
    asked = charter.decide("support-bot", update)
    assert asked["decision"] == "step_up_required"
    confirmation = asked["approval"]
    assert confirmation["kind"] == "step_up"
    owner = charter.post(
        f"/v1/approvals/{confirmation['id']}/approve", "user:alice", {"reason": "fine"}
    )
    assert owner.json()["error"]["code"] == "not_on_behalf_of"
    confirmed = charter.post(
        f"/v1/approvals/{confirmation['id']}/approve",
        "user:erin",
        {"reason": "yes, that is my new address"},
    )
    assert confirmed.json()["status"] == "approved"
    waited = charter.get(f"/v1/approvals/{confirmation['id']}/wait", "support-bot", timeout=5)
    assert waited["status"] == "approved"
    assert charter.decide("support-bot", update)["decision"] == "allow"
    # Another change (other input) needs its own confirmation.
    other = {**update, "input": {"email": "mallory@evil.example"}}
    assert charter.decide("support-bot", other)["decision"] == "step_up_required"


def test_kill_switch_mid_session(charter: Charter) -> None:
    ticket = {"capability": "do", "action": "ticket.create", "resource": "ticketing/queue/support"}
    assert charter.decide("support-bot", ticket)["decision"] == "allow"
    update = {
        "capability": "do",
        "action": "crm.customer.update",
        "resource": "crm/customer/42",
        "context": {"on_behalf_of": "user:erin"},
    }
    pending = charter.decide("support-bot", update)["approval"]["id"]
    suspended = charter.post("/v1/agents/support-bot/suspend", "user:alice", {"reason": "odd"})
    assert suspended.status_code == 200, suspended.text
    refused = charter.http.post(
        "/v1/decisions", json=ticket, headers=charter.headers["support-bot"]
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "agent_suspended"
    via_gateway = charter.decide("user:gate", {**ticket, "agent": "support-bot"})
    assert (via_gateway["decision"], via_gateway["code"]) == ("deny", "agent_suspended")
    assert charter.get(f"/v1/approvals/{pending}", "user:alice")["status"] == "cancelled"
    late = charter.post(f"/v1/approvals/{pending}/approve", "user:erin", {"reason": "ok"})
    assert late.status_code == 409
    retired = charter.post("/v1/agents/support-bot/retire", "user:alice", {"reason": "gone"})
    assert retired.status_code == 200
    after = charter.decide("user:gate", {**ticket, "agent": "support-bot"})
    assert after["code"] == "agent_retired"
