"""Group commit on real SQLite and PostgreSQL: many threads, one log that still verifies.

No timing: where a test needs works to be queued behind a transaction, the leader's
work holds the transaction open on an event until the committer reports them waiting.
Every wait is bounded (``tests.waiting``): a lost wake-up fails the test, never hangs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from charter.audit.records import AuditEntry, AuditRecord
from charter.errors import Conflict, Unavailable
from charter.identity.agents import RiskTier
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.policy.model import Capability
from charter.service import SYSTEM, Services
from charter.service.commits import GroupCommitter
from charter.service.decisions import Asked
from charter.storage.ports import UnitOfWork
from charter.storage.sql import SqlStore
from charter.storage.sql.store import SqlUnitOfWork, create_sql_engine
from tests.waiting import barrier, join_all, spawn, wait_for, wait_until

THREADS = 8
PER_THREAD = 25
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(subject: str) -> AuditEntry:
    return AuditEntry(type="test.grouped", actor="system", at=AT, subject=subject)


def _append(subject: str) -> Callable[[UnitOfWork], int]:
    def work(unit: UnitOfWork) -> int:
        return unit.audit.append(_entry(subject)).seq

    return work


def _records(store: SqlStore) -> list[AuditRecord]:
    with store.read() as unit:
        return list(unit.audit.records())


def _wait_until_waiting(committer: GroupCommitter, count: int) -> None:
    """Block until ``count`` works are queued (the threads are started just before)."""
    wait_until(lambda: committer.waiting >= count, f"{count} works queued in the committer")


def test_a_lone_work_commits_and_returns_its_result(store: SqlStore, services: Services) -> None:
    committer = GroupCommitter(store)
    assert committer.run(_append("one")) == 0
    assert committer.run(lambda unit: unit.audit.head().size) == 1
    assert [record.subject for record in _records(store)] == ["one"]
    assert (committer.transactions, committer.committed) == (2, 2)
    assert services.audit.verify_store().ok


def test_many_threads_each_get_their_own_result_and_the_log_verifies(
    store: SqlStore, services: Services
) -> None:
    committer = GroupCommitter(store)
    results: dict[str, int] = {}
    failures: list[BaseException] = []
    start = barrier(THREADS)

    def submit(thread: int) -> None:
        start.wait()
        for index in range(PER_THREAD):
            subject = f"t{thread}-{index}"
            try:
                results[subject] = committer.run(_append(subject))
            except BaseException as error:
                failures.append(error)

    join_all([spawn(submit, n) for n in range(THREADS)])

    assert failures == []
    records = _records(store)
    total = THREADS * PER_THREAD
    assert [record.seq for record in records] == list(range(total))
    # Each caller got the sequence number its own record was committed under.
    assert {record.subject: record.seq for record in records} == results
    # One thread's works stay in the order it submitted them.
    for n in range(THREADS):
        mine = [results[f"t{n}-{index}"] for index in range(PER_THREAD)]
        assert mine == sorted(mine)
    assert committer.committed == total
    assert committer.transactions <= total
    report = services.audit.verify_store()
    assert report.ok, report.problem
    assert report.records == total
    assert services.audit.checkpoint() is not None
    assert services.audit.verify_store().checkpoints_verified == 1


def _held_open(
    committer: GroupCommitter,
    followers: list[Callable[[UnitOfWork], object]],
    *,
    silent: bool = False,
) -> list[object]:
    """Run a first work that holds its transaction open until every follower is queued
    (``silent``: then finds that the store did not answer); return each follower's
    result or exception, in order."""
    entered, release = threading.Event(), threading.Event()

    def first(unit: UnitOfWork) -> int:
        entered.set()
        wait_for(release, "the test releasing the leader's transaction")
        if silent:
            raise Unavailable("the store did not answer in time", code="store_unavailable")
        return unit.audit.append(_entry("first")).seq

    outcomes: list[object] = [None] * len(followers)

    def lead() -> None:
        with contextlib.suppress(Unavailable):
            committer.run(first)

    threads = [spawn(lead)]
    try:
        # The leader is inside its transaction: whoever comes next waits.
        wait_for(entered, "the leader entering its transaction")

        def follow(position: int) -> None:
            try:
                outcomes[position] = committer.run(followers[position])
            except BaseException as error:
                outcomes[position] = error

        for position in range(len(followers)):
            threads.append(spawn(follow, position))
            # One at a time, so the queue's order is the followers' order.
            _wait_until_waiting(committer, position + 1)
    finally:
        release.set()  # even after a failure: the leader must not be left holding
    join_all(threads)
    return outcomes


def test_works_queued_behind_a_transaction_share_the_next_one(
    store: SqlStore, services: Services
) -> None:
    committer = GroupCommitter(store)
    outcomes = _held_open(committer, [_append(f"f{n}") for n in range(5)])
    assert outcomes == [1, 2, 3, 4, 5]
    # The leader's transaction, then the five followers' together.
    assert (committer.transactions, committer.committed) == (2, 6)
    assert [record.subject for record in _records(store)] == ["first", "f0", "f1", "f2", "f3", "f4"]
    assert services.audit.verify_store().ok


class _Noting:
    """A work with ``prepare``: it logs both calls and the unit they were made with."""

    def __init__(self, name: str, log: list[tuple[str, str, int]], fails: bool = False) -> None:
        self.name, self.log, self.fails = name, log, fails

    def prepare(self, unit: UnitOfWork) -> None:
        self.log.append(("prepare", self.name, id(unit)))

    def __call__(self, unit: UnitOfWork) -> int:
        self.log.append(("run", self.name, id(unit)))
        if self.fails:
            raise Conflict("this one fails", code="test_failure")
        return unit.audit.append(_entry(self.name)).seq


def test_every_work_of_a_batch_is_prepared_before_the_first_runs_and_again_on_a_rerun(
    store: SqlStore,
) -> None:
    committer = GroupCommitter(store)
    log: list[tuple[str, str, int]] = []
    works = [_Noting("a", log), _Noting("b", log, fails=True), _Noting("c", log)]
    outcomes = _held_open(committer, list(works))
    assert outcomes[0] == 1
    assert isinstance(outcomes[1], Conflict)
    assert outcomes[2] == 2
    steps = [(step, name) for step, name, _ in log]
    assert steps == [
        ("prepare", "a"),
        ("prepare", "b"),
        ("prepare", "c"),
        ("run", "a"),
        ("run", "b"),  # fails: the batch is rolled back and run again without it
        ("prepare", "a"),
        ("prepare", "c"),
        ("run", "a"),
        ("run", "c"),
    ]
    first, second = {unit for _, _, unit in log[:5]}, {unit for _, _, unit in log[5:]}
    assert len(first) == len(second) == 1
    assert [record.subject for record in _records(store)] == ["first", "a", "c"]


def test_a_work_that_raises_leaves_no_trace_and_the_others_commit(
    store: SqlStore, services: Services
) -> None:
    committer = GroupCommitter(store)
    runs: dict[str, int] = {}

    def counted(subject: str) -> Callable[[UnitOfWork], int]:
        def work(unit: UnitOfWork) -> int:
            runs[subject] = runs.get(subject, 0) + 1
            return unit.audit.append(_entry(subject)).seq

        return work

    def broken(unit: UnitOfWork) -> int:
        # Writes first, then fails: its record must not survive.
        unit.audit.append(_entry("broken"))
        raise ValueError("this work fails")

    outcomes = _held_open(committer, [counted("a"), broken, counted("b")])
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[0] == 1
    assert outcomes[2] == 2
    # The batch was rolled back and the others run again: only their last run counts.
    assert runs == {"a": 2, "b": 1}
    assert [record.subject for record in _records(store)] == ["first", "a", "b"]
    report = services.audit.verify_store()
    assert report.ok, report.problem
    assert report.records == 3


def test_database_errors_in_some_works_spare_the_others(
    store: SqlStore, services: Services
) -> None:
    """A failed statement aborts a PostgreSQL transaction; the batch's others still commit."""
    services.humans.add(SYSTEM, human_id="user:owner", email="owner@example.com")
    services.agents.register(
        SYSTEM,
        agent_id="taken",
        display_name=None,
        owner="user:owner",
        purpose="already registered",
        risk_tier=RiskTier.LOW,
    )
    with store.read() as unit:
        existing = unit.agents.get("taken")
        before = unit.audit.head().size
    assert existing is not None
    committer = GroupCommitter(store)

    def duplicate(unit: UnitOfWork) -> None:
        unit.agents.add(existing)  # a constraint violation, caught by the store

    def bad_statement(unit: UnitOfWork) -> None:
        # A statement the database refuses (not SQLite's OperationalError, which the
        # store reports as the store not answering: that fails the whole batch, below).
        assert isinstance(unit, SqlUnitOfWork)
        unit.connection.exec_driver_sql("INSERT INTO humans (id) VALUES (NULL)")

    def reads_after(unit: UnitOfWork) -> int:
        # Comes after both failures in the batch: it needs a transaction that still works.
        agent = unit.agents.get("taken")
        assert agent is not None
        return unit.audit.append(_entry("after")).seq

    outcomes = _held_open(committer, [_append("before"), duplicate, bad_statement, reads_after])
    assert isinstance(outcomes[1], Conflict)
    assert isinstance(outcomes[2], sa.exc.DBAPIError)
    assert outcomes[0] == before + 1
    assert outcomes[3] == before + 2
    assert [record.subject for record in _records(store)][before:] == ["first", "before", "after"]
    assert services.audit.verify_store().ok


