"""The API's happy path end to end, on both backends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import Admin, bearer


def test_register_issue_suspend_refuse(api: TestClient, admin: Admin) -> None:
    created = api.post(
        "/v1/humans", json={"id": "user:alice", "email": "alice@example.com"}, headers=admin.headers
    )
    assert created.status_code == 201
    agent = api.post(
        "/v1/agents",
        json={"id": "support-bot", "owner": "user:alice", "purpose": "account recovery"},
        headers=admin.headers,
    )
    assert agent.status_code == 201, agent.text
    issued = api.post("/v1/agents/support-bot/tokens", headers=admin.headers)
    token = issued.json()["token"]
    assert api.get("/v1/whoami", headers=bearer(token)).json()["id"] == "support-bot"
    assert api.post("/v1/agents/support-bot/suspend", headers=admin.headers).status_code == 200
    refused = api.get("/v1/whoami", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "agent_suspended"
    assert api.get("/v1/audit/verify", headers=admin.headers).json()["ok"] is True
