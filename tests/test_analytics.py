"""Approval analytics and the investigation of an agent, over real histories built
through the real app on the manual clock, with every figure checked exactly."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from charter.cli.main import app
from charter.clock import ManualClock
from charter.sdk import Client
from charter.service import Services
from charter.storage.keyfile import public_key_pem
from tests.scenes import CONFIG, DEPLOY, POLICY, RESTART, Scene

STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dcQ2xPb9Lm"

runner = CliRunner()

THINKER = """
---
apiVersion: charter/v1
kind: Role
metadata: {name: thinker}
spec:
  permissions:
    - {capability: infer, actions: [risk.assess]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: thinker-standing}
spec: {role: thinker, agents: [ops-bot]}
"""


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    return Scene(api, services)


def stats(scene: Scene, since: str = "30d", as_: str = "user:rita") -> dict[str, Any]:
    answer = scene.api.get(
        "/v1/approvals/stats", params={"since": since}, headers=scene.tokens[as_]
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def opened(scene: Scene, request: dict[str, Any]) -> str:
    answer = scene.decide(request)
    assert answer["decision"] == "approval_required", answer
    approval: str = answer["approval"]["id"]
    return approval


def voted(scene: Scene, approval: str, human: str, vote: str = "approve") -> dict[str, Any]:
    answer = scene.vote(approval, human, vote)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def build_mixed_history(scene: Scene, clock: ManualClock) -> None:
    """Five approvals: approved and used (30 s), denied (60 s), expired, approved and
    never used (5 s, abandoned), and a binding's approval that issued a grant (120 s)."""
    first = opened(scene, DEPLOY)
    clock.advance(timedelta(seconds=10))
    voted(scene, first, "user:oscar")
    clock.advance(timedelta(seconds=20))
    assert voted(scene, first, "user:otto")["status"] == "approved"
    assert scene.decide(DEPLOY)["decision"] == "allow"

    denied = opened(scene, DEPLOY)
    clock.advance(timedelta(seconds=60))
    assert voted(scene, denied, "user:oscar", "deny")["status"] == "denied"

    expired = opened(scene, CONFIG)
    clock.advance(timedelta(hours=1))
    assert scene.services.approvals.expire_due() == [expired]

    unused = opened(scene, CONFIG)
    clock.advance(timedelta(seconds=5))
    assert voted(scene, unused, "user:olga")["status"] == "approved"

    binding = opened(scene, RESTART)
    clock.advance(timedelta(seconds=120))
    assert voted(scene, binding, "user:opal")["grant"].startswith("grt_")
    clock.advance(timedelta(hours=1))  # the unused approval has run out by now


def test_volumes_times_and_shares_are_exact(scene: Scene, clock: ManualClock) -> None:
    build_mixed_history(scene, clock)
    body = stats(scene)
    assert body["overall"] == {
        "total": 5,
        "approved": 3,
        "denied": 1,
        "expired": 1,
        "cancelled": 0,
        "pending": 0,
        "abandoned": 1,
        "deny_rate": 0.25,
        "expired_share": 0.2,
        "abandoned_share": 0.2,
        # Decided in 5, 30, 60 and 120 s: the median between 30 and 60; p90 interpolated
        # seven tenths of the way from 60 to 120.
        "p50_seconds": 45.0,
        "p90_seconds": 102.0,
    }
    rows = {row["key"]: row for row in body["by_policy"]}
    assert [row["key"] for row in body["by_policy"]] == [
        "Guardrail/config-needs-owner",
        "Guardrail/deploys-need-two",
        "Binding/restarter-eligible",
    ]
    config = rows["Guardrail/config-needs-owner"]
    assert (config["total"], config["approved"], config["expired"], config["abandoned"]) == (
        2,
        1,
        1,
        1,
    )
    assert (config["expired_share"], config["p50_seconds"], config["deny_rate"]) == (0.5, 5.0, 0.0)
    deploys = rows["Guardrail/deploys-need-two"]
    assert (deploys["deny_rate"], deploys["p50_seconds"], deploys["p90_seconds"]) == (
        0.5,
        45.0,
        57.0,
    )
    assert rows["Binding/restarter-eligible"]["abandoned"] == 0  # its grant used it
    assert [(row["key"], row["total"]) for row in body["by_agent"]] == [("ops-bot", 5)]
    approvers = {row["human"]: row for row in body["by_approver"]}
    assert approvers["user:oscar"] == {
        "human": "user:oscar",
        "votes": 2,
        "approvals": 1,
        "denials": 1,
        "approve_rate": 0.5,
        "fast_share": 0.5,  # 10 s is fast, 60 s is not
        "p50_seconds_to_vote": 35.0,
        "rubber_stamp": False,
    }
    assert approvers["user:otto"]["p50_seconds_to_vote"] == 30.0
    assert body["rubber_stamps"] == []
    assert body["suggestions"] == []


