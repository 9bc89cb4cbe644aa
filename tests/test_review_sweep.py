"""The reviews' clock, with an injected clock: recertification items, warn or suspend
past the date, overdue defaults, due-soon notices, hand-offs from deactivated reviewers,
"don't know" and bulk decisions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.clock import ManualClock
from charter.identity.agents import RiskTier
from charter.reviews.campaigns import PastRecertification, ReviewSettings
from charter.service import SYSTEM, AgentChanges, Services
from charter.settings import Settings
from tests.helpers import bearer
from tests.scenes import Scene
from tests.test_reviews import DRAFT, get, item, post, start
from tests.test_reviews import scene as scene

RECERTIFICATION = "/v1/reviews/campaigns/rvc_recertification"


def sweep(scene: Scene) -> dict[str, Any]:
    answer = post(scene, "/v1/reviews/sweep", "user:rita", {})
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def recertify_in(scene: Scene, clock: ManualClock, days: int, *agents: str) -> None:
    """Bring the agents' ``recertify_by`` to ``days`` from now (tokens outlive the wait)."""
    for agent in agents:
        changes = AgentChanges(recertify_by=clock() + timedelta(days=days))
        scene.services.agents.update(SYSTEM, agent, changes)


def later(scene: Scene, clock: ManualClock, days: int) -> None:
    """Move the clock on; the agents get fresh tokens, which live shorter than that."""
    clock.advance(timedelta(days=days))
    for agent in ("ops-bot", "copilot"):
        token = scene.services.tokens.issue_for_agent(SYSTEM, agent).token
        scene.tokens[agent] = bearer(token)


def recertification_items(scene: Scene, agent: str) -> list[dict[str, Any]]:
    shown = get(scene, RECERTIFICATION, "user:rita")
    assert shown.status_code == 200, shown.text
    return [i for i in shown.json()["items"] if i["agent"] == agent]


def test_agents_near_their_recertification_get_one_item(scene: Scene, clock: ManualClock) -> None:
    assert sweep(scene)["recertification_items"] == []
    recertify_in(scene, clock, 10, "ops-bot", "copilot")
    first = sweep(scene)
    agents = {i["agent"] for i in get(scene, RECERTIFICATION, "user:rita").json()["items"]}
    assert {"ops-bot", "copilot"} <= agents
    assert len(first["recertification_items"]) == len(agents)
    assert sweep(scene)["recertification_items"] == []  # one open item per agent
    ops = recertification_items(scene, "ops-bot")[0]
    assert ops["reviewer"] == "user:olga"
    assert post(scene, f"{RECERTIFICATION}/close", "user:rita", {}).status_code == 409
    # Keeping the agent recertifies it: nothing more is asked until the next date nears.
    kept = post(
        scene,
        f"/v1/reviews/items/{ops['id']}/decision",
        "user:olga",
        {"verdict": "keep", "reason": "still runs our deploys"},
    )
    assert kept.status_code == 200, kept.text
    agent = scene.api.get("/v1/agents/ops-bot", headers=scene.tokens["user:olga"]).json()
    assert agent["recertify_by"].startswith(str((clock() + timedelta(days=90)).date()))
    later(scene, clock, 20)
    sweep(scene)
    assert "ops-bot" not in {
        i["agent"]
        for i in get(scene, RECERTIFICATION, "user:rita").json()["items"]
        if i["status"] != "decided"
    }


def test_past_recertification_warns_once_by_default(scene: Scene, clock: ManualClock) -> None:
    recertify_in(scene, clock, 10, "ops-bot")
    sweep(scene)
    later(scene, clock, 11)
    report = sweep(scene)
    ops = recertification_items(scene, "ops-bot")[0]
    assert ops["id"] in report["overdue"]
    assert report["suspended"] == []
    assert scene.decide(DRAFT)["decision"] == "allow"
    overdue = [r for r in scene.records("review.item_overdue") if r["subject"] == ops["id"]]
    assert [r["data"]["action"] for r in overdue] == ["warn"]
    assert ops["id"] not in sweep(scene)["overdue"]  # announced once


