"""The Agents pages in a real browser: the identity engineer finds an agent, pulls its
kill switch through the confirmation and the agent's token is refused at once; an owner
issues a token and sees it once; someone without the right role sees nothing of another
owner's agents; and the pages on a phone."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Dialog, Page, expect

from charter.service import SYSTEM
from tests.browser.conftest import PHONE, Console, shot, sign_in
from tests.helpers import register
from tests.scenes import CONFIG


def test_an_admin_pulls_the_kill_switch_and_the_agents_token_is_refused(
    page: Page, console: Console, tmp_path: Path
) -> None:
    pending = console.scene.decide(CONFIG)["approval"]["id"]
    register(console.scene.services, "billing-bot", "user:oscar", labels={"team": "pay"})
    sign_in(page, console, "user:rita")
    page.get_by_role("link", name="Agents").click()
    expect(page.get_by_role("heading", name="Agents")).to_be_visible()
    expect(page.locator("[data-agent]")).to_have_count(2)
    page.get_by_label("Owner").fill("user:olga")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("[data-agent]")).to_have_count(1)
    shot(page, "agents", tmp_path)
    page.get_by_role("link", name="ops-bot").click()
    expect(page.get_by_role("heading", name="Agent ops-bot")).to_be_visible()
    for text in ("deployer-standing", "reviewer-eligible", "config.change", "user:olga"):
        expect(page.locator("main")).to_contain_text(text)
    shot(page, "agent", tmp_path)
    page.get_by_role("link", name="Suspend agent").click()
    expect(page.get_by_role("heading", name="Suspend agent ops-bot?")).to_be_visible()
    consequences = page.locator(".consequences")
    expect(consequences).to_contain_text("1 active token is refused from its next request on")
    expect(consequences).to_contain_text("1 pending or approved-but-unused approval")
    page.get_by_label("Reason (kept in the audit log)").fill("leaking customer data")
    shot(page, "kill-switch", tmp_path)
    # Without "I understand" the browser does not send the form.
    page.get_by_role("button", name="Suspend agent").click()
    expect(page).to_have_url(f"{console.url}/ui/agents/ops-bot/suspend")
    assert (
        console.scene.api.get(
            "/v1/agents/ops-bot", headers=console.scene.tokens["user:rita"]
        ).json()["status"]
        == "active"
    )
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Suspend agent").click()
    expect(page.get_by_role("status")).to_contain_text("The agent is suspended")
    assert asked == ["Suspend agent ops-bot now?"]
    expect(page.locator("main")).to_contain_text("by user:rita")
    refused = console.scene.api.post(
        "/v1/decisions", json=CONFIG, headers=console.scene.tokens["ops-bot"]
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "agent_suspended"
    assert console.scene.approval(pending)["status"] == "cancelled"


def test_an_owner_issues_a_token_sees_it_once_and_revokes_it(page: Page, console: Console) -> None:
    sign_in(page, console, "user:olga")
    page.goto(f"{console.url}/ui/agents/ops-bot")
    page.get_by_label("Lifetime").select_option(label="1 day")
    page.get_by_label("Description").fill("nightly job")
    page.get_by_role("button", name="Issue token").click()
    expect(page.get_by_role("alert")).to_contain_text("only time the token is shown")
    token = page.get_by_label(re.compile("^Token tok_")).input_value()
    assert token.startswith("cht_")
    whoami = console.scene.api.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.json()["id"] == "ops-bot"
    page.get_by_role("link", name="back to the agent").click()
    expect(page.locator("main")).to_contain_text("nightly job")
    assert token not in page.content()
    row = page.locator("tr", has_text="nightly job")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("^Revoke token")).click()
    expect(page.get_by_role("status")).to_contain_text("The token was revoked")
    expect(page.locator("tr", has_text="nightly job")).to_contain_text("revoked")
    again = console.scene.api.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401


def test_a_human_without_the_role_sees_nothing_of_another_owners_agents(
    page: Page, console: Console
) -> None:
    register(console.scene.services, "billing-bot", "user:oscar")
    sign_in(page, console, "user:oscar")
    page.goto(f"{console.url}/ui/agents")
    expect(page.locator("[data-agent]")).to_have_count(1)
    expect(page.locator('[data-agent="billing-bot"]')).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("ops-bot")
    page.goto(f"{console.url}/ui/agents?owner=user:olga")
    expect(page.locator("[data-agent]")).to_have_count(0)
    for path in ("/ui/agents/ops-bot", "/ui/agents/ops-bot/suspend"):
        answer = page.goto(f"{console.url}{path}")
        assert answer is not None
        assert answer.status == 403  # as the API answers: the same whether it exists or not
        expect(page.get_by_role("alert")).to_contain_text("may not")
        expect(page.locator("main")).not_to_contain_text("deployer")
    assert console.scene.services.agents.get(SYSTEM, "ops-bot").status.value == "active"


def test_the_agents_pages_work_on_a_phone_with_every_field_labelled(
    browser: Browser, console: Console
) -> None:
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    try:
        page = phone.new_page()
        sign_in(page, console, "user:olga")
        for path in ("/ui/agents", "/ui/agents/ops-bot", "/ui/agents/ops-bot/suspend"):
            page.goto(f"{console.url}{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
            unlabelled = page.evaluate(
                """[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
                     .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                     .map(e => e.name)"""
            )
            assert unlabelled == [], path
    finally:
        phone.close()
