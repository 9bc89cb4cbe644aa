"""The console's Reviews pages through the real ASGI app, on both backends: the queue and
campaigns, a campaign, an item's evidence, deciding (one, several, accepting an agent's
proposal), closing, and that a page never decides more than ``/v1/reviews`` would.
(The same flow in a real browser: tests/browser/test_reviews.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.scenes import RESTART, Scene
from tests.test_console import _browser, _csrf, _sign_in, _token
from tests.test_reviews import DRAFT, get, item, post, start

# The fixture lives in tests/test_reviews.py; pytest finds it through this import.
from tests.test_reviews import scene as scene


def _campaign(scene: Scene, **body: Any) -> dict[str, Any]:
    for _ in range(3):
        assert scene.decide(DRAFT)["decision"] == "allow"
    return start(scene, **body)


def _signed_in(scene: Scene, who: str) -> TestClient:
    client = _browser(scene.services)
    assert _sign_in(client, _token(scene, who)).status_code == 303
    return client


def _item(scene: Scene, item_id: str) -> dict[str, Any]:
    answer = get(scene, f"/v1/reviews/items/{item_id}", "user:rita")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_queue_campaigns_campaign_and_item_pages_render(scene: Scene) -> None:
    campaign = _campaign(scene, name="Quarterly agent access")
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    olga = _signed_in(scene, "user:olga")

    page = olga.get("/ui/reviews")
    assert page.status_code == 200
    assert '<a href="/ui/reviews" aria-current="page">Reviews</a>' in page.text
    queue = _main(page.text).split('id="h-campaigns"')[0]
    for it in campaign["items"]:
        assert (it["id"] in queue) == (it["agent"] == "ops-bot"), it  # olga's agent only
    assert "Reduce to the narrower role" in queue  # deployer's recommendation
    assert "Quarterly agent access" in page.text
    # Soonest due first: every item is due together here, so the order is stable by id.
    assert queue.index(deployer["id"]) > 0

    shown = olga.get(f"/ui/reviews/campaigns/{campaign['id']}")
    assert shown.status_code == 200
    assert "Quarterly agent access" in shown.text
    assert "each agent&#39;s owner" in shown.text
    assert "Close the campaign" not in shown.text  # olga is not an admin
    pending = olga.get(f"/ui/reviews/campaigns/{campaign['id']}?status=decided")
    assert deployer["id"] not in pending.text
    assert "No item is decided." in pending.text
    assert olga.get(f"/ui/reviews/campaigns/{campaign['id']}?status=asleep").status_code == 422

    detail = olga.get(f"/ui/reviews/items/{deployer['id']}")
    assert detail.status_code == 200
    text = _main(detail.text)
    for expected in (
        "deployer",
        "Used versus granted",
        "review.draft",
        "reviews/1",
        "never used",
        "kind: Role",  # the narrower role, as YAML
        deployer["recommendation_reason"].split(";")[0],
        "Record my decision",
        "UTC",
    ):
        assert expected in text, expected
    # Only the verdicts that apply to a binding item are offered.
    assert 'value="reduce"' in text
    assert 'value="retire_agent"' not in text
    assert 'value="reassign_owner"' not in text
    agent_item = item(campaign, "ops-bot", "agent")
    agent_page = _main(olga.get(f"/ui/reviews/items/{agent_item['id']}").text)
    for expected in ("Decisions", "Tokens", "Last seen", "user:olga", "New owner"):
        assert expected in agent_page, expected
    assert 'value="reduce"' not in agent_page


def test_a_reviewer_decides_an_item_and_the_outcome_takes_effect(scene: Scene) -> None:
    campaign = _campaign(scene)
    restarter = item(campaign, "ops-bot", "Binding/restarter-eligible")
    assert scene.decide(RESTART)["decision"] == "approval_required"
    olga = _signed_in(scene, "user:olga")
    page = f"/ui/reviews/items/{restarter['id']}"
    csrf = _csrf(olga, page)
    no_reason = olga.post(
        f"{page}/decision", data={"verdict": "revoke", "reason": " ", "csrf": csrf}
    )
    assert no_reason.status_code == 422
    assert "Give a reason" in no_reason.text
    no_verdict = olga.post(f"{page}/decision", data={"reason": "x", "csrf": csrf})
    assert no_verdict.status_code == 422
    assert "choose a verdict" in no_verdict.text
    wrong = olga.post(
        f"{page}/decision", data={"verdict": "retire_agent", "reason": "x", "csrf": csrf}
    )
    assert wrong.status_code == 422
    assert "That verdict does not fit" in wrong.text
    assert _item(scene, restarter["id"])["status"] == "pending"

    decided = olga.post(
        f"{page}/decision",
        data={"verdict": "revoke", "reason": "never used", "csrf": csrf},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    assert decided.headers["location"] == f"{page}?done=decided"
    after = olga.get(decided.headers["location"]).text
    assert "Your decision was recorded" in after
    assert "never used" in after
    assert "in force" in after
    assert "Record my decision" not in after
    assert restarter["id"] not in _main(olga.get("/ui/reviews").text).split("h-campaigns")[0]
    # At once: the revoked eligible binding opens no approval any more.
    denied = scene.decide(RESTART)
    assert denied["decision"] == "deny"
    assert denied["code"] == "revoked_by_review"
    record = scene.records("review.item_decided")[-1]
    assert record["actor"] == "user:olga"
    assert record["data"]["bulk"] is False
    assert record["data"]["accepted_proposal"] is None
    again = olga.post(f"{page}/decision", data={"verdict": "keep", "reason": "x", "csrf": csrf})
    assert again.status_code == 409
    assert "already been decided" in again.text


def test_reassigning_an_owner_names_the_new_owner(scene: Scene) -> None:
    campaign = _campaign(scene)
    agent_item = item(campaign, "ops-bot", "agent")
    olga = _signed_in(scene, "user:olga")
    page = f"/ui/reviews/items/{agent_item['id']}"
    csrf = _csrf(olga, page)
    nobody = olga.post(
        f"{page}/decision", data={"verdict": "reassign_owner", "reason": "moving", "csrf": csrf}
    )
    assert nobody.status_code == 422
    assert "Name the new owner" in nobody.text
    moved = olga.post(
        f"{page}/decision",
        data={
            "verdict": "reassign_owner",
            "reason": "oscar runs it now",
            "new_owner": "user:oscar",
            "csrf": csrf,
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303
    agent = get(scene, "/v1/agents/ops-bot", "user:rita").json()
    assert agent["owner"] == "user:oscar"


def test_bulk_decide_from_the_queue_is_all_or_none(scene: Scene) -> None:
    campaign = _campaign(scene)
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    restarter = item(campaign, "ops-bot", "Binding/restarter-eligible")
    agent_item = item(campaign, "ops-bot", "agent")
    olga = _signed_in(scene, "user:olga")
    csrf = _csrf(olga, "/ui/reviews")
    # Reduce does not apply to the agent item: nothing is decided, and the page says why.
    refused = olga.post(
        "/ui/reviews/decisions",
        data={
            "items": [deployer["id"], agent_item["id"]],
            "verdict": "reduce",
            "reason": "tidy up",
            "csrf": csrf,
        },
    )
    assert refused.status_code == 422
    assert "That verdict does not fit" in refused.text
    assert 'value="tidy up"' in refused.text  # what was typed is kept
    assert _item(scene, deployer["id"])["status"] == "pending"
    nothing = olga.post(
        "/ui/reviews/decisions", data={"verdict": "keep", "reason": "x", "csrf": csrf}
    )
    assert nothing.status_code == 422
    assert "tick the items" in nothing.text

    decided = olga.post(
        "/ui/reviews/decisions",
        data={
            "items": [deployer["id"], restarter["id"]],
            "verdict": "keep",
            "reason": "both still needed",
            "csrf": csrf,
        },
        follow_redirects=False,
    )
    assert decided.status_code == 303
    assert "Your decision was recorded for 2 items." in olga.get(decided.headers["location"]).text
    for it in (deployer, restarter):
        shown = _item(scene, it["id"])
        assert shown["status"] == "decided"
        assert shown["verdict"] == "keep"
        assert shown["bulk"] is True
    assert _item(scene, agent_item["id"])["status"] == "pending"
    records = scene.records("review.item_decided")
    assert [r["data"]["bulk"] for r in records[-2:]] == [True, True]


def test_accepting_a_proposal_is_recorded_as_such(scene: Scene) -> None:
    campaign = _campaign(scene)
    restarter = item(campaign, "ops-bot", "Binding/restarter-eligible")
    proposed = post(
        scene,
        f"/v1/reviews/items/{restarter['id']}/proposals",
        "copilot",
        {"verdict": "revoke", "reason": "no use in 30 days", "evidence": ["usage: none"]},
    )
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.json()["id"]
    olga = _signed_in(scene, "user:olga")
    queue = olga.get("/ui/reviews").text
    assert "AI-drafted" in queue
    assert "copilot" in queue
    page = f"/ui/reviews/items/{restarter['id']}"
    text = _main(olga.get(page).text)
    for expected in ("AI-drafted", "copilot", "no use in 30 days", "usage: none", proposal):
        assert expected in text, expected
    assert "Accept this proposal" in text
    csrf = _csrf(olga, page)
    # Accepting with another verdict than proposed is refused.
    mismatched = olga.post(
        f"{page}/decision",
        data={"verdict": "keep", "accept_proposal": proposal, "reason": "x", "csrf": csrf},
    )
    assert mismatched.status_code == 422
    assert _item(scene, restarter["id"])["status"] == "pending"
    accepted = olga.post(
        f"{page}/decision",
        data={
            "verdict": "revoke",
            "accept_proposal": proposal,
            "reason": "agreed: unused",
            "csrf": csrf,
        },
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    shown = _item(scene, restarter["id"])
    assert shown["accepted_proposal"] == proposal
    assert shown["decided_by"] == "user:olga"
    record = scene.records("review.item_decided")[-1]
    assert record["data"]["accepted_proposal"] == proposal
    assert record["data"]["proposed_by"] == "agent:copilot"
    after = olga.get(accepted.headers["location"]).text
    assert "accepting the proposal of agent copilot" in after
    assert "drafted by agent copilot" in after


def test_someone_who_is_not_the_reviewer_is_refused_in_words(scene: Scene) -> None:
    campaign = _campaign(scene, reviewer="group:ops")
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    # olga owns the agent, so she sees the item; but the campaign names group:ops.
    olga = _signed_in(scene, "user:olga")
    assert deployer["id"] not in olga.get("/ui/reviews").text.split("h-campaigns")[0]
    page = f"/ui/reviews/items/{deployer['id']}"
    shown = olga.get(page)
    assert shown.status_code == 200
    assert "You are not the reviewer of this item, so you cannot decide it." in shown.text
    assert "anyone in group ops" in shown.text
    assert "Record my decision" not in shown.text
    csrf = _csrf(olga, "/ui/reviews")
    tried = olga.post(f"{page}/decision", data={"verdict": "keep", "reason": "x", "csrf": csrf})
    assert tried.status_code == 403
    assert "You are not the reviewer of this item" in tried.text
    assert "not_a_reviewer" not in _main(tried.text)
    refusal = scene.records("auth.forbidden")[-1]
    assert refusal["actor"] == "user:olga"
    assert refusal["data"]["code"] == "not_a_reviewer"
    bulk = olga.post(
        "/ui/reviews/decisions",
        data={"items": [deployer["id"]], "verdict": "keep", "reason": "x", "csrf": csrf},
    )
    assert bulk.status_code == 403
    assert _item(scene, deployer["id"])["status"] == "pending"
    # A member of the group decides it.
    oscar = _signed_in(scene, "user:oscar")
    assert deployer["id"] in oscar.get("/ui/reviews").text
    # Someone with nothing to do with it does not even see it.
    pat = _signed_in(scene, "user:pat")
    hidden = pat.get(page)
    assert hidden.status_code == 404
    assert "deployer" not in _main(hidden.text)
    assert campaign["name"] not in pat.get("/ui/reviews").text


def test_every_review_form_needs_the_form_token(scene: Scene) -> None:
    campaign = _campaign(scene)
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    rita = _signed_in(scene, "user:rita")
    posts = [
        (f"/ui/reviews/items/{deployer['id']}/decision", {"verdict": "keep", "reason": "x"}),
        ("/ui/reviews/decisions", {"items": deployer["id"], "verdict": "keep", "reason": "x"}),
        (f"/ui/reviews/campaigns/{campaign['id']}/close", {"reason": "x"}),
    ]
    for path, data in posts:
        for token in ({}, {"csrf": "forged"}):
            answer = rita.post(path, data={**data, **token})
            assert answer.status_code == 403, path
            assert "csrf_failed" in answer.text
        csrf = _csrf(rita, "/ui/reviews")
        cross = rita.post(
            path,
            data={**data, "csrf": csrf},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert cross.status_code == 403, path
    assert _item(scene, deployer["id"])["status"] == "pending"
    shown = get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita").json()
    assert shown["status"] == "open"


@pytest.mark.parametrize(
    "path",
    [
        "/ui/reviews/items/rvi_aaaaaaaaaaaaaaaa",
        "/ui/reviews/items/nonsense",
        "/ui/reviews/items/rvi_%00",
        "/ui/reviews/campaigns/rvc_nothing",
        "/ui/reviews/campaigns/%3Cscript%3E",
    ],
)
def test_a_bad_id_is_a_404_page_not_a_500(scene: Scene, path: str) -> None:
    rita = _signed_in(scene, "user:rita")
    answer = rita.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Traceback" not in answer.text
    assert "<script>" not in answer.text
    csrf = _csrf(rita, "/ui/reviews")
    if "/items/" in path:
        posted = rita.post(
            f"{path}/decision", data={"verdict": "keep", "reason": "x", "csrf": csrf}
        )
    else:
        posted = rita.post(f"{path}/close", data={"reason": "x", "csrf": csrf})
    assert posted.status_code == 404
    assert posted.headers["content-type"].startswith("text/html")


def test_an_admin_closes_a_campaign_with_a_reason(scene: Scene) -> None:
    campaign = _campaign(scene)
    path = f"/ui/reviews/campaigns/{campaign['id']}"
    olga = _signed_in(scene, "user:olga")
    refused = olga.post(f"{path}/close", data={"reason": "done", "csrf": _csrf(olga, path)})
    assert refused.status_code == 403
    rita = _signed_in(scene, "user:rita")
    page = rita.get(path).text
    assert "Close the campaign" in page
    csrf = _csrf(rita, path)
    no_reason = rita.post(f"{path}/close", data={"reason": "", "csrf": csrf})
    assert no_reason.status_code == 422
    assert "Give a reason" in no_reason.text
    closed = rita.post(
        f"{path}/close", data={"reason": "quarter over", "csrf": csrf}, follow_redirects=False
    )
    assert closed.status_code == 303
    after = rita.get(closed.headers["location"]).text
    assert "The campaign is closed." in after
    assert "Close the campaign" not in after
    record = scene.records("review.closed")[-1]
    assert record["data"]["reason"] == "quarter over"
    assert record["actor"] == "user:rita"
    assert (
        get(scene, f"/v1/reviews/campaigns/{campaign['id']}", "user:rita").json()["status"]
        == "closed"
    )
    again = rita.post(f"{path}/close", data={"reason": "again", "csrf": csrf})
    assert again.status_code == 409
    assert "This campaign is closed" in again.text


def test_dont_know_hands_the_item_to_the_admins(scene: Scene) -> None:
    campaign = _campaign(scene)
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    olga = _signed_in(scene, "user:olga")
    page = f"/ui/reviews/items/{deployer['id']}"
    assert 'value="dont_know"' in olga.get(page).text
    handed = olga.post(
        f"{page}/decision",
        data={"verdict": "dont_know", "reason": "not my area", "csrf": _csrf(olga, page)},
        follow_redirects=False,
    )
    assert handed.status_code == 303
    assert _item(scene, deployer["id"])["status"] == "escalated"
    after = olga.get(page).text
    assert "This item was handed to the admins" in after
    assert "Record my decision" not in after
    assert deployer["id"] not in olga.get("/ui/reviews").text.split("h-campaigns")[0]
    rita = _signed_in(scene, "user:rita")
    queue = rita.get("/ui/reviews").text
    assert deployer["id"] in queue
    assert "escalated to the admins" in queue
    admin_page = rita.get(page).text
    assert "Record my decision" in admin_page
    assert 'value="dont_know"' not in admin_page  # it is with the admins already
