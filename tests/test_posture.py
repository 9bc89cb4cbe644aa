"""Posture findings over real histories: decisions, approvals, tokens, leaks and the
audit log built through the API on a manual clock; each finding appears, maps to its
controls, keeps its id, and disappears once fixed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from charter.posture.controls import CONTROLS, FINDING_CONTROLS
from charter.posture.findings import FindingKind
from charter.service import SYSTEM, Services
from charter.service.agents import AgentChanges
from charter.settings import Settings
from tests.helpers import bearer, people
from tests.scenes import CLOSE, CONFIG, DEPLOY, POLICY, Scene

DRAFT = {"capability": "do", "action": "review.draft", "resource": "reviews/1"}
TESTS = """
---
apiVersion: charter/v1
kind: PolicyTest
metadata: {name: deploys}
spec:
  cases:
    - name: a deploy needs two
      request: {agent: ops-bot, capability: do, action: deploy.run, resource: prod/web}
      expect: {decision: approval_required}
"""
ESCALATOR = """
---
apiVersion: charter/v1
kind: Agent
metadata: {name: iam-bot}
spec: {owner: "user:olga", riskTier: high}
---
apiVersion: charter/v1
kind: Role
metadata: {name: iam-admin}
spec:
  permissions:
    - {capability: infer, actions: [ticket.triage]}
    - {capability: do, actions: [rbac.assign], resources: ["groups/**"]}
"""
STANDING = """
---
apiVersion: charter/v1
kind: Binding
metadata: {name: iam-admin-standing}
spec: {role: iam-admin, agents: [iam-bot]}
"""
ELIGIBLE = """
---
apiVersion: charter/v1
kind: Binding
metadata: {name: iam-admin-standing}
spec: {role: iam-admin, agents: [iam-bot], activation: eligible}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-escalation-from-inference}
spec:
  effect: deny
  match: {capabilities: [do], actions: [rbac.assign]}
  when: request.derived_from_inference
"""
STEP_UP_DRAFTS = """
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: confirm-drafts}
spec:
  effect: require_step_up
  match: {capabilities: [do], actions: [review.draft]}
