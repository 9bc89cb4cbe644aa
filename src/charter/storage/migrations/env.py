"""Alembic environment: Charter passes the connection in; there is no alembic.ini."""

from __future__ import annotations

from alembic import context

from charter.storage.sql.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Charter migrations run through charter.storage.sql.migrate.upgrade")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
