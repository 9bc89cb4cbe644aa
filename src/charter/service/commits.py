"""Group commit: the works of concurrent callers written in one transaction, committed once.

Every decision appends an audit record and is answered only once that record is
committed. Writers take turns on the audit log's head (SQLite's write lock, PostgreSQL's
row lock on ``audit_head``), so with one transaction per decision the server does at
most one decision per commit: a PostgreSQL commit waits for its WAL flush while holding
the head, and SQLite writers that find the lock taken back off in sleeps of up to 100 ms.
A ``GroupCommitter`` lets the callers queue instead, in memory, and has one of them write
everything queued in a single transaction.

Leader and followers: a caller that finds no transaction in progress becomes the leader.
It takes everything queued (its own work first, up to ``max_batch``), runs the works in
order in one unit of work, commits once, then hands each caller its result or exception
and, if more works queued meanwhile, makes the first of their callers the next leader.
Nobody sleeps or polls: callers wait on their own event until their outcome is known.

Callers on an event loop (``run_async``) wait on a future instead, and never write: when
one of them would lead, the committer's writer thread leads for it, and goes on leading
while the next caller in line is one of them. So an async server has one thread writing,
not one thread blocked per waiting request; the outcomes of a batch reach each event
loop in one call.

A work that raises gets its exception back and leaves no trace: the transaction is rolled
back and the batch's other works are run again, in the same order, in a new one. So a
work may run more than once, and only its last run counts: it must act only through the
unit of work it is handed and return what it made (ids it draws are drawn again; nothing
from an earlier run escapes). Each work sees what the works before it in the batch
wrote, as if they had committed one after another. If the commit itself fails, every
work of the batch gets that error: none of them was committed. So does a work failing
because the store did not answer (``Unavailable``, as the store reports a driver's
timeout or lost connection): the works after it would each wait on the same silent store
for a whole bound in turn, and a batch of 256 would be answered minutes late. For the
same reason every work queued while such a batch waited fails with it: each would wait a
bound more per batch ahead of it, so a burst on a frozen store would be answered many
bounds late instead of within one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, cast

from charter.errors import CharterError, Unavailable
from charter.storage.ports import Store, UnitOfWork

__all__ = ["GroupCommitter", "Prepared"]


class Prepared(Protocol):
    """A work that says ahead what it will read: before the works of a transaction run,
    the committer calls ``prepare`` of each that has one, in order, with the unit they
    will share (again for each run of the batch), so the first work to read can read
    for all of them at once. ``prepare`` only reads; an error it raises (a store that
    failed) is the whole batch's, as a failed commit is."""

    def prepare(self, unit: UnitOfWork) -> None:
        """Note, in ``unit``'s transaction, what the work will read."""


T = TypeVar("T")

MAX_BATCH = 256
"""Works written in one transaction at most, so one transaction stays short."""


class _Queued(Generic[T]):
    """One caller's work and, once known, its outcome."""

    __slots__ = ("done", "error", "future", "leads", "result", "work")

    def __init__(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        done: threading.Event | None = None,
        future: asyncio.Future[T] | None = None,
    ) -> None:
        self.work = work
        self.done = done  # a thread's: it waits on it (an async caller has no event)
        self.future = future  # an async caller's: the writer thread leads for it
        self.leads = False
        self.result: T | None = None
        self.error: BaseException | None = None


