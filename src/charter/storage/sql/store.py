"""Opening the SQL store: engine set-up per backend, units of work, migrations.

SQLite runs in WAL mode with foreign keys on. Its driver is put in autocommit mode so
that Charter issues ``BEGIN IMMEDIATE`` itself for write transactions: a writer takes
the database's write lock up front instead of failing half-way on upgrade, and readers
are never blocked. PostgreSQL runs at READ COMMITTED; a write transaction takes the
audit head's row lock first, so writers take turns in the log's order and never deadlock.

Every wait on the store is bounded (``charter.storage.sql.bounds``); a store that does
not answer in time, refuses connections or has no connection to spare raises
``Unavailable`` (``store_unavailable``), never a driver error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from charter.codes import ErrorCode
from charter.errors import StoreError, Unavailable
from charter.storage.sql.approvals import SqlApprovalStore, SqlGrantStore
from charter.storage.sql.audit import SqlAuditStore, open_shard
from charter.storage.sql.bounds import StoreBounds, bounded_connection_class
from charter.storage.sql.identity import SqlAgentStore, SqlCredentialStore, SqlHumanStore
from charter.storage.sql.policy import SqlPolicyStore
from charter.storage.sql.replays import SqlReplayStore
from charter.storage.sql.reviews import SqlReviewStore
from charter.storage.sql.secrets import SqlAdvisoryStore, SqlLeakStore
from charter.storage.sql.sessions import SqlSessionStore
from charter.storage.sql.usage import SqlUsageStore, UsageSamples
from charter.storage.sql.webhooks import SqlWebhookStore

__all__ = [
    "SqlStore",
    "SqlUnitOfWork",
    "create_sql_engine",
    "open_existing_store",
    "open_store",
    "store_unavailable",
]

_WRITE = "charter_write"

log = logging.getLogger("charter.store")


@dataclass(slots=True)
class SqlUnitOfWork:
    """Every store, sharing one connection and one transaction."""

    connection: Connection
    agents: SqlAgentStore
    humans: SqlHumanStore
    credentials: SqlCredentialStore
    audit: SqlAuditStore
    policies: SqlPolicyStore
    approvals: SqlApprovalStore
    grants: SqlGrantStore
    leaks: SqlLeakStore
    advisories: SqlAdvisoryStore
    webhooks: SqlWebhookStore
    sessions: SqlSessionStore
    usage: SqlUsageStore
    reviews: SqlReviewStore
    replays: SqlReplayStore

    @classmethod
    def on(
        cls, conn: Connection, samples: UsageSamples | None = None, audit_shard: str = ""
    ) -> SqlUnitOfWork:
        """Bind every repository to ``conn`` (``samples``: the usage samples the store
        knows; ``audit_shard``: the audit shard this store appends to)."""
        return cls(
            connection=conn,
            agents=SqlAgentStore(conn),
            humans=SqlHumanStore(conn),
            credentials=SqlCredentialStore(conn),
            audit=SqlAuditStore(conn, audit_shard),
            policies=SqlPolicyStore(conn),
            approvals=SqlApprovalStore(conn),
            grants=SqlGrantStore(conn),
            leaks=SqlLeakStore(conn),
            advisories=SqlAdvisoryStore(conn),
            webhooks=SqlWebhookStore(conn),
            sessions=SqlSessionStore(conn),
            usage=SqlUsageStore(conn, samples),
            reviews=SqlReviewStore(conn),
            replays=SqlReplayStore(conn),
        )


_UNREACHABLE = (OperationalError, PoolTimeout)
"""Driver and pool errors that mean the store did not answer, refused or had no
connection to spare (timeouts, lost connections, lock and statement limits)."""


def store_unavailable(error: SQLAlchemyError) -> Unavailable:
    """The ``Unavailable`` error a store that did not answer ``error`` is reported as."""
    if isinstance(error, PoolTimeout):
        detail = "no connection to the store was free in time"
    else:
        detail = " ".join(str(getattr(error, "orig", None) or error).split())
    log.info("store unavailable: %s", detail[:500])
    return Unavailable(
        "the store did not answer in time or cannot be reached",
        code=ErrorCode.STORE_UNAVAILABLE,
        help="retry shortly; the server's log says why",
    )


def _unreachable(error: BaseException) -> bool:
    if isinstance(error, _UNREACHABLE):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _configure_sqlite(engine: Engine, bounds: StoreBounds) -> None:
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={bounds.sqlite_busy_ms()}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _configure_postgres(engine: Engine, bounds: StoreBounds) -> None:
    connection_class = bounded_connection_class(bounds)

    @sa.event.listens_for(engine, "do_connect")
    def on_connect(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        # The URL may carry options of its own (a search_path): the limits are added.
        given = cparams.get("options") or ""
        cparams["options"] = f"{given} {bounds.postgres_options()}".strip()
        cparams["connect_timeout"] = bounds.connect
        return connection_class.connect(*cargs, **cparams)


def create_sql_engine(url: str, bounds: StoreBounds | None = None) -> Engine:
    """Create an engine for ``url`` with Charter's per-backend settings and waits bounded
    by ``bounds`` (the default store timeout when None)."""
    bounds = bounds or StoreBounds()
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"invalid database URL: {exc}", code=ErrorCode.INVALID_DATABASE_URL
        ) from None
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": bounds.timeout},
            hide_parameters=True,  # errors are logged: no statement's values in them
            pool_size=8,
            max_overflow=8,
            pool_timeout=bounds.pool_wait,
        )
        _configure_sqlite(engine, bounds)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # Pre-ping: a connection lost while the database was away is replaced, not used.
        engine = sa.create_engine(
            parsed,
            pool_pre_ping=True,
            hide_parameters=True,  # errors are logged: no statement's values in them
            pool_size=8,
            max_overflow=8,
            pool_timeout=bounds.pool_wait,
        )
        _configure_postgres(engine, bounds)
        return engine
    raise StoreError(
        f"unsupported database {parsed.get_backend_name()!r}",
        code=ErrorCode.INVALID_DATABASE_URL,
        help="use sqlite:///path/charter.db or postgresql+psycopg://user@host/db",
    )


class SqlStore:
    """The SQL implementation of ``charter.storage.Store``."""

    def __init__(
        self, engine: Engine, bounds: StoreBounds | None = None, *, audit_shard: str = ""
    ) -> None:
        self.engine = engine
        self.bounds = bounds or StoreBounds()
        self.audit_shard = audit_shard
        """The audit shard this store appends to ("": the default log)."""
        self._samples = UsageSamples()
        self._closed = False
        sa.event.listen(engine, "checkin", self._checked_in)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def _unit(self, *, write: bool, deciding: bool = False) -> Iterator[SqlUnitOfWork]:
        try:
            with self._transaction(write=write, deciding=deciding) as unit:
                yield unit
        except SQLAlchemyError as error:
            if not _unreachable(error):
                raise
            raise store_unavailable(error) from error

    @contextmanager
    def _transaction(self, *, write: bool, deciding: bool = False) -> Iterator[SqlUnitOfWork]:
        with self.engine.connect() as conn:
            options: dict[str, Any] = {_WRITE: write}
            if not write and conn.dialect.name == "postgresql":
                # A read sees one snapshot, so a verification reads a log that holds still.
                options["isolation_level"] = "REPEATABLE READ"
            conn.execution_options(**options)
            with conn.begin():
                unit = SqlUnitOfWork.on(conn, self._samples, self.audit_shard)
                if write and conn.dialect.name == "postgresql":
                    # Writers take turns at the audit head before any other lock, so two
                    # writers never hold each other's rows (a decision using an approval,
                    # a suspension voiding it); SQLite's BEGIN IMMEDIATE does the same.
                    # Writers of different audit shards take different heads, and take
                    # turns with each other's changes (not decisions) on the order row
                    # first (docs/scaling.md).
                    unit.audit.head(lock=True, deciding=deciding)
                yield unit
                unit.usage.flush()  # the uses noted, one row per permission
                unit.replays.flush()  # the requests kept for replay, one insert
                unit.audit.flush()  # the records appended, written before the commit
            unit.usage.committed()

    @contextmanager
    def write(self, *, deciding: bool = False) -> Iterator[SqlUnitOfWork]:
        """A read-write transaction that commits on success and rolls back on error.
        ``deciding``: it only records decisions, which need not wait for other audit
        shards' decisions (changes of any other kind still do)."""
        with self._unit(write=True, deciding=deciding) as unit:
            yield unit

    @contextmanager
    def read(self) -> Iterator[SqlUnitOfWork]:
        """A read-only transaction over one consistent snapshot."""
        with self._unit(write=False) as unit:
            yield unit

    def open_audit_shard(self) -> None:
        """Create this store's audit shard's head if it is new, in a transaction of its
        own, so readers know of the shard before its first record."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                open_shard(conn, self.audit_shard)

    def ping(self) -> None:
        """Raise ``Unavailable`` if the store cannot be reached or is not migrated."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{_WRITE: False})
                with conn.begin():
                    conn.exec_driver_sql("SELECT size FROM audit_head")
        except SQLAlchemyError as exc:
            if _unreachable(exc):
                raise store_unavailable(exc) from exc
            raise Unavailable(
                "the store is not reachable or not initialised", code=ErrorCode.STORE_UNAVAILABLE
            ) from exc

    def close(self) -> None:
        """Release every connection: those in the pool now, and those that work still
        running when the store closed (a request or a background pass finishing while
        its server stops) hands back later."""
        self._closed = True
        self.engine.dispose()

    def _checked_in(self, dbapi_connection: Any, _record: Any) -> None:
        # After close, the pool that takes a connection back is no longer used: close
        # it here rather than leave it open for the garbage collector.
        if self._closed and dbapi_connection is not None:
            dbapi_connection.close()


