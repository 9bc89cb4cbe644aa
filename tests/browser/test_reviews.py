"""The Reviews pages in a real browser: an owner opens their queue, reads an item's
evidence and decides it (the outcome takes effect on the agent's next call), accepts an
agent's proposal, decides two items at once; an admin closes the campaign; and the queue
on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Dialog, Page, expect

from charter.service import SYSTEM
from tests.browser.conftest import PHONE, Console, shot, sign_in
from tests.helpers import bearer
from tests.scenes import POLICY, RESTART
from tests.test_reviews import COPILOT, DRAFT, item, start


def _campaign(console: Console) -> dict[str, Any]:
    """The copilot's policy, some real use, a campaign, and one proposal from the copilot
    on the eligible restarter binding."""
    scene = console.scene
    scene.apply(POLICY + COPILOT)
    scene.tokens["copilot"] = bearer(scene.services.tokens.issue_for_agent(SYSTEM, "copilot").token)
    for _ in range(3):
        assert scene.decide(DRAFT)["decision"] == "allow"
    campaign = start(scene, name="Q4 agent access")
    restarter = item(campaign, "ops-bot", "Binding/restarter-eligible")
    proposed = scene.api.post(
        f"/v1/reviews/items/{restarter['id']}/proposals",
        json={
            "verdict": "revoke",
            "reason": "not used once in 30 days",
            "evidence": ["usage: no decision through Binding/restarter-eligible"],
        },
        headers=scene.tokens["copilot"],
    )
    assert proposed.status_code == 201, proposed.text
    return campaign


def _status(console: Console, item_id: str) -> dict[str, Any]:
    answer = console.scene.api.get(
        f"/v1/reviews/items/{item_id}", headers=console.scene.tokens["user:rita"]
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_an_owner_reads_the_evidence_and_decides_from_the_queue(
    page: Page, console: Console, tmp_path: Path
) -> None:
    campaign = _campaign(console)
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    sign_in(page, console, "user:olga")
    page.get_by_role("link", name="Reviews").click()
    expect(page.get_by_role("heading", name="Access reviews")).to_be_visible()
    row = page.locator(f'tr[data-item="{deployer["id"]}"]')
    expect(row).to_contain_text("Reduce to the narrower role")
    expect(page.locator("tr[data-item]")).to_have_count(4)  # ops-bot: itself and 3 bindings
    expect(page.locator(f'tr[data-campaign="{campaign["id"]}"]')).to_contain_text("Q4 agent access")
    shot(page, "reviews-queue", tmp_path)

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="ops-bot: Binding/deployer-standing")).to_be_visible()
    main = page.locator("main")
    for text in ("Used versus granted", "review.draft", "reviews/1", "never used", "kind: Role"):
        expect(main).to_contain_text(text)
    expect(page.get_by_label("Retire the agent")).to_have_count(0)  # not for a binding
    page.get_by_label("Reduce to the narrower role").check()
    page.get_by_label("Reason (kept in the audit log)").fill("drafts only, on reviews/1")
    shot(page, "reviews-item", tmp_path)
    page.get_by_role("button", name="Record my decision").click()
    expect(page.get_by_role("status")).to_contain_text("Your decision was recorded")
    expect(page.locator(".decide")).to_contain_text("in force")
    assert _status(console, deployer["id"])["verdict"] == "reduce"
    # At once: what was used is still allowed, nothing else.
    assert console.scene.decide(DRAFT)["decision"] == "allow"
    assert console.scene.decide({**DRAFT, "resource": "reviews/2"})["decision"] == "deny"


def test_accepting_an_agents_proposal_in_the_browser(
    page: Page, console: Console, tmp_path: Path
) -> None:
    campaign = _campaign(console)
    restarter = item(campaign, "ops-bot", "Binding/restarter-eligible")
    sign_in(page, console, "user:olga")
    page.goto(f"{console.url}/ui/reviews")
    row = page.locator(f'tr[data-item="{restarter["id"]}"]')
    expect(row).to_contain_text("AI-drafted")
    expect(row).to_contain_text("copilot")
    row.get_by_role("link").click()
    proposal = page.locator(".proposal")
    expect(proposal).to_contain_text("AI-drafted by agent copilot")
    expect(proposal).to_contain_text("not used once in 30 days")
    proposal.get_by_label("Your reason for accepting it (kept in the audit log)").fill(
        "agreed, nobody restarts through it"
    )
    shot(page, "reviews-proposal", tmp_path)
    proposal.get_by_role("button", name="Accept this proposal").click()
    expect(page.get_by_role("status")).to_contain_text("accepting the proposal of agent copilot")
    shown = _status(console, restarter["id"])
    assert shown["verdict"] == "revoke"
    assert shown["accepted_proposal"] is not None
    denied = console.scene.decide(RESTART)
    assert denied["decision"] == "deny"
    assert denied["code"] == "revoked_by_review"


def test_bulk_deciding_and_closing_the_campaign(
    page: Page, console: Console, tmp_path: Path
) -> None:
    campaign = _campaign(console)
    agent_item = item(campaign, "ops-bot", "agent")
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    sign_in(page, console, "user:olga")
    page.goto(f"{console.url}/ui/reviews")
    page.get_by_label(f"Select ops-bot {agent_item['source']}").check()
    page.get_by_label(f"Select ops-bot {deployer['source']}").check()
    page.get_by_label("Verdict for the selected items").select_option("keep")
    page.get_by_label("Reason for the selected items (kept in the audit log)").fill(
        "still needed this quarter"
    )
    page.get_by_role("button", name="Decide the selected items").click()
    expect(page.get_by_role("status")).to_have_text("Your decision was recorded for 2 items.")
    expect(page.locator("tr[data-item]")).to_have_count(2)
    assert _status(console, deployer["id"])["bulk"] is True

    # The admin closes the campaign: the last open item takes its default.
    page.context.clear_cookies()
    sign_in(page, console, "user:rita")
    page.goto(f"{console.url}/ui/reviews/campaigns/{campaign['id']}")
    expect(page.get_by_role("heading", name="Q4 agent access")).to_be_visible()
    page.get_by_label("Show").select_option("decided")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-item]")).to_have_count(2)
    page.get_by_label("Show").select_option("")
    page.get_by_role("button", name="Filter").click()
    page.get_by_label("Reason for closing (kept in the audit log)").fill("quarter is over")
    shot(page, "reviews-campaign", tmp_path)
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Close the campaign").click()
    expect(page.get_by_role("status")).to_contain_text("The campaign is closed.")
    assert asked
    assert "Q4 agent access" in asked[0]
    shown = console.scene.api.get(
        f"/v1/reviews/campaigns/{campaign['id']}", headers=console.scene.tokens["user:rita"]
    ).json()
    assert shown["status"] == "closed"


def test_the_queue_and_an_item_work_on_a_phone(
    browser: Browser, console: Console, tmp_path: Path
) -> None:
    campaign = _campaign(console)
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    try:
        page = phone.new_page()
        sign_in(page, console, "user:olga")
        for path in ("/ui/reviews", f"/ui/reviews/items/{deployer['id']}"):
            page.goto(f"{console.url}{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
        shot(page, "reviews-item-phone", tmp_path)
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                 .map(e => e.name)"""
        )
        assert unlabelled == []
    finally:
        phone.close()
