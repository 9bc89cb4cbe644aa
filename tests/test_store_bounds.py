"""Bounded waits on the store, on real SQLite and real PostgreSQL.

One setting (``CHARTER_STORE_TIMEOUT``) bounds every wait: a store that is locked by
another writer, has no connection to spare or refuses connections gives
``503 store_unavailable`` within the bound, never a 500 and never a hang; ``charter
serve`` with an unreachable store says so in one line, retries, then gives up in one
line. (A frozen PostgreSQL is ``test_frozen_store.py``.)
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.errors import InvalidInput, Unavailable
from charter.identity.humans import HumanRole
from charter.server.app import create_app
from charter.service import SYSTEM, Services
from charter.settings import Settings
from charter.storage.keyfile import create_signing_key
from charter.storage.sql import SqlStore, open_store
from charter.storage.sql.bounds import StoreBounds
from charter.storage.sql.store import create_sql_engine
from tests.helpers import add_human, bearer
from tests.servers import free_port

SLACK = 1.5
"""Seconds allowed on top of a bound (scheduling on a loaded machine)."""


def test_the_store_timeout_is_one_setting() -> None:
    settings = Settings.from_env(
        {"CHARTER_STORE_TIMEOUT": "8s", "CHARTER_STORE_CONNECT_RETRY": "2m"}
    )
    assert settings.store_timeout == timedelta(seconds=8)
    assert settings.store_connect_retry == timedelta(minutes=2)
    assert Settings().store_timeout == timedelta(seconds=5)
    assert Settings().store_connect_retry == timedelta(seconds=30)
    for bad in ("5", "0s", "-1s", "1.5s", "soon"):
        with pytest.raises(InvalidInput) as refused:
            Settings.from_env({"CHARTER_STORE_TIMEOUT": bad})
        assert refused.value.code == "invalid_duration"


def test_every_wait_derives_from_the_store_timeout() -> None:
    bounds = StoreBounds.of(timedelta(seconds=8))
    assert (bounds.wait, bounds.pool_wait, bounds.connect, bounds.request) == (4, 4, 4, 8)
    assert bounds.postgres_options() == (
        "-c statement_timeout=4000 -c lock_timeout=4000"
        " -c idle_in_transaction_session_timeout=16000"
    )
    assert bounds.sqlite_busy_ms() == 8000
    # libpq gives a connection at least 2 s: the bound is never under 4 s.
    assert StoreBounds.of(timedelta(seconds=1)).request == 2.5
    assert StoreBounds().timeout == 5


def test_the_server_side_limits_are_set_on_every_connection(database_url: str) -> None:
    store = open_store(database_url, migrate=False)  # the default bounds
    try:
        _assert_default_limits(store)
    finally:
        store.close()


def _assert_default_limits(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        if store.backend == "sqlite":
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
            return
        settings = {
            name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        }
        # The URL's own options (the test schema's search_path) are kept.
        assert (
            conn.exec_driver_sql("SELECT current_schema()").scalar_one().startswith("charter_test_")
        )
    assert settings == {
        "statement_timeout": "2500ms",
        "lock_timeout": "2500ms",
        "idle_in_transaction_session_timeout": "10s",
    }


def _bounded(database_url: str, seconds: int) -> tuple[SqlStore, Services, dict[str, str]]:
    store = open_store(database_url, migrate=False, bounds=StoreBounds(float(seconds)))
    services = Services.build(store, clock=ManualClock())
    add_human(services, "user:root", HumanRole.ADMIN)
    token = services.tokens.issue_for_human(SYSTEM, "user:root").token
    return store, services, bearer(token)


def test_a_store_with_no_connection_to_spare_answers_503_in_time(database_url: str) -> None:
    store, services, root = _bounded(database_url, 1)
    held = [store.engine.connect() for _ in range(16)]  # every pooled connection, busy
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as api:
            started = time.monotonic()
            answer = api.get("/v1/whoami", headers=root)
            took = time.monotonic() - started
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "store_unavailable"
            assert took < store.bounds.pool_wait + SLACK
            started = time.monotonic()
            with pytest.raises(Unavailable) as refused:
                services.humans.add(SYSTEM, human_id="user:x", email="x@x.test")
            assert refused.value.code == "store_unavailable"
            assert time.monotonic() - started < store.bounds.pool_wait + SLACK
            assert api.get("/healthz").status_code == 200
            for conn in held:
                conn.close()
            held = []
            assert api.get("/v1/whoami", headers=root).status_code == 200  # recovered
    finally:
        for conn in held:
            conn.close()
        store.close()


def test_a_write_behind_another_writer_gives_up_in_time_on_sqlite(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's database lock (PostgreSQL: lock_timeout, tested above)")
    store, services, root = _bounded(database_url, 1)
    other = sqlite3.connect(sa.make_url(database_url).database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as api:
            started = time.monotonic()
            answer = api.post(
                "/v1/humans", json={"id": "user:y", "email": "y@x.test"}, headers=root
            )
            took = time.monotonic() - started
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "store_unavailable"
            assert took < store.bounds.timeout + SLACK
            other.execute("ROLLBACK")
            again = api.post("/v1/humans", json={"id": "user:y", "email": "y@x.test"}, headers=root)
            assert again.status_code == 201, again.text
    finally:
        other.close()
        store.close()


def _refusing_url() -> str:
    return f"postgresql+psycopg://charter@127.0.0.1:{free_port()}/charter"


def test_a_store_that_refuses_connections_answers_503_not_500() -> None:
    with pytest.raises(Unavailable) as refused:
        open_store(_refusing_url(), bounds=StoreBounds(2.0))
    assert refused.value.code == "store_unavailable"

    store = SqlStore(create_sql_engine(_refusing_url(), StoreBounds(2.0)), StoreBounds(2.0))
    services = Services.build(store, clock=ManualClock())
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as api:
            assert api.get("/healthz").status_code == 200
            for answer in (
                api.get("/readyz"),
                api.get("/v1/whoami", headers=bearer("chr_" + "a" * 40)),
                api.post(
                    "/v1/decisions",
                    json={"capability": "do", "action": "files.clean", "resource": "tmp/a"},
                    headers=bearer("chr_" + "a" * 40),
                ),
            ):
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"]["code"] == "store_unavailable"
                assert "Traceback" not in answer.text
    finally:
        store.close()


def test_serve_says_once_that_the_store_is_unreachable_then_gives_up(tmp_path: Path) -> None:
    create_signing_key(tmp_path / "audit-signing.key")
    env = {
        **os.environ,
        "CHARTER_DATA_DIR": str(tmp_path),
        "CHARTER_DATABASE_URL": _refusing_url(),
        "CHARTER_STORE_CONNECT_RETRY": "2s",
        "CHARTER_STORE_TIMEOUT": "2s",
        "CHARTER_PORT": str(free_port()),
    }
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", "from charter.cli.main import main; main()", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    took = time.monotonic() - started
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 2, run.stderr
    assert lines[0].startswith("charter serve: the store cannot be reached (")
    assert lines[0].endswith("retrying for up to 2s")
    assert lines[1].startswith("charter serve: gave up, the store could not be reached within 2s")
    assert lines[1].endswith("[store_unavailable]")
    assert "Traceback" not in run.stderr
    assert "refused" in lines[0].lower()
    assert 2 <= took < 2 + 15  # retried for the configured time (plus start-up)


def test_a_connection_handed_back_after_the_store_closed_is_closed(database_url: str) -> None:
    # Work that outlives the store (a request or a background pass still running while
    # its server stops) hands its connection back to a pool nobody uses any more: the
    # store closes it then, rather than leave it open for the garbage collector.
    store = open_store(database_url, migrate=False)
    with store.read() as unit:
        raw = unit.connection.connection.dbapi_connection
        assert raw is not None
        store.close()
        raw.cursor().close()  # still in use until handed back
    with pytest.raises((sqlite3.ProgrammingError, psycopg.OperationalError)):
        raw.cursor()
