"""A table locked by another session (``LOCK TABLE ... IN ACCESS EXCLUSIVE MODE``) on
real PostgreSQL: concurrent decisions fail closed within the store's bound, together.

Concurrent decisions share one transaction (group commit). When the store does not
answer one of them, the others of its batch must not each wait for a whole bound in
turn: six decisions behind a locked ``credentials`` or ``agents`` table used to be
answered after 2.5 s, then all together after 15 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from charter.service import Services
from charter.storage.sql import SqlStore, open_store
from tests.helpers import agent_token, bearer
from tests.servers import Served
from tests.waiting import join_all

SLACK = 1.5
"""Seconds allowed on top of the bound (scheduling on a loaded machine)."""
CONCURRENT = 6
ROTATE_DEV = {"capability": "do", "action": "secrets.rotate", "resource": "vault/dev/db"}


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """The store at the product's default bounds, which this test measures."""
    opened = open_store(database_url, migrate=False)
    yield opened
    opened.close()


def _libpq(database_url: str) -> str:
    url = sa.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@pytest.mark.parametrize("table", ["credentials", "agents"])
def test_decisions_behind_a_locked_table_fail_closed_within_the_bound(
    database_url: str, store: SqlStore, services: Services, served: Served, table: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a table lock held by another session (SQLite: busy_timeout)")
    agent = bearer(agent_token(services, "secrets-scanner"))
    with httpx.Client(base_url=served.url, timeout=60) as client:
        warm = client.post("/v1/decisions", json=ROTATE_DEV, headers=agent)
        assert warm.status_code == 200, warm.text
        assert warm.json()["decision"] == "allow", warm.text
        answers: list[tuple[float, int, Any]] = []
        start = threading.Barrier(CONCURRENT + 1, timeout=30)

        def decide() -> None:
            with httpx.Client(base_url=served.url, timeout=60) as own:
                start.wait()
                began = time.monotonic()
                answer = own.post("/v1/decisions", json=ROTATE_DEV, headers=agent)
                answers.append((time.monotonic() - began, answer.status_code, answer.json()))

        with psycopg.connect(_libpq(database_url)) as locker:
            locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            threads = [threading.Thread(target=decide) for _ in range(CONCURRENT)]
            for thread in threads:
                thread.start()
            start.wait()
            join_all(threads, timeout=120)
            locker.rollback()
        assert len(answers) == CONCURRENT
        for seconds, status, body in answers:
            assert status == 503, body
            assert body["error"]["code"] == "store_unavailable", body
            assert seconds < store.bounds.timeout + SLACK, answers
        again = client.post("/v1/decisions", json=ROTATE_DEV, headers=agent)
        assert again.status_code == 200, again.text
        assert again.json()["decision"] == "allow", again.text
    assert services.audit.verify_store().ok
