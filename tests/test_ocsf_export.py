"""OCSF export end to end: a real server writes every record type Charter has (decisions,
approvals, grants, the kill switch, tokens, refusals, the console, webhooks, leaks,
policies, reviews), ``charter audit export --format ocsf`` reads them back through a live
server, and each event validates against the committed OCSF schema, links to its record,
and says what the record says. ``charter audit tail --format ocsf`` resumes from a state
file, as a SIEM shipper does."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.audit.ocsf import CLASS_OF
from charter.clock import ManualClock
from charter.errors import AuthenticationError
from charter.identity.humans import HumanRole
from charter.policy.decision import WithdrawalKind
from charter.reviews.narrow import role_from_document
from charter.reviews.patch import PatchOutcome, patch
from charter.service import SYSTEM, AgentChanges, Services
from charter.service.tokens import FAILURES_PER_SECOND
from tests.helpers import add_human, charter_cli
from tests.ocsf_schemas import problems
from tests.scenes import CLOSE, CONFIG, DEPLOY, POLICY, RESTART, Scene
from tests.test_console import _csrf, _sign_in
from tests.test_reviews import COPILOT, DRAFT, get, item, post, start

# The fixture lives in tests/test_reviews.py; pytest finds it through this import.
from tests.test_reviews import scene as scene

SECRET = "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"
SEPARATED = {"capability": "do", "action": "review.decide", "resource": "reviews/9"}


def token_of(scene: Scene, who: str) -> str:
    return scene.tokens[who]["Authorization"].removeprefix("Bearer ")


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def decisions_and_approvals(scene: Scene, clock: ManualClock) -> None:
    """Decisions of every outcome; approvals voted, approved, denied, expired; a step-up
    on behalf of a human; grants issued, revoked, expired and refused."""
    assert scene.decide(DRAFT)["decision"] == "allow"
    assert scene.decide({**DRAFT, "action": "payroll.run"})["decision"] == "deny"
    deploy = scene.decide(DEPLOY)["approval"]["id"]
    scene.vote(deploy, "user:oscar")
    assert ok(scene.vote(deploy, "user:otto"))["status"] == "approved"
    assert scene.decide(DEPLOY)["decision"] == "allow"  # the approval, used up
    closing = {**CLOSE, "context": {"on_behalf_of": "user:opal"}}
    step_up = scene.decide(closing)
    assert step_up["decision"] == "step_up_required"
    assert ok(scene.vote(step_up["approval"]["id"], "user:opal"))["status"] == "approved"
    assert scene.decide(closing)["decision"] == "allow"
    config = scene.decide(CONFIG)["approval"]["id"]
    assert ok(scene.vote(config, "user:olga", "deny"))["status"] == "denied"
    assert scene.decide(DEPLOY)["decision"] == "approval_required"
    clock.advance(timedelta(minutes=16))
    scene.services.approvals.expire_due()  # or the live server's sweep did
    # A grant revoked by an admin, and one left to expire.
    for ending in ("revoke", "expire"):
        opened = scene.decide(RESTART)["approval"]["id"]
        granted = ok(scene.vote(opened, "user:opal"))["grant"]
        if ending == "revoke":
            path = f"/v1/grants/{granted}/revoke"
            ok(post(scene, path, "user:rita", {"reason": "done restarting"}))
    clock.advance(timedelta(minutes=31))
    scene.services.approvals.expire_due()
    # ops-bot drafts reviews (standing): a grant to decide them breaks separation of duty.
    separated = scene.decide(SEPARATED)["approval"]["id"]
    refused = scene.vote(separated, "user:oscar")
    assert refused.json()["error"]["code"] == "separation_of_duty"


def identities(scene: Scene, clock: ManualClock) -> None:
    """Tokens issued, rotated and revoked; refused calls; the console; humans changed;
    the kill switch pulled and lifted, voiding a pending approval."""
    issued = ok(post(scene, "/v1/humans/user:otto/tokens", "user:rita", {}), 201)
    rotated = ok(
        post(scene, f"/v1/tokens/{issued['credential']['id']}/rotate", "user:rita", {}), 201
    )
    revoked = scene.api.delete(
        f"/v1/tokens/{rotated['credential']['id']}", headers=scene.tokens["user:rita"]
    )
    assert revoked.status_code == 200, revoked.text
    assert (
        scene.api.get("/v1/whoami", headers={"Authorization": "Bearer cht_nope"}).status_code == 401
    )
    assert get(scene, "/v1/agents", "ops-bot").status_code == 403
    browser = scene.api
    assert _sign_in(browser, token_of(scene, "user:olga")).status_code == 303
    signed_out = browser.post(
        "/ui/sign-out", data={"csrf": _csrf(browser, "/ui/inbox")}, follow_redirects=False
    )
    assert signed_out.status_code == 303
    changed = scene.api.patch(
        "/v1/humans/user:opal", json={"display_name": "Opal O."}, headers=scene.tokens["user:rita"]
    )
    assert changed.status_code == 200, changed.text
    pending = scene.decide(DEPLOY)["approval"]["id"]
    ok(post(scene, "/v1/agents/ops-bot/suspend", "user:olga", {"reason": "incident 7"}))
    assert scene.approval(pending)["status"] == "cancelled"
    ok(post(scene, "/v1/agents/ops-bot/reinstate", "user:olga", {"reason": "all clear"}))
    # A flood of bad tokens: past the budget they are counted, then summed up.
    for _ in range(FAILURES_PER_SECOND + 2):
        with suppress(AuthenticationError):
            scene.services.tokens.authenticate("cht_flood", where="GET /v1/whoami")
    clock.advance(timedelta(seconds=1))
    scene.services.tokens.flush_suppressed_failures()


def webhooks_and_leaks(scene: Scene) -> None:
    hook = ok(post(scene, "/v1/webhooks", "user:rita", {"url": "https://hooks.example.com/c"}), 201)
    removed = scene.api.delete(f"/v1/webhooks/{hook['id']}", headers=scene.tokens["user:rita"])
    assert removed.status_code in (200, 204), removed.text
    leak = ok(
        post(scene, "/v1/leaks", "user:rita", {"value": SECRET, "note": "in a deploy log"}), 201
    )
    leaked = scene.decide({**DRAFT, "input": {"log": f"export TOKEN={SECRET}"}})
    assert leaked["code"] == "leaked_secret"
    scanned = ok(post(scene, "/v1/secrets/scan", "ops-bot", {"content": f"x {SECRET}"}))
    assert SECRET not in json.dumps(scanned)
    rotated = f"/v1/leaks/{leak['fingerprint']}/rotated"
    ok(post(scene, rotated, "user:rita", {"note": "rotated at the provider"}), 201)


def reviews(scene: Scene, clock: ManualClock) -> dict[str, str]:
    """A campaign proposed on, escalated, decided, due soon, overdue, handed off, made
    permanent and closed; a recertification item; the owner changed on the way."""
    campaign = start(
        scene, scope={"agents": ["ops-bot"]}, due_at=(clock() + timedelta(days=3)).isoformat()
    )
    deployer = item(campaign, "ops-bot", "Binding/deployer-standing")
    restarter = item(campaign, "ops-bot", "Binding/restarter-eligible")
    proposed = post(
        scene,
        f"/v1/reviews/items/{restarter['id']}/proposals",
        "copilot",
        {"verdict": "revoke", "reason": "never used", "evidence": ["usage"]},
    )
    ok(proposed, 201)
    ok(
        post(
            scene,
            f"/v1/reviews/items/{restarter['id']}/decision",
            "user:olga",
            {"verdict": "revoke", "reason": "not needed", "accept_proposal": proposed.json()["id"]},
        )
    )
    ok(
        post(
            scene,
            f"/v1/reviews/items/{deployer['id']}/decision",
            "user:olga",
            {"verdict": "dont_know", "reason": "ask the admins"},
        )
    )
    # Recertification: the agent nears its date, the sweep adds an item.
    scene.services.agents.update(
        SYSTEM, "copilot", AgentChanges(recertify_by=clock() + timedelta(days=10))
    )
    ok(post(scene, "/v1/reviews/sweep", "user:rita", {}))
    # The owner changes, then the former owner leaves: their items go to the new one.
    moved = scene.api.patch(
        "/v1/agents/ops-bot", json={"owner": "user:oscar"}, headers=scene.tokens["user:rita"]
    )
    assert moved.status_code == 200, moved.text
    ok(post(scene, "/v1/humans/user:olga/deactivate", "user:rita", {"reason": "left"}))
    for days in (2, 2):
        clock.advance(timedelta(days=days))
        for agent in ("ops-bot", "copilot"):
            token = scene.services.tokens.issue_for_agent(SYSTEM, agent).token
            scene.tokens[agent] = {"Authorization": f"Bearer {token}"}
        ok(post(scene, "/v1/reviews/sweep", "user:rita", {}))
    # The revoke made permanent in the policy, then the campaign closed.
    outcomes = ok(get(scene, "/v1/reviews/outcomes", "user:rita"))["items"]
    wanted = [
        PatchOutcome(
            agent=o["agent"],
            binding=o["source"].removeprefix("Binding/"),
            kind=WithdrawalKind(o["verdict"]),
            campaign=o["campaign"],
            item=o["id"],
            role=role_from_document(o["narrower"]) if o["verdict"] == "reduce" else None,
        )
        for o in outcomes
    ]
    # The policy names ops-bot's owner as it now is.
    files = {"policy.yaml": POLICY.replace('"user:olga"', '"user:oscar"') + COPILOT}
    patched = patch(files, wanted).apply(files)
    ok(post(scene, "/v1/policies", "user:pat", {"files": patched}), 201)
    ok(post(scene, f"/v1/reviews/campaigns/{campaign['id']}/close", "user:rita", {"reason": "q4"}))
    return patched


def endings(scene: Scene, policy: dict[str, str]) -> None:
    """A policy changed and rolled back, an agent retired."""
    tidied = {name: text + "\n# tidied\n" for name, text in policy.items()}
    ok(post(scene, "/v1/policies", "user:pat", {"files": tidied}), 201)
    newest_first = ok(get(scene, "/v1/policies/revisions", "user:pat"))
    ok(post(scene, f"/v1/policies/revisions/{newest_first[1]['id']}/activate", "user:pat", {}))
    ok(post(scene, "/v1/agents/copilot/retire", "user:rita", {"reason": "replaced"}))
    # The signing key handed over to a new one (offline: `charter audit rotate-key`).
    scene.services.audit.rotate_key(SYSTEM, Ed25519PrivateKey.generate())


def test_every_record_type_exports_as_a_valid_ocsf_event(
    scene: Scene, clock: ManualClock, live_server: str, tmp_path: Path
) -> None:
    decisions_and_approvals(scene, clock)
    identities(scene, clock)
    webhooks_and_leaks(scene)
    endings(scene, reviews(scene, clock))

    remote = ["--server", live_server, "--token", token_of(scene, "user:rita")]
    code, plain, err = charter_cli("audit", "export", *remote)
    assert code == 0, err
    records = [json.loads(line) for line in plain.splitlines()]
    target = tmp_path / "audit.ocsf.jsonl"
    code, _, err = charter_cli("audit", "export", "--format", "ocsf", "-o", str(target), *remote)
    assert code == 0, err
    exported = target.read_text(encoding="utf-8")
    events = [json.loads(line) for line in exported.splitlines()]

    # One event per record, in order, each valid for its class and linked to its record.
    assert len(events) == len(records)
    for record, event in zip(records, events, strict=True):
        assert problems(event) == [], (record["type"], problems(event))
        assert event["metadata"]["sequence"] == record["seq"]
        assert event["metadata"]["uid"] == record["leaf_hash"]
        leaf = hashlib.sha256(b"\x00" + event["raw_data"].encode("utf-8")).hexdigest()
        assert leaf == record["leaf_hash"]
        assert event["metadata"]["event_code"] == record["type"]
        assert event["class_uid"] == CLASS_OF[record["type"]]
    # Every record type Charter writes was written, and exported.
    assert {record["type"] for record in records} == set(CLASS_OF)
    # The leaked secret was masked before it was recorded, and stays out of the export.
    assert SECRET not in exported

    # The server answers the same events, page by page, with format=ocsf.
    served: list[dict[str, Any]] = []
    cursor = None
    with httpx.Client(base_url=live_server, headers=scene.tokens["user:rita"]) as http:
        while True:
            params: dict[str, str | int] = {"format": "ocsf", "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = ok(http.get("/v1/audit", params=params))
            served.extend(page["events"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        refused = http.get("/v1/audit", params={"format": "xml"})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "invalid_request"
    assert served == events

    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["metadata"]["event_code"], []).append(event)
    check_decisions(by_type["decision"])
    check_identity(by_type)
    check_entities(by_type)


def check_decisions(decisions: list[dict[str, Any]]) -> None:
    outcomes = Counter(event["actor"]["authorizations"][0]["decision"] for event in decisions)
    assert set(outcomes) == {"allow", "deny", "approval_required", "step_up_required"}
    for event in decisions:
        assert event["ai_agent"]["uid"] == json.loads(event["raw_data"])["agent"]
        assert event["actor"]["authorizations"][0]["policy"]["version"].startswith("rev_")
    on_behalf = [event for event in decisions if "delegation" in event]
    assert [event["disposition"] for event in on_behalf] == ["Challenge", "Allowed"]
    for event in on_behalf:
        assert event["actor"]["user"]["uid"] == "user:opal"
        assert event["delegation"]["uid"] == "user:opal/agent:ops-bot"
        assert event["api"]["operation"] == "account.close"
    leaked = [e for e in decisions if e.get("status_detail") == "leaked_secret"]
    [finding] = leaked[0]["api"]["request"]["data"]["secrets"]
    assert finding["fingerprint"].startswith("fp_")
    assert leaked[0]["severity_id"] == 4
    allowed = next(e for e in decisions if e["disposition"] == "Allowed")
    assert allowed["actor"]["authorizations"][0]["policy"]["name"].startswith("Role/")


def check_identity(by_type: dict[str, list[dict[str, Any]]]) -> None:
    [suspended] = by_type["agent.suspended"]
    assert (suspended["class_uid"], suspended["activity_name"]) == (3001, "Disable")
    assert suspended["user"]["uid"] == "agent:ops-bot"
    assert suspended["actor"]["user"]["uid"] == "user:olga"
    assert "1 approval(s) cancelled" in suspended["message"]
    [reinstated] = by_type["agent.reinstated"]
    assert reinstated["activity_name"] == "Enable"
    [retired] = by_type["agent.retired"]
    assert (retired["activity_name"], retired["user"]["uid"]) == ("Delete", "agent:copilot")
    issued = [e for e in by_type["grant.issued"]]
    assert all(e["class_uid"] == 3003 and e["privileges"] == ["restarter"] for e in issued)
    assert [e["session"]["uid"] for e in by_type["grant.revoked"]] == [issued[0]["session"]["uid"]]
    [refused] = by_type["grant.refused"]
    assert (refused["status_id"], refused["status_detail"]) == (2, "separation_of_duty")
    [signed_in] = by_type["console.signed_in"]
    assert (signed_in["class_uid"], signed_in["activity_name"]) == (3002, "Logon")
    assert signed_in["user"]["uid"] == "user:olga"
    assert signed_in["session"]["uid"].startswith("ses_")
    [rotated] = by_type["token.rotated"]
    assert rotated["user"]["uid"] == "user:otto"
    assert rotated["user"]["credential_uid"].startswith("tok_")
    [counted] = by_type["auth.failures_suppressed"]
    assert counted["count"] == 3  # the flood, and the bad token before it in that second
    failed = by_type["auth.failed"]
    assert all(e["status_id"] == 2 and e["activity_name"] == "Logon" for e in failed)
    forbidden = by_type["auth.forbidden"]
    assert any(e["api"]["operation"] == "GET /v1/agents" for e in forbidden)


def check_entities(by_type: dict[str, list[dict[str, Any]]]) -> None:
    approved = by_type["approval.approved"]
    assert all(e["class_uid"] == 3004 and e["entity"]["type"] == "approval" for e in approved)
    assert {e["actor"]["authorizations"][0]["decision"] for e in approved} == {"approve"}
    step_up = [e for e in by_type["approval.created"] if "delegation" in e]
    assert [e["entity"]["name"] for e in step_up] == ["do account.close accounts/7"]
    [rolled_back] = by_type["policy.rolled_back"]
    assert (rolled_back["activity_name"], rolled_back["entity"]["type"]) == ("Activate", "Policy")
    [leak] = by_type["secret.leak_reported"]
    assert leak["entity"]["uid"].startswith("fp_")
    assert leak["severity_id"] == 4
    [rotated] = by_type["secret.leak_rotated"]
    assert (rotated["activity_id"], rotated["severity_id"]) == (3, 1)
    assert rotated["entity"]["uid"] == leak["entity"]["uid"]
    [redacted] = by_type["secret.leak_redacted"]
    assert (redacted["class_uid"], redacted["action"]) == (6003, "Modified")
    reassigned = by_type["review.item_reassigned"]
    assert {e["entity"]["data"]["to"] for e in reassigned} == {"user:oscar"}
    assert all(e["entity"]["type"] == "review_item" for e in reassigned)


def test_tail_streams_ocsf_and_resumes_from_its_state_file(
    services: Services, live_server: str, tmp_path: Path
) -> None:
    add_human(services, "user:ada", HumanRole.AUDITOR)
    token = services.tokens.issue_for_human(SYSTEM, "user:ada").token
    remote = ["--server", live_server, "--token", token]
    state = tmp_path / "ocsf.seq"
    code, out, err = charter_cli(
        "audit", "tail", "--format", "ocsf", "--after", "-1", "--state", str(state), *remote
    )
    assert code == 0, err
    first = [json.loads(line) for line in out.splitlines()]
    assert [e["metadata"]["sequence"] for e in first] == [0, 1]
    assert [e["metadata"]["event_code"] for e in first] == ["human.added", "token.issued"]
    assert state.read_text() == "1\n"
    # Nothing new: nothing printed. Then only what came after the state's number.
    code, out, _ = charter_cli("audit", "tail", "--format", "ocsf", "--state", str(state), *remote)
    assert (code, out) == (0, "")
    add_human(services, "user:bo")
    code, out, _ = charter_cli("audit", "tail", "--format", "ocsf", "--state", str(state), *remote)
    [event] = [json.loads(line) for line in out.splitlines()]
    assert (event["metadata"]["sequence"], event["class_uid"], event["user"]["uid"]) == (
        2,
        3001,
        "user:bo",
    )
    assert problems(event) == []
    assert state.read_text() == "2\n"
    # A state file that holds no sequence number is a usage error, not a traceback.
    state.write_text("yesterday\n")
    code, _, err = charter_cli("audit", "tail", "--format", "ocsf", "--state", str(state), *remote)
    assert code == 2
    assert "does not hold a sequence number" in err
