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
    assert set(FINDING_CONTROLS) == {kind.value for kind in FindingKind}
    for kind, controls in FINDING_CONTROLS.items():
        assert controls and set(controls) <= ids, kind
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
    assert overdue["severity"] == "high" and due["id"] != overdue["id"]
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