class GroupCommitter:
    """Runs works submitted by concurrent threads in shared write transactions."""

    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH, deciding: bool = False) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = store
        self._max_batch = max_batch
        self._deciding = deciding
        """Its works only record decisions (``Store.write(deciding=True)``)."""
        self._lock = threading.Lock()
        self._queue: list[_Queued[Any]] = []
        self._leading = False
        self._local = threading.local()
        self._transactions = 0
        self._committed = 0
        self.on_commit: Callable[[int], None] | None = None
        """Called with each committed transaction's number of works (the server's
        batch-size histogram); must be quick and must not raise."""
        self._writer: threading.Thread | None = None
        self._turn = threading.Event()

    @property
    def waiting(self) -> int:
        """Works queued and not yet taken into a transaction."""
        with self._lock:
            return sum(not queued.leads for queued in self._queue)

    @property
    def transactions(self) -> int:
        """Transactions committed so far."""
        with self._lock:
            return self._transactions

    @property
    def committed(self) -> int:
        """Works committed so far (``committed / transactions`` is the mean batch)."""
        with self._lock:
            return self._committed

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in a write transaction, perhaps shared with other callers' works;
        return its result once that transaction is committed, or raise what it raised."""
        if getattr(self._local, "inside", False):
            raise RuntimeError("a work run by a GroupCommitter may not call run() itself")
        done = threading.Event()
        queued: _Queued[T] = _Queued(work, done=done)
        with self._lock:
            self._queue.append(queued)
            leads = queued.leads = not self._leading
            self._leading = True
        if not leads:
            done.wait()
        if queued.leads:
            self._lead()
        if queued.error is not None:
            raise queued.error
        return cast(T, queued.result)

    async def run_async(self, work: Callable[[UnitOfWork], T]) -> T:
        """``run`` for a caller on an event loop: waits without a thread of its own."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        queued: _Queued[T] = _Queued(work, future=future)
        with self._lock:
            self._queue.append(queued)
            leads = queued.leads = not self._leading
            self._leading = True
            if leads:
                self._wake_writer()
        return await future

    def _wake_writer(self) -> None:
        """Have the writer thread lead (with the lock held)."""
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_forever, name="charter-group-commit", daemon=True
            )
            self._writer.start()
        self._turn.set()

    def _write_forever(self) -> None:
        while True:
            self._turn.wait()
            self._turn.clear()
            while self._lead():
                pass

    def _lead(self) -> bool:
        """Write the next batch; True if an async caller is next in line, for the writer
        thread to lead again (it is woken if this is another thread)."""
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        writer_next = False
        silent: Unavailable | None = None
        try:
            silent = self._write(batch)
        finally:
            with self._lock:
                if silent is not None and self._queue:
                    # The store did not answer within its bound: those who queued
                    # meanwhile would each wait a whole bound more, batch after batch.
                    # They fail with it now, within one bound of their arrival.
                    for queued in self._queue:
                        queued.result, queued.error = None, silent
                    batch = [*batch, *self._queue]
                    self._queue.clear()
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._leading = False
                else:
                    successor.leads = True
                    if successor.future is not None:
                        writer_next = threading.current_thread() is self._writer
                        if not writer_next:
                            self._wake_writer()
            answered: list[_Queued[Any]] = []
            for queued in batch:
                queued.leads = False
                if queued.done is not None:
                    queued.done.set()
                else:
                    answered.append(queued)
            _answer(answered)
            if successor is not None and successor.done is not None:
                successor.done.set()
        return writer_next

    def _write(self, batch: list[_Queued[Any]]) -> Unavailable | None:
        """Commit every work of ``batch`` that does not raise; each gets its outcome.
        The store's ``Unavailable`` if it did not answer (the whole batch got it)."""
        pending = list(batch)
        while pending:
            failed: _Queued[Any] | None = None
            try:
                with self._store.write(deciding=self._deciding) as unit:
                    self._local.inside = True
                    try:
                        for queued in pending:
                            prepare = getattr(queued.work, "prepare", None)
                            if prepare is not None:
                                prepare(unit)
                        for queued in pending:
                            try:
                                queued.result = queued.work(unit)
                            except BaseException as error:
                                queued.error, failed = error, queued
                                break
                    finally:
                        self._local.inside = False
                    if failed is not None:
                        # Leave the with-block by an exception: the store rolls back.
                        if _may_be_the_store(failed.error):
                            raise cast(BaseException, failed.error)
                        raise _RollBack
            except _RollBack:
                pending = [queued for queued in pending if queued is not failed]
                continue
            except Unavailable as error:
                # The store did not answer (beginning, committing, or one work): the
                # others would wait on it in turn, one bound each, so they fail with it.
                for queued in pending:
                    queued.result, queued.error = None, error
                return error
            except BaseException as error:
                if failed is not None and error is failed.error:
                    # Not the store's silence: that work fails alone, the rest run again.
                    pending = [queued for queued in pending if queued is not failed]
                    continue
                # Beginning or committing failed: nothing of this batch was written.
                for queued in pending:
                    queued.result, queued.error = None, error
                return None
            with self._lock:
                self._transactions += 1
                self._committed += len(pending)
            if self.on_commit is not None:
                self.on_commit(len(pending))
            return None
        return None


def _answer(answered: list[_Queued[Any]]) -> None:
    """Hand async callers their outcomes: one call into each of their event loops."""
    loops: dict[asyncio.AbstractEventLoop, list[_Queued[Any]]] = {}
    for queued in answered:
        if queued.future is not None:
            loops.setdefault(queued.future.get_loop(), []).append(queued)
    for loop, outcomes in loops.items():
        # A loop closed meanwhile has nobody waiting for these any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[_Queued[Any]]) -> None:
    for queued in outcomes:
        future = queued.future
        if future is None or future.done():
            continue  # its caller gave up waiting
        if queued.error is not None:
            future.set_exception(queued.error)
        else:
            future.set_result(queued.result)


def _may_be_the_store(error: BaseException | None) -> bool:
    """Whether a work's ``error`` may be the store not answering: a driver error (the
    store tells, when it ends the transaction) or ``Unavailable``; a ``CharterError``
    of another kind is the work's own refusal."""
    return isinstance(error, Unavailable) or (
        isinstance(error, Exception) and not isinstance(error, CharterError)
    )


class _RollBack(Exception):
    """Raised inside the unit of work to roll back a batch one of whose works failed."""