def test_a_rubber_stamp_and_both_tuning_suggestions(scene: Scene, clock: ManualClock) -> None:
    for n in range(20):
        request = {**CONFIG, "input": {"n": n}}
        approval = opened(scene, request)
        clock.advance(timedelta(seconds=3))
        voted(scene, approval, "user:olga")
        assert scene.decide(request)["decision"] == "allow"
    for _ in range(4):
        opened(scene, DEPLOY)
        clock.advance(timedelta(minutes=15))
        assert len(scene.services.approvals.expire_due()) == 1
    body = stats(scene)
    olga = body["by_approver"][0]
    assert olga == {
        "human": "user:olga",
        "votes": 20,
        "approvals": 20,
        "denials": 0,
        "approve_rate": 1.0,
        "fast_share": 1.0,
        "p50_seconds_to_vote": 3.0,
        "rubber_stamp": True,
    }
    assert body["rubber_stamps"] == ["user:olga"]
    assert body["overall"]["abandoned"] == 0  # every approval was used
    assert [(s["kind"], s["policy"]) for s in body["suggestions"]] == [
        ("automatic_allow", "Guardrail/config-needs-owner"),
        ("expires_often", "Guardrail/deploys-need-two"),
    ]
    assert "4 of 4 approvals expired" in body["suggestions"][1]["message"]


def test_one_approval_fewer_is_no_suggestion(scene: Scene, clock: ManualClock) -> None:
    for n in range(19):
        request = {**CONFIG, "input": {"n": n}}
        voted(scene, opened(scene, request), "user:olga")
    body = stats(scene)
    assert body["overall"]["approved"] == 19
    assert body["suggestions"] == []
    assert body["by_approver"][0]["rubber_stamp"] is True  # 0 s each, 19 votes


def test_the_window_counts_approvals_by_when_they_opened(scene: Scene, clock: ManualClock) -> None:
    old = opened(scene, DEPLOY)
    clock.advance(timedelta(minutes=10))
    cut = clock().isoformat()
    voted(scene, old, "user:oscar", "deny")  # closes inside the window, opened before
    opened(scene, CONFIG)
    assert stats(scene, "5m")["overall"]["total"] == 1
    assert stats(scene, cut)["overall"]["pending"] == 1
    assert stats(scene, "1h")["overall"]["total"] == 2
    assert stats(scene, "1h")["overall"]["denied"] == 1


def test_who_may_read_analytics_and_bad_windows(scene: Scene) -> None:
    for who in ("user:olga", "user:oscar", "ops-bot"):
        answer = scene.api.get("/v1/approvals/stats", headers=scene.tokens[who])
        assert answer.status_code == 403, who
        assert answer.json()["error"]["code"] == "forbidden"
    # Past year 1 or 9999 once in UTC, too: an offset takes them there.
    far = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T05:00+05:01")
    for bad in ("yesterday", "0d", "2026-12-01T00:00:00", "99999d", *far):
        for path in ("/v1/approvals/stats", "/v1/agents/ops-bot/investigation"):
            answer = scene.api.get(path, params={"since": bad}, headers=scene.tokens["user:rita"])
            assert answer.status_code == 422, (path, bad)
            assert answer.json()["error"]["code"] == "invalid_duration"


def investigation(
    scene: Scene, as_: str = "user:rita", agent: str = "ops-bot", **params: str
) -> Any:
    return scene.api.get(
        f"/v1/agents/{agent}/investigation",
        params={"since": "1d", **params},
        headers=scene.tokens[as_],
    )


