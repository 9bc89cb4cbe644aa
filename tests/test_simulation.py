"""Policy simulation: decisions recorded through the real API are replayed against a
candidate policy (``POST /v1/policies/simulate``, ``charter policy simulate``). Each
kind of flip is found and grouped by the rule that caused it; a replay of the policy that
decided finds none, whatever changed since (suspension, expired grant, used approval); a
stored request that no longer matches its audit digest is refused and reported; the CI
gate exits 3 on a forbidden flip; requests past their retention are purged."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from charter.settings import Settings
from charter.simulation import FLIP_KINDS
from charter.storage.sql.schema import replay_requests
from charter.storage.sql.store import SqlStore
from tests.helpers import bearer, charter_cli, people
from tests.scenes import CLOSE, CONFIG, DEPLOY, POLICY, RESTART, Scene

EXTRA = """
---
apiVersion: charter/v1
kind: Role
metadata: {name: reader}
spec:
  permissions:
    - {capability: request, actions: [customer.read], fields: [name, email]}
    - {capability: do, actions: [ticket.close]}
    - {capability: do, actions: [report.run, report.export]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: reader-standing}
spec: {role: reader, agents: [ops-bot]}
"""
BASE = POLICY + EXTRA

CANDIDATE = (
    BASE.replace("fields: [name, email]}", "fields: [name, email, ssn]}")
    .replace(
        "    - {capability: do, actions: [ticket.close]}\n",
        "    - {capability: do, actions: [secrets.rotate]}\n",
    )
    .replace(
        """kind: Guardrail
metadata: {name: config-needs-owner}
spec:
  effect: require_approval
  match: {capabilities: [do], actions: [config.change]}""",
        """kind: Guardrail
metadata: {name: config-needs-owner}
spec:
  effect: require_approval
  match: {capabilities: [do], actions: [config.never]}""",
    )
    + """
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-drafts}
spec:
  effect: deny
  match: {capabilities: [do], actions: [review.draft]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-closing}
spec:
  effect: deny
  match: {capabilities: [do], actions: [account.close]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: reports-need-approval}
spec:
  effect: require_approval
  match: {capabilities: [do], actions: [report.run]}
  approval: {approvers: [owner]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: exports-need-step-up}
spec:
  effect: require_step_up
  match: {capabilities: [do], actions: [report.export]}
