"""Compliance reports through the real app over the real store, on both backends: each
framework's controls and figures, findings holding controls back, and the report's
evidence bundle verified offline with the public key only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.compliance.figures import CONTROL_FIGURES
from charter.posture import FindingKind
from charter.posture.controls import FRAMEWORKS, controls_of
from charter.service import SYSTEM, Services
from charter.storage.keyfile import public_key_pem
from tests.compliance_scene import busy_scene
from tests.helpers import charter_cli
from tests.scenes import Scene


@dataclass(frozen=True)
class PostureFinding:
    """A finding shaped as posture checks will hand them over."""

    id: str
    title: str
    severity: str
    controls: tuple[str, ...]
    evidence: tuple[int, ...]


@pytest.fixture
def scene(api: TestClient, services: Services, clock: ManualClock) -> Scene:
    made = Scene(api, services)
    busy_scene(made, clock)
    return made


@pytest.fixture
def public_pem(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "audit.pub"
    path.write_text(public_key_pem(signing_key.public_key()), encoding="utf-8")
    return path


def _report(scene: Scene, framework: str, form: str = "json", who: str = "user:ada") -> Any:
    answer = scene.api.get(
        "/v1/compliance/report",
        params={"framework": framework, "format": form},
        headers=scene.tokens[who],
    )
    assert answer.status_code == 200, answer.text
    return answer.json() if form == "json" else answer


def _verify(tmp_path: Path, value: Any, key: Path) -> dict[str, Any]:
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    code, out, err = charter_cli(
        "audit", "verify-evidence", str(path), "--public-key", str(key), "--json"
    )
    report: dict[str, Any] = json.loads(out)
    assert code == (0 if report["ok"] else 3), err
    return report


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_each_framework_reports_and_its_evidence_verifies_offline(
    scene: Scene, framework: str, tmp_path: Path, public_pem: Path
) -> None:
    report = _report(scene, framework)
    assert report["framework"]["id"] == framework
    controls = report["controls"]
    assert [c["id"] for c in controls] == [c.id for c in controls_of(framework)]
    assert all(c["status"] in {"met", "partial", "gap"} for c in controls)
    assert all(c["mechanisms"] for c in controls)
    cited = {seq for c in controls for seq in c["evidence"]}
    bundle = report["evidence"]
    assert cited == {r["seq"] for r in bundle["records"]}
    # The bundle, and the whole JSON report, verify with the public key only.
    assert _verify(tmp_path, bundle, public_pem)["ok"]
    assert _verify(tmp_path, report, public_pem)["records"] == len(cited)


def test_figures_speak_to_controls_of_the_one_catalogue(scene: Scene) -> None:
    ids = {c.id for framework in FRAMEWORKS for c in controls_of(framework)}
    assert set(CONTROL_FIGURES) <= ids
    figures = {f["id"] for f in _report(scene, "nist-csf")["figures"]}
    assert {f for wanted in CONTROL_FIGURES.values() for f in wanted} == figures
    shown = {c["id"]: c["figures"] for c in _report(scene, "owasp-agentic")["controls"]}
    assert shown["ASI03"] == ["median_token_lifetime", "agents_past_recertify"]
    assert shown["ASI04"] == []


def test_figures_read_the_log(scene: Scene) -> None:
    figures = {f["id"]: f for f in _report(scene, "nist-csf")["figures"]}
    assert figures["agents_with_owner"]["value"] == "100% (1 of 1)"
    assert figures["denied_by_invariants"]["value"] == "1 of 5"
    assert figures["secrets_caught"]["value"] == "1 of 5"
    assert figures["secrets_caught"]["state"] == "warn"
    # Two approvals answered: after 3 and 40 minutes.
    assert figures["median_approval_wait"]["value"] == "22 min over 2 approval(s)"
    records = {r["seq"]: r for r in scene.records("decision")}
    for seq in figures["denied_by_invariants"]["evidence"]:
        assert records[seq]["agent"] == "ghost-bot"
    charts = _report(scene, "nist-csf")["charts"]
    assert sum(sum(day.values()) for day in charts["decisions_by_day"].values()) == 5
    assert len(charts["decisions_by_day"]) == 2


def test_findings_hold_controls_back_and_are_cited(
    scene: Scene, services: Services, tmp_path: Path, public_pem: Path
) -> None:
    token_seq = scene.records("token.issued")[-1]["seq"]
    services.compliance.findings = lambda: [
        PostureFinding(
            "long-tokens", "Agent tokens live too long", "high", ("owasp-nhi:NHI7",), (token_seq,)
        ),
        PostureFinding("stale", "Stale agent", "low", ("owasp-nhi:NHI1", "nist-csf:PR.AA-01"), ()),
        PostureFinding("weird", "Unknown severity", "bogus", ("owasp-nhi:NHI5",), ()),
    ]
    report = _report(scene, "owasp-nhi")
    status = {c["id"]: c["status"] for c in report["controls"]}
    assert status["NHI7"] == "gap"
    assert status["NHI1"] == "partial"
    assert status["NHI5"] == "gap"  # an unknown severity is read as high
    assert [f["id"] for f in report["findings"]] == ["long-tokens", "stale", "weird"]
    assert report["charts"]["findings_by_severity"]["high"] == 2
    assert token_seq in {r["seq"] for r in report["evidence"]["records"]}
    assert _verify(tmp_path, report, public_pem)["ok"]
    # Only the findings naming one of the framework's controls are kept.
    assert [f["id"] for f in _report(scene, "nist-csf")["findings"]] == ["stale"]


def test_real_posture_findings_hold_controls_back_in_every_framework(
    scene: Scene, services: Services, tmp_path: Path, public_pem: Path
) -> None:
    def status(framework: str) -> dict[str, str]:
        return {c["id"]: c["status"] for c in _report(scene, framework)["controls"]}

    assert status("nist-csf")["PR.AA-04"] == "met"
    assert status("owasp-nhi")["NHI10"] == "met"
    # A thirty-day agent token, an action done on behalf of a person with no step-up,
    # and an agent whose owner has left: three findings posture finds on its own.
    services.tokens.issue_for_agent(SYSTEM, "ops-bot", ttl=timedelta(days=30))
    on_behalf = {"capability": "do", "action": "review.draft", "resource": "reviews/1"}
    on_behalf["context"] = {"on_behalf_of": "user:olga"}  # type: ignore[assignment]
    assert scene.decide(on_behalf)["decision"] == "allow"
    services.humans.deactivate(SYSTEM, "user:olga", reason="left")
    found = {f.kind: f for f in services.posture.findings(SYSTEM)}
    token = found[FindingKind.LONG_LIVED_TOKEN]
    step_up = found[FindingKind.ON_BEHALF_WITHOUT_STEP_UP]
    orphan = found[FindingKind.ORPHANED_AGENT]
    assert (token.severity, step_up.severity, orphan.severity) == ("medium", "medium", "high")
    seqs = step_up.evidence["seqs"]
    assert seqs
    for framework in FRAMEWORKS:
        report = _report(scene, framework)
        controls = {c["id"]: c for c in report["controls"]}
        findings = {f["id"]: f for f in report["findings"]}
        bundled = {r["seq"] for r in report["evidence"]["records"]}
        for finding in (token, step_up, orphan):
            mine = [c.id for c in controls_of(framework) if c.id in finding.controls]
            assert mine, (framework, finding.kind)  # each maps into every framework
            assert {f"{framework}:{c}" for c in mine} <= set(findings[finding.id]["controls"])
            for control in mine:
                assert finding.id in controls[control]["findings"]
                blocked = "gap" if finding is orphan else controls[control]["status"]
                assert controls[control]["status"] == blocked != "met", control
        # The records the finding quotes are cited for its controls and are in the bundle.
        assert findings[step_up.id]["evidence"] == seqs
        for control in (c for c in step_up.controls if c in controls):
            assert set(seqs) <= set(controls[control]["evidence"])
        assert set(seqs) <= bundled
        assert _verify(tmp_path, report, public_pem)["ok"]
    assert status("nist-csf")["PR.AA-04"] == "partial"  # only the medium token finding
    assert status("owasp-nhi")["NHI10"] == "partial"


def test_markdown_and_html_reports(scene: Scene) -> None:
    markdown = _report(scene, "owasp-agentic", "md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "| ASI03 Identity and privilege abuse |" in markdown.text
    assert '"format": "charter-evidence/v1"' in markdown.text
    html = _report(scene, "owasp-agentic", "html")
    assert html.headers["content-type"].startswith("text/html")
    for chart in ("decisions-over-time", "approval-waits", "findings-by-severity"):
        assert f'<figure id="{chart}">' in html.text
    # The scene's real posture findings (an untested policy, idle guardrails...) are charted.
    assert html.text.count("<svg") == 3
    # Self-contained: nothing is fetched.
    assert "http://" not in html.text
    assert "https://" not in html.text
    assert "<script src" not in html.text


def test_who_may_read_and_bad_framework(scene: Scene) -> None:
    answer = scene.api.get(
        "/v1/compliance/report",
        params={"framework": "nist-csf"},
        headers=scene.tokens["user:olga"],
    )
    assert answer.status_code == 403
    answer = scene.api.get(
        "/v1/compliance/report", params={"framework": "iso-27001"}, headers=scene.tokens["user:ada"]
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "unknown_framework"
    assert "owasp-nhi" in answer.json()["error"]["message"]
    listed = scene.api.get("/v1/compliance/frameworks", headers=scene.tokens["user:olga"])
    assert [f["id"] for f in listed.json()] == list(FRAMEWORKS)


def test_cli_writes_report_and_bundle(
    scene: Scene, live_server: str, tmp_path: Path, public_pem: Path
) -> None:
    token = scene.tokens["user:ada"]["Authorization"].removeprefix("Bearer ")
    html, bundle = tmp_path / "report.html", tmp_path / "bundle.json"
    code, _, err = charter_cli(
        "compliance",
        "report",
        "--framework",
        "owasp-nhi",
        "--format",
        "html",
        "-o",
        str(html),
        "--bundle",
        str(bundle),
        "--server",
        live_server,
        "--token",
        token,
    )
    assert code == 0, err
    assert "<svg" in html.read_text(encoding="utf-8")
    code, out, _ = charter_cli(
        "audit", "verify-evidence", str(bundle), "--public-key", str(public_pem)
    )
    assert code == 0, out
    assert out.startswith("evidence OK")
