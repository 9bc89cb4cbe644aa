"""``charter.Client`` against the real server over real HTTP (uvicorn on loopback)."""

from __future__ import annotations

import http.server
import inspect
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

import charter
from charter import (
    AsyncClient,
    AuthenticationError,
    CharterError,
    Client,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unavailable,
)
from charter.clock import ManualClock
from charter.identity.agents import AgentStatus, RiskTier
from charter.identity.credentials import CredentialState, PrincipalKind
from charter.identity.humans import HumanRole
from charter.settings import Settings
from charter.storage.sql import SqlStore
from tests.helpers import Admin
from tests.servers import serving_handler
from tests.test_sdk_reviews import REVIEW_CALLS

EXERCISED = {
    "close",
    "health",
    "whoami",
    "register_agent",
    "list_agents",
    "iter_agents",
    "get_agent",
    "update_agent",
    "suspend_agent",
    "reinstate_agent",
    "retire_agent",
    "issue_agent_token",
    "issue_human_token",
    "list_agent_tokens",
    "list_human_tokens",
    # Called for real in tests/test_usage.py.
    "agent_usage",
    "revoke_token",
    "rotate_token",
    "add_human",
    "list_humans",
    "get_human",
    "update_human",
    "deactivate_human",
    "query_audit",
    "iter_audit",
    "verify_audit",
    "sign_checkpoint",
    "list_checkpoints",
    "audit_public_key",
    "apply_policy",
    "diff_policy",
    "simulate_policy",  # tests/test_simulation.py
    "active_policy",
    "policy_revisions",
    "activate_policy",
    # Called for real in tests/test_analytics.py.
    "approval_stats",
    "investigate_agent",
    "investigate_agent_markdown",
    # Called for real in tests/test_webhooks.py.
    "add_webhook",
    "list_webhooks",
    "remove_webhook",
    "webhook_deliveries",
    # The server's address, for links (the framework adapters' console links).
    "url",
}
DECISION_SIDE = {
    "decide",
    "decide_batch",
    "reach",  # test_decisions_reach.py, and the gateway's tests (AsyncClient)
    "wait_for_approval",
    "list_approvals",
    "iter_approvals",
    "get_approval",
    "approve",
    "deny",
    "list_grants",
    "iter_grants",
    "revoke_grant",
}
SECRETS_SIDE = {"report_leak", "list_leaks", "iter_leaks", "scan"}
"""Exercised in test_secrets_api.py and test_secrets_scenarios.py."""
REVIEWS_SIDE = REVIEW_CALLS
"""Exercised in test_sdk_reviews.py."""
POSTURE_SIDE = {"posture", "mark_leak_rotated"}
"""Exercised in test_cli_posture.py."""
EVIDENCE_SIDE = {"audit_evidence", "compliance_report"}
"""Exercised through the CLI against a live server in test_evidence.py and
test_compliance.py."""
KEYS_SIDE = {"audit_key_chain"}
"""Exercised through ``charter audit keys --online`` in test_key_rotation.py."""


@pytest.fixture
def client(live_server: str, admin: Admin) -> Iterator[Client]:
    """The admin's client (a loaded CI machine can stall a request past the default 2 s)."""
    with Client(live_server, admin.token, timeout=10.0) as opened:
        yield opened


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_client_knows_its_server(live_server: str) -> None:
    with Client(live_server + "/") as client:
        assert client.url == live_server


@pytest.mark.anyio
async def test_an_async_client_knows_its_server(live_server: str) -> None:
    async with AsyncClient(live_server) as client:
        assert client.url == live_server


def test_every_public_method_is_exercised() -> None:
    public = {name for name in dir(Client) if not name.startswith("_")}
    # The decision, approval and grant calls are exercised in test_sdk_decisions.py and
    # test_sdk_approvals.py.
    sides = DECISION_SIDE | SECRETS_SIDE | REVIEWS_SIDE | POSTURE_SIDE | EVIDENCE_SIDE | KEYS_SIDE
    assert public == EXERCISED | sides


POLICY = """
apiVersion: charter/v1
kind: Role
metadata: {name: ticket-opener}
spec:
  permissions:
    - {capability: do, actions: [ticket.create], resources: ["ticketing/**"]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: triage-opens-tickets}
spec: {role: ticket-opener, agents: [triage]}
"""


