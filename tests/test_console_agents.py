"""The console's Agents pages through the real ASGI app, on both backends: the filtered
list, an agent's page, its tokens, the kill switch (suspend, reinstate, retire), and that
no page shows or does more than the API would. (In a real browser: tests/browser/.)"""

from __future__ import annotations

import re

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from charter.identity.agents import LifecycleAction, RiskTier
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from tests.helpers import add_human, bearer, register
from tests.scenes import CONFIG, DEPLOY, RESTART, Scene
from tests.test_console import _browser, _csrf, _sign_in, _token

_ROW = re.compile(r'data-agent="([a-z0-9-]+)"')
_TOKEN = re.compile(r"cht_[A-Za-z0-9_-]+")


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    scene = Scene(api, services)
    register(scene.services, "ops-helper", "user:olga", labels={"team": "ops"}, purpose="tidies up")
    scene.services.agents.register(
        SYSTEM,
        agent_id="billing-bot",
        display_name=None,
        owner="user:oscar",
        purpose="sends invoices",
        risk_tier=RiskTier.HIGH,
        labels={"team": "pay"},
    )
    add_human(scene.services, "user:audrey", HumanRole.AUDITOR)
    scene.tokens["user:audrey"] = bearer(
        scene.services.tokens.issue_for_human(SYSTEM, "user:audrey").token
    )
    return scene


def _as(scene: Scene, who: str) -> TestClient:
    client = _browser(scene.services)
    assert _sign_in(client, _token(scene, who)).status_code == 303
    return client


def _rows(client: TestClient, query: str = "") -> list[str]:
    answer = client.get(f"/ui/agents{query}")
    assert answer.status_code == 200, answer.text
    return _ROW.findall(answer.text)


def _status(scene: Scene, agent: str) -> str:
    answer = scene.api.get(f"/v1/agents/{agent}", headers=scene.tokens["user:rita"])
    status: str = answer.json()["status"]
    return status


def _whoami(scene: Scene, token: str) -> tuple[int, str]:
    answer = scene.api.get("/v1/whoami", headers=bearer(token))
    body = answer.json()
    return answer.status_code, body.get("id") or body["error"]["code"]


def _suspend(client: TestClient, agent: str, **data: str) -> httpx.Response:
    csrf = _csrf(client, f"/ui/agents/{agent}/suspend")
    return client.post(
        f"/ui/agents/{agent}/suspend", data={"csrf": csrf, **data}, follow_redirects=False
    )


def test_the_list_filters_by_id_status_risk_owner_and_label(scene: Scene) -> None:
    rita = _as(scene, "user:rita")
    assert _rows(rita) == ["billing-bot", "ops-bot", "ops-helper"]
    assert _rows(rita, "?q=ops") == ["ops-bot", "ops-helper"]
    assert _rows(rita, "?q=OPS-B") == ["ops-bot"]
    assert _rows(rita, "?risk=high") == ["billing-bot"]
    assert _rows(rita, "?owner=user:olga") == ["ops-bot", "ops-helper"]
    assert _rows(rita, "?label=team%3Dops") == ["ops-helper"]
    assert _rows(rita, "?label=team%3Dops&owner=user:oscar") == []
    scene.services.agents.transition(SYSTEM, "ops-helper", LifecycleAction.SUSPEND)
    assert _rows(rita, "?status=suspended") == ["ops-helper"]
    assert _rows(rita, "?status=active&q=ops") == ["ops-bot"]
    page = rita.get("/ui/agents?q=billing").text
    for column in ("billing-bot", "user:oscar", "sends invoices", "high", "active", "never"):
        assert column in page, column
    assert rita.get("/ui/agents?status=asleep").status_code == 422
    assert rita.get("/ui/agents?label=team").status_code == 422
    assert "invalid_labels" in rita.get("/ui/agents?label=Bad Key%3Dx").text


