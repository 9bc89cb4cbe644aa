"""The approver's side in a real browser: sign in, see a request arrive without
reloading, approve it and watch the agent's call succeed once, deny another, a
cross-site or token-less POST refused, and the inbox on a phone."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, Console, shot, sign_in
from tests.scenes import CLOSE, CONFIG

TICKETED = {**CONFIG, "context": {"ticket": "CHG-1042"}, "input": {"window": "22:00-23:00"}}


def test_signing_in_shows_the_inbox_and_a_wrong_token_is_refused(
    page: Page, console: Console, tmp_path: Path
) -> None:
    page.goto(f"{console.url}/ui/inbox")
    expect(page).to_have_url(f"{console.url}/ui/sign-in?next=%2Fui%2Finbox")
    shot(page, "sign-in", tmp_path)
    page.get_by_label("Your Charter token").fill("cht_not_a_token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not a valid Charter token.")
    page.get_by_label("Your Charter token").fill(console.token("ops-bot"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("agent tokens and enforcer accounts")
    sign_in(page, console, "user:olga")
    expect(page.get_by_role("heading", name="Waiting for you")).to_be_visible()
    expect(page.get_by_text("Nothing is waiting for you.")).to_be_visible()


def test_approving_in_the_console_lets_the_agents_call_through_exactly_once(
    page: Page, console: Console, tmp_path: Path
) -> None:
    sign_in(page, console, "user:olga")
    # The request arrives while the inbox is open: it appears without a reload.
    opened = console.scene.decide(TICKETED)
    assert opened["decision"] == "approval_required"
    approval = opened["approval"]["id"]
    item = page.locator(f'[data-approval="{approval}"]')
    expect(item).to_be_visible()
    expect(item).to_contain_text("config.change")
    shot(page, "inbox", tmp_path)
    item.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Approval {approval}")).to_be_visible()
    for text in ("config-needs-owner", "CHG-1042", "22:00-23:00", "user:olga"):
        expect(page.locator("main")).to_contain_text(text)
    page.get_by_label("Reason (kept in the audit log)").fill("planned change, ticket checked")
    shot(page, "approval", tmp_path)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Your vote was recorded (approve)")
    expect(page.locator(f'[data-approval="{approval}"]')).to_have_count(0)
    assert console.scene.decide(TICKETED)["decision"] == "allow"
    assert console.scene.decide(TICKETED)["decision"] == "approval_required"


def test_denying_closes_the_request_and_the_agent_stays_refused(
    page: Page, console: Console
) -> None:
    approval = console.scene.decide(CONFIG)["approval"]["id"]
    sign_in(page, console, "user:olga")
    page.goto(f"{console.url}/ui/approvals/{approval}")
    page.get_by_role("button", name="Deny").click()  # no reason: the browser asks for one
    expect(page).to_have_url(f"{console.url}/ui/approvals/{approval}")
    page.get_by_label("Reason (kept in the audit log)").fill("not during the freeze")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("status")).to_contain_text("Your vote was recorded (deny)")
    assert console.scene.approval(approval)["status"] == "denied"
    assert console.scene.decide(CONFIG)["decision"] == "approval_required"


def test_a_post_without_the_form_token_is_refused_even_with_the_session_cookie(
    page: Page, console: Console
) -> None:
    approval = console.scene.decide(CONFIG)["approval"]["id"]
    sign_in(page, console, "user:olga")
    answer = page.request.post(
        f"{console.url}/ui/approvals/{approval}/vote",
        form={"vote": "approve", "reason": "forged"},
    )
    assert answer.status == 403
    assert "csrf_failed" in answer.text()
    assert console.scene.approval(approval)["status"] == "pending"


def test_a_step_up_for_someone_else_is_explained_in_words(page: Page, console: Console) -> None:
    approval = console.scene.decide({**CLOSE, "context": {"on_behalf_of": "user:otto"}})
    sign_in(page, console, "user:rita")
    page.goto(f"{console.url}/ui/approvals/{approval['approval']['id']}")
    expect(page.locator(".refusal")).to_have_text(
        "Only user:otto, on whose behalf the agent acts, can confirm this step-up."
    )
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)


def test_the_inbox_works_on_a_phone(browser: Browser, console: Console, tmp_path: Path) -> None:
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    try:
        page = phone.new_page()
        approval = console.scene.decide(TICKETED)["approval"]["id"]
        sign_in(page, console, "user:olga")
        item = page.locator(f'[data-approval="{approval}"]')
        expect(item).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the inbox scrolls sideways by {overflow}px on a phone"
        shot(page, "inbox-phone", tmp_path)
        item.get_by_role("link").click()
        page.get_by_label("Reason (kept in the audit log)").fill("ok from my phone")
        approve = page.get_by_role("button", name="Approve")
        box = approve.bounding_box()
        assert box is not None
        assert box["height"] >= 44  # a thumb-sized target
        approve.tap()
        expect(page.get_by_role("status")).to_contain_text("Your vote was recorded")
    finally:
        phone.close()


def test_the_inbox_can_be_used_with_the_keyboard_alone(page: Page, console: Console) -> None:
    approval = console.scene.decide(CONFIG)["approval"]["id"]
    sign_in(page, console, "user:olga")
    page.goto(f"{console.url}/ui/approvals/{approval}")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_label("Reason (kept in the audit log)").focus()
    page.keyboard.type("keyboard only")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Approve")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your vote was recorded (approve)")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
             .map(e => e.name)"""
    )
    assert unlabelled == []