def test_a_store_that_does_not_answer_one_work_fails_its_whole_batch(
    store: SqlStore, services: Services
) -> None:
    """The works after it would each wait on the same silent store for a whole bound."""
    with store.read() as unit:
        before = unit.audit.head().size
    committer = GroupCommitter(store)
    ran: list[str] = []

    def silent(unit: UnitOfWork) -> None:
        ran.append("silent")
        raise Unavailable("the store did not answer in time", code="store_unavailable")

    def after(unit: UnitOfWork) -> int:
        ran.append("after")
        return unit.audit.append(_entry("after")).seq

    outcomes = _held_open(committer, [silent, after, after])
    assert all(isinstance(outcome, Unavailable) for outcome in outcomes), outcomes
    assert ran == ["silent"]  # nobody waited on it again
    assert [record.subject for record in _records(store)][before:] == ["first"]
    assert services.audit.verify_store().ok


@pytest.mark.parametrize("max_batch", [1, 3, 256])
def test_works_queued_while_the_store_was_silent_fail_with_it(
    store: SqlStore, services: Services, max_batch: int
) -> None:
    """Each would otherwise wait a whole bound more per batch ahead of it: a burst on a
    frozen store answered many bounds late instead of within one."""
    with store.read() as unit:
        before = unit.audit.head().size
    committer = GroupCommitter(store, max_batch=max_batch)
    ran: list[str] = []

    def after(unit: UnitOfWork) -> int:
        ran.append("after")
        return unit.audit.append(_entry("after")).seq

    outcomes = _held_open(committer, [after] * 7, silent=True)
    assert all(isinstance(outcome, Unavailable) for outcome in outcomes), outcomes
    assert ran == []
    assert _records(store)[before:] == []
    # Nothing is left queued or leading: the next work has the store to itself.
    assert committer.waiting == 0
    assert committer.run(_append("later")) == before  # the next seq