def open_store(
    url: str,
    *,
    migrate: bool = True,
    bounds: StoreBounds | None = None,
    audit_shard: str = "",
) -> SqlStore:
    """Open the store at ``url``, bringing its schema to the latest migration
    (``audit_shard``: append audit records to that shard, opened if new)."""
    from charter.storage.sql.migrate import upgrade

    bounds = bounds or StoreBounds()
    store = SqlStore(create_sql_engine(url, bounds), bounds, audit_shard=audit_shard)
    try:
        if migrate:
            upgrade(store.engine)
        if audit_shard:
            store.open_audit_shard()
    except SQLAlchemyError as error:
        store.close()
        if not _unreachable(error):
            raise
        raise store_unavailable(error) from error
    return store


def open_existing_store(url: str, *, bounds: StoreBounds | None = None) -> SqlStore:
    """Open an initialised store without changing it: no file is created, nothing migrated."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (
        parsed.database and Path(parsed.database).is_file()
    ):
        raise StoreError(
            f"no Charter store at {parsed.database}",
            code=ErrorCode.STORE_NOT_INITIALISED,
            help="check --data-dir / CHARTER_DATABASE_URL, or run 'charter init'",
        )
    bounds = bounds or StoreBounds()
    store = SqlStore(create_sql_engine(url, bounds), bounds)
    try:
        store.ping()
    except Unavailable:
        store.close()
        raise StoreError(
            "the store is not reachable or is not a Charter store",
            code=ErrorCode.STORE_NOT_INITIALISED,
            help="check --data-dir / CHARTER_DATABASE_URL, or run 'charter init'",
        ) from None
    return store
