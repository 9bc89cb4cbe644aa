"""Approvals, step-up, JIT grants and the kill switch through the real app, on both
backends: every rule the server enforces whatever the policy says."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.policy.model import Capability
from charter.service import Services
from charter.service.decisions import Asked
from tests.scenes import CLOSE, CONFIG, DEPLOY, POLICY, RESTART, Scene
from tests.waiting import barrier, join_all, spawn


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    return Scene(api, services)


def test_an_approval_is_used_by_exactly_one_request(scene: Scene) -> None:
    first = scene.decide(CONFIG)
    assert first["decision"] == "approval_required"
    approval = first["approval"]
    assert approval["approvers"] == ["owner"]
    assert approval["kind"] == "approval"
    assert scene.vote(approval["id"], "user:olga").json()["status"] == "approved"
    allowed = scene.decide(CONFIG)
    assert allowed["decision"] == "allow"
    assert {"policy": f"Approval/{approval['id']}", "rule": "approved", "effect": "allow"} in (
        allowed["reasons"]
    )
    assert scene.approval(approval["id"])["used_by"] == allowed["decision_id"]
    again = scene.decide(CONFIG)
    assert again["decision"] == "approval_required"
    assert again["approval"]["id"] != approval["id"]
    # Another request (other input) never rides on an approval.
    assert scene.vote(again["approval"]["id"], "user:olga").status_code == 200
    assert scene.decide({**CONFIG, "input": {"key": "other"}})["decision"] == "approval_required"


def test_two_concurrent_identical_requests_cannot_both_use_one_approval(
    scene: Scene, services: Services
) -> None:
    approval = scene.decide(CONFIG)["approval"]["id"]
    assert scene.vote(approval, "user:olga").status_code == 200
    agent = services.tokens.authenticate(
        scene.tokens["ops-bot"]["Authorization"].removeprefix("Bearer "), where="test"
    )
    asked = Asked(capability=Capability.DO, action="config.change", resource="prod/web")
    start = barrier(4)
    effects: list[str] = []

    def one() -> None:
        start.wait()
        effects.append(services.decisions.decide(agent, [asked])[0].decision.effect.value)

    join_all([spawn(one) for _ in range(4)])
    assert sorted(effects) == [
        "allow",
        "approval_required",
        "approval_required",
        "approval_required",
    ]
    # The three that lost share one new pending approval.
    pending = scene.api.get(
        "/v1/approvals", params={"status": "pending"}, headers=scene.tokens["user:rita"]
    ).json()["approvals"]
    assert len(pending) == 1


def test_agents_and_enforcers_never_approve_and_are_audited(scene: Scene) -> None:
    approval = scene.decide(DEPLOY)["approval"]["id"]
    by_agent = scene.vote(approval, "ops-bot")
    assert by_agent.status_code == 403
    assert by_agent.json()["error"]["code"] == "forbidden"
    by_gateway = scene.vote(approval, "user:gate")  # in group ops, but an enforcer
    assert by_gateway.status_code == 403
    refusals = scene.records("auth.forbidden")
    assert [r["data"]["where"] for r in refusals[-2:]] == [
        f"POST /v1/approvals/{approval}/approve"
    ] * 2
    assert scene.approval(approval)["votes"] == []


def test_quorum_needs_distinct_humans_and_the_first_deny_decides(scene: Scene) -> None:
    approval = scene.decide(DEPLOY)["approval"]["id"]
    assert scene.vote(approval, "user:oscar").json()["status"] == "pending"
    twice = scene.vote(approval, "user:oscar")
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "already_voted"
    outsider = scene.vote(approval, "user:rita")  # an admin, not in group ops
    assert outsider.json()["error"]["code"] == "not_an_approver"
    assert scene.decide(DEPLOY)["decision"] == "approval_required"  # still pending
    assert scene.vote(approval, "user:otto").json()["status"] == "approved"
    assert scene.decide(DEPLOY)["decision"] == "allow"

    denied = scene.decide(DEPLOY)["approval"]["id"]
    assert scene.vote(denied, "user:oscar").status_code == 200
    closed = scene.vote(denied, "user:otto", "deny").json()
    assert closed["status"] == "denied"
    assert [v["vote"] for v in closed["votes"]] == [
        "approve",
        "deny",
    ]
    late = scene.vote(denied, "user:opal")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "approval_closed"


def test_the_human_a_request_is_for_is_no_independent_approver(scene: Scene) -> None:
    request = {**CONFIG, "context": {"on_behalf_of": "user:olga"}}
    approval = scene.decide(request)["approval"]["id"]
    self_approval = scene.vote(approval, "user:olga")  # the owner, but also the requester
    assert self_approval.status_code == 403
    assert self_approval.json()["error"]["code"] == "four_eyes"
    assert scene.records("auth.forbidden")[-1]["data"]["code"] == "four_eyes"
    assert scene.approval(approval)["status"] == "pending"


def test_approvals_expire_by_time(scene: Scene, services: Services, clock: ManualClock) -> None:
    approval = scene.decide(DEPLOY)["approval"]
    clock.advance(timedelta(minutes=15))
    assert services.approvals.expire_due() == [approval["id"]]
    assert scene.approval(approval["id"])["status"] == "expired"
    late = scene.vote(approval["id"], "user:oscar")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "approval_expired"
    waited = scene.api.get(
        f"/v1/approvals/{approval['id']}/wait",
        params={"timeout": 0},
        headers=scene.tokens["ops-bot"],
    )
    assert waited.json()["status"] == "expired"
    assert [r["subject"] for r in scene.records("approval.expired")] == [approval["id"]]
    fresh = scene.decide(DEPLOY)["approval"]
    assert fresh["id"] != approval["id"]
    assert fresh["status"] == "pending"


def test_a_due_approval_is_closed_when_read_even_before_the_sweeper(
    scene: Scene, clock: ManualClock
) -> None:
    approval = scene.decide(DEPLOY)["approval"]["id"]
    clock.advance(timedelta(minutes=16))
    assert scene.approval(approval)["status"] == "expired"


def test_an_eligible_binding_yields_a_grant_for_its_maximum_duration(
    scene: Scene, clock: ManualClock
) -> None:
    opened = scene.decide(RESTART)
    assert opened["decision"] == "approval_required"
    approval = opened["approval"]
    assert approval["policy"] == "Binding/restarter-eligible"
    approved = scene.vote(approval["id"], "user:opal").json()
    assert approved["status"] == "approved"
    assert approved["grant"].startswith("grt_")
    grants = scene.api.get(
        "/v1/grants", params={"agent": "ops-bot"}, headers=scene.tokens["user:olga"]
    ).json()["grants"]
    assert [(g["id"], g["role"], g["status"]) for g in grants] == [
        (approved["grant"], "restarter", "active")
    ]
    # The grant, not the approval, lets requests through: any restart on prod, repeatedly.
    assert scene.decide(RESTART)["decision"] == "allow"
    assert scene.decide({**RESTART, "resource": "prod/db"})["decision"] == "allow"
    clock.advance(timedelta(minutes=30))
    assert scene.decide(RESTART)["decision"] == "approval_required"
    assert [r["subject"] for r in scene.records("grant.issued")] == [approved["grant"]]
    # Expiry is an event too: the sweeper records it, once.
    assert scene.records("grant.expired") == []
    scene.services.approvals.expire_due()
    scene.services.approvals.expire_due()
    expired = scene.records("grant.expired")
    assert [(r["subject"], r["actor"]) for r in expired] == [(approved["grant"], "system")]
    assert expired[0]["data"]["grant"]["status"] == "expired"


def test_a_grant_asked_for_a_shorter_time_lasts_that_long(scene: Scene) -> None:
    request = {**RESTART, "context": {"duration": "10m"}}
    approval = scene.decide(request)["approval"]["id"]
    grant = scene.vote(approval, "user:opal").json()["grant"]
    body = scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"][0]
    assert body["id"] == grant
    issued, expires = body["issued_at"], body["expires_at"]
    span = datetime.fromisoformat(expires) - datetime.fromisoformat(issued)
    assert span == timedelta(minutes=10)


def test_a_grant_that_breaks_a_separation_of_duty_is_refused(scene: Scene) -> None:
    request = {"capability": "do", "action": "review.decide", "resource": "reviews/q3"}
    approval = scene.decide(request)["approval"]["id"]
    refused = scene.vote(approval, "user:oscar")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "separation_of_duty"
    assert "draft-versus-decide" in error["message"]
    closed = scene.approval(approval)
    assert closed["status"] == "cancelled"
    assert closed["grant"] is None
    assert scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"] == []
    assert scene.records("grant.refused")[-1]["data"]["code"] == "separation_of_duty"
    assert scene.decide(request)["decision"] == "approval_required"


def test_a_grant_is_checked_again_when_issued(scene: Scene) -> None:
    approval = scene.decide(RESTART)["approval"]["id"]
    # Between the request and the vote, a guardrail starts refusing restarts.
    scene.apply(
        POLICY
        + """
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: freeze}
spec:
  effect: deny
  match: {actions: [service.restart]}
  message: change freeze
