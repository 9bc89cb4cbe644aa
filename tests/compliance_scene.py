"""A log with something in it for every figure of a compliance report: approvals answered
after a wait, a plain deny, a deny by an invariant, a request carrying a secret, and
decisions on two days."""

from __future__ import annotations

from datetime import timedelta

from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from charter.service import SYSTEM
from tests.helpers import bearer, people
from tests.scenes import CONFIG, DEPLOY, Scene

GITHUB_TOKEN = "ghp_" + "k9Xw2Lq7Rt4Vb8Nz1Mc6Hd3Jf5Gs0Pa2Ye7U"


def busy_scene(scene: Scene, clock: ManualClock) -> None:
    """Drive the scene's agent and people through a day and a half of activity."""
    scene.tokens.update(people(scene.services, [("user:ada", (), (HumanRole.AUDITOR,))]))
    deploy = scene.decide(DEPLOY)
    assert deploy["decision"] == "approval_required", deploy
    clock.advance(timedelta(minutes=3))
    for voter in ("user:oscar", "user:otto"):
        assert scene.vote(deploy["approval"]["id"], voter).status_code == 200
    config = scene.decide(CONFIG)
    clock.advance(timedelta(minutes=40))
    assert scene.vote(config["approval"]["id"], "user:olga", "deny").status_code == 200
    denied = scene.decide({"capability": "do", "action": "db.drop", "resource": "prod/db"})
    assert denied["decision"] == "deny"
    clock.advance(timedelta(days=1))
    # A day on, everyone's tokens have expired: fresh ones.
    tokens = scene.services.tokens
    scene.tokens["ops-bot"] = bearer(tokens.issue_for_agent(SYSTEM, "ops-bot").token)
    for who in ("user:gate", "user:ada", "user:olga"):
        scene.tokens[who] = bearer(tokens.issue_for_human(SYSTEM, who).token)
    ghost = scene.api.post(
        "/v1/decisions",
        json={"agent": "ghost-bot", "capability": "do", "action": "deploy.run", "resource": "x"},
        headers=scene.tokens["user:gate"],
    )
    assert ghost.status_code == 200, ghost.text
    assert ghost.json()["reasons"][0]["policy"] == "invariant"
    secret = scene.decide(
        {**DEPLOY, "context": {"note": f"use {GITHUB_TOKEN} to push"}},
    )
    assert secret["decision"] in {"deny", "approval_required"}