def test_a_store_that_cannot_be_reached_fails_the_caller(tmp_path: Path) -> None:
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'missing' / 'charter.db'}")
    committer = GroupCommitter(SqlStore(engine))
    with pytest.raises(Unavailable):
        committer.run(_append("never"))
    assert committer.transactions == 0
    engine.dispose()


def test_run_from_inside_a_work_is_refused(store: SqlStore) -> None:
    committer = GroupCommitter(store)

    def nested(unit: UnitOfWork) -> int:
        return committer.run(_append("inner"))

    with pytest.raises(RuntimeError, match="may not call run"):
        committer.run(nested)
    assert _records(store) == []
    # The committer is still usable afterwards.
    assert committer.run(_append("after")) == 0


def test_max_batch_must_be_positive(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommitter(store, max_batch=0)


def test_concurrent_decisions_are_each_recorded_once(store: SqlStore, services: Services) -> None:
    services.humans.add(
        SYSTEM, human_id="user:gateway", email="gw@example.com", roles=[HumanRole.ENFORCER]
    )
    with store.read() as unit:
        gateway = unit.humans.get("user:gateway")
        before = unit.audit.head().size
    assert gateway is not None
    actor = Principal(PrincipalKind.HUMAN, gateway.id, "tok_test", gateway.roles)
    asked = Asked(capability=Capability.DO, action="ticket.create", resource="q", agent="bot")
    decided: list[str] = []
    start = barrier(THREADS)

    def decide() -> None:
        start.wait()
        for _ in range(PER_THREAD):
            # No policy applied: each is denied with no_policy, and recorded all the same.
            (one,) = services.decisions.decide(actor, [asked])
            assert one.decision.code == "no_policy"
            decided.append(one.decision_id)

    join_all([spawn(decide) for _ in range(THREADS)])
    records = [record for record in _records(store)[before:] if record.type == "decision"]
    assert sorted(record.subject or "" for record in records) == sorted(decided)
    assert len(set(decided)) == THREADS * PER_THREAD
    assert services.audit.verify_store().ok


# -- callers on an event loop ----------------------------------------------------------


def test_async_callers_share_transactions_and_each_get_their_own_result(
    store: SqlStore, services: Services
) -> None:
    committer = GroupCommitter(store)
    total = THREADS * PER_THREAD

    async def everyone() -> list[int]:
        return await asyncio.gather(*(committer.run_async(_append(f"a{n}")) for n in range(total)))

    results = asyncio.run(everyone())
    records = _records(store)
    # Each caller got the sequence number its own record was committed under.
    assert {record.subject: record.seq for record in records} == {
        f"a{n}": seq for n, seq in enumerate(results)
    }
    assert sorted(results) == list(range(total))
    # Queued while the writer thread wrote: fewer transactions than works.
    assert committer.committed == total
    assert committer.transactions < total
    assert services.audit.verify_store().ok


def test_an_async_work_that_raises_gets_its_error_and_the_others_commit(
    store: SqlStore, services: Services
) -> None:
    committer = GroupCommitter(store)

    def refused(unit: UnitOfWork) -> int:
        unit.audit.append(_entry("refused"))
        raise Conflict("no", code="conflict")

    async def everyone() -> list[int | BaseException]:
        works = [_append("before"), refused, _append("after")]
        return await asyncio.gather(
            *(committer.run_async(work) for work in works), return_exceptions=True
        )

    before, error, after = asyncio.run(everyone())
    assert isinstance(error, Conflict)
    assert (before, after) == (0, 1)
    assert [record.subject for record in _records(store)] == ["before", "after"]
    assert services.audit.verify_store().ok


def test_threads_and_async_callers_take_turns_on_one_committer(
    store: SqlStore, services: Services
) -> None:
    committer = GroupCommitter(store)
    start = barrier(THREADS + 1)
    threaded: dict[str, int] = {}

    def submit(thread: int) -> None:
        start.wait()
        for index in range(PER_THREAD):
            subject = f"t{thread}-{index}"
            threaded[subject] = committer.run(_append(subject))

    async def on_the_loop() -> dict[str, int]:
        await asyncio.to_thread(start.wait)
        subjects = [f"loop-{index}" for index in range(PER_THREAD * 2)]
        seqs = await asyncio.gather(*(committer.run_async(_append(one)) for one in subjects))
        return dict(zip(subjects, seqs, strict=True))

    threads = [spawn(submit, n) for n in range(THREADS)]
    looped = asyncio.run(on_the_loop())
    join_all(threads)
    records = _records(store)
    total = THREADS * PER_THREAD + PER_THREAD * 2
    assert [record.seq for record in records] == list(range(total))
    assert {record.subject: record.seq for record in records} == threaded | looped
    assert services.audit.verify_store().ok
