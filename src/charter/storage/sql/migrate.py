"""Bringing a database to the latest schema with Alembic, safely from many processes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = ["current_revision", "head_revision", "new_revision", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Any fixed number: every Charter process migrating one PostgreSQL database takes turns.
_ADVISORY_LOCK = 0x63686172


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Migrate the database behind ``engine`` to the latest revision."""
    config = _config()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK})
                conn.commit()


def head_revision() -> str | None:
    """The newest migration this version of Charter ships."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def new_revision(message: str, workdir: Path) -> Path | None:
    """Write the next migration: what ``schema.py`` has that the migrations do not yet
    build (Alembic's autogenerate against a SQLite database migrated to the head in
    ``workdir``). Returns its file, or None when there is nothing to migrate."""
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    if not slug:
        raise ValueError("a migration needs a message: what it changes, in a few words")
    engine = sa.create_engine(f"sqlite:///{workdir / 'charter.db'}")
    try:
        upgrade(engine)
        head = head_revision() or "0000"
        number = int(head.split("_", 1)[0]) + 1
        config = _config()
        config.set_main_option("file_template", "%%(rev)s")
        written: list[Path] = []
        with engine.connect() as conn:
            config.attributes["connection"] = conn
            script = command.revision(
                config,
                message,
                autogenerate=True,
                rev_id=f"{number:04d}_{slug}",
                process_revision_directives=_skip_if_empty,
            )
        for one in script if isinstance(script, list) else [script]:
            if one is not None:
                written.append(Path(one.path))
        return written[0] if written else None
    finally:
        engine.dispose()


def _skip_if_empty(context: object, revision: object, directives: list[Any]) -> None:
    if directives and directives[0].upgrade_ops.is_empty():
        directives[:] = []