def test_policy_revisions_round_trip(client: Client, clock: ManualClock) -> None:
    client.add_human("user:erin", email="erin@example.com")
    client.register_agent("triage", owner="user:erin", purpose="triage")
    assert client.active_policy() is None
    diff = client.diff_policy({"policy.yaml": POLICY})
    assert diff["changes"]["roles"]["added"] == ["ticket-opener"]
    first = client.apply_policy({"policy.yaml": POLICY})
    assert first.activated
    clock.advance(timedelta(minutes=1))  # revisions list newest first
    second = client.apply_policy({"policy.yaml": POLICY.replace("ticketing/**", "ticketing/*")})
    assert second.previous == first.revision
    assert [r["id"] for r in client.policy_revisions()] == [second.revision, first.revision]
    assert client.activate_policy(first.revision)["revision"] == first.revision
    active = client.active_policy()
    assert active is not None
    assert active["revision"] == first.revision
    assert active["files"] == {"policy.yaml": POLICY}


def test_health_and_identity(client: Client, admin: Admin) -> None:
    health = client.health()
    assert (health["status"], health["version"]) == ("ok", charter.__version__)
    me = client.whoami()
    assert (me.kind, me.id, me.roles) == (PrincipalKind.HUMAN, admin.id, [HumanRole.ADMIN])
    assert me.credential_id.startswith("tok_")


def test_the_registry_round_trip(client: Client, live_server: str, clock: ManualClock) -> None:
    alice = client.add_human(
        "user:alice",
        email="alice@example.com",
        display_name="Alice",
        groups=["support"],
        roles=["approver"],
    )
    assert (alice.display_name, alice.groups, alice.roles) == (
        "Alice",
        ["support"],
        [HumanRole.APPROVER],
    )
    client.add_human("user:bob", email="bob@example.com")
    assert client.get_human("user:alice") == alice
    assert [h.id for h in client.list_humans().humans] == ["user:admin", "user:alice", "user:bob"]
    updated_human = client.update_human("user:alice", roles=[HumanRole.AUDITOR], groups=[])
    assert (updated_human.roles, updated_human.groups) == ([HumanRole.AUDITOR], [])

    recertify = datetime(2027, 6, 1, 12, tzinfo=UTC)
    agent = client.register_agent(
        "support-bot",
        owner="user:alice",
        purpose="account recovery",
        risk_tier=RiskTier.HIGH,
        display_name="Support",
        labels={"team": "support"},
        recertify_by=recertify,
    )
    assert agent.status is AgentStatus.ACTIVE
    assert (agent.risk_tier, agent.labels, agent.recertify_by) == (
        RiskTier.HIGH,
        {"team": "support"},
        recertify,
    )
    assert client.get_agent("support-bot") == agent
    clock.advance(timedelta(minutes=5))
    changed = client.update_agent(
        "support-bot", owner="user:bob", risk_tier=RiskTier.LOW, recertify_by=recertify
    )
    assert (changed.owner, changed.risk_tier) == ("user:bob", RiskTier.LOW)
    assert changed.updated_at > agent.updated_at
    assert [a.id for a in client.list_agents(owner="user:bob").agents] == ["support-bot"]
    assert client.list_agents(status=AgentStatus.SUSPENDED).agents == []

    issued = client.issue_agent_token("support-bot", ttl=timedelta(hours=1), description="ci")
    assert issued.credential.expires_at == clock() + timedelta(hours=1)
    with Client(live_server, issued.token) as bot:
        assert bot.whoami().id == "support-bot"
        suspended = client.suspend_agent("support-bot", reason="odd")
        assert suspended.agent.status is AgentStatus.SUSPENDED
        with pytest.raises(AuthenticationError) as refused:
            bot.whoami()
        assert refused.value.code == "agent_suspended"
        assert client.reinstate_agent("support-bot").agent.status is AgentStatus.ACTIVE
        assert bot.whoami().id == "support-bot"

        rotated = client.rotate_token(issued.credential.id, ttl=timedelta(minutes=10))
        assert rotated.credential.rotated_from == issued.credential.id
        with pytest.raises(AuthenticationError) as old:
            bot.whoami()
        assert old.value.code == "token_revoked"
    states = {t.id: t.state for t in client.list_agent_tokens("support-bot")}
    assert states == {
        issued.credential.id: CredentialState.REVOKED,
        rotated.credential.id: CredentialState.ACTIVE,
    }
    revoked = client.revoke_token(rotated.credential.id, reason="done")
    assert revoked.state is CredentialState.REVOKED
    retired = client.retire_agent("support-bot", reason="replaced")
    assert retired.agent.status is AgentStatus.RETIRED
    assert retired.revoked_tokens == []

    human_token = client.issue_human_token("user:bob", ttl=timedelta(days=1))
    assert [t.id for t in client.list_human_tokens("user:bob")] == [human_token.credential.id]
    deactivated = client.deactivate_human("user:bob", reason="left")
    assert deactivated.human.active is False
    assert deactivated.orphaned_agents == []  # the only agent bob owned is retired
    assert deactivated.revoked_tokens == [human_token.credential.id]


