"""Following other servers' changes on PostgreSQL, as they commit (LISTEN/NOTIFY).

Migration 0007 makes every writer announce, on the ``charter_changes`` channel, the
changes other servers sharing the store must act on: an activated policy revision
(``policy``), a registered leak (``leaks``), a revoked token (``tokens``), an agent's
status (``agents``), a human's status or roles (``humans``). A ``ChangeListener`` holds
one dedicated connection in a daemon thread, and hands each topic announced for its own
schema to a callback; after every (re)connection it hands ``ALL`` (anything may have
changed while it was not listening). It reconnects by itself, every wait is bounded, and
``stop`` ends it within a fraction of a second.

Notifications make changes prompt; they are not what makes them correct (a decision
checks the active revision inside its own transaction), and the periodic refresh stays
as a fallback.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from charter.storage.sql.bounds import StoreBounds, bounded_connection_class

__all__ = ["ALL", "CHANNEL", "TOPICS", "ChangeListener", "listener_for"]

log = logging.getLogger("charter.store")

CHANNEL = "charter_changes"
TOPICS = ("policy", "leaks", "tokens", "agents", "humans")
ALL = "*"
"""The topic handed after (re)connecting: every cache should be checked."""

_POLL_SECONDS = 0.2
"""How long one wait for notifications lasts before the stop flag is looked at."""
_HEARTBEAT_SECONDS = 15.0
"""How often a silent connection is checked (a bounded query), to notice one lost."""
_MAX_BACKOFF = 5.0


class ChangeListener:
    """Listens for change notifications on the store of ``engine`` (PostgreSQL only)."""

    def __init__(
        self,
        engine: Engine,
        on_change: Callable[[str], None],
        *,
        bounds: StoreBounds | None = None,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("change notifications need PostgreSQL")
        self._bounds = bounds or StoreBounds()
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        self._cargs: list[Any] = list(cargs)
        self._cparams: dict[str, Any] = dict(cparams)
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self.handled = 0
        """How many topics were handed to the callback so far."""
        self.listening = False
        """True while a connection is listening."""

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start listening in a daemon thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="charter-listen", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening; returns once the thread has ended (or ``timeout`` passed)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._changed:
            self._changed.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds, woken after each topic handled, for
        ``predicate`` to hold; its last value."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    # -- the thread ----------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        params = dict(self._cparams, connect_timeout=self._bounds.connect, autocommit=True)
        connection_class = bounded_connection_class(self._bounds)
        return connection_class.connect(*self._cargs, **params)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    self._listen(conn)
                backoff = 0.5
            except psycopg.Error as error:
                log.warning("change notifications lost (%s); reconnecting", _first_line(error))
            except Exception:
                log.exception("change listener failed; reconnecting")
            finally:
                self._set_listening(False)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute("SELECT current_schema()").fetchone()
        schema = row[0] if row else None
        conn.execute(f"LISTEN {CHANNEL}")
        self._set_listening(True)
        self._hand(ALL)  # whatever changed while nothing listened
        quiet = 0.0
        while not self._stop.is_set():
            received = False
            for note in conn.notifies(timeout=_POLL_SECONDS):
                received = True
                topic = _topic(note.payload, schema)
                if topic is not None:
                    self._hand(topic)
                if self._stop.is_set():
                    return
            quiet = 0.0 if received else quiet + _POLL_SECONDS
            if quiet >= _HEARTBEAT_SECONDS:
                conn.execute("SELECT 1")  # bounded: a lost connection raises
                quiet = 0.0

    def _hand(self, topic: str) -> None:
        try:
            self._on_change(topic)
        except Exception:
            log.exception("following a change (%s) failed; the periodic refresh remains", topic)
        with self._changed:
            self.handled += 1
            self._changed.notify_all()

    def _set_listening(self, value: bool) -> None:
        with self._changed:
            self.listening = value
            self._changed.notify_all()


def _topic(payload: str, schema: str | None) -> str | None:
    """The topic of a notification sent from ``schema``, or None."""
    try:
        message = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("schema") != schema:
        return None
    topic = message.get("topic")
    return topic if topic in TOPICS else None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def listener_for(store: object, on_change: Callable[[str], None]) -> ChangeListener | None:
    """A listener on ``store`` if it is a PostgreSQL store (not started), else None."""
    from charter.storage.sql.store import SqlStore

    if not isinstance(store, SqlStore) or store.backend != "postgresql":
        return None
    return ChangeListener(store.engine, on_change, bounds=store.bounds)
