"""An existing log migrates in place: its records become the default shard's, where they
were, and the store verifies before and after a shard is opened beside it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.audit.merkle import Frontier
from charter.audit.records import AuditEntry, seal
from charter.clock import ManualClock
from charter.service import SYSTEM, Services
from charter.storage.sql import open_store
from charter.storage.sql.migrate import MIGRATIONS, upgrade
from charter.storage.sql.schema import audit_records
from charter.storage.sql.store import create_sql_engine
from tests.helpers import BACKENDS, POSTGRES_URL

OLD = 6


@pytest.fixture(params=BACKENDS)
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated only up to 0013, before shards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        _to_0013(url)
        yield url
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite skipped: CHARTER_TEST_POSTGRES_URL is not set")
    schema = f"charter_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        parsed = sa.make_url(POSTGRES_URL)
        rendered = parsed.update_query_dict(
            {"options": f"-csearch_path={schema}"}
        ).render_as_string(hide_password=False)
        _to_0013(rendered)
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _to_0013(url: str) -> None:
    """Migrate to 0013 and write ``OLD`` records as Charter did then."""
    engine = create_sql_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    frontier = Frontier.empty()
    insert = sa.text(
        "INSERT INTO audit_records (seq, at, type, actor, agent_id, subject, body, leaf_hash,"
        " tree_root) VALUES (:seq, :at, :type, :actor, NULL, NULL, :body, :leaf, :root)"
    ).bindparams(sa.bindparam("at", type_=audit_records.c.at.type))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0013_replay_requests")
        for _ in range(OLD):
            entry = AuditEntry("test.old", "system", datetime(2026, 1, 1, tzinfo=UTC))
            record, frontier = seal(entry, frontier)
            conn.execute(
                insert,
                {
                    "seq": record.seq,
                    "at": record.at,
                    "type": record.type,
                    "actor": record.actor,
                    "body": record.body,
                    "leaf": record.leaf_hash.hex(),
                    "root": record.tree_root.hex(),
                },
            )
        conn.execute(
            sa.text("UPDATE audit_head SET size = :s, frontier = :f, root = :r"),
            {
                "s": frontier.size,
                "f": ",".join(part.hex() for part in frontier.hashes),
                "r": frontier.root().hex(),
            },
        )
        conn.commit()
    engine.dispose()


def test_an_old_log_migrates_in_place_and_shards_open_beside_it(old_url: str) -> None:
    engine = create_sql_engine(old_url)
    upgrade(engine)
    engine.dispose()
    clock, key = ManualClock(), Ed25519PrivateKey.generate()
    default = open_store(old_url, migrate=False)
    sharded = open_store(old_url, migrate=False, audit_shard="r1")
    try:
        services = Services.build(default, clock=clock, signing_key=key)
        with default.read() as unit:
            old = list(unit.audit.records())
        assert [(r.seq, r.shard, r.shard_index) for r in old] == [
            (seq, "", None) for seq in range(OLD)
        ]
        services.humans.add(SYSTEM, human_id="user:a", email="a@x.io")
        on_r1 = Services.build(sharded, clock=clock, signing_key=key)
        on_r1.humans.add(SYSTEM, human_id="user:b", email="b@x.io")
        services.humans.add(SYSTEM, human_id="user:c", email="c@x.io")
        assert services.audit.seal() is not None
        report = services.audit.verify_store()
        assert report.ok, report.problem
        shards = {shard["shard"]: shard["records"] for shard in report.shards}
        assert shards == {"": OLD + 2, "r1": 1}
    finally:
        default.close()
        sharded.close()