"""
)

DRAFT = {"capability": "do", "action": "review.draft", "resource": "reviews/1"}
ROTATE = {"capability": "do", "action": "secrets.rotate", "resource": "vault/prod"}
REPORT = {"capability": "do", "action": "report.run", "resource": "reports/1"}
EXPORT = {
    "capability": "do",
    "action": "report.export",
    "resource": "reports/1",
    "context": {"on_behalf_of": "user:opal"},
}
READ = {
    "capability": "request",
    "action": "customer.read",
    "resource": "customers/1",
    "fields": ["name", "ssn"],
}
TICKET = {"capability": "do", "action": "ticket.close", "resource": "tickets/1"}

EXPECTED: dict[str, tuple[dict[str, Any], str, str]] = {
    "allow_to_deny": (DRAFT, "allow", "deny"),
    "deny_to_allow": (ROTATE, "deny", "allow"),
    "to_approval_required": (REPORT, "allow", "approval_required"),
    "to_step_up_required": (EXPORT, "allow", "step_up_required"),
    "fields_changed": (READ, "allow", "allow"),
    "to_allow": (CONFIG, "approval_required", "allow"),
    "to_deny": ({**CLOSE, "context": {"on_behalf_of": "user:opal"}}, "step_up_required", "deny"),
}


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    made = Scene(api, services)
    made.apply(BASE)
    return made


def simulate(scene: Scene, policy: str, as_: str = "user:pat", **body: Any) -> Any:
    return scene.api.post(
        "/v1/policies/simulate",
        json={"files": {"policy.yaml": policy}, "since": "7d", **body},
        headers=scene.tokens[as_],
    )


def report(scene: Scene, policy: str, **body: Any) -> dict[str, Any]:
    answer = simulate(scene, policy, **body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def auditor(scene: Scene) -> None:
    """An auditor, who may simulate (reading only)."""
    scene.tokens |= people(scene.services, [("user:audrey", (), (HumanRole.AUDITOR,))])


def fresh_tokens(scene: Scene) -> None:
    """New tokens for the agent and the policy admin, after the clock moved past theirs."""
    services = scene.services
    scene.tokens["ops-bot"] = bearer(services.tokens.issue_for_agent(SYSTEM, "ops-bot").token)
    scene.tokens["user:pat"] = bearer(services.tokens.issue_for_human(SYSTEM, "user:pat").token)


def record_history(scene: Scene) -> dict[str, str]:
    """One decision per kind of flip, a second one for a rule, one that stays; their ids."""
    ids = {}
    for kind, (request, before, _after) in EXPECTED.items():
        decided = scene.decide(request)
        assert decided["decision"] == before, (kind, decided)
        ids[kind] = decided["decision_id"]
    assert scene.decide(DEPLOY)["decision"] == "approval_required"
    for number in (1, 2):
        assert scene.decide({**TICKET, "resource": f"tickets/{number}"})["decision"] == "allow"
    return ids


def test_every_kind_of_flip_is_found_grouped_by_the_rule_that_caused_it(scene: Scene) -> None:
    ids = record_history(scene)
    found = report(scene, CANDIDATE)
    assert found["considered"] == found["replayed"] == len(EXPECTED) + 3
    assert found["not_replayed"] == []
    assert found["unchanged"] == 1  # the deploy still needs two approvals
    assert set(found["flips"]) == set(FLIP_KINDS)
    for kind, (request, before, after) in EXPECTED.items():
        examples = [ex for rule in found["flips"][kind]["by_rule"] for ex in rule["examples"]]
        mine = [ex for ex in examples if ex["decision_id"] == ids[kind]]
        assert len(mine) == 1, (kind, examples)
        assert mine[0]["action"] == request["action"]
        assert (mine[0]["before"]["decision"], mine[0]["after"]["decision"]) == (before, after)
    rules = {
        kind: {rule["rule"]: rule["count"] for rule in found["flips"][kind]["by_rule"]}
        for kind in found["flips"]
    }
    # Two rules made allows deny: a new guardrail, and a permission that is gone (twice).
    assert rules["allow_to_deny"] == {
        "Role/reader#permissions[1] (no longer applies)": 2,
        "Guardrail/no-drafts#effect": 1,
    }
    assert found["flips"]["allow_to_deny"]["count"] == 3
    first = found["flips"]["allow_to_deny"]["by_rule"][0]
    assert first["rule"].startswith("Role/reader")  # the rule with the most flips first
    assert rules["deny_to_allow"] == {"Role/reader#permissions[1]": 1}
    assert rules["to_approval_required"] == {"Guardrail/reports-need-approval#effect": 1}
    assert rules["to_step_up_required"] == {"Guardrail/exports-need-step-up#effect": 1}
    assert rules["to_deny"] == {"Guardrail/no-closing#effect": 1}
    [fields] = found["flips"]["fields_changed"]["by_rule"][0]["examples"]
    assert fields["before"]["released_fields"] == ["name"]
    assert fields["before"]["redacted_fields"] == ["ssn"]
    assert fields["after"]["released_fields"] == ["name", "ssn"]
    assert fields["after"]["redacted_fields"] == []


def test_the_policy_that_decided_flips_nothing_whatever_changed_since(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    # An approval used, a JIT grant used, then the agent suspended and the grant expired:
    # replayed as they were at the time, the same policy decides the same.
    approval = scene.decide(CONFIG)["approval"]["id"]
    assert scene.vote(approval, "user:olga").json()["status"] == "approved"
    assert scene.decide(CONFIG)["decision"] == "allow"
    opened = scene.decide(RESTART)
    assert scene.vote(opened["approval"]["id"], "user:opal").json()["grant"]
    assert scene.decide(RESTART)["decision"] == "allow"
    clock.advance(timedelta(minutes=1))
    record_history(scene)
    clock.advance(timedelta(minutes=1))
    answer = scene.api.post(
        "/v1/agents/ops-bot/suspend", json={"reason": "incident"}, headers=scene.tokens["user:rita"]
    )
    assert answer.status_code == 200, answer.text
    # Decided for the suspended agent by an enforcer: denied; then it is reinstated, so
    # only its history says it was suspended then.
    suspended = scene.decide({**TICKET, "agent": "ops-bot"}, as_="user:gate")
    assert suspended["decision"] == "deny"
    clock.advance(timedelta(minutes=1))
    answer = scene.api.post(
        "/v1/agents/ops-bot/reinstate", json={"reason": "over"}, headers=scene.tokens["user:rita"]
    )
    assert answer.status_code == 200, answer.text
    clock.advance(timedelta(hours=2))
    found = report(scene, BASE)
    assert found["flipped"] == 0, found["flips"]
    assert found["replayed"] == found["considered"] > 10
    # The control: against a policy that changes something, flips are found.
    assert report(scene, CANDIDATE)["flipped"] > 0


LABELLED = (
    BASE
    + """
---
apiVersion: charter/v1
kind: Role
metadata: {name: night-shift}
spec:
  permissions:
    - {capability: do, actions: [pager.ack]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: night-shift-by-label}
spec:
  role: night-shift
  selector: {labels: {shift: night}}