def test_the_audit_calls(client: Client, clock: ManualClock) -> None:
    client.add_human("user:alice", email="alice@example.com")
    client.register_agent("audit-bot", owner="user:alice", purpose="x")
    clock.advance(timedelta(hours=1))
    client.suspend_agent("audit-bot")
    page = client.query_audit(agent="audit-bot", types=["agent.registered", "agent.suspended"])
    assert [r["type"] for r in page.records] == ["agent.registered", "agent.suspended"]
    assert page.next_cursor is None
    since = datetime.fromisoformat(page.records[1]["at"])
    assert [r["type"] for r in client.query_audit(since=since).records] == ["agent.suspended"]
    assert client.query_audit(until=since - timedelta(days=1)).records == []

    report = client.verify_audit()
    assert (report["ok"], report["records"]) == (True, len(client.query_audit().records))
    checkpoint = client.sign_checkpoint()
    assert checkpoint is not None
    assert checkpoint["tree_size"] == report["records"]
    assert client.sign_checkpoint() is None
    assert client.list_checkpoints() == [checkpoint]
    pem = client.audit_public_key()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_iterators_page_through_everything(client: Client) -> None:
    client.add_human("user:alice", email="alice@example.com")
    ids = [f"bot-{n:02d}" for n in range(7)]
    for agent_id in ids:
        client.register_agent(agent_id, owner="user:alice", purpose="paging")
    first = client.list_agents(limit=3)
    assert len(first.agents) == 3
    assert first.next_cursor is not None
    assert [a.id for a in client.iter_agents(limit=3)] == ids
    assert [a.id for a in client.iter_agents(limit=100)] == ids

    records = list(client.iter_audit(limit=2))
    everything = client.query_audit(limit=1000).records
    assert len(everything) > 4
    assert records == everything
    registered = list(client.iter_audit(types=["agent.registered"], limit=2))
    assert [r["agent"] for r in registered] == ids
    humans = client.list_humans(limit=1)
    assert len(humans.humans) == 1
    assert client.list_humans(cursor=humans.next_cursor).humans[0].id == "user:alice"


# -- errors ---------------------------------------------------------------------------


def test_errors_come_back_in_their_family_with_the_servers_code(
    client: Client, live_server: str
) -> None:
    client.add_human("user:alice", email="alice@example.com")
    client.register_agent("err-bot", owner="user:alice", purpose="x")
    agent_token = client.issue_agent_token("err-bot").token

    with pytest.raises(NotFound) as missing:
        client.get_agent("no-such-bot")
    assert (missing.value.code, missing.value.message) == (
        "agent_not_found",
        "no agent 'no-such-bot'",
    )
    with pytest.raises(Conflict) as duplicate:
        client.register_agent("err-bot", owner="user:alice", purpose="x")
    assert duplicate.value.code == "agent_exists"
    with pytest.raises(Conflict) as transition:
        client.reinstate_agent("err-bot")
    assert transition.value.code == "invalid_transition"
    assert transition.value.help is not None
    with pytest.raises(InvalidInput) as invalid:
        client.register_agent("Not An Id", owner="user:alice", purpose="x")
    assert invalid.value.code == "invalid_request"
    with pytest.raises(InvalidInput) as unknown_owner:
        client.register_agent("ok-bot", owner="user:ghost", purpose="x")
    assert unknown_owner.value.code == "unknown_owner"
    with pytest.raises(InvalidInput) as bad_cursor:
        client.list_agents(cursor="!!!")
    assert bad_cursor.value.code == "invalid_cursor"
    with pytest.raises(PayloadTooLarge) as too_big:
        client.register_agent(
            "big-bot", owner="user:alice", purpose="x" * (Settings().max_body_bytes + 1)
        )
    assert too_big.value.code == "payload_too_large"

    with Client(live_server, agent_token) as bot:
        with pytest.raises(PermissionDenied) as forbidden:
            bot.list_humans()
        assert forbidden.value.code == "forbidden"
        assert forbidden.value.help is not None
    with Client(live_server) as anonymous:
        with pytest.raises(AuthenticationError) as no_token:
            anonymous.whoami()
        assert no_token.value.code == "token_missing"
        assert no_token.value.help == "send 'Authorization: Bearer <token>'"
        assert anonymous.health()["status"] == "ok"
    with Client(live_server, "cht_nonsense") as stranger:
        with pytest.raises(AuthenticationError) as bad_token:
            stranger.whoami()
        assert bad_token.value.code == "token_invalid"
    for error in (missing, duplicate, invalid, too_big, forbidden, no_token):
        assert isinstance(error.value, CharterError)


