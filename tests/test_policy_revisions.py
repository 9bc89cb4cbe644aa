"""Policy revisions through the API and the CLI, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from charter import Client, PolicyInvalid
from charter.cli.main import app
from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from charter.policy.loader import read_files
from charter.server.app import create_app
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore
from charter.storage.sql.schema import policy_revisions
from tests.helpers import Admin, agent_token, bearer

PACK = Path(__file__).resolve().parent.parent / "examples" / "policies"
FILES = read_files(PACK)
OWNERS = ("user:alice", "user:bob", "user:carol", "user:dave")


@pytest.fixture
def policy_admin(services: Services, admin: Admin) -> str:
    """The pack's owners, and a policy admin's token."""
    for owner in OWNERS:
        services.humans.add(SYSTEM, human_id=owner, email=f"{owner[5:]}@example.com")
    services.humans.add(
        SYSTEM, human_id="user:pat", email="pat@example.com", roles=[HumanRole.POLICY_ADMIN]
    )
    return services.tokens.issue_for_human(SYSTEM, "user:pat").token


def test_apply_stores_activates_and_registers_declared_agents(
    api: TestClient, admin: Admin, policy_admin: str
) -> None:
    applied = api.post("/v1/policies", json={"files": FILES}, headers=bearer(policy_admin))
    assert applied.status_code == 201, applied.text
    body = applied.json()
    assert body["revision"].startswith("rev_")
    assert (body["previous"], body["created"], body["activated"]) == (None, True, True)
    assert sorted(body["agents_registered"]) == [
        "compliance-copilot",
        "desk-assistant",
        "identity-ops-agent",
        "secrets-scanner",
        "support-bot",
    ]
    agent = api.get("/v1/agents/support-bot", headers=admin.headers).json()
    assert (agent["owner"], agent["status"]) == ("user:alice", "active")
    assert api.get("/readyz").json()["policy_revision"] == body["revision"]
    active = api.get("/v1/policies/active", headers=bearer(policy_admin)).json()
    assert active["files"] == FILES
    assert active["activated_by"] == "user:pat"
    types = [r["type"] for r in api.get("/v1/audit", headers=admin.headers).json()["records"]]
    assert types[-1] == "policy.applied"
    assert types.count("agent.registered") == 5
    assert api.get("/v1/audit/verify", headers=admin.headers).json()["ok"] is True

    again = api.post("/v1/policies", json={"files": FILES}, headers=bearer(policy_admin)).json()
    assert (again["revision"], again["created"], again["activated"]) == (
        body["revision"],
        False,
        False,
    )
    assert again["agents_registered"] == again["agents_updated"] == []


def test_an_invalid_policy_is_refused_whole_with_every_diagnostic(
    api: TestClient, admin: Admin, policy_admin: str
) -> None:
    broken = dict(FILES)
    broken["bindings.yaml"] = broken["bindings.yaml"].replace(
        "role: review-drafter", "role: review-drafterz"
    )
    broken["roles.yaml"] = broken["roles.yaml"].replace("capability: infer", "capabilty: infer", 1)
    refused = api.post("/v1/policies", json={"files": broken}, headers=bearer(policy_admin))
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_policy"
    codes = {(d["file"], d["code"]) for d in error["diagnostics"] if d["severity"] == "error"}
    assert ("bindings.yaml", "unknown_role") in codes
    assert ("roles.yaml", "unknown_key") in codes
    assert all(d["line"] > 0 for d in error["diagnostics"])
    # Nothing was written: no revision, no agents.
    assert api.get("/v1/policies/active", headers=bearer(policy_admin)).json() is None
    assert api.get("/v1/agents", headers=admin.headers).json()["agents"] == []


def test_declared_agents_need_existing_active_owners(
    api: TestClient, services: Services, admin: Admin
) -> None:
    refused = api.post("/v1/policies", json={"files": FILES}, headers=admin.headers)
    assert refused.status_code == 422
    diagnostics = refused.json()["error"]["diagnostics"]
    assert {d["code"] for d in diagnostics} == {"unknown_owner"}
    assert {d["file"] for d in diagnostics} == {"agents.yaml"}


def test_agents_and_humans_without_the_role_cannot_apply(
    api: TestClient, services: Services, policy_admin: str
) -> None:
    api.post("/v1/policies", json={"files": FILES}, headers=bearer(policy_admin))
    agent_token = services.tokens.issue_for_agent(SYSTEM, "support-bot").token
    for token in (agent_token, services.tokens.issue_for_human(SYSTEM, "user:alice").token):
        refused = api.post("/v1/policies", json={"files": FILES}, headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"


def test_diff_and_rollback(api: TestClient, policy_admin: str) -> None:
    headers = bearer(policy_admin)
    first = api.post("/v1/policies", json={"files": FILES}, headers=headers).json()["revision"]
    changed = dict(FILES)
    changed["roles.yaml"] = changed["roles.yaml"].replace(
        "fields: [name, email, account_status]", "fields: [name, email]"
    )
    diff = api.post("/v1/policies/diff", json={"files": changed}, headers=headers).json()
    assert diff["active"] == first
    assert diff["unchanged"] is False
    assert diff["changes"]["roles"] == {"added": [], "removed": [], "changed": ["support-reader"]}
    assert diff["changes"]["bindings"] == {"added": [], "removed": [], "changed": []}
    second = api.post("/v1/policies", json={"files": changed}, headers=headers).json()
    assert second["previous"] == first
    revisions = api.get("/v1/policies/revisions", headers=headers).json()
    assert {r["id"] for r in revisions} == {first, second["revision"]}
    rolled = api.post(f"/v1/policies/revisions/{first}/activate", headers=headers)
    assert rolled.status_code == 200
    assert api.get("/readyz").json()["policy_revision"] == first
    missing = api.post("/v1/policies/revisions/rev_0000000000000000/activate", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "revision_not_found"


def test_a_revision_binding_an_agent_registered_through_the_api_rolls_back(
    api: TestClient, admin: Admin, policy_admin: str
) -> None:
    # Agents the policy does not declare are checked against the registry, on rollback
    # as on apply.
    registered = api.post(
        "/v1/agents",
        json={"id": "api-bot", "owner": "user:alice", "purpose": "registered by hand"},
        headers=admin.headers,
    )
    assert registered.status_code == 201, registered.text
    bound = {
        **FILES,
        "api-bot.yaml": "apiVersion: charter/v1\nkind: Binding\nmetadata: {name: api-bot}\n"
        "spec: {role: support-reader, agents: [api-bot]}\n",
    }
    headers = bearer(policy_admin)
    first = api.post("/v1/policies", json={"files": bound}, headers=headers)
    assert first.status_code == 201, first.text
    assert api.post("/v1/policies", json={"files": FILES}, headers=headers).status_code == 201
    rolled = api.post(
        f"/v1/policies/revisions/{first.json()['revision']}/activate", headers=headers
    )
    assert rolled.status_code == 200, rolled.text
    assert api.get("/readyz").json()["policy_revision"] == first.json()["revision"]


def test_the_sdk_returns_diagnostics_and_the_cli_applies(
    live_server: str, policy_admin: str, tmp_path: Path
) -> None:
    with Client(live_server, policy_admin) as client:
        with pytest.raises(PolicyInvalid) as refused:
            client.apply_policy({"bad.yaml": "kind: Rol\n"})
        assert {d.code for d in refused.value.diagnostics} >= {"unknown_kind", "missing_key"}
    runner = CliRunner()
    remote = ["--server", live_server, "--token", policy_admin]
    applied = runner.invoke(app, ["policy", "apply", str(PACK), "--json", *remote])
    assert applied.exit_code == 0, applied.stderr
    revision = json.loads(applied.stdout)["revision"]
    unchanged = runner.invoke(app, ["policy", "diff", str(PACK), "--json", *remote])
    assert json.loads(unchanged.stdout)["unchanged"] is True
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "roles.yaml").write_text("apiVersion: charter/v1\nkind: Roll\n")
    invalid = runner.invoke(app, ["policy", "apply", str(broken), *remote])
    assert invalid.exit_code == 3
    assert "roles.yaml:2:7: error[unknown_kind]" in invalid.stderr
    listed = runner.invoke(app, ["policy", "revisions", "--json", *remote])
    assert [r["id"] for r in json.loads(listed.stdout)] == [revision]
    rolled = runner.invoke(app, ["policy", "rollback", revision, *remote])
    assert rolled.exit_code == 0


def test_a_server_follows_an_activation_made_by_another(
    store: SqlStore, clock: ManualClock, api: TestClient, policy_admin: str
) -> None:
    """Two servers on one store: the other picks the new revision up on its next sweep."""
    other = Services.build(store, clock=clock)
    assert other.policies.refresh() is False  # nothing active, nothing held
    applied = api.post("/v1/policies", json={"files": FILES}, headers=bearer(policy_admin))
    assert applied.status_code == 201, applied.text
    assert other.policies.compiled.engine is None
    assert other.policies.refresh() is True
    engine = other.policies.compiled.engine
    assert engine is not None
    assert engine.revision == applied.json()["revision"]
    assert other.policies.refresh() is False


GHOST = """
apiVersion: charter/v1
kind: Role
metadata: {name: reader}
spec:
  permissions:
    - {capability: do, actions: [docs.read]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: readers}