"""
)
PAGE = {"capability": "do", "action": "pager.ack", "resource": "pages/1"}


def test_the_agent_is_replayed_with_its_labels_of_the_time(
    scene: Scene, clock: ManualClock
) -> None:
    scene.apply(LABELLED)
    assert scene.decide(PAGE)["decision"] == "deny"  # no label yet
    clock.advance(timedelta(minutes=1))
    patched = scene.api.patch(
        "/v1/agents/ops-bot", json={"labels": {"shift": "night"}}, headers=scene.tokens["user:rita"]
    )
    assert patched.status_code == 200, patched.text
    clock.advance(timedelta(minutes=1))
    assert scene.decide(PAGE)["decision"] == "allow"
    clock.advance(timedelta(minutes=1))
    patched = scene.api.patch(
        "/v1/agents/ops-bot", json={"labels": {}}, headers=scene.tokens["user:rita"]
    )
    assert patched.status_code == 200, patched.text
    # Now unlabelled, the agent is replayed as it was: each decision comes out the same.
    found = report(scene, LABELLED)
    assert (found["replayed"], found["flipped"]) == (2, 0), found
    # Without the label binding, only the allowed one flips.
    found = report(scene, BASE)
    assert found["flipped"] == 1
    assert found["flips"]["allow_to_deny"]["by_rule"][0]["rule"] == (
        "Role/night-shift#permissions[0] (no longer applies)"
    )


def test_a_stored_request_that_does_not_match_its_digest_is_refused_and_reported(
    scene: Scene, store: SqlStore
) -> None:
    ids = record_history(scene)
    tampered = ids["allow_to_deny"]
    with store.engine.begin() as conn:
        [kept] = conn.execute(
            sa.select(replay_requests.c.request).where(replay_requests.c.decision_id == tampered)
        ).scalars()
        kept = {**kept, "action": "review.decide"}
        conn.execute(
            replay_requests.update()
            .where(replay_requests.c.decision_id == tampered)
            .values(request=kept)
        )
    found = report(scene, CANDIDATE)
    [refused] = found["not_replayed"]
    assert refused["reason"] == "digest_mismatch"
    assert refused["count"] == 1
    assert refused["examples"] == [tampered]
    assert found["replayed"] == found["considered"] - 1
    examples = [
        ex["decision_id"]
        for kind in found["flips"].values()
        for rule in kind["by_rule"]
        for ex in rule["examples"]
    ]
    assert tampered not in examples
    assert found["flips"]["allow_to_deny"]["count"] == 2  # the two tickets only


def test_requests_past_their_retention_are_purged_and_reported_as_not_kept(
    scene: Scene, services: Services, clock: ManualClock, store: SqlStore
) -> None:
    record_history(scene)
    clock.advance(timedelta(days=31))
    fresh_tokens(scene)
    scene.decide(TICKET)  # kept: within its retention
    assert services.simulation.purge() == len(EXPECTED) + 3
    assert services.simulation.purge() == 0
    found = report(scene, CANDIDATE, since="40d")
    [gone] = found["not_replayed"]
    assert gone["reason"] == "not_kept"
    assert gone["count"] == len(EXPECTED) + 3
    assert found["replayed"] == 1


def test_a_purge_pass_is_bounded(scene: Scene, store: SqlStore, clock: ManualClock) -> None:
    record_history(scene)
    clock.advance(timedelta(days=31))
    with store.write() as unit:
        assert unit.replays.purge(clock(), limit=4) == 4
    with store.read() as unit:
        left = unit.connection.execute(sa.select(sa.func.count()).select_from(replay_requests))
        assert left.scalar_one() == len(EXPECTED) + 3 - 4


def test_a_service_purge_runs_bounded_transactions_until_one_is_not_full(
    scene: Scene, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_history(scene)  # ten decisions
    clock.advance(timedelta(days=31))
    monkeypatch.setattr("charter.service.simulation.PURGE_BATCH", 3)
    monkeypatch.setattr("charter.service.simulation.PURGE_TRANSACTIONS", 2)
    assert services.simulation.purge() == 6
    assert services.simulation.purge() == 4
    assert services.simulation.purge() == 0


def test_a_batch_keeps_its_requests_in_one_insert(scene: Scene, store: SqlStore) -> None:
    inserts: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO REPLAY_REQUESTS"):
            inserts.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        batch = [{**TICKET, "resource": f"tickets/{n}"} for n in range(20)]
        answer = scene.api.post(
            "/v1/decisions/batch", json={"requests": batch}, headers=scene.tokens["ops-bot"]
        )
        assert answer.status_code == 200, answer.text
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    assert len(inserts) == 1
    found = report(scene, BASE)
    assert found["replayed"] == 20


def test_with_retention_off_nothing_is_kept(store: SqlStore, clock: ManualClock) -> None:
    settings = Settings(replay_retention=timedelta(0))
    services = Services.build(store, clock=clock, settings=settings)
    from charter.server.app import create_app

    with TestClient(create_app(services, settings)) as api:
        scene = Scene(api, services)
        scene.apply(BASE)
        scene.decide(TICKET)
        found = report(scene, BASE)
    assert found["not_replayed"][0]["reason"] == "not_kept"
    with store.read() as unit:
        count = unit.connection.execute(sa.select(sa.func.count()).select_from(replay_requests))
        assert count.scalar_one() == 0


def test_one_agent_only_and_who_may_simulate(scene: Scene, services: Services) -> None:
    record_history(scene)
    assert report(scene, CANDIDATE, agent="ops-bot")["considered"] == len(EXPECTED) + 3
    assert report(scene, CANDIDATE, agent="other-bot")["considered"] == 0
    assert simulate(scene, CANDIDATE, as_="ops-bot").status_code == 403
    assert simulate(scene, CANDIDATE, as_="user:olga").status_code == 403
    assert simulate(scene, CANDIDATE, as_="user:rita").status_code == 200


@pytest.mark.parametrize(
    ("since", "code"),
    [("1y", "invalid_request"), ("0d", "invalid_duration"), ("401d", "invalid_duration")],
)
def test_a_bad_window_is_refused_clearly(scene: Scene, since: str, code: str) -> None:
    answer = simulate(scene, BASE, since=since)
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["code"] == code


def test_an_invalid_candidate_is_refused_with_its_diagnostics(scene: Scene) -> None:
    answer = simulate(scene, "apiVersion: charter/v1\nkind: Role\n")
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_policy"


def _write(tmp_path: Path, name: str, policy: str) -> str:
    (tmp_path / name).mkdir()
    (tmp_path / name / "policy.yaml").write_text(policy)
    return str(tmp_path / name)


def test_the_ci_gate_exits_3_on_a_forbidden_flip(
    scene: Scene, live_server: str, tmp_path: Path
) -> None:
    record_history(scene)
    token = scene.tokens["user:pat"]["Authorization"].removeprefix("Bearer ")
    remote = ["--server", live_server, "--token", token]
    directory = _write(tmp_path, "candidate", CANDIDATE)
    gate = ["--fail-on", "deny_to_allow,allow_to_deny"]
    code, out, err = charter_cli("policy", "simulate", directory, "--since", "7d", *gate, *remote)
    assert code == 3, err
    assert "allow_to_deny: 3" in out
    assert "Role/reader#permissions[1] (no longer applies): 2" in out
    assert "forbidden flips found: allow_to_deny, deny_to_allow" in err
    # The same candidate passes a gate on kinds it does not flip, and with no gate.
    same = _write(tmp_path, "same", BASE)
    code, out, err = charter_cli("policy", "simulate", same, "--since", "7d", *gate, *remote)
    assert code == 0, err
    assert "0 flipped" in out
    code, _, _ = charter_cli("policy", "simulate", directory, "--since", "7d", *remote)
    assert code == 0
    code, out, _ = charter_cli(
        "policy", "simulate", directory, "--since", "7d", "--json", "--agent", "ops-bot", *remote
    )
    assert code == 0
    assert json.loads(out)["flipped"] == 9


def test_the_sdk_simulates(scene: Scene, live_server: str) -> None:
    from charter.sdk import Client

    auditor(scene)
    record_history(scene)
    token = scene.tokens["user:audrey"]["Authorization"].removeprefix("Bearer ")
    with Client(live_server, token=token) as client:
        found = client.simulate_policy({"policy.yaml": CANDIDATE}, since="7d", agent="ops-bot")
    assert found["agent"] == "ops-bot"
    assert found["flips"]["deny_to_allow"]["count"] == 1


@pytest.mark.parametrize(
    "args", [["--since", "7d", "--fail-on", "allow_to_maybe"], ["--since", "a week"]]
)
def test_bad_options_are_usage_errors_before_anything_is_sent(
    tmp_path: Path, args: list[str]
) -> None:
    code, _, err = charter_cli(
        "policy",
        "simulate",
        _write(tmp_path, "base", BASE),
        *args,
        "--server",
        "http://127.0.0.1:9",
    )
    assert code == 2
    assert err.startswith("error: ")


def test_the_cli_knows_every_flip_kind() -> None:
    from charter.cli.policy import _FLIP_KINDS

    assert set(_FLIP_KINDS) == set(FLIP_KINDS)


def test_the_retention_setting() -> None:
    from charter.errors import InvalidInput

    assert Settings().replay_retention == timedelta(days=30)
    assert Settings.from_env({"CHARTER_REPLAY_RETENTION": "0"}).replay_retention == timedelta(0)
    assert Settings.from_env({"CHARTER_REPLAY_RETENTION": "90d"}).replay_retention == timedelta(
        days=90
    )
    with pytest.raises(InvalidInput):
        Settings.from_env({"CHARTER_REPLAY_RETENTION": "401d"})
