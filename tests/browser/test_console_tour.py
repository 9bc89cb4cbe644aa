"""The README's console tour, as a new user follows it: the CLI tours pasted into bash
against a real ``charter serve``, then Bob signs in to the console in Chromium with the
token the tour issues him and approves the request the tours left waiting."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot
from tests.test_readme import _block, _paste, _quickstart, served

__all__ = ["served"]  # the fixture, imported for this module's tests

_TOKEN = re.compile(r"cht_[a-z2-7]{16}_[A-Za-z0-9_-]{43}")


def test_the_console_tour_works_as_the_readme_says(
    page: Page, served: tuple[Path, int], tmp_path: Path
) -> None:
    script = (
        _quickstart()
        + _block("secrets-tour")
        + _block("console-tour")
        + 'echo "tour-score=$SCORE"; echo "tour-ops=$OPS_TOKEN"\n'
    )
    out = _paste(script, served).stdout
    bob = _TOKEN.findall(out.split("tour-score=")[0])[-1]
    score = re.search(r"tour-score=(\S+)", out)
    ops = re.search(r"tour-ops=(\S+)", out)
    assert score is not None
    assert ops is not None
    url = f"http://127.0.0.1:{served[1]}"

    page.goto(f"{url}/ui")
    page.get_by_label("Your Charter token").fill(bob)
    page.get_by_role("button", name="Sign in").click()
    item = page.locator(".case", has_text="iam/groups/payroll")
    expect(item).to_contain_text("identity-ops-agent")
    item.get_by_role("link").click()
    main = page.locator("main")
    expect(main).to_contain_text("inferred-privilege-changes-need-approval")
    expect(main).to_contain_text(score.group(1))  # the inference it cites
    expect(main).to_contain_text("identity.confidence_score")
    shot(page, "tour-approval", tmp_path)
    page.get_by_label("Reason (kept in the audit log)").fill("payroll access for the quarter close")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Your vote was recorded (approve)")

    request = {
        "capability": "do",
        "action": "rbac.assign",
        "resource": "iam/groups/payroll",
        "context": {"derived_from": score.group(1)},
    }
    headers = {"Authorization": f"Bearer {ops.group(1)}"}
    decided = [
        httpx.post(f"{url}/v1/decisions", json=request, headers=headers).json()["decision"]
        for _ in range(2)
    ]
    assert decided == ["allow", "approval_required"]