def test_an_investigation_shows_authority_secrets_citations_and_blast_radius(
    scene: Scene, clock: ManualClock
) -> None:
    scene.apply(POLICY + THINKER)
    deploy = opened(scene, DEPLOY)
    voted(scene, deploy, "user:oscar")
    voted(scene, deploy, "user:otto")
    deployed = scene.decide(DEPLOY)
    restart = opened(scene, RESTART)
    grant = voted(scene, restart, "user:opal")["grant"]
    restarted = scene.decide({**RESTART, "resource": "prod/db"})
    inferred = scene.decide({"capability": "infer", "action": "risk.assess", "resource": "r/1"})
    assert inferred["decision"] == "allow"
    draft = {
        "capability": "do",
        "action": "review.draft",
        "resource": "drafts/1",
        "context": {"derived_from": inferred["decision_id"]},
        "input": {"note": f"key {STRIPE}"},
    }
    drafted = scene.decide(draft)
    assert drafted["decision"] == "allow"
    again = scene.decide(draft)
    leak = {"value": STRIPE, "note": "seen in a chat"}
    reported = scene.api.post("/v1/leaks", json=leak, headers=scene.tokens["user:rita"])
    assert reported.status_code == 201, reported.text
    refused = scene.decide({**draft, "resource": "drafts/2"})
    assert (refused["decision"], refused["code"]) == ("deny", "leaked_secret")

    answer = investigation(scene)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["action"], r["resource"], r["count"]) for r in body["blast_radius"]] == [
        ("deploy.run", "prod/web", 1),
        ("review.draft", "drafts/1", 2),
        ("service.restart", "prod/db", 1),
    ]
    radius = {row["action"]: row for row in body["blast_radius"]}
    assert radius["deploy.run"]["approvals"] == [deploy]
    assert radius["deploy.run"]["permissions"] == ["Role/deployer permissions[0]"]
    assert radius["deploy.run"]["decision_ids"] == [deployed["decision_id"]]
    [used] = [e for e in body["timeline"] if e.get("decision_id") == deployed["decision_id"]]
    assert used["approved_by"] == ["user:oscar", "user:otto"]
    assert used["approvals"] == [deploy]
    assert radius["service.restart"]["grants"] == [grant]
    assert radius["service.restart"]["decision_ids"] == [restarted["decision_id"]]
    assert radius["review.draft"]["permissions"] == ["Role/deployer permissions[1]"]
    approvals = {a["id"]: a for a in body["approvals"]}
    assert approvals[deploy]["votes"] == [
        {"human": "user:oscar", "vote": "approve"},
        {"human": "user:otto", "vote": "approve"},
    ]
    assert approvals[deploy]["status"] == "approved"
    assert approvals[restart]["policy"] == "Binding/restarter-eligible"
    [secret] = body["secrets"]
    assert secret["fingerprint"] == reported.json()["fingerprint"]
    assert secret["leaked"] is True  # the last request carried it once it was reported
    assert STRIPE not in answer.text
    assert len(secret["seqs"]) == 3
    assert body["inferences"] == [
        {
            "decision_id": inferred["decision_id"],
            "action": "risk.assess",
            "resource": "r/1",
            "decision": "allow",
            "seq": body["inferences"][0]["seq"],
            # Cited by every request that named it, the refused one too.
            "cited_by": [drafted["decision_id"], again["decision_id"], refused["decision_id"]],
        }
    ]
    decisions = [e for e in body["timeline"] if e["type"] == "decision"]
    assert [e["decision"] for e in decisions] == [
        "approval_required",
        "allow",
        "approval_required",
        "allow",
        "allow",
        "allow",
        "allow",
        "deny",
    ]
    types = [e["type"] for e in body["timeline"]]
    assert types.count("grant.issued") == 1
    assert types.count("approval.voted") == 3
    # Every seq the export cites is a record of this agent, and all of them are cited.
    records = scene.api.get(
        "/v1/audit", params={"agent": "ops-bot", "limit": 1000}, headers=scene.tokens["user:rita"]
    ).json()["records"]
    assert body["audit_seqs"] == [r["seq"] for r in records]
    assert body["truncated"] is False


def test_the_markdown_export_and_the_window(scene: Scene, clock: ManualClock) -> None:
    voted(scene, opened(scene, DEPLOY), "user:oscar")
    clock.advance(timedelta(days=2))
    # The sweep expires the approval now, whether the server's own got there first or not.
    scene.services.approvals.expire_due()
    assert [e["type"] for e in investigation(scene).json()["timeline"]] == ["approval.expired"]
    assert [e["type"] for e in investigation(scene, since="3d").json()["timeline"]] == [
        "agent.registered",
        "token.issued",
        "approval.created",
        "decision",
        "approval.voted",
        "approval.expired",
    ]
    text = investigation(scene, since="3d", format="markdown")
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/markdown")
    assert text.text.startswith("# Investigation of agent ops-bot\n")
    row = "| decision | do deploy.run on prod/web | approval_required | agent:ops-bot | - |"
    assert row in text.text
    assert "## Secrets seen (fingerprints)\n\nNone.\n" in text.text
    assert "user:oscar approve" in text.text
    assert "Audit records cited: " in text.text


