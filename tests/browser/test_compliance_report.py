"""The HTML compliance report opened from a file in a real browser: its charts render as
SVG (posture's findings among them), it fetches nothing, and the embedded bundle is the
one the report cites."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from playwright.sync_api import Page, Request

from charter.clock import ManualClock
from charter.service import SYSTEM, Services
from charter.storage.keyfile import public_key_pem
from tests.browser.conftest import shot
from tests.compliance_scene import busy_scene
from tests.helpers import charter_cli
from tests.scenes import Scene


def test_the_html_report_renders_its_charts_offline(
    api: TestClient,
    services: Services,
    clock: ManualClock,
    page: Page,
    tmp_path: Path,
    signing_key: Ed25519PrivateKey,
) -> None:
    scene = Scene(api, services)
    busy_scene(scene, clock)
    # Two posture findings: a thirty-day agent token, and an agent whose owner has left.
    services.tokens.issue_for_agent(SYSTEM, "ops-bot", ttl=timedelta(days=30))
    services.humans.deactivate(SYSTEM, "user:olga", reason="left")
    answer = api.get(
        "/v1/compliance/report",
        params={"framework": "owasp-nhi", "format": "html"},
        headers=scene.tokens["user:ada"],
    )
    assert answer.status_code == 200, answer.text
    report = tmp_path / "report.html"
    report.write_text(answer.text, encoding="utf-8")

    fetched: list[str] = []

    def note(request: Request) -> None:
        if not request.url.startswith("file://"):
            fetched.append(request.url)

    page.on("request", note)
    page.goto(report.as_uri())
    for chart in ("decisions-over-time", "approval-waits", "findings-by-severity"):
        svg = page.locator(f"#{chart} svg")
        assert svg.is_visible()
        box = svg.bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 100
        assert page.locator(f"#{chart} svg rect").count() >= 2
    # Two days of decisions, and the two answered approvals in their buckets.
    labels = page.locator("#decisions-over-time svg text").all_text_contents()
    assert len([t for t in labels if "-" in t]) == 2
    titles = page.locator("#approval-waits svg rect title").all_text_contents()
    assert sorted(titles) == ["30 min-2 h: 1 approval(s)", "< 5 min: 1 approval(s)"]
    severities = page.locator("#findings-by-severity svg rect title").all_text_contents()
    assert sorted(severities) == ["high: 1 finding(s)", "medium: 1 finding(s)"]
    assert page.get_by_role("row", name="NHI2").inner_text().count("PARTIAL") == 1
    assert page.locator("#control-NHI1").inner_text().count("GAP") == 1  # orphaned agent
    assert page.locator("#control-NHI7").inner_text().count("PARTIAL") == 1  # 30-day token
    assert "agent ops-bot has no active owner" in page.locator("#control-NHI1").inner_text()
    embedded = json.loads(page.locator("#charter-evidence").text_content() or "null")
    assert embedded["format"] == "charter-evidence/v1"
    # The bundle embedded in the page verifies offline with the public key only.
    (tmp_path / "embedded.json").write_text(json.dumps(embedded), encoding="utf-8")
    pem = tmp_path / "audit.pub"
    pem.write_text(public_key_pem(signing_key.public_key()), encoding="utf-8")
    code, out, _ = charter_cli(
        "audit", "verify-evidence", str(tmp_path / "embedded.json"), "--public-key", str(pem)
    )
    assert code == 0, out
    assert page.get_by_role("link", name="Download the evidence bundle").is_visible()
    shot(page, "compliance-report", tmp_path)
    assert fetched == []
