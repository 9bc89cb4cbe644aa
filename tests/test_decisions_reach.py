"""``POST /v1/decisions/reach``: what an agent could ever be allowed, for a gateway that
shows an agent only the tools it may call at all."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore
from tests.helpers import Admin, agent_token, bearer, log_size

ASKED = [
    {"capability": "request", "action": "mcp.desk.lookup_status"},
    {"capability": "do", "action": "mcp.desk.restart_service"},
    {"capability": "do", "action": "mcp.desk.delete_service"},
    # The right action under the wrong capability is not reachable.
    {"capability": "do", "action": "mcp.desk.lookup_status"},
]


def _reach(api: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return api.post("/v1/decisions/reach", json=body, headers=headers)


def test_an_enforcer_learns_what_an_agent_could_do(
    pack: None, api: TestClient, enforcer: dict[str, str], store: SqlStore
) -> None:
    before = log_size(store)
    answer = _reach(api, enforcer, {"agent": "desk-assistant", "actions": ASKED})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["agent"] == "desk-assistant"
    assert body["policy_revision"].startswith("rev_")
    assert [(a["possible"], a["via"]) for a in body["actions"]] == [
        (True, "standing"),
        (True, "standing"),  # a guardrail asks for approval: still reachable
        (False, None),
        (False, None),
    ]
    # Reads only: nothing is recorded.
    assert log_size(store) == before


def test_eligible_bindings_count_as_reachable(
    pack: None, api: TestClient, enforcer: dict[str, str]
) -> None:
    asked = [{"capability": "do", "action": "pam.elevate"}]
    body = _reach(api, enforcer, {"agent": "identity-ops-agent", "actions": asked}).json()
    assert body["actions"] == [
        {"capability": "do", "action": "pam.elevate", "possible": True, "via": "eligible"}
    ]


def test_an_agent_asks_for_itself_only(pack: None, api: TestClient, services: Services) -> None:
    token = bearer(agent_token(services, "desk-assistant"))
    mine = _reach(api, token, {"actions": ASKED[:1]})
    assert mine.status_code == 200
    assert mine.json()["actions"][0]["possible"] is True
    other = _reach(api, token, {"agent": "support-bot", "actions": ASKED[:1]})
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "forbidden"


def test_only_enforcers_ask_for_others(pack: None, api: TestClient, admin: Admin) -> None:
    refused = _reach(api, admin.headers, {"agent": "desk-assistant", "actions": ASKED})
    assert refused.status_code == 403


def test_unknown_suspended_or_policy_less_agents_reach_nothing(
    pack: None, api: TestClient, enforcer: dict[str, str], services: Services, admin: Admin
) -> None:
    unknown = _reach(api, enforcer, {"agent": "nobody", "actions": ASKED[:1]}).json()
    assert unknown["actions"][0]["possible"] is False
    api.post("/v1/agents/desk-assistant/suspend", json={"reason": "test"}, headers=admin.headers)
    suspended = _reach(api, enforcer, {"agent": "desk-assistant", "actions": ASKED[:1]}).json()
    assert suspended["actions"][0]["possible"] is False
    missing = _reach(api, enforcer, {"actions": ASKED[:1]})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "agent_required"


def test_without_a_policy_nothing_is_reachable(api: TestClient, services: Services) -> None:
    services.humans.add(
        SYSTEM, human_id="user:gateway", email="gw@example.com", roles=[HumanRole.ENFORCER]
    )
    token = bearer(services.tokens.issue_for_human(SYSTEM, "user:gateway").token)
    body = _reach(api, token, {"agent": "desk-assistant", "actions": ASKED[:1]}).json()
    assert body["policy_revision"] is None
    assert body["actions"][0]["possible"] is False


def test_the_sdk_asks_the_same(pack: None, live_server: str, services: Services) -> None:
    import charter

    services.humans.add(
        SYSTEM, human_id="user:gateway", email="gw@example.com", roles=[HumanRole.ENFORCER]
    )
    token = services.tokens.issue_for_human(SYSTEM, "user:gateway").token
    with charter.Client(live_server, token) as client:
        answer = client.reach([("request", "mcp.desk.lookup_status")], agent="desk-assistant")
    assert [item.possible for item in answer.actions] == [True]