def test_who_may_investigate(scene: Scene) -> None:
    assert investigation(scene, "user:olga").status_code == 200  # the owner
    refused = investigation(scene, "user:oscar")
    assert refused.status_code == 403
    assert investigation(scene, "ops-bot").status_code == 403
    # Non-readers learn nothing about which agents exist.
    assert investigation(scene, "user:oscar", agent="nobody").status_code == 403
    missing = investigation(scene, agent="nobody")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "agent_not_found"
    bad = investigation(scene, since="soon")
    assert bad.status_code == 422
    assert investigation(scene, format="pdf").status_code == 422


def test_the_cli_and_the_sdk_read_the_same_figures(
    scene: Scene, clock: ManualClock, live_server: str, tmp_path: Path
) -> None:
    build_mixed_history(scene, clock)
    scene.services.approvals.expire_due()  # as the live server's sweeper would: grant.expired
    rita = scene.tokens["user:rita"]["Authorization"].removeprefix("Bearer ")
    with Client(live_server, rita) as charter:
        assert charter.approval_stats(since="30d") == stats(scene)
        assert charter.investigate_agent("ops-bot", since="1d") == investigation(scene).json()
        markdown = charter.investigate_agent_markdown("ops-bot", since="1d")
    assert markdown == investigation(scene, format="markdown").text
    where = ["--server", live_server, "--token", rita]
    shown = runner.invoke(app, ["approvals", "stats", *where])
    assert shown.exit_code == 0, shown.output
    assert "approvals opened since" in shown.output
    assert "time to decide: p50 45s, p90 102s; deny rate 25%; expired 20%" in shown.output
    assert "Guardrail/config-needs-owner" in shown.output
    as_json = runner.invoke(app, ["approvals", "stats", "--json", *where])
    assert json.loads(as_json.output)["overall"]["p90_seconds"] == 102.0
    report = tmp_path / "ops-bot.md"
    written = runner.invoke(
        app, ["agents", "investigate", "ops-bot", "--since", "1d", "-o", str(report), *where]
    )
    assert written.exit_code == 0, written.output
    assert report.read_text(encoding="utf-8") == markdown
    exported = runner.invoke(app, ["agents", "investigate", "ops-bot", "--format", "json", *where])
    assert json.loads(exported.output)["audit_seqs"] == investigation(scene).json()["audit_seqs"]
    refused = runner.invoke(app, ["approvals", "stats", "--since", "soon", *where])
    assert refused.exit_code != 0
    assert "invalid 'since'" in refused.output


def test_an_investigation_exports_the_evidence_of_what_it_cites(
    scene: Scene,
    clock: ManualClock,
    live_server: str,
    tmp_path: Path,
    signing_key: Ed25519PrivateKey,
) -> None:
    build_mixed_history(scene, clock)
    # Before the live server's sweeper does it between the export and the reading below:
    # a grant expired then is one more record the investigation cites.
    scene.services.approvals.expire_due()
    rita = scene.tokens["user:rita"]["Authorization"].removeprefix("Bearer ")
    where = ["--server", live_server, "--token", rita]
    bundle, key = tmp_path / "evidence.json", tmp_path / "audit.pub"
    key.write_text(public_key_pem(signing_key.public_key()), encoding="utf-8")
    written = runner.invoke(
        app, ["agents", "investigate", "ops-bot", "--since", "1d", "--bundle", str(bundle), *where]
    )
    assert written.exit_code == 0, written.output
    cited = investigation(scene).json()["audit_seqs"]
    assert [record["seq"] for record in json.loads(bundle.read_text())["records"]] == cited
    checked = runner.invoke(
        app, ["audit", "verify-evidence", str(bundle), "--public-key", str(key), "--json"]
    )
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["records"] == len(cited)


def test_decision_records_keep_only_decision_ids_as_citations(scene: Scene) -> None:
    scene.apply(POLICY + THINKER)
    inferred = scene.decide({"capability": "infer", "action": "risk.assess", "resource": "r/1"})
    cites = [inferred["decision_id"], "free text an agent chose"]
    draft = {"capability": "do", "action": "review.draft", "resource": "drafts/2"}
    answer = scene.decide({**draft, "context": {"derived_from": cites}})
    scene.decide(draft)
    records = scene.records("decision")
    assert records[-2]["subject"] == answer["decision_id"]
    assert records[-2]["data"]["request"]["derived_from"] == [inferred["decision_id"]]
    assert "derived_from" not in records[-1]["data"]["request"]
