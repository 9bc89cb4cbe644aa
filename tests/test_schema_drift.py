"""The migrations and ``storage/sql/schema.py`` describe the same schema.

Alembic compares the database the migrations built with the metadata the store's
queries use, on SQLite and on PostgreSQL; any difference (a column, a type, an index,
a nullable) fails here rather than in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from charter.storage.sql.migrate import MIGRATIONS, new_revision
from charter.storage.sql.schema import metadata


def _differences(url: str) -> list[object]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_the_migrations_build_the_schema_the_store_uses(database_url: str) -> None:
    assert _differences(database_url) == []


def test_a_drift_is_seen(database_url: str) -> None:
    """The comparison can fail: a column the metadata lacks is reported."""
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE agents ADD COLUMN drifted INTEGER"))
    engine.dispose()
    found = _differences(database_url)
    assert any("drifted" in repr(difference) for difference in found), found


@pytest.fixture(autouse=True)
def _quiet_alembic(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="alembic")


def test_make_migration_writes_nothing_when_they_agree(tmp_path: Path) -> None:
    versions = sorted(MIGRATIONS.joinpath("versions").glob("*.py"))
    assert new_revision("nothing to change", tmp_path) is None
    assert sorted(MIGRATIONS.joinpath("versions").glob("*.py")) == versions


def test_a_migration_needs_a_message(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a message"):
        new_revision(" ?! ", tmp_path)
