"""The Posture page in a real browser: an auditor opens it from the navigation, reads
the chart and coverage, filters to one kind, sees a leak disappear once marked rotated;
and the area kept from people without the auditor or admin role."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from charter.identity.humans import HumanRole
from tests.browser.conftest import PHONE, Console, shot, sign_in
from tests.helpers import people

FINGERPRINT = "fp_" + "5e" * 16


def test_an_auditor_reads_posture_and_filters_it(
    page: Page, console: Console, tmp_path: Path
) -> None:
    scene = console.scene
    scene.tokens.update(people(scene.services, [("user:ada", (), (HumanRole.AUDITOR,))]))
    reported = scene.api.post(
        "/v1/leaks",
        json={"fingerprint": FINGERPRINT, "note": "pasted in chat"},
        headers=scene.tokens["user:rita"],
    )
    assert reported.status_code == 201
    scene.decide(
        {
            "capability": "do",
            "action": "review.draft",
            "resource": "r/1",
            "context": {"on_behalf_of": "user:olga"},
        }
    )
    sign_in(page, console, "user:ada")

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Posture").click()
    expect(page.get_by_role("heading", name="Posture", exact=True)).to_be_visible()
    expect(page.get_by_role("img")).to_have_accessible_name("0 critical, 1 high, 3 medium, 3 low")
    main = page.locator("main")
    expect(main).to_contain_text(f"leak:{FINGERPRINT}")
    expect(main).to_contain_text("the active policy has no tests")
    expect(main).to_contain_text("did review.draft on behalf of people without step-up")
    shot(page, "posture", tmp_path)

    page.get_by_label("Kind", exact=True).select_option("leak_not_rotated")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.posture-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("NHI2")

    marked = scene.api.post(
        f"/v1/leaks/{FINGERPRINT}/rotated",
        json={"note": "revoked at the issuer"},
        headers=scene.tokens["user:rita"],
    )
    assert marked.status_code == 201
    page.reload()
    expect(main).to_contain_text("No findings match this filter.")

    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    page.goto(f"{console.url}/ui/posture")
    expect(page.get_by_role("heading", name="Findings", exact=True)).to_be_visible()
    shot(page, "posture-phone", tmp_path)


def test_posture_is_for_admins_and_auditors(page: Page, console: Console) -> None:
    sign_in(page, console, "user:olga")
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Posture")).to_have_count(0)
    answer = page.goto(f"{console.url}/ui/posture")
    assert answer is not None
    assert answer.status == 403