def test_an_owner_lists_only_their_own_agents_as_the_api_does(scene: Scene) -> None:
    olga, oscar = _as(scene, "user:olga"), _as(scene, "user:oscar")
    assert _rows(olga) == ["ops-bot", "ops-helper"]
    assert _rows(olga, "?owner=user:oscar") == []
    assert _rows(oscar) == ["billing-bot"]
    api = scene.api.get("/v1/agents", headers=scene.tokens["user:olga"]).json()
    assert [agent["id"] for agent in api["agents"]] == _rows(olga)
    assert _rows(_as(scene, "user:otto")) == []
    assert (
        "No agents match among the agents you own" in _as(scene, "user:otto").get("/ui/agents").text
    )


def test_another_human_sees_nothing_of_an_agent_and_cannot_suspend_it(scene: Scene) -> None:
    oscar = _as(scene, "user:oscar")
    for path in ("/ui/agents/ops-bot", "/ui/agents/no-such-bot", "/ui/agents/ops-bot/suspend"):
        answer = oscar.get(path)
        assert answer.status_code == 403, path  # as GET /v1/agents/{id}: exists or not
        assert "forbidden" in answer.text
        assert "deployer" not in answer.text
    csrf = _csrf(oscar, "/ui/agents")
    for action in ("suspend", "retire", "reinstate"):
        answer = oscar.post(
            f"/ui/agents/ops-bot/{action}",
            data={"csrf": csrf, "reason": "mine now", "understood": "yes"},
        )
        assert answer.status_code == 403
    issued = oscar.post("/ui/agents/ops-bot/tokens", data={"csrf": csrf})
    assert issued.status_code == 403
    assert _TOKEN.search(issued.text) is None
    assert _status(scene, "ops-bot") == "active"
    assert scene.decide(CONFIG)["decision"] == "approval_required"  # the agent still works


def test_a_post_without_the_form_token_is_refused_and_changes_nothing(scene: Scene) -> None:
    olga = _as(scene, "user:olga")
    [token] = scene.services.tokens.list_for(SYSTEM, PrincipalKind.AGENT, "ops-bot")
    for path, data in (
        ("/ui/agents/ops-bot/suspend", {"reason": "x", "understood": "yes"}),
        ("/ui/agents/ops-bot/retire", {"reason": "x", "understood": "yes"}),
        ("/ui/agents/ops-bot/tokens", {"description": "x"}),
        (f"/ui/agents/ops-bot/tokens/{token.id}/revoke", {}),
    ):
        for forged in ({}, {"csrf": "forged"}):
            answer = olga.post(path, data={**data, **forged})
            assert answer.status_code == 403, path
            assert "csrf_failed" in answer.text
    assert _status(scene, "ops-bot") == "active"
    assert len(scene.services.tokens.list_for(SYSTEM, PrincipalKind.AGENT, "ops-bot")) == 1
    assert _whoami(scene, _token(scene, "ops-bot")) == (200, "ops-bot")