@pytest.mark.parametrize(
    "bad_id",
    ["../humans", "../../healthz", "x/../../humans/user:admin", "..", ".", "a/b", "bot?limit=1"],
)
def test_an_id_cannot_steer_a_call_elsewhere(client: Client, bad_id: str) -> None:
    client.add_human("user:alice", email="alice@example.com")
    client.register_agent("victim-bot", owner="user:alice", purpose="x")
    calls: list[Callable[[], object]] = [
        lambda: client.get_agent(bad_id),
        lambda: client.suspend_agent(bad_id),
        lambda: client.list_agent_tokens(bad_id),
        lambda: client.get_human(bad_id),
        lambda: client.deactivate_human(bad_id),
        lambda: client.revoke_token(bad_id),
    ]
    for call in calls:
        with pytest.raises((InvalidInput, NotFound)):
            call()
    assert client.get_agent("victim-bot").status is AgentStatus.ACTIVE
    assert client.get_human("user:alice").active is True


def test_a_server_error_is_unavailable(client: Client, store: SqlStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE audit_checkpoints"))
    with pytest.raises(Unavailable) as failed:
        client.sign_checkpoint()
    assert failed.value.code in {"store_unavailable", "internal_error"}


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, float | None]]:
    """Every request the SDK's own connection pool sends, as the timeouts it carries.

    No clock is read: a client that retried or waited past its bound shows here as more
    attempts or other timeouts, whatever the machine's speed.
    """
    sent: list[dict[str, float | None]] = []
    handle = httpx.HTTPTransport.handle_request

    def recording(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(dict(request.extensions["timeout"]))
        return handle(transport, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", recording)
    return sent


def _bounded_by(seconds: float) -> dict[str, float | None]:
    return {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}


def test_an_unreachable_server_is_unavailable_promptly(
    attempts: list[dict[str, float | None]],
) -> None:
    assert inspect.signature(Client).parameters["timeout"].default == 2.0
    url = f"http://127.0.0.1:{_closed_port()}"
    with Client(url, "cht_x") as client, pytest.raises(Unavailable) as unreachable:
        client.whoami()
    # One attempt, bounded by the default timeout: a refused connection is not retried.
    assert attempts == [_bounded_by(2.0)]
    assert unreachable.value.code == "unreachable"
    assert isinstance(unreachable.value, CharterError)


def test_a_server_that_never_answers_times_out(attempts: list[dict[str, float | None]]) -> None:
    with socket.socket() as listening:
        # Accepted by the kernel, never answered.
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        with Client(url, timeout=0.2) as client, pytest.raises(Unavailable) as slow:
            client.health()
        assert slow.value.code == "timeout"
        # It gave up after one attempt, on the bound it was given.
        assert attempts == [_bounded_by(0.2)]


class _NotCharter(http.server.BaseHTTPRequestHandler):
    """Some other web server: every path answers 200 with HTML."""

    def do_GET(self) -> None:
        body = b"<html><body>Welcome to nginx!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_charter() -> Iterator[str]:
    """A real HTTP server on loopback that is not Charter."""
    with serving_handler(_NotCharter) as url:
        yield url


def test_a_server_that_is_not_charter_is_unavailable(not_charter: str) -> None:
    with Client(not_charter, "cht_x") as client:
        for call in (client.health, client.whoami, client.list_agents, client.verify_audit):
            with pytest.raises(Unavailable) as wrong:
                call()
            assert wrong.value.code == "invalid_response"
