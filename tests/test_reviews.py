"""Access review campaigns over HTTP: start, read, decide, propose, close, on SQLite and
PostgreSQL, with real decisions building the usage the evidence reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.codes import DecisionCode
from charter.policy.decision import Decision
from charter.policy.model import Capability
from charter.service import SYSTEM, Services
from charter.service.decisions import Asked
from charter.storage.sql.store import open_store
from tests.helpers import bearer
from tests.scenes import POLICY, RESTART, Scene

COPILOT = """
---
apiVersion: charter/v1
kind: Agent
metadata: {name: copilot}
spec: {owner: "user:rita"}
---
apiVersion: charter/v1
kind: Role
metadata: {name: review-drafter}
spec:
  permissions:
    - {capability: do, actions: [review.read], resources: ["reviews/*"]}
    - {capability: do, actions: [review.propose], resources: ["reviews/*/*"]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: copilot-drafts}
spec: {role: review-drafter, agents: [copilot]}
"""
DRAFT = {"capability": "do", "action": "review.draft", "resource": "reviews/1"}


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    scene = Scene(api, services)
    scene.apply(POLICY + COPILOT)
    scene.tokens["copilot"] = bearer(services.tokens.issue_for_agent(SYSTEM, "copilot").token)
    return scene


def post(scene: Scene, path: str, who: str, body: dict[str, Any]) -> Any:
    return scene.api.post(path, json=body, headers=scene.tokens[who])


def get(scene: Scene, path: str, who: str) -> Any:
    return scene.api.get(path, headers=scene.tokens[who])


def start(scene: Scene, **body: Any) -> dict[str, Any]:
    answer = post(scene, "/v1/reviews/campaigns", "user:rita", {"name": "Q4 agents", **body})
    assert answer.status_code == 201, answer.text
    campaign: dict[str, Any] = answer.json()
    shown = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita")
    assert shown.status_code == 200, shown.text
    shown_campaign: dict[str, Any] = shown.json()
    return shown_campaign


def item(campaign: dict[str, Any], agent: str, source: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        i for i in campaign["items"] if i["agent"] == agent and i["source"] == source
    ]
    assert len(found) == 1, [(i["agent"], i["source"]) for i in campaign["items"]]
    return found[0]


def test_a_campaign_has_an_item_per_agent_and_per_binding(scene: Scene) -> None:
    assert scene.decide(DRAFT)["decision"] == "allow"
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    sources = sorted(i["source"] for i in campaign["items"])
    assert sources == [
        "Binding/deployer-standing",
        "Binding/restarter-eligible",
        "Binding/reviewer-eligible",
        "agent",
    ]
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    assert deployer["reviewer"] == "user:olga"
    assert deployer["recommendation"] == "reduce", deployer["recommendation_reason"]
    assert deployer["narrower"]["spec"]["permissions"][0]["actions"] == ["review.draft"]
    unused = item(campaign, "ops-bot", "Binding/restarter-eligible")
    assert unused["recommendation"] == "revoke"


def test_agents_never_start_or_decide_and_propose_only_on_others(scene: Scene) -> None:
    assert scene.decide(DRAFT)["decision"] == "allow"
    refused = post(scene, "/v1/reviews/campaigns", "copilot", {"name": "mine"})
    assert refused.status_code == 403
    campaign = start(scene)
    own = item(campaign, "copilot", "agent")
    answer = post(
        scene,
        f"/v1/reviews/items/{own['id']}/proposals",
        "copilot",
        {"verdict": "keep", "reason": "I am useful"},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "own_review_item"
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    proposed = post(
        scene,
        f"/v1/reviews/items/{deployer['id']}/proposals",
        "copilot",
        {"verdict": "reduce", "reason": "only review.draft was used", "evidence": ["usage"]},
    )
    assert proposed.status_code == 201, proposed.text
    decided = post(
        scene,
        f"/v1/reviews/items/{deployer['id']}/decision",
        "copilot",
        {"verdict": "reduce", "reason": "x"},
    )
    assert decided.status_code == 403
    # The owner sees the proposal and accepts it.
    shown = get(scene, f"/v1/reviews/items/{deployer['id']}", "user:olga").json()
    assert shown["proposals"][0]["agent"] == "copilot"
    accepted = post(
        scene,
        f"/v1/reviews/items/{deployer['id']}/decision",
        "user:olga",
        {
            "verdict": "reduce",
            "reason": "agreed",
            "accept_proposal": proposed.json()["id"],
        },
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["outcome"] == "in_force"
    assert accepted.json()["accepted_proposal"] == proposed.json()["id"]


def test_overdue_items_follow_the_default(scene: Scene, clock: ManualClock) -> None:
    campaign = start(scene, scope={"agents": ["ops-bot"]}, overdue="revoke")
    clock.advance(timedelta(days=15))
    report = post(scene, "/v1/reviews/sweep", "user:rita", {})
    assert report.status_code == 200, report.text
    assert len(report.json()["overdue"]) == len(campaign["items"])
    after = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita").json()
    verdicts = {i["source"]: i["verdict"] for i in after["items"]}
    assert verdicts["agent"] == "keep"
    assert verdicts["Binding/deployer-standing"] == "revoke"


def test_a_revoke_takes_effect_on_the_next_decision(scene: Scene) -> None:
    assert scene.decide(DRAFT)["decision"] == "allow"
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    decided = post(
        scene,
        f"/v1/reviews/items/{deployer['id']}/decision",
        "user:olga",
        {"verdict": "revoke", "reason": "not needed"},
    )
    assert decided.status_code == 200, decided.text
    denied = scene.decide(DRAFT)
    assert denied["decision"] == "deny"
    assert denied["code"] == "revoked_by_review"
    assert any(deployer["id"] in r["rule"] for r in denied["reasons"]), denied["reasons"]


def test_a_revoke_decided_on_one_server_holds_at_once_on_another(
    scene: Scene, services: Services, database_url: str
) -> None:
    # A second server over the same database has decided for the agent already, so it
    # holds the outcomes it read then; the revoke decided through the first server must
    # still count on the second's very next decision.
    other_store = open_store(database_url, migrate=False)
    try:
        other = Services.build(other_store, clock=services.clock)
        other.policies.refresh()
        token = services.tokens.issue_for_agent(SYSTEM, "ops-bot").token
        asked = Asked(Capability.DO, DRAFT["action"], DRAFT["resource"])

        def on_other() -> Decision:
            [decided] = other.decisions.decide_as(token, [asked], where="test")
            return decided.decision

        assert on_other().allowed
        campaign = start(scene, scope={"agents": ["ops-bot"]})
        decide_item(scene, campaign, "Binding/deployer-standing", "revoke")
        assert on_other().code is DecisionCode.REVOKED_BY_REVIEW
    finally:
        other_store.close()


def test_a_reduce_keeps_what_was_used_only(scene: Scene) -> None:
    assert scene.decide(DRAFT)["decision"] == "allow"
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    decided = post(
        scene,
        f"/v1/reviews/items/{deployer['id']}/decision",
        "user:olga",
        {"verdict": "reduce", "reason": "drafts only"},
    )
    assert decided.status_code == 200, decided.text
    assert scene.decide(DRAFT)["decision"] == "allow"
    other = scene.decide({**DRAFT, "resource": "reviews/2"})
    assert other["decision"] == "deny"
    assert other["code"] == "revoked_by_review"


def test_make_eligible_asks_for_an_approval_that_grants_the_role(scene: Scene) -> None:
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    decided = post(
        scene,
        f"/v1/reviews/items/{deployer['id']}/decision",
        "user:olga",
        {"verdict": "make_eligible", "reason": "just in time from now on"},
    )
    assert decided.status_code == 200, decided.text
    asked = scene.decide(DRAFT)
    assert asked["decision"] == "approval_required", asked
    assert any(deployer["id"] in r["rule"] for r in asked["reasons"]), asked["reasons"]
    voted = scene.vote(asked["approval"]["id"], "user:olga")
    assert voted.status_code == 200, voted.text
    assert scene.decide(DRAFT)["decision"] == "allow"


def decide_item(scene: Scene, campaign: dict[str, Any], source: str, verdict: str) -> None:
    found = item(campaign, "ops-bot", source)
    body = {"verdict": verdict, "reason": f"{verdict} it"}
    decided = post(scene, f"/v1/reviews/items/{found['id']}/decision", "user:olga", body)
    assert decided.status_code == 200, decided.text


def test_an_approval_opened_before_a_revoke_yields_no_grant(scene: Scene) -> None:
    asked = scene.decide(RESTART)
    assert asked["decision"] == "approval_required", asked
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    decide_item(scene, campaign, "Binding/restarter-eligible", "revoke")
    voted = scene.vote(asked["approval"]["id"], "user:oscar")
    assert voted.status_code == 409, voted.text
    assert voted.json()["error"]["code"] == "grant_refused"
    assert "revoke" in voted.json()["error"]["message"]
    assert scene.approval(asked["approval"]["id"])["status"] == "cancelled"
    assert scene.decide(RESTART)["code"] == "revoked_by_review"


def test_a_reduced_eligible_binding_grants_only_the_narrower_role(
    scene: Scene, clock: ManualClock
) -> None:
    # A first activation, used on prod/web only: the evidence the reduce keeps.
    first = scene.decide(RESTART)["approval"]["id"]
    assert scene.vote(first, "user:oscar").status_code == 200
    assert scene.decide(RESTART)["decision"] == "allow"
    clock.advance(timedelta(hours=1))  # that grant (30 minutes) has ended
    pending = scene.decide(RESTART)["approval"]["id"]  # opened for the whole role
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    decide_item(scene, campaign, "Binding/restarter-eligible", "reduce")
    voted = scene.vote(pending, "user:oscar")
    assert voted.status_code == 200, voted.text
    grants = get(scene, "/v1/grants?agent=ops-bot&status=active", "user:rita").json()["grants"]
    assert [g["role"] for g in grants] == ["restarter@restarter-eligible"]
    assert scene.decide(RESTART)["decision"] == "allow"
    elsewhere = scene.decide({**RESTART, "resource": "prod/api"})
    assert elsewhere["code"] == "revoked_by_review", elsewhere
