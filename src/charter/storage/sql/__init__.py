"""The SQL store: SQLite (embedded, WAL) or PostgreSQL, through SQLAlchemy Core."""

from charter.storage.sql.store import SqlStore, open_existing_store, open_store

__all__ = ["SqlStore", "open_existing_store", "open_store"]
