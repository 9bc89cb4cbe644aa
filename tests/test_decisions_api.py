"""``POST /v1/decisions``: the example pack's scenarios through the real app, on both
backends; who may ask for whom; the audit record of each decision."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.errors import AuthenticationError
from charter.identity.agents import LifecycleAction
from charter.policy.model import Capability
from charter.server.routes.decisions import FAST_ROUTE
from charter.service import SYSTEM, Services
from charter.service.decisions import Asked
from tests.helpers import Admin, agent_token, bearer, register
from tests.waiting import barrier, join_all, spawn

RECOVERY = {"purpose": "account_recovery", "on_behalf_of": "user:bob"}
READ = {
    "capability": "request",
    "action": "crm.customer.read",
    "resource": {"id": "crm/customer/42", "attributes": {"region": "eu"}},
    "fields": ["name", "email", "ssn"],
    "context": RECOVERY,
}


def decisions(api: TestClient, admin: Admin) -> list[dict[str, Any]]:
    records = api.get("/v1/audit", params={"type": "decision"}, headers=admin.headers)
    found: list[dict[str, Any]] = records.json()["records"]
    return found


@pytest.mark.usefixtures("pack")
def test_an_agent_gets_only_the_approved_fields(
    api: TestClient, services: Services, admin: Admin
) -> None:
    answer = api.post(
        "/v1/decisions", json=READ, headers=bearer(agent_token(services, "support-bot"))
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["decision"], body["code"]) == ("allow", "allowed")
    assert body["released_fields"] == ["name", "email"]
    assert body["redacted_fields"] == ["ssn"]
    assert body["reasons"][0]["policy"] == "Role/support-reader"
    assert body["decision_id"].startswith("dec_")
    assert body["policy_revision"].startswith("rev_")

    [record] = decisions(api, admin)
    assert record["subject"] == body["decision_id"]
    assert record["actor"] == "agent:support-bot"
    data = record["data"]
    assert data["decision"] == "allow"
    assert data["redacted_fields"] == ["ssn"]
    assert data["request"]["context_keys"] == ["on_behalf_of", "purpose"]
    assert data["request_digest"].startswith("sha256:")
    # The context's values are not in the record, only its keys and digest.
    assert "account_recovery" not in json.dumps(record)
    assert api.get("/v1/audit/verify", headers=admin.headers).json()["ok"] is True


@pytest.mark.usefixtures("pack")
def test_the_secrets_agent_opens_tickets_but_never_rotates_production_credentials(
    api: TestClient, services: Services
) -> None:
    token = bearer(agent_token(services, "secrets-scanner"))
    ticket = {
        "capability": "do",
        "action": "ticket.create",
        "resource": "ticketing/queue/remediation",
    }
    assert api.post("/v1/decisions", json=ticket, headers=token).json()["decision"] == "allow"
    rotate = {"capability": "do", "action": "secrets.rotate", "resource": "vault/prod/payments"}
    body = api.post("/v1/decisions", json=rotate, headers=token).json()
    assert (body["decision"], body["code"]) == ("deny", "guardrail")
    assert body["message"]


@pytest.mark.usefixtures("pack")
def test_an_agent_token_decides_only_for_itself(
    api: TestClient, services: Services, admin: Admin
) -> None:
    token = bearer(agent_token(services, "support-bot"))
    mine = api.post("/v1/decisions", json={**READ, "agent": "support-bot"}, headers=token)
    assert mine.status_code == 200
    other = api.post("/v1/decisions", json={**READ, "agent": "secrets-scanner"}, headers=token)
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "forbidden"
    types = [r["type"] for r in api.get("/v1/audit", headers=admin.headers).json()["records"]]
    assert types[-1] == "auth.forbidden"
    assert len(decisions(api, admin)) == 1


@pytest.mark.usefixtures("pack")
def test_an_enforcer_names_any_agent_and_must_name_one(
    api: TestClient, enforcer: dict[str, str], services: Services, admin: Admin
) -> None:
    named = api.post("/v1/decisions", json={**READ, "agent": "support-bot"}, headers=enforcer)
    assert named.json()["decision"] == "allow"
    unnamed = api.post("/v1/decisions", json=READ, headers=enforcer)
    assert unnamed.status_code == 422
    assert unnamed.json()["error"]["code"] == "agent_required"
    unknown = api.post("/v1/decisions", json={**READ, "agent": "nobody"}, headers=enforcer)
    assert unknown.json()["code"] == "agent_unknown"
    # The kill switch: suspended now, denied on the very next decision.
    services.agents.transition(SYSTEM, "support-bot", LifecycleAction.SUSPEND, reason="test")
    after = api.post("/v1/decisions", json={**READ, "agent": "support-bot"}, headers=enforcer)
    assert (after.json()["decision"], after.json()["code"]) == ("deny", "agent_suspended")
    assert [r["data"]["code"] for r in decisions(api, admin)] == [
        "allowed",
        "agent_unknown",
        "agent_suspended",
    ]


@pytest.mark.usefixtures("pack")
def test_humans_without_the_enforcer_role_may_not_ask(api: TestClient, admin: Admin) -> None:
    answer = api.post("/v1/decisions", json={**READ, "agent": "support-bot"}, headers=admin.headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_without_a_policy_everything_is_denied(
    api: TestClient, services: Services, admin: Admin, enforcer: dict[str, str]
) -> None:
    services.humans.add(SYSTEM, human_id="user:alice", email="alice@example.com")
    register(services, "support-bot", "user:alice")
    body = api.post("/v1/decisions", json={**READ, "agent": "support-bot"}, headers=enforcer)
    assert (body.json()["decision"], body.json()["code"]) == ("deny", "no_policy")
    assert body.json()["policy_revision"] is None


@pytest.mark.usefixtures("pack")
def test_a_batch_is_decided_in_order_and_bounded(
    api: TestClient, enforcer: dict[str, str], admin: Admin
) -> None:
    rotate = {
        "agent": "secrets-scanner",
        "capability": "do",
        "action": "secrets.rotate",
        "resource": "vault/prod/payments",
    }
    batch = {"requests": [{**READ, "agent": "support-bot"}, rotate]}
    answer = api.post("/v1/decisions/batch", json=batch, headers=enforcer)
    assert answer.status_code == 200, answer.text
    assert [d["decision"] for d in answer.json()["decisions"]] == ["allow", "deny"]
    assert len(decisions(api, admin)) == 2
    too_many = {"requests": [rotate] * 101}
    refused = api.post("/v1/decisions/batch", json=too_many, headers=enforcer)
    assert refused.status_code == 422
    assert len(decisions(api, admin)) == 2


@pytest.mark.usefixtures("pack")
def test_approval_required_opens_one_approval_per_request(
    api: TestClient, services: Services
) -> None:
    token = bearer(agent_token(services, "identity-ops-agent"))
    elevate = {
        "capability": "do",
        "action": "pam.elevate",
        "resource": "pam/hosts/db-1",
        "context": {"ticket": {"id": "INC-1", "status": "open"}},
    }
    body = api.post("/v1/decisions", json=elevate, headers=token).json()
    assert body["decision"] == "approval_required", body
    assert body["approval"]["id"].startswith("apr_")
    assert body["approval"]["status"] == "pending"
    assert body["approval"]["approvers"] == ["group:identity-ops"]
    again = api.post("/v1/decisions", json=elevate, headers=token).json()
    assert again["approval"]["id"] == body["approval"]["id"]
    other = {**elevate, "resource": "pam/hosts/db-2"}
    assert api.post("/v1/decisions", json=other, headers=token).json()["approval"]["id"] not in (
        None,
        body["approval"]["id"],
    )


@pytest.mark.usefixtures("pack")
def test_the_token_is_checked_with_the_decision_and_failures_are_audited(
    api: TestClient, services: Services, admin: Admin
) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "support-bot")
    headers = bearer(issued.token)
    assert api.post("/v1/decisions", json=READ, headers=headers).status_code == 200
    services.tokens.revoke(SYSTEM, issued.credential.id)
    refused = api.post("/v1/decisions", json=READ, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"
    garbage = api.post("/v1/decisions", json=READ, headers=bearer("tok_nonsense"))
    assert garbage.json()["error"]["code"] == "token_invalid"
    none = api.post("/v1/decisions", json=READ)
    assert none.json()["error"]["code"] == "token_missing"
    records = api.get("/v1/audit", params={"type": "auth.failed"}, headers=admin.headers)
    failed = records.json()["records"]
    assert [r["data"]["code"] for r in failed] == [
        "token_revoked",
        "token_invalid",
        "token_missing",
    ]
    assert failed[0]["subject"] == issued.credential.id
    assert len(decisions(api, admin)) == 1  # refused requests decide nothing


@pytest.mark.usefixtures("pack")
def test_a_bad_token_among_concurrent_decisions_costs_the_others_nothing(
    services: Services,
) -> None:
    good = services.tokens.issue_for_agent(SYSTEM, "support-bot").token
    asked = Asked(
        capability=Capability.DO, action="ticket.create", resource="ticketing/queue/support"
    )
    start = barrier(6)
    outcomes: list[str] = []

    def one(token: str) -> None:
        start.wait()
        try:
            [decided] = services.decisions.decide_as(token, [asked], where="test")
            outcomes.append(decided.decision.effect.value)
        except AuthenticationError as error:
            outcomes.append(error.code)

    join_all([spawn(one, token) for token in [good] * 5 + ["tok_bad"]])
    assert sorted(outcomes) == ["allow"] * 5 + ["token_invalid"]


# A secret in the context: its finding is part of the answer.
LEAKY = {
    "capability": "do",
    "action": "ticket.create",
    "resource": "ticketing/queue/support",
    "context": {"note": "stripe key sk_live_4eC39HqLyjWDarjtT1zdp7dcQ2xPb9Lm, café"},
}


ELEVATE = {
    "capability": "do",
    "action": "pam.elevate",
    "resource": "pam/hosts/db-1",
    "context": {"ticket": {"id": "T-1", "status": "open"}},
}


@pytest.mark.usefixtures("pack")
@pytest.mark.parametrize(
    ("agent", "request_body"),
    [
        ("support-bot", READ),  # allowed, with a field redacted
        ("support-bot", {**READ, "context": {"purpose": "marketing"}}),  # denied
        ("support-bot", LEAKY),  # a finding in the answer
        ("identity-ops-agent", ELEVATE),  # an approval to wait on
    ],
)
def test_the_fast_route_answers_byte_for_byte_as_the_documented_route(
    api: TestClient, services: Services, agent: str, request_body: dict[str, Any]
) -> None:
    """A well-formed JSON body takes the fast route; the same body sent as another JSON
    media type takes the documented one (FastAPI reads it as JSON all the same): the same
    bytes, but the decision's id."""
    app = api.app
    routes: list[str] = []

    async def watching(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        if scope["type"] == "http":
            routes.append(scope["route"].name)

    token = bearer(agent_token(services, agent))
    content = json.dumps(request_body).encode()
    with TestClient(watching) as client:
        fast = client.post(
            "/v1/decisions",
            content=content,
            headers={**token, "Content-Type": "application/json"},
        )
        documented = client.post(
            "/v1/decisions",
            content=content,
            headers={**token, "Content-Type": "application/vnd.charter+json"},
        )
    assert routes == [FAST_ROUTE, "decide"]
    assert fast.status_code == documented.status_code == 200
    assert fast.headers["content-type"] == documented.headers["content-type"]
    ids = [answer.json()["decision_id"] for answer in (fast, documented)]
    assert fast.content.replace(ids[0].encode(), b"dec_") == documented.content.replace(
        ids[1].encode(), b"dec_"
    )
