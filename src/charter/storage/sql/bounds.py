"""Bounded waits on the store: every wait on the database gives up in time.

One setting, ``CHARTER_STORE_TIMEOUT`` (``timeout`` here), bounds how long a request
waits on a store that does not answer. Half of it is the budget of each single wait
(a pooled connection, a statement, a lock, a commit); a new connection gets at least
2 s (libpq counts whole seconds and never less than 2). A request facing a store that
does not answer therefore fails within ``max(timeout, 4 s)``: one check of a pooled
connection plus one attempt at a new one.

PostgreSQL enforces the statement and lock budgets itself (``statement_timeout``,
``lock_timeout``) and ends a transaction left idle for longer than the whole bound
(``idle_in_transaction_session_timeout``). A server that is frozen enforces nothing, so
the client bounds every wait on the socket as well: a connection whose wait expires is
closed (never reused half-way through a protocol exchange) and reported as a timeout,
which the pool treats as a lost connection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg

# psycopg raises this (an OperationalError) when a wait's timeout expires; it asks its
# callers to convert it to a public error, as ``_Bounded.wait`` does.
_WAIT_EXPIRED: type[psycopg.OperationalError] = psycopg.errors._WaitTimeout

__all__ = ["DEFAULT_TIMEOUT", "StoreBounds", "bounded_connection_class"]

DEFAULT_TIMEOUT = timedelta(seconds=5)
_MIN_CONNECT_SECONDS = 2


@dataclass(frozen=True, slots=True)
class StoreBounds:
    """The waits derived from one store timeout."""

    timeout: float = DEFAULT_TIMEOUT.total_seconds()
    """Seconds: the longest a request waits on a store that does not answer."""

    @classmethod
    def of(cls, timeout: timedelta | None) -> StoreBounds:
        """Bounds for ``timeout`` (the default when None)."""
        return cls((timeout or DEFAULT_TIMEOUT).total_seconds())

    @property
    def wait(self) -> float:
        """Seconds one wait on the server may take (a statement, a lock, a commit)."""
        return self.timeout / 2

    @property
    def pool_wait(self) -> float:
        """Seconds a request waits for a pooled connection when all are in use."""
        return self.timeout / 2

    @property
    def connect(self) -> int:
        """Whole seconds a new connection may take (libpq's ``connect_timeout``)."""
        return max(_MIN_CONNECT_SECONDS, math.floor(self.timeout / 2))

    @property
    def request(self) -> float:
        """Seconds within which a request facing a silent store is answered."""
        return self.wait + self.connect

    def postgres_options(self) -> str:
        """Server-side limits, as libpq ``options``."""
        wait_ms = max(1, int(self.wait * 1000))
        idle_ms = max(1, int(self.timeout * 2000))
        return (
            f"-c statement_timeout={wait_ms} -c lock_timeout={wait_ms} "
            f"-c idle_in_transaction_session_timeout={idle_ms}"
        )

    def sqlite_busy_ms(self) -> int:
        """How long SQLite waits for another writer's lock, in milliseconds."""
        return max(1, int(self.timeout * 1000))


class _Bounded(psycopg.Connection[Any]):
    """A psycopg connection whose every wait on the server is bounded."""

    bound: float = DEFAULT_TIMEOUT.total_seconds() / 2

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None:  # the caller bounds this wait itself (notifies)
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.bound)
        except _WAIT_EXPIRED:
            # The server did not answer in time: the exchange is cut half-way, so the
            # connection cannot be used again.
            self.pgconn.finish()
            raise psycopg.errors.ConnectionTimeout(
                f"the database did not answer within {self.bound:g}s"
            ) from None


def bounded_connection_class(bounds: StoreBounds) -> type[psycopg.Connection[Any]]:
    """A psycopg connection class whose waits are bounded by ``bounds``."""
    return type("BoundedConnection", (_Bounded,), {"bound": bounds.wait})
