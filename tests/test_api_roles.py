"""Authorisation and authentication through HTTP, the lifecycle, and the audit endpoints.

Every refusal is checked twice: the answer (status and stable code) and the audit record
it leaves (``auth.forbidden`` for a valid token without the right, ``auth.failed`` for no
valid token, which must never hold the token itself).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient

from charter.audit.checkpoints import checkpoint_message
from charter.clock import ManualClock
from charter.identity.agents import RiskTier
from charter.identity.humans import HumanRole
from charter.server.app import create_app
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore, open_store
from tests.helpers import Admin, HttpResponse, bearer


@dataclass(frozen=True)
class Cast:
    """The people and agents the tests act as: tokens by name."""

    tokens: dict[str, str]
    token_ids: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return bearer(self.tokens[who])


@pytest.fixture
def cast(services: Services, admin: Admin) -> Cast:
    """alice and bob own one agent each; audrey audits; nobody has no role at all."""
    humans = {
        "user:alice": [],
        "user:bob": [],
        "user:audrey": [HumanRole.AUDITOR],
        "user:nobody": [],
    }
    for human_id, roles in humans.items():
        services.humans.add(
            SYSTEM, human_id=human_id, email=f"{human_id[5:]}@example.com", roles=roles
        )
    for agent_id, owner in (("alice-bot", "user:alice"), ("bob-bot", "user:bob")):
        services.agents.register(
            SYSTEM,
            agent_id=agent_id,
            display_name=None,
            owner=owner,
            purpose="tests",
            risk_tier=RiskTier.LOW,
        )
    tokens: dict[str, str] = {"user:admin": admin.token}
    token_ids: dict[str, str] = {}
    for who in humans:
        issued = services.tokens.issue_for_human(SYSTEM, who)
        tokens[who], token_ids[who] = issued.token, issued.credential.id
    for who in ("alice-bot", "bob-bot"):
        issued = services.tokens.issue_for_agent(SYSTEM, who)
        tokens[who], token_ids[who] = issued.token, issued.credential.id
    return Cast(tokens, token_ids)


def audit(api: TestClient, admin: Admin, **params: Any) -> list[dict[str, Any]]:
    """Audit records as the admin reads them over HTTP."""
    response = api.get("/v1/audit", params={"limit": 1000, **params}, headers=admin.headers)
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["records"]
    return records


def secret_of(token: str) -> str:
    """The secret part of ``cht_<id>_<secret>`` (the secret itself may hold '_')."""
    return token.split("_", 2)[2]


def error_code(response: HttpResponse) -> str:
    code: str = response.json()["error"]["code"]
    return code


def call(
    api: TestClient, who: dict[str, str], method: str, url: str, body: Any = None
) -> HttpResponse:
    return api.request(method, url, headers=who, json=body)


NEW_AGENT = {"id": "new-bot", "owner": "user:alice", "purpose": "x"}
NEW_HUMAN = {"id": "user:eve", "email": "eve@example.com"}

# Calls that only humans with the right role may make: an agent token gets 403 on each.
ADMIN_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/v1/agents", None),
    ("POST", "/v1/agents", NEW_AGENT),
    ("GET", "/v1/agents/bob-bot", None),
    ("GET", "/v1/agents/alice-bot", None),
    ("PATCH", "/v1/agents/alice-bot", {"purpose": "mine now"}),
    ("POST", "/v1/agents/alice-bot/suspend", None),
    ("POST", "/v1/agents/bob-bot/retire", None),
    ("GET", "/v1/agents/alice-bot/tokens", None),
    ("GET", "/v1/agents/bob-bot/tokens", None),
    ("POST", "/v1/agents/alice-bot/tokens", None),
    ("POST", "/v1/agents/bob-bot/tokens", None),
    ("GET", "/v1/humans", None),
    ("POST", "/v1/humans", NEW_HUMAN),
    ("GET", "/v1/humans/user:alice", None),
    ("PATCH", "/v1/humans/user:alice", {"roles": ["admin"]}),
    ("POST", "/v1/humans/user:alice/deactivate", None),
    ("GET", "/v1/humans/user:alice/tokens", None),
    ("POST", "/v1/humans/user:alice/tokens", None),
    ("GET", "/v1/audit", None),
    ("GET", "/v1/audit/verify", None),
    ("GET", "/v1/audit/checkpoints", None),
    ("POST", "/v1/audit/checkpoints", None),
    ("GET", "/v1/audit/public-key", None),
]


# -- forbidden: a valid token without the right ---------------------------------------


def test_an_agent_token_is_forbidden_on_every_admin_call(
    api: TestClient, admin: Admin, cast: Cast
) -> None:
    agent = cast.headers("alice-bot")
    revoke_other = ("DELETE", f"/v1/tokens/{cast.token_ids['bob-bot']}", None)
    revoke_admin = ("DELETE", f"/v1/tokens/{cast.token_ids['user:alice']}", None)
    rotate_own = ("POST", f"/v1/tokens/{cast.token_ids['alice-bot']}/rotate", None)
    for method, url, body in [*ADMIN_CALLS, revoke_other, revoke_admin, rotate_own]:
        seen = len(audit(api, admin, type="auth.forbidden"))
        response = call(api, agent, method, url, body)
        assert response.status_code == 403, f"{method} {url}: {response.text}"
        assert error_code(response) == "forbidden", f"{method} {url}"
        assert "agent:alice-bot" in response.json()["error"]["message"]
        records = audit(api, admin, type="auth.forbidden")
        assert len(records) == seen + 1, f"{method} {url} was not audited"
        record = records[-1]
        assert record["actor"] == "agent:alice-bot"
        assert record["agent"] == "alice-bot"
        assert record["subject"] == cast.token_ids["alice-bot"]
        assert record["data"] == {"code": "forbidden", "where": f"{method} {url}"}

    # Nothing the agent tried took effect.
    assert api.get("/v1/agents/new-bot", headers=admin.headers).status_code == 404
    assert api.get("/v1/humans/user:eve", headers=admin.headers).status_code == 404
    alice_bot = api.get("/v1/agents/alice-bot", headers=admin.headers).json()
    assert (alice_bot["status"], alice_bot["purpose"]) == ("active", "tests")
    assert api.get("/v1/humans/user:alice", headers=admin.headers).json()["roles"] == []
    tokens = api.get("/v1/agents/bob-bot/tokens", headers=admin.headers).json()
    assert [t["state"] for t in tokens] == ["active"]
    # Its own calls still work.
    assert api.get("/v1/whoami", headers=agent).json()["id"] == "alice-bot"


def test_a_human_without_roles(api: TestClient, admin: Admin, cast: Cast) -> None:
    nobody = cast.headers("user:nobody")
    page = api.get("/v1/agents", headers=nobody)
    assert page.status_code == 200
    assert page.json() == {"agents": [], "next_cursor": None}
    me = api.get("/v1/humans/user:nobody", headers=nobody)
    assert me.status_code == 200
    assert me.json()["roles"] == []
    own_tokens = api.get("/v1/humans/user:nobody/tokens", headers=nobody)
    assert [t["id"] for t in own_tokens.json()] == [cast.token_ids["user:nobody"]]

    refused = [
        call(api, nobody, method, url, body)
        for method, url, body in ADMIN_CALLS
        if url != "/v1/agents" or method != "GET"
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert {error_code(r) for r in refused} == {"forbidden"}
    forbidden = audit(api, admin, type="auth.forbidden")
    assert len(forbidden) == len(refused)
    assert {r["actor"] for r in forbidden} == {"user:nobody"}
    assert all(r["agent"] is None for r in forbidden)


def test_a_non_reader_cannot_tell_which_agents_exist(api: TestClient, cast: Cast) -> None:
    nobody = cast.headers("user:nobody")
    existing = api.get("/v1/agents/alice-bot", headers=nobody)
    missing = api.get("/v1/agents/no-such-bot", headers=nobody)
    assert existing.status_code == missing.status_code == 403
    assert error_code(existing) == error_code(missing) == "forbidden"


def test_an_auditor_reads_everything_and_writes_nothing(
    api: TestClient, admin: Admin, cast: Cast
) -> None:
    auditor = cast.headers("user:audrey")
    reads = [
        "/v1/agents",
        "/v1/agents/alice-bot",
        "/v1/agents/alice-bot/tokens",
        "/v1/humans",
        "/v1/humans/user:alice",
        "/v1/humans/user:alice/tokens",
        "/v1/audit",
        "/v1/audit/verify",
        "/v1/audit/checkpoints",
        "/v1/audit/public-key",
    ]
    for url in reads:
        assert api.get(url, headers=auditor).status_code == 200, url
    assert len(api.get("/v1/agents", headers=auditor).json()["agents"]) == 2

    writes = [(method, url, body) for method, url, body in ADMIN_CALLS if method != "GET"] + [
        ("DELETE", f"/v1/tokens/{cast.token_ids['alice-bot']}", None),
        ("POST", f"/v1/tokens/{cast.token_ids['user:alice']}/rotate", None),
        ("POST", "/v1/agents/alice-bot/reinstate", None),
    ]
    for method, url, body in writes:
        response = call(api, auditor, method, url, body)
        assert response.status_code == 403, f"{method} {url}: {response.text}"
        assert error_code(response) == "forbidden"
    assert len(audit(api, admin, type="auth.forbidden")) == len(writes)
    tokens = api.get("/v1/agents/alice-bot/tokens", headers=admin.headers).json()
    assert [t["state"] for t in tokens] == ["active"]


def test_an_owner_runs_their_own_agent(api: TestClient, admin: Admin, cast: Cast) -> None:
    alice = cast.headers("user:alice")
    listed = api.get("/v1/agents", headers=alice).json()["agents"]
    assert [a["id"] for a in listed] == ["alice-bot"]
    assert api.get("/v1/agents/alice-bot", headers=alice).status_code == 200

    suspended = api.post("/v1/agents/alice-bot/suspend", json={"reason": "odd"}, headers=alice)
    assert suspended.status_code == 200
    assert suspended.json()["agent"]["status"] == "suspended"
    reinstated = api.post("/v1/agents/alice-bot/reinstate", headers=alice)
    assert reinstated.json()["agent"]["status"] == "active"

    issued = api.post("/v1/agents/alice-bot/tokens", json={"description": "ci"}, headers=alice)
    assert issued.status_code == 201
    new_id = issued.json()["credential"]["id"]
    assert issued.json()["credential"]["created_by"] == "user:alice"
    listed_tokens = api.get("/v1/agents/alice-bot/tokens", headers=alice).json()
    assert {t["id"] for t in listed_tokens} == {new_id, cast.token_ids["alice-bot"]}
    rotated = api.post(f"/v1/tokens/{new_id}/rotate", headers=alice)
    assert rotated.status_code == 201
    assert rotated.json()["credential"]["rotated_from"] == new_id
    revoked = api.delete(
        f"/v1/tokens/{cast.token_ids['alice-bot']}", params={"reason": "leak"}, headers=alice
    )
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["revoked_by"] == "user:alice"

    retired = api.post("/v1/agents/alice-bot/retire", headers=alice)
    assert retired.status_code == 200
    assert retired.json()["revoked_tokens"] == [rotated.json()["credential"]["id"]]
    events = [r["type"] for r in audit(api, admin, agent="alice-bot") if r["actor"] == "user:alice"]
    assert events == [
        "agent.suspended",
        "agent.reinstated",
        "token.issued",
        "token.rotated",
        "token.revoked",
        "agent.retired",
    ]


def test_an_owner_cannot_touch_another_owners_agent(
    api: TestClient, admin: Admin, cast: Cast
) -> None:
    alice = cast.headers("user:alice")
    attempts = [
        ("GET", "/v1/agents/bob-bot", None),
        ("POST", "/v1/agents/bob-bot/suspend", None),
        ("POST", "/v1/agents/bob-bot/retire", None),
        ("POST", "/v1/agents/bob-bot/tokens", None),
        ("GET", "/v1/agents/bob-bot/tokens", None),
        ("DELETE", f"/v1/tokens/{cast.token_ids['bob-bot']}", None),
        ("POST", f"/v1/tokens/{cast.token_ids['bob-bot']}/rotate", None),
        ("DELETE", f"/v1/tokens/{cast.token_ids['user:bob']}", None),
        # Owning an agent is not administering it.
        ("PATCH", "/v1/agents/alice-bot", {"owner": "user:bob"}),
        ("GET", "/v1/agents?owner=user:bob", None),
    ]
    for method, url, body in attempts:
        response = call(api, alice, method, url, body)
        if url.endswith("owner=user:bob"):
            # The filter is ignored for non-readers: they see only their own agents.
            assert [a["id"] for a in response.json()["agents"]] == ["alice-bot"]
            continue
        assert response.status_code == 403, f"{method} {url}: {response.text}"
        assert error_code(response) == "forbidden"
    assert len(audit(api, admin, type="auth.forbidden")) == len(attempts) - 1
    bob_bot = api.get("/v1/agents/bob-bot", headers=admin.headers).json()
    assert bob_bot["status"] == "active"
    assert api.get("/v1/whoami", headers=cast.headers("bob-bot")).status_code == 200


# -- unauthenticated: no valid token --------------------------------------------------


def _failures(api: TestClient, admin: Admin) -> list[dict[str, Any]]:
    return audit(api, admin, type="auth.failed")


def _assert_refused(
    api: TestClient, admin: Admin, headers: dict[str, str], code: str, *, secret: str | None
) -> dict[str, Any]:
    before = len(_failures(api, admin))
    response = api.get("/v1/whoami", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert error_code(response) == code
    assert secret is None or secret not in response.text
    failures = _failures(api, admin)
    assert len(failures) == before + 1
    record = failures[-1]
    assert record["actor"] == "anonymous"
    assert record["data"] == {"code": code, "where": "GET /v1/whoami"}
    assert secret is None or secret not in json.dumps(record)
    return record


def test_missing_and_malformed_tokens(api: TestClient, admin: Admin, cast: Cast) -> None:
    _assert_refused(api, admin, {}, "token_missing", secret=None)
    _assert_refused(api, admin, {"Authorization": "Bearer"}, "token_missing", secret=None)
    alice = cast.tokens["user:alice"]
    _assert_refused(api, admin, {"Authorization": f"Basic {alice}"}, "token_missing", secret=alice)
    for garbage in ("nonsense", "cht_short_secret", alice + "x", alice.upper(), "x" * 5000):
        record = _assert_refused(api, admin, bearer(garbage), "token_invalid", secret=garbage)
        assert record["subject"] is None


def test_an_unknown_token_or_a_wrong_secret(api: TestClient, admin: Admin, cast: Cast) -> None:
    alice = cast.tokens["user:alice"]
    prefix, public, secret = alice.split("_", 2)
    unknown = f"{prefix}_{'a' * 16}_{secret}"
    _assert_refused(api, admin, bearer(unknown), "token_invalid", secret=secret)
    forged = f"{prefix}_{public}_{'A' * len(secret)}"
    record = _assert_refused(api, admin, bearer(forged), "token_invalid", secret="A" * 43)
    assert record["subject"] is None  # a guessed id learns nothing either
    assert secret not in json.dumps(audit(api, admin))


def test_an_expired_token(api: TestClient, admin: Admin, cast: Cast, clock: ManualClock) -> None:
    issued = api.post(
        "/v1/agents/alice-bot/tokens", json={"ttl_seconds": 60}, headers=admin.headers
    ).json()
    token, token_id = issued["token"], issued["credential"]["id"]
    clock.advance(timedelta(seconds=59))
    assert api.get("/v1/whoami", headers=bearer(token)).status_code == 200
    clock.advance(timedelta(seconds=1))
    record = _assert_refused(api, admin, bearer(token), "token_expired", secret=secret_of(token))
    assert (record["subject"], record["agent"]) == (token_id, "alice-bot")
    listed = api.get("/v1/agents/alice-bot/tokens", headers=admin.headers).json()
    assert {t["id"]: t["state"] for t in listed}[token_id] == "expired"


def test_a_revoked_token(api: TestClient, admin: Admin, cast: Cast) -> None:
    token, token_id = cast.tokens["user:bob"], cast.token_ids["user:bob"]
    assert api.get("/v1/whoami", headers=bearer(token)).status_code == 200
    revoked = api.delete(f"/v1/tokens/{token_id}", headers=admin.headers)
    assert revoked.json()["state"] == "revoked"
    record = _assert_refused(api, admin, bearer(token), "token_revoked", secret=secret_of(token))
    assert (record["subject"], record["agent"]) == (token_id, None)
    # Revoking twice is a no-op, not an error.
    again = api.delete(f"/v1/tokens/{token_id}", headers=admin.headers)
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_no_audit_record_ever_holds_a_token(api: TestClient, admin: Admin, cast: Cast) -> None:
    for token in cast.tokens.values():
        api.get("/v1/whoami", headers=bearer(token + "x"))
    issued = api.post("/v1/agents/bob-bot/tokens", headers=admin.headers).json()["token"]
    dumped = json.dumps(audit(api, admin))
    for token in [*cast.tokens.values(), issued]:
        assert secret_of(token) not in dumped


# -- the kill switch and the lifecycle ------------------------------------------------


def test_suspend_reinstate_retire_an_agent(api: TestClient, admin: Admin, cast: Cast) -> None:
    agent = cast.headers("alice-bot")
    assert api.get("/v1/whoami", headers=agent).json()["kind"] == "agent"

    assert api.post("/v1/agents/alice-bot/suspend", headers=admin.headers).status_code == 200
    refused = api.get("/v1/whoami", headers=agent)
    assert refused.status_code == 401
    assert error_code(refused) == "agent_suspended"
    assert _failures(api, admin)[-1]["agent"] == "alice-bot"

    assert api.post("/v1/agents/alice-bot/reinstate", headers=admin.headers).status_code == 200
    assert api.get("/v1/whoami", headers=agent).json()["id"] == "alice-bot"

    second = api.post("/v1/agents/alice-bot/tokens", headers=admin.headers).json()
    retired = api.post(
        "/v1/agents/alice-bot/retire", json={"reason": "done"}, headers=admin.headers
    )
    assert retired.status_code == 200
    body = retired.json()
    assert body["agent"]["status"] == "retired"
    assert sorted(body["revoked_tokens"]) == sorted(
        [cast.token_ids["alice-bot"], second["credential"]["id"]]
    )
    for token in (cast.tokens["alice-bot"], second["token"]):
        response = api.get("/v1/whoami", headers=bearer(token))
        assert response.status_code == 401
        assert error_code(response) == "token_revoked"
    states = api.get("/v1/agents/alice-bot/tokens", headers=admin.headers).json()
    assert {t["state"] for t in states} == {"revoked"}
    record = audit(api, admin, type="agent.retired")[-1]
    assert record["data"]["reason"] == "done"
    assert sorted(record["data"]["revoked_tokens"]) == sorted(body["revoked_tokens"])


@pytest.mark.parametrize(
    ("moves", "refused"),
    [
        ([], "reinstate"),
        (["suspend"], "suspend"),
        (["retire"], "retire"),
        (["retire"], "reinstate"),
        (["retire"], "suspend"),
        (["suspend", "retire"], "reinstate"),
    ],
    ids=[
        "reinstate-active",
        "suspend-suspended",
        "retire-retired",
        "reinstate-retired",
        "suspend-retired",
        "reinstate-retired-after-suspension",
    ],
)
def test_an_impossible_move_is_a_conflict(
    api: TestClient, admin: Admin, cast: Cast, moves: list[str], refused: str
) -> None:
    for move in moves:
        assert api.post(f"/v1/agents/bob-bot/{move}", headers=admin.headers).status_code == 200
    before = api.get("/v1/agents/bob-bot", headers=admin.headers).json()
    records = len(audit(api, admin))
    response = api.post(f"/v1/agents/bob-bot/{refused}", headers=admin.headers)
    assert response.status_code == 409, response.text
    assert error_code(response) == "invalid_transition"
    assert api.get("/v1/agents/bob-bot", headers=admin.headers).json() == before
    assert len(audit(api, admin)) == records


def test_a_retired_agent_is_frozen(api: TestClient, admin: Admin, cast: Cast) -> None:
    assert api.post("/v1/agents/bob-bot/retire", headers=admin.headers).status_code == 200
    patch = api.patch("/v1/agents/bob-bot", json={"purpose": "again"}, headers=admin.headers)
    assert (patch.status_code, error_code(patch)) == (409, "agent_retired")
    token = api.post("/v1/agents/bob-bot/tokens", headers=admin.headers)
    assert (token.status_code, error_code(token)) == (409, "agent_retired")
    rotate = api.post(f"/v1/tokens/{cast.token_ids['bob-bot']}/rotate", headers=admin.headers)
    assert (rotate.status_code, error_code(rotate)) == (409, "token_revoked")


def test_a_suspended_agent_gets_no_new_tokens(api: TestClient, admin: Admin, cast: Cast) -> None:
    assert api.post("/v1/agents/bob-bot/suspend", headers=admin.headers).status_code == 200
    token = api.post("/v1/agents/bob-bot/tokens", headers=admin.headers)
    assert (token.status_code, error_code(token)) == (409, "agent_suspended")
    rotate = api.post(f"/v1/tokens/{cast.token_ids['bob-bot']}/rotate", headers=admin.headers)
    assert (rotate.status_code, error_code(rotate)) == (409, "agent_suspended")


def test_lifecycle_of_an_unknown_agent_is_not_found(api: TestClient, admin: Admin) -> None:
    for move in ("suspend", "reinstate", "retire"):
        response = api.post(f"/v1/agents/ghost-bot/{move}", headers=admin.headers)
        assert (response.status_code, error_code(response)) == (404, "agent_not_found")


# -- humans ---------------------------------------------------------------------------


def test_deactivating_a_human_answers_their_orphaned_agents(
    api: TestClient, admin: Admin, cast: Cast, services: Services
) -> None:
    services.agents.register(
        SYSTEM,
        agent_id="alice-old",
        display_name=None,
        owner="user:alice",
        purpose="retired already",
        risk_tier=RiskTier.LOW,
    )
    api.post("/v1/agents/alice-old/retire", headers=admin.headers)
    response = api.post(
        "/v1/humans/user:alice/deactivate", json={"reason": "left"}, headers=admin.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["human"]["active"] is False
    assert [a["id"] for a in body["orphaned_agents"]] == ["alice-bot"]
    assert body["revoked_tokens"] == [cast.token_ids["user:alice"]]

    refused = api.get("/v1/whoami", headers=cast.headers("user:alice"))
    assert error_code(refused) == "token_revoked"
    record = audit(api, admin, type="human.deactivated")[-1]
    assert record["data"]["orphaned_agents"] == ["alice-bot"]
    again = api.post("/v1/humans/user:alice/deactivate", headers=admin.headers)
    assert (again.status_code, error_code(again)) == (409, "human_inactive")
    token = api.post("/v1/humans/user:alice/tokens", headers=admin.headers)
    assert (token.status_code, error_code(token)) == (409, "human_inactive")
    owner = api.patch("/v1/agents/bob-bot", json={"owner": "user:alice"}, headers=admin.headers)
    assert (owner.status_code, error_code(owner)) == (409, "owner_inactive")

    back = api.patch("/v1/humans/user:alice", json={"active": True}, headers=admin.headers)
    assert back.json()["active"] is True
    no_off = api.patch("/v1/humans/user:alice", json={"active": False}, headers=admin.headers)
    assert (no_off.status_code, error_code(no_off)) == (422, "use_deactivate")


def test_the_last_admin_cannot_leave(api: TestClient, admin: Admin, cast: Cast) -> None:
    response = api.post("/v1/humans/user:admin/deactivate", headers=admin.headers)
    assert (response.status_code, error_code(response)) == (409, "last_admin")
    demote = api.patch("/v1/humans/user:admin", json={"roles": []}, headers=admin.headers)
    assert (demote.status_code, error_code(demote)) == (409, "last_admin")
    assert api.get("/v1/whoami", headers=admin.headers).json()["roles"] == ["admin"]


def test_duplicates_are_conflicts(api: TestClient, admin: Admin, cast: Cast) -> None:
    agent = api.post(
        "/v1/agents",
        json={"id": "alice-bot", "owner": "user:alice", "purpose": "x"},
        headers=admin.headers,
    )
    assert (agent.status_code, error_code(agent)) == (409, "agent_exists")
    human = api.post(
        "/v1/humans", json={"id": "user:alice", "email": "other@example.com"}, headers=admin.headers
    )
    assert human.status_code == 409
    email = api.patch(
        "/v1/humans/user:bob", json={"email": "alice@example.com"}, headers=admin.headers
    )
    assert email.status_code == 409
    unknown_owner = api.post(
        "/v1/agents",
        json={"id": "orphan-bot", "owner": "user:ghost", "purpose": "x"},
        headers=admin.headers,
    )
    assert (unknown_owner.status_code, error_code(unknown_owner)) == (422, "unknown_owner")


# -- the audit endpoints --------------------------------------------------------------


@pytest.fixture
def history(api: TestClient, admin: Admin, cast: Cast, clock: ManualClock) -> list[datetime]:
    """Three lifecycle moves an hour apart; returns the time of each."""
    times = []
    for url in (
        "/v1/agents/alice-bot/suspend",
        "/v1/agents/alice-bot/reinstate",
        "/v1/agents/bob-bot/suspend",
    ):
        times.append(clock.advance(timedelta(hours=1)))
        assert api.post(url, headers=admin.headers).status_code == 200
    return times


def test_audit_filters_by_agent_and_type(api: TestClient, admin: Admin, history: Any) -> None:
    everything = audit(api, admin)
    alice = audit(api, admin, agent="alice-bot")
    assert alice == [r for r in everything if r["agent"] == "alice-bot"]
    assert {r["type"] for r in alice} == {
        "agent.registered",
        "token.issued",
        "agent.suspended",
        "agent.reinstated",
    }
    moves = audit(api, admin, type=["agent.suspended", "agent.reinstated"])
    assert [(r["type"], r["agent"]) for r in moves] == [
        ("agent.suspended", "alice-bot"),
        ("agent.reinstated", "alice-bot"),
        ("agent.suspended", "bob-bot"),
    ]
    both = audit(api, admin, agent="bob-bot", type="agent.suspended")
    assert [r["seq"] for r in both] == [moves[2]["seq"]]
    assert audit(api, admin, type="no.such.type") == []
    assert audit(api, admin, agent="ghost-bot") == []


def test_audit_filters_by_time(api: TestClient, admin: Admin, history: list[datetime]) -> None:
    first, second, third = history
    window = audit(api, admin, since=first.isoformat(), until=second.isoformat())
    assert [r["type"] for r in window] == ["agent.suspended"]
    later = audit(api, admin, since=second.isoformat())
    assert [r["type"] for r in later] == ["agent.reinstated", "agent.suspended"]
    # The same instant written with another offset, and naive (taken as UTC).
    plus_two = third.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert [r["agent"] for r in audit(api, admin, since=plus_two)] == ["bob-bot"]
    naive = third.replace(tzinfo=None).isoformat()
    assert [r["agent"] for r in audit(api, admin, since=naive)] == ["bob-bot"]
    assert audit(api, admin, until=first.isoformat()) == [
        r for r in audit(api, admin) if r["at"] < first.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ]
    assert audit(api, admin, since=third.isoformat(), until=first.isoformat()) == []


def test_audit_pages_with_a_cursor(api: TestClient, admin: Admin, history: Any) -> None:
    everything = audit(api, admin)
    assert len(everything) > 7
    seqs: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = api.get("/v1/audit", params=params, headers=admin.headers).json()
        assert len(page["records"]) <= 3
        seqs += [r["seq"] for r in page["records"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seqs == [r["seq"] for r in everything] == sorted(set(seqs))
    assert pages >= 3
    # A cursor combines with filters.
    first = api.get(
        "/v1/audit", params={"limit": 1, "type": "agent.suspended"}, headers=admin.headers
    ).json()
    rest = audit(api, admin, type="agent.suspended", cursor=first["next_cursor"])
    assert [r["agent"] for r in first["records"] + rest] == ["alice-bot", "bob-bot"]


def test_audit_follows_after_a_sequence_number(api: TestClient, admin: Admin, history: Any) -> None:
    everything = audit(api, admin)
    middle = everything[len(everything) // 2]["seq"]
    assert [r["seq"] for r in audit(api, admin, after=middle)] == [
        r["seq"] for r in everything if r["seq"] > middle
    ]
    assert audit(api, admin, after=everything[-1]["seq"]) == []
    assert audit(api, admin, after=-1) == everything
    both = api.get("/v1/audit", params={"after": 1, "cursor": "MQ"}, headers=admin.headers)
    assert both.status_code == 422
    assert both.json()["error"]["code"] == "cursor_and_after"


def test_audit_records_are_sealed(api: TestClient, admin: Admin, history: Any) -> None:
    for record in audit(api, admin):
        assert set(record) == {
            "v",
            "seq",
            "at",
            "type",
            "actor",
            "agent",
            "subject",
            "data",
            "leaf_hash",
            "tree_root",
        }
        assert len(record["leaf_hash"]) == len(record["tree_root"]) == 64


def test_verify_reports_an_intact_log(api: TestClient, admin: Admin, history: Any) -> None:
    report = api.get("/v1/audit/verify", headers=admin.headers)
    assert report.status_code == 200
    body = report.json()
    records = audit(api, admin)
    assert body["ok"] is True
    assert body["problem"] is None
    assert body["records"] == len(records)
    assert body["root"] == records[-1]["tree_root"]


def test_verify_finds_an_edited_record(
    api: TestClient, admin: Admin, history: Any, store: SqlStore
) -> None:
    target = audit(api, admin, type="agent.reinstated")[0]["seq"]
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE audit_records SET body = replace(body, 'admin', 'mallory') WHERE seq = :s"
            ),
            {"s": target},
        )
    body = api.get("/v1/audit/verify", headers=admin.headers).json()
    assert body["ok"] is False
    assert body["problem"]["seq"] == target


def test_checkpoints_are_signed_and_listed(
    api: TestClient, admin: Admin, history: Any, signing_key: Ed25519PrivateKey
) -> None:
    signed = api.post("/v1/audit/checkpoints", headers=admin.headers)
    assert signed.status_code == 201
    checkpoint = signed.json()
    assert checkpoint["tree_size"] == len(audit(api, admin))
    nothing_new = api.post("/v1/audit/checkpoints", headers=admin.headers)
    assert nothing_new.status_code == 201
    assert nothing_new.json() is None

    api.post("/v1/agents/bob-bot/reinstate", headers=admin.headers)
    later = api.post("/v1/audit/checkpoints", headers=admin.headers).json()
    listed = api.get("/v1/audit/checkpoints", headers=admin.headers).json()
    assert listed == [checkpoint, later]
    assert later["tree_size"] == checkpoint["tree_size"] + 1

    pem = api.get("/v1/audit/public-key", headers=admin.headers)
    assert pem.status_code == 200
    assert pem.headers["content-type"].startswith("text/plain")
    public_key = load_pem_public_key(pem.text.encode())
    assert isinstance(public_key, Ed25519PublicKey)
    assert public_key.public_bytes_raw() == signing_key.public_key().public_bytes_raw()
    for item in listed:
        at = datetime.strptime(item["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        message = checkpoint_message(
            item["tree_size"], bytes.fromhex(item["root"]), at, item["key_id"]
        )
        public_key.verify(bytes.fromhex(item["signature"]), message)
    report = api.get("/v1/audit/verify", headers=admin.headers).json()
    assert (report["ok"], report["checkpoints_verified"]) == (True, 2)


def test_a_server_without_a_signing_key(store: SqlStore, clock: ManualClock) -> None:
    services = Services.build(store, clock=clock)
    services.humans.add(
        SYSTEM, human_id="user:root", email="root@example.com", roles=[HumanRole.ADMIN]
    )
    headers = bearer(services.tokens.issue_for_human(SYSTEM, "user:root").token)
    with TestClient(create_app(services), raise_server_exceptions=False) as api:
        key = api.get("/v1/audit/public-key", headers=headers)
        assert (key.status_code, error_code(key)) == (404, "signing_key_missing")
        sign = api.post("/v1/audit/checkpoints", headers=headers)
        assert (sign.status_code, error_code(sign)) == (404, "signing_key_missing")
        assert api.get("/v1/audit/checkpoints", headers=headers).json() == []
        assert api.get("/v1/audit/verify", headers=headers).json()["ok"] is True


# -- probes ---------------------------------------------------------------------------


def test_health_and_readiness_need_no_token(api: TestClient) -> None:
    health = api.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert isinstance(health.json()["version"], str)
    ready = api.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "policy_revision": None})


def test_readiness_fails_on_a_store_that_is_not_set_up(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False)
    try:
        with TestClient(create_app(Services.build(store)), raise_server_exceptions=False) as api:
            ready = api.get("/readyz")
            assert (ready.status_code, error_code(ready)) == (503, "store_unavailable")
            assert api.get("/healthz").status_code == 200
    finally:
        store.close()
