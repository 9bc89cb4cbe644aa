"""Usage: real decisions through /v1/decisions build it (standing bindings and JIT
grants, bounded samples, nothing for what was refused); /v1/agents/{id}/usage and
``charter agents usage`` read it, for those who may read the agent."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.errors import NotFound
from charter.policy.model import Capability
from charter.reviews.usage import SAMPLE_LIMIT
from charter.sdk import Client
from charter.service import SYSTEM, Services
from charter.service.decisions import Asked
from charter.storage.sql.store import open_store
from tests.helpers import charter_cli
from tests.scenes import CONFIG, RESTART, Scene

DRAFT = {"capability": "do", "action": "review.draft", "resource": "reviews/1"}
STANDING = ("deployer", 1, "Binding/deployer-standing")


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    return Scene(api, services)


def usage(scene: Scene, as_: str = "user:olga", **params: Any) -> Any:
    return scene.api.get("/v1/agents/ops-bot/usage", params=params, headers=scene.tokens[as_])


def entries(scene: Scene, **params: Any) -> list[dict[str, Any]]:
    answer = usage(scene, **params)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["usage"]
    return found


def key(entry: dict[str, Any]) -> tuple[str, int, str]:
    return entry["role"], entry["permission"], entry["source"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_decisions_through_a_standing_binding_build_usage(scene: Scene, clock: ManualClock) -> None:
    assert entries(scene) == []
    first = clock()
    for number in (1, 2, 1):
        decided = scene.decide({**DRAFT, "resource": f"reviews/{number}"})
        assert decided["decision"] == "allow"
        clock.advance(timedelta(minutes=5))
    [entry] = entries(scene)
    assert key(entry) == STANDING
    assert entry["count"] == 3
    assert at(entry["first_at"]) == first
    assert at(entry["last_at"]) == first + timedelta(minutes=10)
    assert entry["actions"] == ["review.draft"]
    assert entry["resources"] == ["reviews/1", "reviews/2"]
    assert entry["sample_full"] is False


def test_the_sample_keeps_the_first_distinct_resources_and_says_when_it_is_full(
    scene: Scene,
) -> None:
    # One batch, one transaction: the uses are added up before they are written.
    batch = [{**DRAFT, "resource": f"reviews/{n}"} for n in range(SAMPLE_LIMIT)]
    answer = scene.api.post(
        "/v1/decisions/batch", json={"requests": batch}, headers=scene.tokens["ops-bot"]
    )
    assert answer.status_code == 200, answer.text
    [entry] = entries(scene)
    assert entry["count"] == SAMPLE_LIMIT
    assert entry["sample_full"] is False
    # Over two more transactions: the sample was full, the counts go on.
    scene.decide({**DRAFT, "resource": "reviews/late"})
    scene.decide({**DRAFT, "resource": "reviews/0"})
    [entry] = entries(scene)
    assert entry["count"] == SAMPLE_LIMIT + 2
    assert entry["resources"] == [f"reviews/{n}" for n in range(SAMPLE_LIMIT)]
    assert entry["actions"] == ["review.draft"]
    assert entry["sample_full"] is True


def test_a_jit_grant_is_the_source_of_what_it_allowed(scene: Scene) -> None:
    opened = scene.decide(RESTART)
    assert opened["decision"] == "approval_required"
    assert entries(scene) == []  # asking is not using
    grant = scene.vote(opened["approval"]["id"], "user:opal").json()["grant"]
    assert scene.decide(RESTART)["decision"] == "allow"
    assert scene.decide({**RESTART, "resource": "prod/db"})["decision"] == "allow"
    [entry] = entries(scene)
    assert key(entry) == ("restarter", 0, f"grant:{grant}")
    assert entry["count"] == 2
    assert entry["resources"] == ["prod/web", "prod/db"]


def test_an_allow_after_an_approval_counts_the_role_permission_it_used(scene: Scene) -> None:
    approval = scene.decide(CONFIG)["approval"]["id"]
    assert scene.vote(approval, "user:olga").json()["status"] == "approved"
    allowed = scene.decide(CONFIG)
    assert allowed["decision"] == "allow"
    assert [r["policy"] for r in allowed["reasons"]] == ["Role/deployer", f"Approval/{approval}"]
    [entry] = entries(scene)
    assert key(entry) == ("deployer", 2, "Binding/deployer-standing")
    assert entry["count"] == 1


def test_refused_decisions_record_nothing(scene: Scene) -> None:
    refused = [
        {"capability": "do", "action": "secrets.rotate", "resource": "vault/prod"},
        {"capability": "do", "action": "review.decide", "resource": "reviews/1"},
        {"capability": "do", "action": "charter.policy.apply", "resource": "policies"},
        {**DRAFT, "capability": "request"},
    ]
    for request in refused:
        assert scene.decide(request)["decision"] != "allow"
    assert entries(scene) == []
    # What the policy would allow is not used while the agent is suspended.
    rita = scene.tokens["user:rita"]
    assert scene.api.post("/v1/agents/ops-bot/suspend", headers=rita).status_code == 200
    denied = scene.api.post(
        "/v1/decisions", json={**DRAFT, "agent": "ops-bot"}, headers=scene.tokens["user:gate"]
    )
    assert denied.json()["decision"] == "deny"
    assert entries(scene) == []


def test_since_keeps_the_permissions_last_used_at_or_after_it(
    scene: Scene, clock: ManualClock
) -> None:
    start = clock()
    scene.decide(DRAFT)
    clock.advance(timedelta(hours=1))
    grant = scene.vote(scene.decide(RESTART)["approval"]["id"], "user:opal").json()["grant"]
    scene.decide(RESTART)
    assert [key(e) for e in entries(scene)] == [STANDING, ("restarter", 0, f"grant:{grant}")]
    later = (start + timedelta(hours=1)).isoformat()
    assert [key(e) for e in entries(scene, since=later)] == [("restarter", 0, f"grant:{grant}")]
    assert len(entries(scene, since=start.isoformat())) == 2
    assert entries(scene, since=(clock() + timedelta(seconds=1)).isoformat()) == []
    page = usage(scene, since=later).json()
    assert page["agent"] == "ops-bot"
    assert at(page["since"]) == start + timedelta(hours=1)
    bad = usage(scene, since="last tuesday")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request"


def test_usage_is_read_by_admins_and_the_owner_only(scene: Scene) -> None:
    scene.decide(DRAFT)
    assert len(entries(scene)) == 1  # olga owns ops-bot
    assert usage(scene, as_="user:rita").status_code == 200  # an admin
    other = usage(scene, as_="user:oscar")
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "forbidden"
    agent = usage(scene, as_="ops-bot")
    assert agent.status_code == 403
    unknown = scene.api.get("/v1/agents/nobody/usage", headers=scene.tokens["user:rita"])
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "agent_not_found"
    # A non-reader learns nothing about which agents exist.
    assert (
        scene.api.get("/v1/agents/nobody/usage", headers=scene.tokens["user:oscar"]).status_code
        == 403
    )


def test_the_cli_shows_usage_as_a_table_and_as_json(scene: Scene, live_server: str) -> None:
    grant = scene.vote(scene.decide(RESTART)["approval"]["id"], "user:opal").json()["grant"]
    scene.decide(RESTART)
    scene.decide(DRAFT)
    token = scene.tokens["user:olga"]["Authorization"].removeprefix("Bearer ")
    where = ["--server", live_server, "--token", token]
    code, out, err = charter_cli("agents", "usage", "ops-bot", *where)
    assert code == 0, err
    assert "Binding/deployer-standing" in out
    assert f"grant:{grant}" in out  # whole, never cut
    assert f"restarter permissions[0] via grant:{grant}" in out
    assert "  actions:   service.restart\n" in out
    assert "  resources: prod/web\n" in out
    assert "  actions:   review.draft\n" in out
    code, out, err = charter_cli("agents", "usage", "ops-bot", "--json", *where)
    assert code == 0, err
    body = json.loads(out)
    assert [key(e) for e in body["usage"]] == [STANDING, ("restarter", 0, f"grant:{grant}")]
    code, out, err = charter_cli(
        "agents", "usage", "ops-bot", "--since", "2030-01-01T00:00:00", *where
    )
    assert code == 0, err
    assert "no recorded use" in out


def test_the_sdk_reads_usage(scene: Scene, live_server: str, clock: ManualClock) -> None:
    scene.decide(DRAFT)
    token = scene.tokens["user:olga"]["Authorization"].removeprefix("Bearer ")
    with Client(live_server, token) as olga:
        page = olga.agent_usage("ops-bot")
        assert [(u.role, u.permission, u.source, u.count) for u in page.usage] == [(*STANDING, 1)]
        assert page.usage[0].last_at == clock()
        assert olga.agent_usage("ops-bot", since=clock() + timedelta(seconds=1)).usage == []
    rita = scene.tokens["user:rita"]["Authorization"].removeprefix("Bearer ")
    with Client(live_server, rita) as admin, pytest.raises(NotFound) as missing:
        admin.agent_usage("nobody")
    assert missing.value.code == "agent_not_found"


def test_concurrent_servers_on_one_store_never_lose_a_use(
    scene: Scene, services: Services, database_url: str
) -> None:
    # A second server's services over the same database, on its own connections.
    other_store = open_store(database_url, migrate=False)
    try:
        other = Services.build(other_store, clock=services.clock)
        other.policies.refresh()
        token = services.tokens.issue_for_agent(SYSTEM, "ops-bot").token
        asked = Asked(Capability.DO, "review.draft", "reviews/1")
        rounds, threads_each = 10, 3
        errors: list[BaseException] = []

        def decide(on: Services) -> None:
            try:
                for _ in range(rounds):
                    [decided] = on.decisions.decide_as(token, [asked], where="test")
                    assert decided.decision.allowed
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [
            threading.Thread(target=decide, args=(on,))
            for on in (services, other)
            for _ in range(threads_each)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        [entry] = entries(scene)
        assert entry["count"] == 2 * threads_each * rounds
    finally:
        other_store.close()


def test_a_server_that_knows_the_sample_adds_counts_without_losing_anothers_uses(
    scene: Scene, services: Services, database_url: str
) -> None:
    # Each server remembers the samples it wrote; a use that adds nothing to what it
    # knows writes only the counts. What another server added to the sample stays, and a
    # resource this server has not seen is still sampled.
    other_store = open_store(database_url, migrate=False)
    try:
        other = Services.build(other_store, clock=services.clock)
        other.policies.refresh()
        token = services.tokens.issue_for_agent(SYSTEM, "ops-bot").token

        def decide(on: Services, resource: str) -> None:
            asked = Asked(Capability.DO, "review.draft", resource)
            [decided] = on.decisions.decide_as(token, [asked], where="test")
            assert decided.decision.allowed

        decide(services, "reviews/1")
        decide(services, "reviews/1")  # known: counts only
        decide(other, "reviews/2")
        decide(services, "reviews/1")  # known here, though the stored sample grew
        decide(services, "reviews/3")  # new here: read, merged, written
        [entry] = entries(scene)
        assert entry["count"] == 5
        assert entry["resources"] == ["reviews/1", "reviews/2", "reviews/3"]
    finally:
        other_store.close()