spec: {role: reader, agents: [ghost, reader-bot]}
"""


def _server(store: SqlStore, clock: ManualClock, signing_key: Ed25519PrivateKey) -> TestClient:
    """Another server starting on the same store (its start-up run when entered)."""
    return TestClient(create_app(Services.build(store, clock=clock, signing_key=signing_key)))


def test_a_stored_revision_loads_whatever_agents_were_registered_since(
    api: TestClient,
    admin: Admin,
    store: SqlStore,
    clock: ManualClock,
    signing_key: Ed25519PrivateKey,
) -> None:
    # Accepted with a warning while no agent was known; agents registered since must
    # not make it an error when a server starts and compiles it again.
    applied = api.post("/v1/policies", json={"files": {"p.yaml": GHOST}}, headers=admin.headers)
    assert applied.status_code == 201, applied.text
    assert [w["code"] for w in applied.json()["warnings"]] == ["unknown_agent"] * 2
    body = {"id": "reader-bot", "owner": "user:admin", "purpose": "reads"}
    assert api.post("/v1/agents", json=body, headers=admin.headers).status_code == 201
    token = api.post("/v1/agents/reader-bot/tokens", json={}, headers=admin.headers).json()
    asked = {"capability": "do", "action": "docs.read", "resource": "docs/a"}
    with _server(store, clock, signing_key) as later:
        assert later.get("/readyz").json()["policy_revision"] == applied.json()["revision"]
        answer = later.post("/v1/decisions", json=asked, headers=bearer(token["token"]))
        assert (answer.status_code, answer.json()["decision"]) == (200, "allow"), answer.text


def test_an_active_revision_that_cannot_be_compiled_allows_nothing(
    api: TestClient,
    admin: Admin,
    policy_admin: str,
    store: SqlStore,
    clock: ManualClock,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
    services: Services,
) -> None:
    applied = api.post("/v1/policies", json={"files": FILES}, headers=bearer(policy_admin))
    revision = applied.json()["revision"]
    broken = json.dumps({"roles.yaml": "apiVersion: charter/v1\nkind: Rolez\n"})
    with store.engine.begin() as conn:  # changed by hand in the store
        conn.execute(
            sa.update(policy_revisions)
            .where(policy_revisions.c.id == revision)
            .values(files=broken)
        )
    token = bearer(agent_token(services, "support-bot"))
    asked = {"capability": "request", "action": "crm.customer.read", "resource": "crm/1"}
    with _server(store, clock, signing_key) as later:
        ready = later.get("/readyz")
        assert (ready.status_code, ready.json()["error"]["code"]) == (503, "policy_unusable")
        for _ in range(3):
            answer = later.post("/v1/decisions", json=asked, headers=token)
            assert answer.status_code == 200, answer.text
            assert (answer.json()["decision"], answer.json()["code"]) == ("deny", "no_policy")
            assert "Rolez" not in answer.text
        logged = [r for r in caplog.records if "cannot be compiled" in r.getMessage()]
        assert len(logged) == 1  # once, not once a decision
        again = FILES | {"x.yaml": "# again\n"}
        fixed = later.post("/v1/policies", json={"files": again}, headers=bearer(policy_admin))
        assert fixed.status_code == 201, fixed.text
        assert later.get("/readyz").status_code == 200
        answer = later.post("/v1/decisions", json=asked, headers=token)
        assert answer.json()["code"] != "no_policy", answer.text