def test_an_issued_token_is_shown_once_works_and_revoking_it_stops_it(scene: Scene) -> None:
    olga = _as(scene, "user:olga")
    csrf = _csrf(olga, "/ui/agents/ops-bot")
    issued = olga.post(
        "/ui/agents/ops-bot/tokens",
        data={"csrf": csrf, "ttl": "3600", "description": "ci runner"},
        follow_redirects=False,
    )
    assert issued.status_code == 201
    assert "only time the token is shown" in issued.text
    found = _TOKEN.search(issued.text)
    assert found is not None
    clear = found.group(0)
    assert _whoami(scene, clear) == (200, "ops-bot")
    page = olga.get("/ui/agents/ops-bot").text
    assert clear not in page
    assert "ci runner" in page
    credential_id = clear.split("_")[0] + "_" + clear.split("_")[1]
    token_id = "tok_" + credential_id.removeprefix("cht_")
    assert token_id in page
    revoked = olga.post(
        f"/ui/agents/ops-bot/tokens/{token_id}/revoke",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/ui/agents/ops-bot?done=revoked"
    assert "The token was revoked" in olga.get(revoked.headers["location"]).text
    assert _whoami(scene, clear) == (401, "token_revoked")
    assert _whoami(scene, _token(scene, "ops-bot")) == (200, "ops-bot")  # the other one
    # A token of another agent cannot be revoked through this agent's page.
    other = scene.services.tokens.issue_for_agent(SYSTEM, "ops-helper")
    answer = olga.post(
        f"/ui/agents/ops-bot/tokens/{other.credential.id}/revoke", data={"csrf": csrf}
    )
    assert answer.status_code == 404
    assert _whoami(scene, other.token) == (200, "ops-helper")
    too_long = olga.post("/ui/agents/ops-bot/tokens", data={"csrf": csrf, "ttl": str(10**9)})
    assert too_long.status_code == 422
    assert "ttl_too_long" in too_long.text


def test_the_kill_switch_needs_a_reason_and_the_checkbox_then_stops_the_agent(
    scene: Scene,
) -> None:
    pending = scene.decide(CONFIG)["approval"]["id"]
    olga = _as(scene, "user:olga")
    confirm = olga.get("/ui/agents/ops-bot/suspend")
    assert confirm.status_code == 200
    text = re.sub(r"<[^>]+>", "", confirm.text)
    assert "1 active token is refused from its next request on" in text
    assert "1 pending or approved-but-unused approval is cancelled" in text
    assert "0 just-in-time grants are revoked" in text
    assert "An owner may lift only a suspension they made" in text
    assert 'data-confirm="Suspend agent ops-bot now?"' in confirm.text
    unticked = _suspend(olga, "ops-bot", reason="it misbehaves")
    assert unticked.status_code == 422
    assert "I understand" in unticked.text
    assert "it misbehaves" in unticked.text
    no_reason = _suspend(olga, "ops-bot", understood="yes")
    assert no_reason.status_code == 422
    assert _status(scene, "ops-bot") == "active"
    assert scene.approval(pending)["status"] == "pending"
    done = _suspend(olga, "ops-bot", reason="it misbehaves", understood="yes")
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/agents/ops-bot?done=suspended"
    page = olga.get(done.headers["location"]).text
    assert "The agent is suspended" in page
    assert "by user:olga" in page
    assert _status(scene, "ops-bot") == "suspended"
    assert scene.approval(pending)["status"] == "cancelled"
    refused = scene.api.post("/v1/decisions", json=CONFIG, headers=scene.tokens["ops-bot"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "agent_suspended"
    [record] = scene.records("agent.suspended")
    assert record["actor"] == "user:olga"
    assert record["data"]["reason"] == "it misbehaves"
    # The owner lifts their own suspension.
    csrf = _csrf(olga, "/ui/agents/ops-bot")
    lifted = olga.post(
        "/ui/agents/ops-bot/reinstate",
        data={"csrf": csrf, "reason": "fixed"},
        follow_redirects=False,
    )
    assert lifted.status_code == 303
    assert _status(scene, "ops-bot") == "active"
    assert scene.decide(CONFIG)["decision"] == "approval_required"


def test_an_owner_cannot_lift_an_admins_suspension(scene: Scene) -> None:
    rita = _as(scene, "user:rita")
    assert _suspend(rita, "ops-bot", reason="incident", understood="yes").status_code == 303
    olga = _as(scene, "user:olga")
    page = olga.get("/ui/agents/ops-bot").text
    assert "Reinstate agent" not in page
    assert "Only an admin can reinstate it" in page
    csrf = _csrf(olga, "/ui/agents/ops-bot")
    answer = olga.post("/ui/agents/ops-bot/reinstate", data={"csrf": csrf, "reason": "mine"})
    assert answer.status_code == 403
    assert "reinstate_needs_admin" in answer.text
    assert _status(scene, "ops-bot") == "suspended"
    assert "Reinstate agent" in rita.get("/ui/agents/ops-bot").text


def test_retiring_says_it_is_permanent_and_revokes_every_token(scene: Scene) -> None:
    olga = _as(scene, "user:olga")
    confirm = olga.get("/ui/agents/ops-bot/retire").text
    assert "Retiring is permanent" in confirm
    assert "This is permanent." in confirm
    csrf = _csrf(olga, "/ui/agents/ops-bot/retire")
    retired = olga.post(
        "/ui/agents/ops-bot/retire",
        data={"csrf": csrf, "reason": "replaced", "understood": "yes"},
        follow_redirects=False,
    )
    assert retired.status_code == 303
    assert _status(scene, "ops-bot") == "retired"
    assert _whoami(scene, _token(scene, "ops-bot")) == (401, "token_revoked")
    page = olga.get("/ui/agents/ops-bot").text
    assert "Suspend agent" not in page
    assert "Issue a token" not in page
    again = olga.post(
        "/ui/agents/ops-bot/retire", data={"csrf": csrf, "reason": "x", "understood": "yes"}
    )
    assert again.status_code == 409
    assert "invalid_transition" in again.text


def test_the_agent_page_shows_bindings_grants_tokens_and_recent_decisions(scene: Scene) -> None:
    # A grant: the eligible restarter binding, approved by two of group ops.
    opened = scene.decide(RESTART)["approval"]["id"]
    assert scene.vote(opened, "user:oscar").status_code == 200
    for _ in range(22):
        scene.decide(DEPLOY)
    scene.decide({**DEPLOY, "resource": "staging/web"})  # no permission: denied, newest
    rita = _as(scene, "user:rita")
    page = rita.get("/ui/agents/ops-bot").text
    for expected in (
        "deployer-standing",
        "standing",
        "reviewer-eligible",
        "eligible",
        "deploy.run",
        "prod/**",
        "restarter",
        "user:olga",
        "Suspend agent",
        "Issue a token",
    ):
        assert expected in page, expected
    decisions = page.split('id="h-decisions"')[1]
    rows = re.findall(r"<tr><th scope=\"row\">", decisions)
    assert len(rows) == 20
    assert decisions.index("staging/web") < decisions.index("prod/web")  # newest first
    assert "grt_" in page
    # The owner sees the agent, its grants, tokens and decisions, but not the policy.
    olga = _as(scene, "user:olga").get("/ui/agents/ops-bot").text
    assert "do not let you read the policy" in olga
    assert "deployer-standing" not in olga
    assert "staging/web" in olga
    assert "grt_" in olga
    # An auditor reads everything and changes nothing.
    audrey = _as(scene, "user:audrey")
    page = audrey.get("/ui/agents/ops-bot").text
    assert "deployer-standing" in page
    assert "Suspend agent" not in page
    assert "Issue a token" not in page
    assert "Revoke" not in page
    assert audrey.get("/ui/agents/ops-bot/suspend").status_code == 403


def test_an_owner_reads_their_agents_audit_records_through_the_api(scene: Scene) -> None:
    scene.decide(CONFIG)
    olga = scene.tokens["user:olga"]
    mine = scene.api.get("/v1/audit", params={"agent": "ops-bot"}, headers=olga)
    assert mine.status_code == 200
    records = mine.json()["records"]
    assert records
    assert {record["agent"] for record in records} == {"ops-bot"}
    assert "decision" in {record["type"] for record in records}
    for params in ({}, {"agent": "billing-bot"}, {"agent": "no-such-bot"}, {"type": "decision"}):
        answer = scene.api.get("/v1/audit", params=params, headers=olga)
        assert answer.status_code == 403, params
        assert answer.json()["error"]["code"] == "forbidden"
    theirs = scene.api.get(
        "/v1/audit", params={"agent": "billing-bot"}, headers=scene.tokens["user:oscar"]
    )
    assert theirs.status_code == 200
    agent = scene.api.get("/v1/audit", params={"agent": "ops-bot"}, headers=scene.tokens["ops-bot"])
    assert agent.status_code == 403


def test_the_agent_page_links_to_its_audit_records_which_the_owner_may_read(scene: Scene) -> None:
    scene.decide(CONFIG)
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))
    page = client.get("/ui/agents/ops-bot").text
    assert 'href="/ui/audit?agent=ops-bot"' in page
    records = client.get("/ui/audit?agent=ops-bot")
    assert records.status_code == 200
    assert "config.change" in records.text
