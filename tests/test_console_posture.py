"""The console's Posture page through the real ASGI app, on both backends: findings with
their evidence and controls, the severity chart, control coverage, the filters, and only
admins and auditors let in. (The same page in a real browser:
tests/browser/test_posture.py.)"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from charter.identity.humans import HumanRole
from charter.service import Services
from tests.helpers import people
from tests.scenes import Scene
from tests.test_console import _browser, _sign_in, _token

FINGERPRINT = "fp_" + "ab" * 16


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    scene = Scene(api, services)
    scene.tokens.update(people(services, [("user:audrey", (), (HumanRole.AUDITOR,))]))
    reported = api.post(
        "/v1/leaks",
        json={"fingerprint": FINGERPRINT, "note": "pasted in chat"},
        headers=scene.tokens["user:rita"],
    )
    assert reported.status_code == 201
    return scene


def _signed_in(scene: Scene, who: str) -> TestClient:
    client = _browser(scene.services)
    assert _sign_in(client, _token(scene, who)).status_code == 303
    return client


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_posture_page_shows_findings_chart_and_coverage(scene: Scene) -> None:
    api = scene.api.get("/v1/posture", headers=scene.tokens["user:rita"]).json()
    audrey = _signed_in(scene, "user:audrey")
    page = audrey.get("/ui/posture")
    assert page.status_code == 200
    assert '<a href="/ui/posture" aria-current="page">Posture</a>' in page.text
    main = _main(page.text)
    for finding in api["findings"]:
        assert f'id="{finding["id"]}"' in main
    assert f"leak:{FINGERPRINT}" in main
    assert "NHI2" in main
    high = api["by_severity"]["high"]
    assert f"{high} high" in re.sub(r"\s+", " ", main.split("</title>")[0])
    assert "OWASP Non-Human Identities Top 10 (2025)" in main
    assert re.search(r"<strong>\d+</strong> of 10 controls have findings", main)

    only_leaks = _main(audrey.get("/ui/posture?kind=leak_not_rotated").text)
    assert f"leak:{FINGERPRINT}" in only_leaks
    assert "policy_without_tests ·" not in only_leaks
    low = _main(audrey.get("/ui/posture?severity=low").text)
    assert "No findings match this filter" in low or "severity-low" in low
    assert audrey.get("/ui/posture?severity=urgent").status_code == 422


def test_only_admins_and_auditors_see_posture(scene: Scene) -> None:
    olga = _signed_in(scene, "user:olga")
    assert 'href="/ui/posture"' not in olga.get("/ui/inbox").text
    assert olga.get("/ui/posture").status_code == 403
    rita = _signed_in(scene, "user:rita")
    assert rita.get("/ui/posture").status_code == 200
