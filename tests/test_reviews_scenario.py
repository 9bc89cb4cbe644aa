"""The access review scenario end to end over HTTP, on SQLite and PostgreSQL.

Real decisions build usage; an admin starts a campaign; the compliance copilot proposes
(and is refused on its own item and on deciding); the owner accepts one proposal and
overrides another; the revoked permission is denied on the next decision with a reason
naming the item; the patch written for the policy repository, applied, leaves every
decision as it was and marks the outcomes done; the audit log verifies.
"""

from __future__ import annotations

from typing import Any

from charter.policy.decision import WithdrawalKind
from charter.reviews.narrow import role_from_document
from charter.reviews.patch import PatchOutcome, patch
from tests.scenes import POLICY, RESTART, Scene
from tests.test_reviews import COPILOT, DRAFT, get, item, post, start

# The fixture lives in tests/test_reviews.py; pytest finds it through this import.
from tests.test_reviews import scene as scene

REQUESTS = [
    DRAFT,
    {**DRAFT, "resource": "reviews/2"},
    RESTART,
    {"capability": "do", "action": "review.read", "resource": "reviews/x"},
]


def outcomes(scene: Scene) -> list[dict[str, Any]]:
    answer = get(scene, "/v1/reviews/outcomes", "user:rita")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


def answers(scene: Scene) -> list[tuple[str, str]]:
    return [
        (scene.decide(r)["decision"], scene.decide(r, as_="copilot")["decision"]) for r in REQUESTS
    ]


def test_the_review_scenario(scene: Scene) -> None:
    # Real decisions build the usage the evidence reads.
    for _ in range(3):
        assert scene.decide(DRAFT)["decision"] == "allow"
    assert scene.decide(RESTART)["decision"] == "approval_required"

    campaign = start(scene, name="Quarterly agent access")
    assert post(scene, "/v1/reviews/campaigns", "copilot", {"name": "mine"}).status_code == 403
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    restarter = item(campaign, "ops-bot", "Binding/restarter-eligible")
    assert deployer["recommendation"] == "reduce"
    assert restarter["recommendation"] == "revoke"

    # The copilot reads the campaign (its policy allows review.read) and proposes.
    seen = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "copilot")
    assert seen.status_code == 200, seen.text
    assert all(i["agent"] != "copilot" for i in seen.json()["items"])

    def propose(target: dict[str, Any], verdict: str) -> Any:
        return post(
            scene,
            f"/v1/reviews/items/{target['id']}/proposals",
            "copilot",
            {"verdict": verdict, "reason": f"{verdict}: see usage", "evidence": ["usage"]},
        )

    own = item(campaign, "copilot", "Binding/copilot-drafts")
    refused = propose(own, "keep")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "own_review_item"
    on_restarter = propose(restarter, "revoke")
    on_deployer = propose(deployer, "revoke")
    assert on_restarter.status_code == on_deployer.status_code == 201
    tried = post(
        scene,
        f"/v1/reviews/items/{restarter['id']}/decision",
        "copilot",
        {"verdict": "revoke", "reason": "I decide"},
    )
    assert tried.status_code == 403
    path = f"/v1/reviews/campaigns/{campaign['id']}/close"
    closing = post(scene, path, "copilot", {"reason": "done"})
    assert closing.status_code == 403
    # A proposal decides nothing.
    assert get(scene, f"/v1/reviews/items/{restarter['id']}", "user:olga").json()["status"] == (
        "pending"
    )

    # The owner accepts one proposal and overrides the other.
    accepted = post(
        scene,
        f"/v1/reviews/items/{restarter['id']}/decision",
        "user:olga",
        {"verdict": "revoke", "reason": "never used", "accept_proposal": on_restarter.json()["id"]},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted_proposal"] == on_restarter.json()["id"]
    overridden = post(
        scene,
        f"/v1/reviews/items/{deployer['id']}/decision",
        "user:olga",
        {"verdict": "reduce", "reason": "drafts are still needed"},
    )
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["accepted_proposal"] is None

    # At once: the revoked eligible binding opens no approval any more; the reduced one
    # keeps only what was used.
    restart = scene.decide(RESTART)
    assert restart["decision"] == "deny"
    assert restart["code"] == "revoked_by_review"
    assert any(r["rule"] == f"items/{restarter['id']}" for r in restart["reasons"])
    assert scene.decide(DRAFT)["decision"] == "allow"
    assert scene.decide({**DRAFT, "resource": "reviews/2"})["decision"] == "deny"
    before = answers(scene)
    assert {o["id"] for o in outcomes(scene)} == {restarter["id"], deployer["id"]}

    # The patch, applied, decides the same and settles the outcomes.
    files = {"policy.yaml": POLICY + COPILOT}
    wanted = [
        PatchOutcome(
            agent=decided["agent"],
            binding=decided["source"].removeprefix("Binding/"),
            kind=WithdrawalKind(decided["verdict"]),
            campaign=decided["campaign"],
            item=decided["id"],
            role=role_from_document(decided["narrower"])
            if decided["verdict"] == "reduce"
            else None,
        )
        for decided in outcomes(scene)
    ]
    patched = patch(files, wanted).apply(files)
    applied = post(scene, "/v1/policies", "user:pat", {"files": patched})
    assert applied.status_code == 201, applied.text
    assert outcomes(scene) == []
    shown = get(scene, f"/v1/reviews/items/{deployer['id']}", "user:olga").json()
    assert shown["outcome"] == "done"
    assert answers(scene) == before

    verified = get(scene, "/v1/audit/verify", "user:rita")
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True, verified.json()
    types = {r["type"] for r in scene.records("review.item_decided")}
    assert types == {"review.item_decided"}
    assert scene.records("review.outcome_done")
