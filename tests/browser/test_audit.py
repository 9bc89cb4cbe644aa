"""The auditor's side in a real browser: filter the log by agent and type, open a record,
see the log and its checkpoint verified, download the export; and the Audit area kept
from people without the auditor or admin role."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from charter.audit.merkle import leaf_hash
from charter.audit.records import canonical_json
from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from tests.browser.conftest import PHONE, Console, shot, sign_in
from tests.helpers import people
from tests.scenes import CONFIG, DEPLOY


def _auditor(console: Console) -> None:
    console.scene.tokens.update(
        people(console.scene.services, [("user:ada", (), (HumanRole.AUDITOR,))])
    )


def test_an_auditor_filters_opens_a_record_verifies_and_exports(
    page: Page, console: Console, clock: ManualClock, tmp_path: Path
) -> None:
    _auditor(console)
    deploy = console.scene.decide(DEPLOY)
    clock.advance(timedelta(seconds=47))
    console.scene.decide(CONFIG)
    assert console.scene.services.audit.checkpoint() is not None
    clock.advance(timedelta(minutes=2, seconds=5))
    console.scene.decide({**CONFIG, "resource": "prod/db"})  # one record past the checkpoint
    sign_in(page, console, "user:ada")

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_label("Agent", exact=True).fill("ops-bot")
    page.get_by_label("Type", exact=True).select_option("decision")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(
        f"{console.url}/ui/audit?agent=ops-bot&type=decision&type=&since=&until="
    )
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    for n in range(3):
        expect(rows.nth(n).locator("td").nth(1)).to_have_text("decision")
        expect(rows.nth(n).locator("td").nth(3)).to_have_text("ops-bot")
    expect(rows.nth(2)).to_contain_text("approval_required: deploy.run on prod/web")
    expect(rows.nth(0)).to_contain_text("config.change on prod/db")
    shot(page, "audit", tmp_path)

    seq = rows.nth(2).get_attribute("data-seq")
    page.get_by_role("link", name=f"Record {seq}", exact=True).click()
    expect(page.get_by_role("heading", name=f"Audit record {seq}")).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text(deploy["decision_id"])
    expect(main).to_contain_text("deploys-need-two")
    expect(main).to_contain_text("The leaf hash is the hash of the body as stored.")
    expect(main).to_contain_text("Sealed by the checkpoint")
    shot(page, "audit-record", tmp_path)

    page.get_by_role("link", name="Verify the whole log").click()
    expect(page.get_by_role("heading", name="Audit log verification")).to_be_visible()
    expect(page.locator("#log-status")).to_contain_text("Verified")
    expect(page.locator("#checkpoint-status")).to_contain_text(
        "Verified with this server's public key"
    )
    expect(main).to_contain_text("1 of 1")
    shot(page, "audit-verify", tmp_path)

    page.go_back()
    page.get_by_role("link", name="← Audit log").click()
    page.get_by_label("Agent", exact=True).fill("ops-bot")
    page.get_by_label("Type", exact=True).select_option("decision")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export JSON Lines").click()
    download = info.value
    assert download.suggested_filename.startswith("charter-audit-")
    assert download.suggested_filename.endswith(".jsonl")
    lines = [json.loads(line) for line in Path(download.path()).read_text().splitlines()]
    assert [line["type"] for line in lines] == ["decision"] * 3
    assert lines[0]["subject"] == deploy["decision_id"]
    for line in lines:
        body = {k: v for k, v in line.items() if k not in ("leaf_hash", "tree_root")}
        assert leaf_hash(canonical_json(body).encode("utf-8")).hex() == line["leaf_hash"]


def test_the_audit_area_is_kept_from_an_owner(page: Page, console: Console) -> None:
    sign_in(page, console, "user:olga")
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Inbox")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)
    answer = page.goto(f"{console.url}/ui/audit")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("alert")).to_contain_text("read the audit log")


def test_the_audit_log_on_a_phone(browser: Browser, console: Console, tmp_path: Path) -> None:
    _auditor(console)
    console.scene.decide(DEPLOY)
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    try:
        page = phone.new_page()
        sign_in(page, console, "user:ada")
        page.goto(f"{console.url}/ui/audit")
        expect(page.locator("tbody tr").first).to_be_visible()
        # The table may scroll inside its frame; the page itself must not.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the audit page scrolls sideways by {overflow}px on a phone"
        shot(page, "audit-phone", tmp_path)
    finally:
        phone.close()
