"""Ambiguous credentials are refused, never resolved by picking one: a request with two
``Authorization`` headers (an agent's token and an admin's, in either order) is
``401 token_invalid`` on every route that reads a token, through the real app."""

from __future__ import annotations

from fastapi.testclient import TestClient

from charter.identity.agents import RiskTier
from charter.service import SYSTEM, Services
from tests.helpers import Admin, add_human, agent_token


def test_two_authorization_headers_are_refused(
    api: TestClient, admin: Admin, services: Services
) -> None:
    add_human(services, "user:owner")
    services.agents.register(
        SYSTEM,
        agent_id="ops-bot",
        display_name=None,
        owner="user:owner",
        purpose="tests",
        risk_tier=RiskTier.LOW,
    )
    agent = f"Bearer {agent_token(services, 'ops-bot')}"
    both = [("Authorization", agent), ("Authorization", f"Bearer {admin.token}")]
    for headers in (both, list(reversed(both)), [both[1], both[1]]):
        for method, path in (
            ("GET", "/v1/whoami"),
            ("GET", "/v1/agents"),
            ("POST", "/v1/decisions"),
            ("GET", "/metrics"),
        ):
            answer = api.request(
                method,
                path,
                headers=headers,
                json={"capability": "do", "action": "a.b", "resource": "r/1"},
            )
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["error"]["code"] == "token_invalid", answer.text
    alone = api.get("/v1/whoami", headers={"Authorization": f"Bearer {admin.token}"})
    assert alone.status_code == 200, alone.text
