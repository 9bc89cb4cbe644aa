"""Two OS processes appending to one audit log at once: the tree never forks."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier

from charter.audit.records import AuditEntry
from charter.identity.agents import RiskTier
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore, open_store

PER_PROCESS = 200


def add_humans(url: str, barrier: Barrier) -> None:
    """Child process: add humans through the service layer, one transaction each."""
    store = open_store(url, migrate=False)
    services = Services.build(store)
    barrier.wait(timeout=30)
    for index in range(PER_PROCESS):
        services.humans.add(SYSTEM, human_id=f"user:h{index}", email=f"h{index}@example.com")
    store.close()


def append_directly(url: str, barrier: Barrier) -> None:
    """Child process: append raw entries through the audit store, one transaction each."""
    store = open_store(url, migrate=False)
    barrier.wait(timeout=30)
    for index in range(PER_PROCESS):
        with store.write() as unit:
            unit.audit.append(
                AuditEntry(
                    type="test.appended",
                    actor="system",
                    at=datetime.now(UTC),
                    data={"index": index},
                )
            )
    store.close()


def test_two_processes_append_without_forking_the_tree(
    database_url: str, store: SqlStore, services: Services
) -> None:
    # One record already in the log, so both writers start from a non-empty tree.
    services.humans.add(SYSTEM, human_id="user:owner", email="owner@example.com")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=target, args=(database_url, barrier))
        for target in (add_humans, append_directly)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]

    with store.read() as unit:
        records = list(unit.audit.records())
        head = unit.audit.head()
    assert len(records) == 1 + 2 * PER_PROCESS
    assert [record.seq for record in records] == list(range(len(records)))
    assert head.size == len(records)
    added = [record.subject for record in records if record.type == "human.added"]
    assert added == ["user:owner", *(f"user:h{index}" for index in range(PER_PROCESS))]
    appended = [record.data()["index"] for record in records if record.type == "test.appended"]
    assert appended == list(range(PER_PROCESS))

    report = services.audit.verify_store()
    assert report.ok, report.problem
    assert report.records == len(records)
    assert services.audit.checkpoint() is not None
    assert services.audit.verify_store().checkpoints_verified == 1

    # The log is still usable by this process after the others are done.
    services.agents.register(
        SYSTEM,
        agent_id="after-bot",
        display_name=None,
        owner="user:h0",
        purpose="check the log still grows",
        risk_tier=RiskTier.LOW,
    )
    assert services.audit.verify_store().records == len(records) + 1
