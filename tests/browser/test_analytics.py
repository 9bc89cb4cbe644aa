"""Approval analytics and an agent's investigation in a real browser: an admin opens
the analytics from the navigation and reads the figures and charts; the agent's owner
investigates their agent from its page and downloads both exports."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from charter.clock import ManualClock
from tests.browser.conftest import PHONE, Console, shot, sign_in
from tests.test_analytics import build_mixed_history


def test_an_admin_reads_approval_analytics(
    page: Page, console: Console, clock: ManualClock, tmp_path: Path
) -> None:
    build_mixed_history(console.scene, clock)
    sign_in(page, console, "user:rita")
    nav = page.get_by_role("navigation", name="Console")
    nav.get_by_role("link", name="Approval stats").click()
    expect(page.get_by_role("heading", name="Approval analytics")).to_be_visible()
    overall = page.locator("#overall")
    expect(overall).to_contain_text("Approvals5")
    expect(overall).to_contain_text("Time to decide, p90102 s")
    expect(overall).to_contain_text("Deny rate25%")
    charts = page.get_by_role("img")
    expect(charts).to_have_count(3)
    expect(page.get_by_role("img", name="Approvals by rule and outcome")).to_be_visible()
    rules = page.locator("#by-policy tbody tr")
    expect(rules).to_have_count(3)
    expect(rules.nth(1)).to_contain_text("Guardrail/deploys-need-two")
    expect(page.locator("#by-approver tbody tr").first).to_contain_text("user:oscar")
    # The bars are drawn: the expired part of the first rule's bar has a width.
    expired = page.locator("#chart-rules-title ~ g.bar").first.locator("rect.seg-expired")
    assert (expired.bounding_box() or {"width": 0})["width"] > 10
    shot(page, "approval-stats", tmp_path)

    page.get_by_label("Since").fill("1m")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No approval was opened in this window.")).to_be_visible()
    page.get_by_label("Since").fill("soon")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("main")).to_contain_text("invalid 'since'")

    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    page.goto(f"{console.url}/ui/approvals/stats")
    expect(page.get_by_role("img", name="Approvals by rule and outcome")).to_be_visible()
    shot(page, "approval-stats-phone", tmp_path)


def test_the_owner_investigates_their_agent_and_downloads_the_report(
    page: Page, console: Console, clock: ManualClock, tmp_path: Path
) -> None:
    build_mixed_history(console.scene, clock)
    sign_in(page, console, "user:olga")
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Agents").click()
    page.get_by_role("link", name="ops-bot").first.click()
    page.get_by_role("link", name="Investigate this agent").click()
    expect(page.get_by_role("heading", name="Investigation of ops-bot")).to_be_visible()
    page.get_by_label("Since").fill("1d")
    page.get_by_role("button", name="Show").click()
    radius = page.locator("#blast-radius tbody tr")
    expect(radius).to_have_count(1)
    expect(radius.first).to_contain_text("deploy.run")
    expect(radius.first).to_contain_text("Role/deployer permissions[0]")
    expect(page.locator("#approvals tbody tr")).to_have_count(5)
    expect(page.locator("#timeline")).to_contain_text("approved by user:oscar and user:otto")
    shot(page, "investigation", tmp_path)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download JSON").click()
    saved = tmp_path / "investigation.json"
    info.value.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert exported["agent"] == "ops-bot"
    assert [r["action"] for r in exported["blast_radius"]] == ["deploy.run"]
    with page.expect_download() as info:
        page.get_by_role("link", name="Download Markdown").click()
    assert info.value.suggested_filename == "investigation-ops-bot.md"
