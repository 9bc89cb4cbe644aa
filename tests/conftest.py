"""Shared fixtures: one store fixture over real SQLite and real PostgreSQL.

PostgreSQL runs when ``CHARTER_TEST_POSTGRES_URL`` is set (CI sets it). If it is set but
the server cannot be reached, the session fails: a PostgreSQL suite that silently skips
in CI is worse than none. Without the variable, the PostgreSQL half is skipped and the
summary says so.
"""

from __future__ import annotations

import inspect
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from charter.policy.loader import read_files
from charter.server.app import create_app
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore, open_store
from charter.storage.sql.bounds import StoreBounds
from charter.storage.sql.migrate import upgrade
from charter.storage.sql.store import create_sql_engine
from tests.helpers import BACKENDS, PACK, PACK_OWNERS, POSTGRES_URL, Admin, bearer
from tests.scenes import Charter
from tests.servers import Served, serving


def pytest_configure(config: pytest.Config) -> None:
    if not POSTGRES_URL:
        return
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        raise pytest.UsageError(
            f"CHARTER_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {exc}"
        ) from exc


_LIVE_FIXTURES = frozenset({"live_server", "served", "browser"})
_LIVE_CALLS = ("serving(", "serving_handler(", "subprocess", "Popen", "run_cli(")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what ``make test-fast`` leaves out: tests on PostgreSQL (``postgres``) and
    tests that start a server or a process (``live``)."""
    live_source: dict[object, bool] = {}
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        if getattr(item, "callspec", None) and "postgres" in item.callspec.id.split("-"):
            item.add_marker(pytest.mark.postgres)
        function = item.function
        if function not in live_source:
            try:
                source = inspect.getsource(function)
            except (OSError, TypeError):
                source = ""
            live_source[function] = any(call in source for call in _LIVE_CALLS)
        if live_source[function] or _LIVE_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.live)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not POSTGRES_URL:
        terminalreporter.write_line(
            "NOTE: the PostgreSQL suite was SKIPPED (set CHARTER_TEST_POSTGRES_URL, e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test, to run it).",
            yellow=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "charter.db"
    engine = create_sql_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close folds the WAL into the file
    assert not path.with_name("charter.db-wal").exists()
    return path


def _postgres_schema_url(schema: str) -> str:
    assert POSTGRES_URL is not None
    url = sa.make_url(POSTGRES_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


PATIENT = StoreBounds(30.0)
"""The bounds of the shared store and of each test schema's migration: generous, so that
a stall of the loaded machine is not taken for a store that does not answer (the
product's 5 s gives each wait 2.5 s and a transaction left idle 10 s). The tests of the
bounds themselves open stores with the bounds they measure."""


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A fresh, migrated, empty database: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "charter.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite skipped: CHARTER_TEST_POSTGRES_URL is not set")
    schema = f"charter_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = _postgres_schema_url(schema)
    engine = create_sql_engine(url, PATIENT)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """The store under test, already migrated, with patient bounds."""
    opened = open_store(database_url, migrate=False, bounds=PATIENT)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock()


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    """A fresh audit signing key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def services(store: SqlStore, clock: ManualClock, signing_key: Ed25519PrivateKey) -> Services:
    """Every use case over the store under test, on the manual clock."""
    return Services.build(store, clock=clock, signing_key=signing_key)


@pytest.fixture
def admin(services: Services) -> Admin:
    """``user:admin`` with the admin role and a token."""
    services.humans.add(
        SYSTEM, human_id="user:admin", email="admin@example.com", roles=[HumanRole.ADMIN]
    )
    issued = services.tokens.issue_for_human(SYSTEM, "user:admin")
    return Admin("user:admin", issued.token)


@pytest.fixture
def api(services: Services) -> Iterator[TestClient]:
    """The real ASGI app over the store under test."""
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def live_server(services: Services) -> Iterator[str]:
    """The real app served by uvicorn on a loopback port; yields its base URL."""
    with serving(services) as served:
        yield served.url


@pytest.fixture
def pack(services: Services, admin: Admin, api: TestClient) -> None:
    """The example pack applied (its agents registered) by a policy admin."""
    for owner in PACK_OWNERS:
        services.humans.add(SYSTEM, human_id=owner, email=f"{owner[5:]}@example.com")
    services.humans.add(
        SYSTEM, human_id="user:pat", email="pat@example.com", roles=[HumanRole.POLICY_ADMIN]
    )
    token = services.tokens.issue_for_human(SYSTEM, "user:pat").token
    applied = api.post("/v1/policies", json={"files": read_files(PACK)}, headers=bearer(token))
    assert applied.status_code == 201, applied.text


@pytest.fixture
def enforcer(services: Services) -> dict[str, str]:
    """A gateway's account with the enforcer role: its authorization headers."""
    services.humans.add(
        SYSTEM, human_id="user:gateway", email="gw@example.com", roles=[HumanRole.ENFORCER]
    )
    return bearer(services.tokens.issue_for_human(SYSTEM, "user:gateway").token)


@pytest.fixture
def served(pack: None, services: Services) -> Iterator[Served]:
    """A live server, started after the example pack was applied (so it loads it)."""
    with serving(services) as running:
        yield running


@pytest.fixture
def charter(live_server: str, services: Services) -> Iterator[Charter]:
    client = Charter(live_server, services)
    yield client
    client.http.close()
