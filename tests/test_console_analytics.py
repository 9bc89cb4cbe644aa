"""The console's approval analytics and investigation pages through the real ASGI app,
on both backends: the figures and charts as the API computes them, the exports, and
who gets in. (The same in a real browser: tests/browser/test_analytics.py.)"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from charter.server.console.pages.analytics import CHART_WIDTH, LABEL_WIDTH, bars
from charter.service import Services
from tests.helpers import people
from tests.scenes import Scene
from tests.test_analytics import build_mixed_history
from tests.test_console import _browser, _sign_in, _token


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    scene = Scene(api, services)
    scene.tokens.update(people(services, [("user:ada", (), (HumanRole.AUDITOR,))]))
    return scene


def _as(scene: Scene, who: str) -> TestClient:
    assert _sign_in(scene.api, _token(scene, who)).status_code == 303
    return scene.api


def test_bars_are_scaled_to_the_longest_and_skip_empty_parts() -> None:
    drawn = bars([("a", {"x": 2, "y": 0, "z": 2}), ("b", {"x": 1, "y": 1, "z": 0})])
    room = CHART_WIDTH - LABEL_WIDTH - 60
    assert [(s.name, s.x, s.width) for s in drawn[0].segments] == [
        ("x", LABEL_WIDTH, room / 2),
        ("z", LABEL_WIDTH + room / 2, room / 2),
    ]
    assert [(s.name, s.width) for s in drawn[1].segments] == [("x", room / 4), ("y", room / 4)]
    assert (drawn[0].text, drawn[1].y) == ("x 2, z 2", 28)
    assert bars([("c", {"x": 0})])[0].text == "none"


def test_the_analytics_page_shows_the_apis_figures_and_charts(
    scene: Scene, clock: ManualClock
) -> None:
    build_mixed_history(scene, clock)
    page = _as(scene, "user:ada").get("/ui/approvals/stats", params={"since": "30d"})
    assert page.status_code == 200, page.text
    text = page.text
    assert '<a href="/ui/approvals/stats" aria-current="page">Approval stats</a>' in text
    assert "<dt>Time to decide, p50</dt><dd>45 s</dd>" in text
    assert "<dt>Time to decide, p90</dt><dd>102 s</dd>" in text
    assert "<dt>Deny rate</dt><dd>25%</dd>" in text
    assert "<dt>Abandoned</dt><dd>20%</dd>" in text
    # Three charts, each an accessible inline SVG describing its bars in words.
    assert text.count('<svg role="img"') == 3
    assert "Guardrail/deploys-need-two: approved 1, denied 1." in text
    assert "Guardrail/config-needs-owner: p50 5 s." in text
    assert re.search(r'<rect class="seg seg-expired" x="[\d.]+" y="4"', text)
    assert "<script" not in text.split("</head>")[1]  # charts need no script
    assert "Nothing to tune in this window." in text


def test_an_empty_window_and_a_bad_one(scene: Scene) -> None:
    client = _as(scene, "user:rita")
    assert "No approval was opened in this window." in client.get("/ui/approvals/stats").text
    bad = client.get("/ui/approvals/stats", params={"since": "soon"})
    assert bad.status_code == 422
    assert "invalid &#39;since&#39;" in bad.text or "invalid 'since'" in bad.text


def test_only_admins_and_auditors_see_analytics(scene: Scene) -> None:
    client = _as(scene, "user:oscar")
    assert "Approval stats" not in client.get("/ui/inbox").text
    assert client.get("/ui/approvals/stats").status_code == 403


def test_the_investigation_page_and_its_exports(scene: Scene, clock: ManualClock) -> None:
    build_mixed_history(scene, clock)
    # Close what has run out now: the servers' sweep would, at a moment of its own,
    # between the page and the API's answer it is compared with.
    scene.services.approvals.expire_due()
    client = _as(scene, "user:olga")  # the agent's owner
    agent = client.get("/ui/agents/ops-bot")
    assert 'href="/ui/agents/ops-bot/investigation"' in agent.text
    page = client.get("/ui/agents/ops-bot/investigation", params={"since": "1d"})
    assert page.status_code == 200, page.text
    api = scene.api.get(
        "/v1/agents/ops-bot/investigation",
        params={"since": "1d"},
        headers=scene.tokens["user:rita"],
    ).json()
    seqs = [int(s) for s in re.findall(r'<tr data-seq="(\d+)">', page.text)]
    assert seqs == api["audit_seqs"]
    [row] = api["blast_radius"]
    cells = f"<td><code>{row['resource']}</code></td><td>{row['count']}</td>"
    assert f'<th scope="row"><code>{row["action"]}</code></th>{cells}' in page.text
    assert "approved by user:oscar and user:otto" in page.text
    assert "No secret found in this window." in page.text
    export = client.get(
        "/ui/agents/ops-bot/investigation/export", params={"since": "1d", "format": "json"}
    )
    assert export.headers["content-disposition"] == (
        'attachment; filename="investigation-ops-bot.json"'
    )
    assert json.loads(export.text)["audit_seqs"] == api["audit_seqs"]
    markdown = client.get(
        "/ui/agents/ops-bot/investigation/export", params={"since": "1d", "format": "markdown"}
    )
    assert markdown.text.startswith("# Investigation of agent ops-bot\n")
    other = _browser(scene.services)
    assert _sign_in(other, _token(scene, "user:oscar")).status_code == 303
    assert other.get("/ui/agents/ops-bot/investigation").status_code == 403
