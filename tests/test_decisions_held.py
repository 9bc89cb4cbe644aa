"""Grants and approvals read once per group commit, on real SQLite and PostgreSQL.

A transaction of decisions reads the active grants and usable approvals of its agents
once, with the time of the decision that first needs them. These tests pin what must not
change with that: an approval is used at most once, also by two decisions of one batch or
one transaction; a grant or approval whose time is up at a decision's ``now`` does not
count for it, even when an earlier decision of the same transaction read it while it
still counted; and a decision whose ``now`` is earlier than that read is decided by what
held at its own time.

No sleeping: decisions are queued behind a transaction held open on an event, with the
clock moved between them, so they share the next transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.identity.principals import Principal
from charter.policy.model import Capability
from charter.service import Services
from charter.service.commits import GroupCommitter
from charter.service.decisions import Asked, Decided, DecisionService
from charter.storage.ports import UnitOfWork
from charter.storage.sql import SqlStore
from charter.storage.sql import approvals as sql_approvals
from tests.helpers import register
from tests.scenes import CONFIG, RESTART, Scene
from tests.waiting import join_all, spawn, wait_for, wait_until

CHANGE = Asked(capability=Capability.DO, action="config.change", resource="prod/web")
RESTART_WEB = Asked(capability=Capability.DO, action="service.restart", resource="prod/web")


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    return Scene(api, services)


def _ops_bot(scene: Scene, services: Services) -> Principal:
    token = scene.tokens["ops-bot"]["Authorization"].removeprefix("Bearer ")
    return services.tokens.authenticate(token, where="test")


def _approved(scene: Scene, request: dict[str, Any]) -> str:
    approval: str = scene.decide(request)["approval"]["id"]
    assert scene.vote(approval, "user:olga").json()["status"] == "approved"
    return approval


def _decisions(store: SqlStore, services: Services, committer: GroupCommitter) -> DecisionService:
    """A decision service wired as ``Services.build`` wires it, on ``committer``."""
    return DecisionService(
        store,
        services.clock,
        services.policies.compiled,
        services.tokens,
        services.secrets,
        follow_activation=services.policies.hold_active,
        committer=committer,
    )


def _in_one_transaction(
    committer: GroupCommitter,
    clock: ManualClock,
    decide: Callable[[], list[Decided]],
    times: list[datetime],
) -> list[Decided]:
    """``decide`` once at each of ``times``, all queued behind a transaction held open,
    so they run in order in the next one."""
    release, holding = threading.Event(), threading.Event()

    def hold(unit: UnitOfWork) -> None:
        holding.set()
        wait_for(release, "the test to release the first transaction")

    leader = spawn(committer.run, hold)
    wait_for(holding, "the first transaction to start")
    results: list[list[Decided]] = [[] for _ in times]

    def one(index: int) -> None:
        results[index] = decide()

    threads = []
    for index, moment in enumerate(times):
        clock.set(moment)
        threads.append(spawn(one, index))
        _wait_until_queued(committer, index + 1)
    before = committer.transactions
    release.set()
    join_all([leader, *threads])
    # The transaction held open, then one for all the decisions.
    assert committer.transactions == before + 2, "the decisions did not share one transaction"
    return [one for decided in results for one in decided]


def _wait_until_queued(committer: GroupCommitter, count: int) -> None:
    wait_until(lambda: committer.waiting >= count, f"{count} decisions queued")


def test_two_identical_requests_of_one_batch_cannot_both_use_one_approval(
    scene: Scene, services: Services
) -> None:
    approval = _approved(scene, CONFIG)
    decided = services.decisions.decide(_ops_bot(scene, services), [CHANGE, CHANGE])
    assert [one.decision.effect.value for one in decided] == ["allow", "approval_required"]
    assert scene.approval(approval)["used_by"] == decided[0].decision_id
    assert decided[1].approval is not None
    assert decided[1].approval.id != approval


def test_decisions_of_one_transaction_use_an_approval_once(
    scene: Scene, services: Services, store: SqlStore, clock: ManualClock
) -> None:
    approval = _approved(scene, CONFIG)
    committer = GroupCommitter(store, deciding=True)
    decisions = _decisions(store, services, committer)
    agent = _ops_bot(scene, services)
    now = clock()
    decided = _in_one_transaction(
        committer, clock, lambda: decisions.decide(agent, [CHANGE]), [now, now, now]
    )
    assert [one.decision.effect.value for one in decided] == [
        "allow",
        "approval_required",
        "approval_required",
    ]
    assert scene.approval(approval)["used_by"] == decided[0].decision_id


def test_an_approval_whose_time_is_up_at_a_later_decision_of_the_transaction_is_not_used(
    scene: Scene, services: Services, store: SqlStore, clock: ManualClock
) -> None:
    approval = _approved(scene, CONFIG)
    expires = datetime.fromisoformat(scene.approval(approval)["expires_at"])
    committer = GroupCommitter(store, deciding=True)
    decisions = _decisions(store, services, committer)
    agent = _ops_bot(scene, services)
    restart = [RESTART_WEB]  # needs grants and approvals read, leaves the approval alone
    change = [CHANGE]
    asked = iter([restart, change])
    decided = _in_one_transaction(
        committer,
        clock,
        lambda: decisions.decide(agent, next(asked)),
        [expires - timedelta(seconds=1), expires],
    )
    assert [one.decision.effect.value for one in decided] == [
        "approval_required",
        "approval_required",
    ]
    assert scene.approval(approval)["used_by"] is None


def _granted(scene: Scene) -> tuple[str, datetime]:
    """A restarter grant issued to ops-bot: its id and when its time is up."""
    opened = scene.decide(RESTART)["approval"]["id"]
    grant: str = scene.vote(opened, "user:opal").json()["grant"]
    (body,) = scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"]
    assert body["id"] == grant
    return grant, datetime.fromisoformat(body["expires_at"])


@pytest.mark.parametrize(
    ("offsets", "effects"),
    [
        # Read at the first; the grant's time is up exactly at the second.
        ((-1, 0), ["allow", "approval_required"]),
        # Read when its time is up; the second was asked earlier (its caller took its
        # time before the first), when the grant still counted.
        ((0, -1), ["approval_required", "allow"]),
    ],
)
def test_a_grant_counts_until_its_time_is_up_within_one_transaction(
    scene: Scene,
    services: Services,
    store: SqlStore,
    clock: ManualClock,
    offsets: tuple[int, ...],
    effects: list[str],
) -> None:
    grant, expires = _granted(scene)
    committer = GroupCommitter(store, deciding=True)
    decisions = _decisions(store, services, committer)
    agent = _ops_bot(scene, services)
    decided = _in_one_transaction(
        committer,
        clock,
        lambda: decisions.decide(agent, [RESTART_WEB]),
        [expires + timedelta(seconds=offset) for offset in offsets],
    )
    assert [one.decision.effect.value for one in decided] == effects
    for one in decided:
        if one.decision.allowed:
            assert [reason.message for reason in one.decision.reasons] == [f"through grant {grant}"]


def test_a_transaction_reads_grants_and_approvals_once_for_all_its_agents(
    scene: Scene, services: Services, store: SqlStore, clock: ManualClock
) -> None:
    register(services, "other-bot", "user:olga")
    committer = GroupCommitter(store, deciding=True)
    decisions = _decisions(store, services, committer)
    gateway = scene.tokens["user:gate"]["Authorization"].removeprefix("Bearer ")
    asked = iter(["ops-bot", "other-bot", "ops-bot", "other-bot"])
    statements: list[str] = []
    deciding = threading.local()  # the app's background passes share the engine

    def decide() -> list[Decided]:
        deciding.on = True
        agent = next(asked)
        batch = [replace(RESTART_WEB, agent=agent), replace(CHANGE, agent=agent)]
        return decisions.decide_as(gateway, batch, where="test")

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if getattr(deciding, "on", False):
            statements.append(" ".join(statement.split()))

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        now = clock()
        decided = _in_one_transaction(committer, clock, decide, [now, now, now, now])
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    # Eight decisions that grants or approvals could change: ops-bot's wait for approval
    # (the second pair joins the approvals the first opened), other-bot has no permission.
    assert [one.decision.effect.value for one in decided] == [
        "approval_required",
        "approval_required",
        "deny",
        "deny",
    ] * 2
    reads = [one for one in statements if one.startswith("SELECT")]
    # Read once for both agents, by the first decision that needed them.
    [grants] = [one for one in reads if "FROM grants" in one]
    [approvals] = [one for one in reads if "FROM approvals" in one and "used_by IS NULL" in one]
    assert "IN (" in grants
    assert "IN (" in approvals


@pytest.mark.parametrize("chunk", [1, 500])
def test_grants_and_approvals_of_many_agents_are_read_in_bounded_statements(
    scene: Scene, store: SqlStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    grant, _ = _granted(scene)
    approval = _approved(scene, CONFIG)
    monkeypatch.setattr(sql_approvals, "_CHUNK", chunk)
    agents = {"ops-bot", "a-bot", "z-bot", "nobody"}
    with store.read() as unit:
        grants = unit.grants.active_for_agents(agents, clock())
        usable = unit.approvals.usable_for_agents(agents, clock())
        assert unit.grants.active_for_agents(set(), clock()) == []
    assert [(one.agent, one.id) for one in grants] == [("ops-bot", grant)]
    assert [(one.agent, one.id) for one in usable] == [("ops-bot", approval)]