"""
    )
    refused = scene.vote(approval, "user:oscar")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "grant_refused"
    assert "change freeze" in refused.json()["error"]["message"]
    assert scene.approval(approval)["status"] == "cancelled"


# The eligible binding as the active policy has it when the vote lands, each change made
# between the request and the vote: (what is replaced, what replaces it).
BINDING_CHANGES = {
    "removed": ("metadata: {name: restarter-eligible}", "metadata: {name: restarter-later}"),
    "made_standing": ("  activation: eligible\n  maxDuration: 30m", "  maxDuration: 30m"),
    "another_role": (
        "  role: restarter\n  agents: [ops-bot]\n  activation: eligible",
        "  role: reviewer\n  agents: [ops-bot]\n  activation: eligible",
    ),
}


@pytest.mark.parametrize("change", sorted(BINDING_CHANGES))
def test_a_grant_needs_the_binding_as_the_active_policy_has_it(scene: Scene, change: str) -> None:
    approval = scene.decide(RESTART)["approval"]["id"]
    old, new = BINDING_CHANGES[change]
    assert old in POLICY
    scene.apply(POLICY.replace(old, new, 1))
    refused = scene.vote(approval, "user:oscar")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "grant_refused"
    assert "Binding/restarter-eligible" in refused.json()["error"]["message"]
    assert scene.approval(approval)["status"] == "cancelled"
    assert scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"] == []


def test_a_grant_lasts_no_longer_than_the_active_binding_allows(scene: Scene) -> None:
    approval = scene.decide({**RESTART, "context": {"duration": "25m"}})["approval"]["id"]
    scene.apply(POLICY.replace("  maxDuration: 30m", "  maxDuration: 5m", 1))
    assert scene.vote(approval, "user:oscar").status_code == 200
    [grant] = scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"]
    span = datetime.fromisoformat(grant["expires_at"]) - datetime.fromisoformat(grant["issued_at"])
    assert span == timedelta(minutes=5)


def test_an_approval_does_not_outlive_the_permission_it_was_for(scene: Scene) -> None:
    # Approved, then a revision takes the agent's permission away: the approval lifted a
    # guardrail's friction, it never stood in for the permission.
    approval = scene.decide(CONFIG)["approval"]["id"]
    assert scene.vote(approval, "user:olga").json()["status"] == "approved"
    scene.apply(POLICY.replace("    - {capability: do, actions: [config.change]}\n", "", 1))
    answer = scene.decide(CONFIG)
    assert (answer["decision"], answer["code"]) == ("deny", "no_permission")
    assert scene.approval(approval)["used_by"] is None
    # And once the guardrail is gone, the permission alone decides: nothing to lift.
    scene.apply(
        POLICY.replace(
            "actions: [config.change]}\n  approval: {approvers: [owner]",
            "actions: [config.nothing]}\n  approval: {approvers: [owner]",
            1,
        )
    )
    assert scene.decide(CONFIG)["decision"] == "allow"
    assert scene.approval(approval)["used_by"] is None


def test_step_up_is_confirmed_by_exactly_the_on_behalf_of_human(scene: Scene) -> None:
    request = {**CLOSE, "context": {"on_behalf_of": "user:opal"}}
    opened = scene.decide(request)
    assert opened["decision"] == "step_up_required"
    confirmation = opened["approval"]
    assert confirmation["kind"] == "step_up"
    assert confirmation["approvers"] == ["user:opal"]
    owner = scene.vote(confirmation["id"], "user:olga")
    assert owner.status_code == 403
    assert owner.json()["error"]["code"] == "not_on_behalf_of"
    assert scene.decide(request)["approval"]["id"] == confirmation["id"]
    assert scene.vote(confirmation["id"], "user:opal").json()["status"] == "approved"
    assert scene.decide(request)["decision"] == "allow"
    assert scene.decide(request)["decision"] == "step_up_required"  # used up


def test_step_up_without_a_human_to_confirm_it_is_a_deny(scene: Scene) -> None:
    for context in ({}, {"on_behalf_of": "user:nobody"}):
        answer = scene.decide({**CLOSE, "context": context})
        assert answer["decision"] == "deny", context
        assert answer["code"] == "step_up_unavailable"
        assert answer["approval"] is None
    # Not a human id at all: refused before any policy (canonical requests).
    answer = scene.decide({**CLOSE, "context": {"on_behalf_of": "customer-7"}})
    assert (answer["decision"], answer["code"], answer["approval"]) == (
        "deny",
        "invalid_request",
        None,
    )


def test_the_kill_switch_cancels_approvals_and_revokes_grants(
    scene: Scene, services: Services
) -> None:
    pending = scene.decide(DEPLOY)["approval"]["id"]
    grant = scene.vote(scene.decide(RESTART)["approval"]["id"], "user:oscar").json()["grant"]
    suspended = scene.api.post(
        "/v1/agents/ops-bot/suspend", json={"reason": "odd"}, headers=scene.tokens["user:olga"]
    )
    assert suspended.status_code == 200, suspended.text
    assert scene.approval(pending)["status"] == "cancelled"
    grants = scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"]
    assert [(g["id"], g["status"]) for g in grants] == [(grant, "revoked")]
    record = scene.records("agent.suspended")[-1]["data"]
    assert record["cancelled_approvals"] == [pending]
    assert record["revoked_grants"] == [grant]
    # The agent's own token is refused; an enforcer asking for it gets a deny.
    assert (
        scene.api.post("/v1/decisions", json=RESTART, headers=scene.tokens["ops-bot"]).status_code
        == 401
    )
    for_it = scene.decide({**RESTART, "agent": "ops-bot"}, as_="user:gate")
    assert (for_it["decision"], for_it["code"]) == ("deny", "agent_suspended")
    late = scene.vote(pending, "user:oscar")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "approval_closed"


def test_owners_revoke_grants_early(scene: Scene) -> None:
    grant = scene.vote(scene.decide(RESTART)["approval"]["id"], "user:oscar").json()["grant"]
    stranger = scene.api.post(
        f"/v1/grants/{grant}/revoke", json={"reason": "x"}, headers=scene.tokens["user:otto"]
    )
    assert stranger.status_code == 404
    revoked = scene.api.post(
        f"/v1/grants/{grant}/revoke", json={"reason": "done"}, headers=scene.tokens["user:olga"]
    )
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    again = scene.api.post(
        f"/v1/grants/{grant}/revoke", json={"reason": "done"}, headers=scene.tokens["user:olga"]
    )
    assert again.json()["error"]["code"] == "grant_revoked"
    assert scene.decide(RESTART)["decision"] == "approval_required"
    assert [r["subject"] for r in scene.records("grant.revoked")] == [grant]


def test_who_sees_which_approvals(scene: Scene) -> None:
    approval = scene.decide(DEPLOY)["approval"]["id"]
    for who, sees in (
        ("user:oscar", True),  # in the approver set
        ("user:olga", True),  # owns the agent
        ("user:rita", True),  # admin
        ("ops-bot", True),  # its own
        ("user:pat", False),
    ):
        answer = scene.api.get(f"/v1/approvals/{approval}", headers=scene.tokens[who])
        assert answer.status_code == (200 if sees else 404), who
        listed = scene.api.get("/v1/approvals", headers=scene.tokens[who]).json()["approvals"]
        assert [a["id"] for a in listed] == ([approval] if sees else []), who
    others = scene.api.get(
        "/v1/approvals", params={"agent": "someone-else"}, headers=scene.tokens["ops-bot"]
    )
    assert others.json()["approvals"] == []


def test_waiting_returns_once_decided(scene: Scene, live_server: str) -> None:
    approval = scene.decide(DEPLOY)["approval"]["id"]
    with httpx.Client(base_url=live_server, timeout=70) as client:
        pending = client.get(
            f"/v1/approvals/{approval}/wait",
            params={"timeout": 0},
            headers=scene.tokens["ops-bot"],
        )
        assert pending.json()["status"] == "pending"
        answers: list[dict[str, Any]] = []

        def wait() -> None:
            answer = client.get(
                f"/v1/approvals/{approval}/wait",
                params={"timeout": 60},
                headers=scene.tokens["ops-bot"],
            )
            answers.append(answer.json())

        waiter = spawn(wait)
        for human in ("user:oscar", "user:otto"):
            voted = client.post(
                f"/v1/approvals/{approval}/approve",
                json={"reason": "ok"},
                headers=scene.tokens[human],
            )
            assert voted.status_code == 200, voted.text
        join_all([waiter], timeout=65)  # the server answers by its own 60s at the latest
    assert answers
    assert answers[0]["status"] == "approved"