"""


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    scene = Scene(api, services)
    scene.tokens.update(people(services, [("user:audrey", (), (HumanRole.AUDITOR,))]))
    return scene


def fresh(scene: Scene, who: str) -> dict[str, str]:
    """A new token for ``who``: the clock moves past the scene's tokens' lifetimes."""
    return bearer(scene.services.tokens.issue_for_human(SYSTEM, who).token)


def posture(scene: Scene, who: str = "user:rita", **params: Any) -> dict[str, Any]:
    answer = scene.api.get("/v1/posture", params=params, headers=fresh(scene, who))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def found(scene: Scene, kind: FindingKind, obj: str | None = None) -> list[dict[str, Any]]:
    return [
        f
        for f in posture(scene)["findings"]
        if f["kind"] == kind.value and (obj is None or obj in f["objects"])
    ]


def only(scene: Scene, kind: FindingKind, obj: str | None = None) -> dict[str, Any]:
    hits = found(scene, kind, obj)
    assert len(hits) == 1, hits
    assert hits[0]["controls"] == list(FINDING_CONTROLS[kind.value])
    return hits[0]


def test_every_kind_maps_to_known_controls() -> None:
    ids = {control.id for control in CONTROLS}
    assert len(ids) == len(CONTROLS)  # unique across frameworks: reports look them up by id
    assert set(FINDING_CONTROLS) == {kind.value for kind in FindingKind}
    for kind, controls in FINDING_CONTROLS.items():
        assert controls, kind
        assert set(controls) <= ids, kind
        frameworks = {c.framework for c in CONTROLS if c.id in controls}
        assert "nist-csf" in frameworks, kind


def test_an_orphaned_agent_is_found_until_it_has_an_active_owner(
    scene: Scene, services: Services
) -> None:
    assert not found(scene, FindingKind.ORPHANED_AGENT)
    services.humans.deactivate(SYSTEM, "user:olga", reason="left")
    finding = only(scene, FindingKind.ORPHANED_AGENT, "agent:ops-bot")
    assert finding["severity"] == "high"
    assert finding["evidence"]["owner"] == "user:olga"
    assert {"NHI1", "GV.RR-02"} <= set(finding["controls"])
    services.agents.update(SYSTEM, "ops-bot", AgentChanges(owner="user:oscar"))
    assert not found(scene, FindingKind.ORPHANED_AGENT)


def test_recertification_due_then_overdue_then_recertified(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    assert not found(scene, FindingKind.RECERTIFICATION_DUE)
    clock.advance(timedelta(days=80))  # the default recertify-by is 90 days after
    due = only(scene, FindingKind.RECERTIFICATION_DUE, "agent:ops-bot")
    clock.advance(timedelta(days=11))
    overdue = only(scene, FindingKind.RECERTIFICATION_OVERDUE, "agent:ops-bot")
    assert overdue["severity"] == "high"
    assert due["id"] != overdue["id"]
    assert not found(scene, FindingKind.RECERTIFICATION_DUE)
    services.agents.update(
        SYSTEM, "ops-bot", AgentChanges(recertify_by=clock() + timedelta(days=90))
    )
    assert not found(scene, FindingKind.RECERTIFICATION_OVERDUE)


def test_dormant_agents_and_unused_tokens(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    settings = Settings.from_env({"CHARTER_POSTURE_DORMANT_AFTER": "7d"})
    services.posture.thresholds = settings.posture
    issued = services.tokens.issue_for_agent(SYSTEM, "ops-bot", ttl=timedelta(days=10))
    assert not found(scene, FindingKind.DORMANT_AGENT)
    assert not found(scene, FindingKind.UNUSED_TOKEN)
    clock.advance(timedelta(days=8))
    dormant = only(scene, FindingKind.DORMANT_AGENT, "agent:ops-bot")
    assert dormant["evidence"]["last_seen_at"] is None
    assert "NHI1" in dormant["controls"]
    unused = only(scene, FindingKind.UNUSED_TOKEN, f"token:{issued.credential.id}")
    assert unused["evidence"]["last_used_at"] is None
    scene.tokens["ops-bot"] = bearer(issued.token)
    scene.decide(DRAFT)  # seen again, with that token
    assert not found(scene, FindingKind.DORMANT_AGENT)
    assert not found(scene, FindingKind.UNUSED_TOKEN)


def test_a_long_lived_token_is_found_until_revoked(scene: Scene, services: Services) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "ops-bot", ttl=timedelta(days=30))
    finding = only(scene, FindingKind.LONG_LIVED_TOKEN, f"token:{issued.credential.id}")
    assert finding["evidence"]["lifetime_days"] == 30.0
    assert "NHI7" in finding["controls"]
    first = finding["id"]
    assert only(scene, FindingKind.LONG_LIVED_TOKEN)["id"] == first  # stable across runs
    services.tokens.revoke(SYSTEM, issued.credential.id)
    assert not found(scene, FindingKind.LONG_LIVED_TOKEN)


def test_privileges_standing_wildcard_and_inference(scene: Scene) -> None:
    scene.apply(POLICY + ESCALATOR + STANDING)
    standing = only(scene, FindingKind.STANDING_SENSITIVE_PRIVILEGE, "Binding/iam-admin-standing")
    assert standing["evidence"]["actions"] == ["rbac.assign"]
    assert standing["severity"] == "high"  # iam-bot is a high-risk agent
    wild = only(scene, FindingKind.WILDCARD_ON_HIGH_RISK_AGENT, "agent:iam-bot")
    assert "groups/**" in " ".join(wild["evidence"]["permissions"])
    infer = only(scene, FindingKind.INFERENCE_CAN_CHANGE_PRIVILEGES, "agent:iam-bot")
    assert infer["evidence"]["privilege_actions"] == ["rbac.assign"]
    assert "ASI06" in infer["controls"]
    # ops-bot is low risk and its sensitive-looking actions are not in the defaults.
    assert not found(scene, FindingKind.WILDCARD_ON_HIGH_RISK_AGENT, "agent:ops-bot")
    scene.apply(POLICY + ESCALATOR + ELIGIBLE)
    assert not found(scene, FindingKind.STANDING_SENSITIVE_PRIVILEGE)
    assert not found(scene, FindingKind.INFERENCE_CAN_CHANGE_PRIVILEGES)


def test_on_behalf_of_a_person_without_step_up(scene: Scene) -> None:
    on_behalf = {"context": {"on_behalf_of": "user:olga"}}
    assert scene.decide(DRAFT | on_behalf)["decision"] == "allow"
    assert scene.decide(DRAFT)["decision"] == "allow"  # on its own behalf: not counted
    assert scene.decide(CLOSE | on_behalf)["decision"] == "step_up_required"
    finding = only(scene, FindingKind.ON_BEHALF_WITHOUT_STEP_UP, "agent:ops-bot")
    assert finding["objects"] == ["agent:ops-bot", "action:review.draft"]
    assert finding["evidence"]["decisions"] == 1
    assert finding["evidence"]["on_behalf_of"] == ["user:olga"]
    seqs = [r["seq"] for r in scene.records("decision") if r["data"]["request"]["on_behalf_of"]]
    assert finding["evidence"]["seqs"] == seqs[:1]
    scene.apply(POLICY + STEP_UP_DRAFTS)
    assert not found(scene, FindingKind.ON_BEHALF_WITHOUT_STEP_UP)


def test_a_leak_is_found_until_marked_rotated(scene: Scene) -> None:
    fingerprint = "fp_" + "ab" * 16
    reported = scene.api.post(
        "/v1/leaks",
        json={"fingerprint": fingerprint, "note": "pasted in chat"},
        headers=scene.tokens["user:rita"],
    )
    assert reported.status_code == 201, reported.text
    finding = only(scene, FindingKind.LEAK_NOT_ROTATED, f"leak:{fingerprint}")
    assert finding["severity"] == "high"
    assert "NHI2" in finding["controls"]
    path = f"/v1/leaks/{fingerprint}/rotated"
    refused = scene.api.post(path, json={"note": "x"}, headers=scene.tokens["user:audrey"])
    assert refused.status_code == 403
    unknown = scene.api.post(
        f"/v1/leaks/fp_{'cd' * 16}/rotated", json={"note": "x"}, headers=scene.tokens["user:rita"]
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "leak_not_found"
    bad = scene.api.post(
        "/v1/leaks/not-a-fp/rotated", json={"note": "x"}, headers=scene.tokens["user:rita"]
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_fingerprint"
    marked = scene.api.post(path, json={"note": "INC-7 rotated"}, headers=scene.tokens["user:rita"])
    assert marked.status_code == 201, marked.text
    records = scene.records("secret.leak_rotated")
    assert [r["seq"] for r in records] == [marked.json()["seq"]]
    assert records[0]["subject"] == fingerprint
    assert records[0]["actor"] == "user:rita"
    assert not found(scene, FindingKind.LEAK_NOT_ROTATED)


def test_an_approver_who_rubber_stamps(scene: Scene, clock: ManualClock) -> None:
    for n in range(10):
        asked = scene.decide(CONFIG | {"resource": f"prod/web{n}"})
        assert asked["decision"] == "approval_required", asked
        clock.advance(timedelta(seconds=5))
        assert scene.vote(asked["approval"]["id"], "user:olga").status_code == 200
    finding = only(scene, FindingKind.RUBBER_STAMP_APPROVALS, "user:olga")
    assert finding["evidence"]["votes"] == 10
    assert finding["evidence"]["median_seconds"] == 5.0
    assert "ASI09" in finding["controls"]
    # Ten more, each read for ten minutes: the median is no longer seconds.
    for n in range(10, 21):
        asked = scene.decide(CONFIG | {"resource": f"prod/web{n}"})
        clock.advance(timedelta(minutes=10))
        assert scene.vote(asked["approval"]["id"], "user:olga").status_code == 200
    assert not found(scene, FindingKind.RUBBER_STAMP_APPROVALS)


def test_idle_guardrails_untested_policy_and_stale_checkpoints(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    assert not found(scene, FindingKind.GUARDRAIL_NEVER_MATCHED)  # no decisions yet
    assert scene.decide(DEPLOY)["decision"] == "approval_required"
    idle = {f["objects"][0] for f in found(scene, FindingKind.GUARDRAIL_NEVER_MATCHED)}
    assert idle == {"Guardrail/config-needs-owner", "Guardrail/confirm-closing"}
    untested = only(scene, FindingKind.POLICY_WITHOUT_TESTS)
    stale = only(scene, FindingKind.CHECKPOINT_STALE)
    assert stale["evidence"]["sealed"] == 0
    scene.apply(POLICY + TESTS)
    assert not found(scene, FindingKind.POLICY_WITHOUT_TESTS), untested
    services.audit.checkpoint()
    assert not found(scene, FindingKind.CHECKPOINT_STALE)
    scene.decide(DRAFT)
    assert not found(scene, FindingKind.CHECKPOINT_STALE)  # unsealed, but not for long
    clock.advance(timedelta(days=2))
    assert only(scene, FindingKind.CHECKPOINT_STALE)["id"] == stale["id"]


def test_filters_roles_and_bad_input(scene: Scene) -> None:
    scene.decide(DRAFT | {"context": {"on_behalf_of": "user:olga"}})
    fingerprint = "fp_" + "ef" * 16
    scene.api.post(
        "/v1/leaks",
        json={"fingerprint": fingerprint, "note": "n"},
        headers=scene.tokens["user:rita"],
    )
    everything = posture(scene, "user:audrey")
    assert everything["by_severity"]["high"] >= 1
    assert {c["id"] for c in everything["controls"]} >= {"ASI01", "NHI10", "PR.AA-05"}
    nhi2 = next(c for c in everything["controls"] if c["id"] == "NHI2")
    assert nhi2["findings"] >= 1
    high = posture(scene, severity="high")["findings"]
    assert high
    assert all(f["severity"] == "high" for f in high)
    leaks = posture(scene, kind="leak_not_rotated")["findings"]
    assert [f["objects"] for f in leaks] == [[f"leak:{fingerprint}"]]
    mine = posture(scene, agent="ops-bot")["findings"]
    assert mine
    assert all("agent:ops-bot" in f["objects"] for f in mine)
    for params in ({"severity": "urgent"}, {"kind": "nope"}):
        answer = scene.api.get("/v1/posture", params=params, headers=scene.tokens["user:rita"])
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "invalid_posture_filter"
    for who in ("user:olga", "ops-bot"):
        assert scene.api.get("/v1/posture", headers=scene.tokens[who]).status_code == 403