def test_past_recertification_can_suspend_through_the_kill_switch(
    scene: Scene, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    strict = Services.build(
        scene.services.store,
        settings=Settings(reviews=ReviewSettings(past_recertification=PastRecertification.SUSPEND)),
        clock=clock,
        signing_key=signing_key,
    )
    strict.policies.load_active()
    recertify_in(scene, clock, 10, "ops-bot")
    strict.review_sweep.run()
    later(scene, clock, 11)
    report = strict.review_sweep.run()
    assert "ops-bot" in report.suspended
    refused = scene.api.post("/v1/decisions", json=DRAFT, headers=scene.tokens["ops-bot"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "agent_suspended"
    assert "ops-bot" not in strict.review_sweep.run().suspended


def test_overdue_items_take_the_campaign_default(scene: Scene, clock: ManualClock) -> None:
    scene.services.agents.update(SYSTEM, "copilot", AgentChanges(risk_tier=RiskTier.HIGH))
    campaign = start(scene, due_at=(clock() + timedelta(days=3)).isoformat())
    later(scene, clock, 2)
    soon = sweep(scene)
    assert len(soon["due_soon"]) == len(campaign["items"])
    assert sweep(scene)["due_soon"] == []
    later(scene, clock, 2)
    report = sweep(scene)
    assert len(report["overdue"]) == len(campaign["items"])
    after = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita").json()
    verdicts = {(i["agent"], i["source"]): (i["verdict"], i["flagged"]) for i in after["items"]}
    # revoke_high_risk: the high-risk copilot's binding is revoked, the rest kept, flagged.
    assert verdicts[("copilot", "Binding/copilot-drafts")] == ("revoke", False)
    assert verdicts[("ops-bot", "Binding/deployer-standing")] == ("keep", True)
    assert verdicts[("copilot", "agent")] == ("keep", True)
    denied = scene.decide(
        {"capability": "do", "action": "review.read", "resource": "reviews/x"}, as_="copilot"
    )
    assert denied["code"] == "revoked_by_review"
    assert all(r["actor"] == "system:reviews" for r in scene.records("review.item_decided"))


def test_dont_know_goes_to_the_admins(scene: Scene) -> None:
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    path = f"/v1/reviews/items/{deployer['id']}/decision"
    unsure = post(scene, path, "user:olga", {"verdict": "dont_know", "reason": "not mine"})
    assert unsure.status_code == 200, unsure.text
    assert (unsure.json()["status"], unsure.json()["reviewer"]) == ("escalated", "admins")
    late = post(scene, path, "user:olga", {"verdict": "keep", "reason": "changed my mind"})
    assert late.status_code == 403
    assert late.json()["error"]["code"] == "not_a_reviewer"
    queue = get(scene, "/v1/reviews/queue", "user:rita").json()["items"]
    assert deployer["id"] in {i["id"] for i in queue}
    decided = post(scene, path, "user:rita", {"verdict": "keep", "reason": "needed"})
    assert decided.json()["status"] == "decided"


def test_bulk_decisions_are_all_or_none(scene: Scene) -> None:
    campaign = start(scene, scope={"agents": ["ops-bot", "copilot"]})
    mine = [i["id"] for i in campaign["items"] if i["agent"] == "ops-bot"]
    theirs = [i["id"] for i in campaign["items"] if i["agent"] == "copilot"]
    body = {"verdict": "keep", "reason": "reviewed together"}
    mixed = post(scene, "/v1/reviews/decisions", "user:olga", {**body, "items": mine + theirs})
    assert mixed.status_code == 404  # olga neither reviews nor owns the copilot's items
    untouched = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita").json()["items"]
    assert all(i["status"] == "pending" for i in untouched)
    decided = post(scene, "/v1/reviews/decisions", "user:olga", {**body, "items": mine})
    assert decided.status_code == 200, decided.text
    assert all(i["bulk"] for i in decided.json()["items"])


def test_a_deactivated_reviewer_hands_items_to_the_new_owner(scene: Scene) -> None:
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    scene.services.agents.update(SYSTEM, "ops-bot", AgentChanges(owner="user:oscar"))
    gone = post(scene, "/v1/humans/user:olga/deactivate", "user:rita", {"reason": "left"})
    assert gone.status_code == 200, gone.text
    assert sweep(scene)["handed_off"] == []  # done with the deactivation already
    after = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita").json()["items"]
    assert {i["reviewer"] for i in after} == {"user:oscar"}


def test_an_orphaned_agents_items_go_to_the_admins(scene: Scene) -> None:
    campaign = start(scene, scope={"agents": ["ops-bot"]})
    scene.services.humans.deactivate(SYSTEM, "user:olga", reason="left")
    sweep(scene)
    after = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita").json()["items"]
    assert {(i["reviewer"], i["status"]) for i in after} == {("admins", "escalated")}
    shown = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita").json()
    agent_item = item(shown, "ops-bot", "agent")
    moved = post(
        scene,
        f"/v1/reviews/items/{agent_item['id']}/decision",
        "user:rita",
        {"verdict": "reassign_owner", "reason": "olga left", "new_owner": "user:oscar"},
    )
    assert moved.status_code == 200, moved.text
    owner = scene.api.get("/v1/agents/ops-bot", headers=scene.tokens["user:rita"]).json()
    assert owner["owner"] == "user:oscar"


def test_a_group_reviewer_may_not_take_the_agent_for_themselves(scene: Scene) -> None:
    campaign = start(scene, scope={"agents": ["ops-bot"]}, reviewer="group:ops")
    agent_item = item(campaign, "ops-bot", "agent")
    path = f"/v1/reviews/items/{agent_item['id']}/decision"
    body = {"verdict": "reassign_owner", "reason": "mine now"}
    taken = post(scene, path, "user:oscar", {**body, "new_owner": "user:oscar"})
    assert taken.status_code == 403
    assert taken.json()["error"]["code"] == "forbidden"
    outsider = post(scene, path, "user:olga", {**body, "new_owner": "user:otto"})
    assert outsider.status_code == 403  # the owner is not the reviewer this time
    handed = post(scene, path, "user:oscar", {**body, "new_owner": "user:otto"})
    assert handed.status_code == 200, handed.text
