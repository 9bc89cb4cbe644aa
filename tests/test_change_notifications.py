"""Other servers' changes are followed as they commit, on PostgreSQL (LISTEN/NOTIFY).

Two servers share one real PostgreSQL store. A change committed through one reaches the
other's memory through a notification, not the once-a-second refresh (which the tests
push out of reach): each test waits on the listener with a bound, never on a sleep.
SQLite has one server per store: the migration adds nothing there and no listener runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

import charter.server.app as server_app
from charter.identity.agents import LifecycleAction
from charter.identity.humans import HumanRole
from charter.server.app import create_app
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore, open_store
from charter.storage.sql.listen import ALL, ChangeListener, listener_for
from tests.helpers import add_human, agent_token, login, register

POLICY = """
apiVersion: charter/v1
kind: Role
metadata: {name: tidy}
spec:
  permissions:
    - {capability: do, actions: [files.clean], resources: ["tmp/**"]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: janitor-tidy}
spec: {role: tidy, agents: [janitor]}
"""
WALLED = (
    POLICY
    + """---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-cleaning}
spec:
  effect: deny
  match: {actions: [files.clean]}
"""
)
BOUND = 10.0
"""Seconds a test waits for a notification before failing."""


@pytest.fixture
def postgres_only(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("notifications are a PostgreSQL matter (SQLite: one server per store)")
    return database_url


@pytest.fixture
def no_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """The periodic refresh runs once an hour: only a notification can be in time."""
    monkeypatch.setattr(server_app, "_SWEEP_SECONDS", 3600.0)


@pytest.fixture
def replica(postgres_only: str, services: Services) -> Iterator[Services]:
    """A second server's services over the same store: its own engine and memory."""
    other = open_store(postgres_only, migrate=False)
    yield Services.build(other, clock=services.clock, signing_key=None)
    other.close()


@pytest.fixture
def janitor(services: Services) -> str:
    add_human(services, "user:alice")
    add_human(services, "user:pat", HumanRole.POLICY_ADMIN)
    register(services, "janitor", "user:alice")
    services.policies.apply(login(services, "user:pat"), {"p.yaml": POLICY})
    return agent_token(services, "janitor")


def _revision(services: Services) -> str | None:
    engine = services.policies.compiled.engine
    return engine.revision if engine else None


def test_an_apply_on_one_server_reaches_the_other_without_the_poll(
    services: Services, replica: Services, janitor: str, no_poll: None
) -> None:
    with TestClient(create_app(replica), raise_server_exceptions=False) as api:
        listener = api.app.state.listener  # type: ignore[attr-defined]
        assert isinstance(listener, ChangeListener)
        assert listener.wait_until(lambda: listener.listening, BOUND)
        before = _revision(replica)
        assert before is not None

        applied = services.policies.apply(login(services, "user:pat"), {"p.yaml": WALLED})
        assert applied.activated
        assert listener.wait_until(lambda: _revision(replica) == applied.revision, BOUND)

        # And a rollback made on the first server, the same way.
        services.policies.rollback(login(services, "user:pat"), before)
        assert listener.wait_until(lambda: _revision(replica) == before, BOUND)
    assert listener.listening is False  # stopped with the app


def test_a_leak_registered_on_one_server_reaches_the_other_without_the_poll(
    services: Services, postgres_only: str, signing_key: Ed25519PrivateKey, no_poll: None
) -> None:
    other = open_store(postgres_only, migrate=False)
    try:
        replica = Services.build(other, clock=services.clock, signing_key=signing_key)
        with TestClient(create_app(replica), raise_server_exceptions=False) as api:
            listener = api.app.state.listener  # type: ignore[attr-defined]
            assert listener.wait_until(lambda: listener.listening, BOUND)
            held = replica.secrets.leaks()  # read once: the replica now holds the registry
            add_human(services, "user:root", HumanRole.ADMIN)
            _leak, created = services.secrets.report(
                login(services, "user:root"), value="sk_live_51NOTAREALKEYq8w9e7r6t5y", note="t"
            )
            assert created
            assert listener.wait_until(lambda: replica.secrets.leaks() != held, BOUND)
            assert replica.secrets.leaks() == services.secrets.leaks()
    finally:
        other.close()


def test_every_writer_announces_revocations_and_status_changes(
    services: Services, store: SqlStore, janitor: str
) -> None:
    heard: list[str] = []
    listener = listener_for(store, heard.append)
    if listener is None:
        assert store.backend == "sqlite"
        with store.engine.connect() as conn:
            triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'")
            assert triggers.all() == []
        return
    listener.start()
    try:
        assert listener.wait_until(lambda: heard[:1] == [ALL], BOUND)
        alice = login(services, "user:alice")
        services.agents.transition(alice, "janitor", LifecycleAction.SUSPEND, reason="x")
        assert listener.wait_until(lambda: "agents" in heard, BOUND)
        issued = services.tokens.issue_for_human(SYSTEM, "user:alice")
        tokens = heard.count("tokens")
        services.tokens.revoke(SYSTEM, issued.credential.id)
        assert listener.wait_until(lambda: heard.count("tokens") == tokens + 1, BOUND)
        # A plain write another server need not follow announces nothing (notifications
        # arrive in commit order, so none is late once the reinstatement is heard).
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE credentials SET last_used_at = now()"))
        services.agents.transition(alice, "janitor", LifecycleAction.REINSTATE, reason="y")
        assert listener.wait_until(lambda: heard.count("agents") == 2, BOUND)
        assert heard.count("tokens") == tokens + 1
    finally:
        listener.stop()
    assert not listener.listening


def test_notifications_of_another_schema_are_not_followed(
    services: Services, store: SqlStore, janitor: str, postgres_only: str
) -> None:
    heard: list[str] = []
    listener = listener_for(store, heard.append)
    assert listener is not None
    listener.start()
    try:
        assert listener.wait_until(lambda: heard == [ALL], BOUND)
        with store.engine.begin() as conn:
            conn.execute(
                sa.text("SELECT pg_notify('charter_changes', :p)"),
                {"p": '{"schema": "somebody_else", "topic": "policy"}'},
            )
            conn.execute(
                sa.text("SELECT pg_notify('charter_changes', :p)"),
                {"p": "not json"},
            )
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
            conn.execute(
                sa.text("SELECT pg_notify('charter_changes', :p)"),
                {"p": f'{{"schema": "{schema}", "topic": "leaks"}}'},
            )
        assert listener.wait_until(lambda: "leaks" in heard, BOUND)
        assert heard == [ALL, "leaks"]
    finally:
        listener.stop()
