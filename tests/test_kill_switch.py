"""The kill switch voids what an agent holds: an approval approved or a grant issued
before a suspension or a retirement never allows anything afterwards, reinstated or not.

Through the real app and the services, on SQLite and PostgreSQL; the clock is moved by
hand between steps, as time passes between a suspension and a reinstatement.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient

from charter.approvals.model import ApprovalStatus, Vote
from charter.clock import ManualClock
from charter.errors import Conflict
from charter.identity.agents import AgentStatus, LifecycleAction
from charter.policy.model import Capability
from charter.service import SYSTEM, Services
from charter.service.access import BREAK_GLASS
from charter.service.approvals import withdraw_for_agent
from charter.service.decisions import Asked
from charter.storage.sql import SqlStore
from charter.storage.sql.migrate import MIGRATIONS, upgrade
from charter.storage.sql.schema import agents, humans
from charter.storage.sql.store import SqlUnitOfWork, create_sql_engine
from tests.helpers import BACKENDS, POSTGRES_URL
from tests.scenes import CLOSE, CONFIG, RESTART, Scene
from tests.waiting import barrier, join_all, spawn, wait_for

MINUTE = timedelta(minutes=1)


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    """The approvals scene: ops-bot owned by olga, approvers, an admin (rita)."""
    return Scene(api, services)


def lifecycle(scene: Scene, action: str, who: str = "user:rita") -> dict[str, Any]:
    answer = scene.api.post(
        f"/v1/agents/ops-bot/{action}", json={"reason": "test"}, headers=scene.tokens[who]
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def as_gateway(scene: Scene, request: dict[str, Any]) -> dict[str, Any]:
    """Ask for ops-bot through the enforcer (which works whatever the agent's state)."""
    return scene.decide({**request, "agent": "ops-bot"}, as_="user:gate")


def approved_config(scene: Scene, clock: ManualClock) -> str:
    approval: str = scene.decide(CONFIG)["approval"]["id"]
    clock.advance(MINUTE)
    assert scene.vote(approval, "user:olga").json()["status"] == "approved"
    clock.advance(MINUTE)
    return approval


@pytest.mark.parametrize("who", ["user:rita", "user:olga"])
def test_an_approval_granted_before_a_suspension_never_allows_after_reinstatement(
    scene: Scene, clock: ManualClock, who: str
) -> None:
    approval = approved_config(scene, clock)
    suspended = lifecycle(scene, "suspend", who)
    assert suspended["agent"]["status"] == "suspended"
    assert scene.approval(approval)["status"] == "cancelled"
    clock.advance(MINUTE)
    lifecycle(scene, "reinstate", who)
    clock.advance(MINUTE)
    again = scene.decide(CONFIG)
    assert again["decision"] == "approval_required"
    assert again["approval"]["id"] != approval
    # The voided approval is on record, as a cancellation of an approved approval.
    record = scene.records("agent.suspended")[-1]["data"]
    assert record["cancelled_approvals"] == [approval]
    [voided] = [r for r in scene.records("approval.cancelled") if r["subject"] == approval]
    assert voided["data"]["was"] == "approved"
    assert voided["data"]["approval"]["status"] == "cancelled"
    # Starting from nothing: a new approval, approved after the reinstatement, allows once.
    assert scene.vote(again["approval"]["id"], "user:olga").status_code == 200
    clock.advance(MINUTE)
    assert scene.decide(CONFIG)["decision"] == "allow"
    assert scene.decide(CONFIG)["decision"] == "approval_required"


def test_a_step_up_confirmed_before_a_suspension_is_void(scene: Scene, clock: ManualClock) -> None:
    request = {**CLOSE, "context": {"on_behalf_of": "user:olga"}}
    approval = scene.decide(request)["approval"]["id"]
    assert scene.vote(approval, "user:olga").json()["status"] == "approved"
    clock.advance(MINUTE)
    lifecycle(scene, "suspend")
    clock.advance(MINUTE)
    lifecycle(scene, "reinstate")
    assert scene.approval(approval)["status"] == "cancelled"
    assert scene.decide(request)["decision"] == "step_up_required"


def test_retirement_voids_approvals_and_grants(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    approval = approved_config(scene, clock)
    grant = scene.vote(scene.decide(RESTART)["approval"]["id"], "user:oscar").json()["grant"]
    clock.advance(MINUTE)
    retired = lifecycle(scene, "retire")
    assert retired["agent"]["status"] == "retired"
    assert scene.approval(approval)["status"] == "cancelled"
    grants = scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"]
    assert [(g["id"], g["status"]) for g in grants] == [(grant, "revoked")]
    record = scene.records("agent.retired")[-1]["data"]
    assert sorted(record["cancelled_approvals"]) == sorted([approval])
    assert record["revoked_grants"] == [grant]
    with services.store.read() as unit:
        assert unit.approvals.unused_for("ops-bot") == []
        assert unit.grants.active_for("ops-bot", clock()) == []
    assert as_gateway(scene, CONFIG)["code"] == "agent_retired"


def test_a_grant_issued_before_a_suspension_is_gone_after_reinstatement(
    scene: Scene, clock: ManualClock
) -> None:
    grant = scene.vote(scene.decide(RESTART)["approval"]["id"], "user:oscar").json()["grant"]
    assert scene.decide(RESTART)["decision"] == "allow"
    clock.advance(MINUTE)
    lifecycle(scene, "suspend")
    clock.advance(MINUTE)
    lifecycle(scene, "reinstate")
    again = scene.decide(RESTART)
    assert again["decision"] == "approval_required"
    grants = scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"]
    assert [(g["id"], g["status"]) for g in grants] == [(grant, "revoked")]


def _sql_store(services: Services) -> SqlStore:
    """The services' store, which these tests reach below the ports (rows, connections)."""
    store = services.store
    assert isinstance(store, SqlStore)
    return store


def _mark_suspended(store: SqlStore, clock: ManualClock) -> None:
    """Note a suspension at ``clock()`` on the agent's row and nothing else, as a
    suspension whose voiding missed something (a record from before this rule)."""
    with store.engine.begin() as conn:
        conn.execute(
            agents.update()
            .where(agents.c.id == "ops-bot")
            .values(suspended_at=clock(), suspended_by="user:rita")
        )


def test_approvals_and_grants_from_before_the_last_suspension_are_refused_at_use(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    approved_config(scene, clock)
    grant = scene.vote(scene.decide(RESTART)["approval"]["id"], "user:oscar").json()["grant"]
    clock.advance(MINUTE)
    _mark_suspended(_sql_store(services), clock)
    clock.advance(MINUTE)
    # Still approved, still active in their rows; never counted.
    with services.store.read() as unit:
        assert [a.status for a in unit.approvals.unused_for("ops-bot")] == [ApprovalStatus.APPROVED]
        assert unit.grants.get(grant) is not None
        assert unit.grants.active_for("ops-bot", clock()) == []
    assert scene.decide(CONFIG)["decision"] == "approval_required"
    assert scene.decide(RESTART)["decision"] == "approval_required"


def test_an_approval_found_before_a_suspension_cannot_be_used_after_it(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    """A decision that found the approval usable, then lost the race to the kill switch,
    cannot mark it used: whether the suspension voided it or only noted its time."""
    voided = approved_config(scene, clock)
    lifecycle(scene, "suspend")
    clock.advance(MINUTE)
    lifecycle(scene, "reinstate")
    with services.store.write() as unit:
        assert not unit.approvals.use(voided, "dec_late", clock())
    clock.advance(MINUTE)
    # Approved after the reinstatement; then a suspension time is noted.
    marked = approved_config(scene, clock)
    _mark_suspended(_sql_store(services), clock)
    with services.store.write() as unit:
        assert not unit.approvals.use(marked, "dec_late", clock())
        found = unit.approvals.get(marked)
        assert found is not None
        assert found.used_by is None


def test_a_vote_on_a_suspended_agents_approval_is_refused(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    approval = scene.decide(CONFIG)["approval"]["id"]
    clock.advance(MINUTE)
    lifecycle(scene, "suspend")
    late = scene.vote(approval, "user:olga")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "approval_closed"
    assert scene.approval(approval)["status"] == "cancelled"


def test_a_vote_racing_a_suspension_never_leaves_a_usable_approval(
    scene: Scene, services: Services, clock: ManualClock, database_url: str
) -> None:
    """The suspension holds the agent's row; a vote meanwhile waits for it, then finds
    the approval cancelled. (The order the kill switch takes rows in: agent first.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: there is no race to lose")
    approval = scene.decide(CONFIG)["approval"]["id"]
    clock.advance(MINUTE)
    olga = services.tokens.authenticate(
        scene.tokens["user:olga"]["Authorization"].removeprefix("Bearer "), where="test"
    )
    outcome: list[object] = []
    holding = threading.Event()
    release = threading.Event()
    holder: list[int] = []

    def suspend_slowly() -> None:
        # The suspension, with a pause after taking the agent's row.
        with services.store.write() as unit:
            agent = unit.agents.get("ops-bot", for_update=True)
            assert agent is not None
            assert isinstance(unit, SqlUnitOfWork)
            holder.append(unit.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            holding.set()
            wait_for(release, "the test releasing the suspension")
            now = clock()
            unit.agents.save(agent.with_status(AgentStatus.SUSPENDED, now, by="user:rita"))
            withdraw_for_agent(unit, "ops-bot", now=now, by="user:rita", reason="race")

    def vote() -> None:
        try:
            outcome.append(services.approvals.vote(olga, approval, Vote.APPROVE, "fine"))
        except Conflict as refused:
            outcome.append(refused.code)

    suspender = spawn(suspend_slowly)
    try:
        wait_for(holding, "the suspension taking the agent's row")
    except BaseException:
        release.set()
        raise
    voter = spawn(vote)
    # Wait (bounded) until the vote is blocked on a row lock, then let the suspension go.
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"
    )
    blocked = False
    with _sql_store(services).engine.connect() as conn:
        for _ in range(2000):
            seen = conn.execute(waiting, {"holder": holder[0]}).scalar_one()
            conn.rollback()  # pg_stat_activity holds still within one transaction
            if seen > 0 or not voter.is_alive():
                blocked = voter.is_alive()
                break
            threading.Event().wait(0.005)
    release.set()
    join_all([suspender, voter])
    assert blocked, f"the vote did not wait for the agent row: {outcome}"
    assert outcome == ["approval_closed"]
    assert scene.approval(approval)["status"] == "cancelled"
    clock.advance(MINUTE)
    services.agents.transition(BREAK_GLASS, "ops-bot", LifecycleAction.REINSTATE)
    clock.advance(MINUTE)
    assert scene.decide(CONFIG)["decision"] == "approval_required"


def test_concurrent_votes_and_suspensions_leave_nothing_usable(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    """Whichever commits first, an agent that is suspended holds no approved approval
    that is still usable."""
    olga = services.tokens.authenticate(
        scene.tokens["user:olga"]["Authorization"].removeprefix("Bearer "), where="test"
    )
    for round_ in range(8):
        approval = scene.decide({**CONFIG, "input": {"round": round_}})["approval"]["id"]
        clock.advance(MINUTE)
        start = barrier(2)

        def vote(approval: str = approval, start: threading.Barrier = start) -> None:
            start.wait()
            with contextlib.suppress(Conflict):
                services.approvals.vote(olga, approval, Vote.APPROVE, "fine")

        def suspend(start: threading.Barrier = start) -> None:
            start.wait()
            services.agents.transition(SYSTEM, "ops-bot", LifecycleAction.SUSPEND)

        join_all([spawn(vote), spawn(suspend)])
        with services.store.read() as unit:
            assert unit.approvals.unused_for("ops-bot") == [], round_
            assert unit.approvals.get(approval).status is ApprovalStatus.CANCELLED  # type: ignore[union-attr]
        clock.advance(MINUTE)
        services.agents.transition(SYSTEM, "ops-bot", LifecycleAction.REINSTATE)
        clock.advance(MINUTE)


@pytest.fixture
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file or a fresh PostgreSQL schema."""
    yield from _empty_database(request.param, tmp_path)


def _empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite skipped: CHARTER_TEST_POSTGRES_URL is not set")
    schema = f"charter_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.parametrize("unmigrated_url", BACKENDS, indirect=True)
def test_the_migration_voids_what_agents_stopped_before_it_held(unmigrated_url: str) -> None:
    """Agents suspended or retired before migration 0008 get their last change as their
    suspension time (who made it is unknown: only an admin reinstates them)."""
    engine = create_sql_engine(unmigrated_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006_secrets")
        conn.execute(
            humans.insert().values(
                id="user:olga",
                email="olga@x.test",
                display_name="olga",
                groups=[],
                roles=[],
                active=True,
                created_at=at,
                updated_at=at,
            )
        )
        for number, status in enumerate(("active", "suspended", "retired")):
            conn.execute(
                sa.text(
                    "INSERT INTO agents (id, display_name, owner, purpose, risk_tier, status,"
                    " labels, created_at, updated_at) VALUES (:id, :id, 'user:olga', 'x',"
                    " 'low', :status, '{}', :at, :updated)"
                ),
                {
                    "id": f"{status}-bot",
                    "status": status,
                    "at": at,
                    "updated": at + number * MINUTE,
                },
            )
        conn.commit()
    upgrade(engine)
    store = SqlStore(engine)
    try:
        with store.read() as unit:
            found = {a.id: a for a in unit.agents.list()}
        assert found["active-bot"].suspended_at is None
        assert found["suspended-bot"].suspended_at == at + MINUTE
        assert found["retired-bot"].suspended_at == at + 2 * MINUTE
        assert {a.suspended_by for a in found.values()} == {None}
    finally:
        store.close()


def test_decisions_using_approvals_race_suspensions_without_failing(
    scene: Scene, services: Services, clock: ManualClock
) -> None:
    """A decision that uses an approval and a suspension that voids it take their locks
    in one order: both finish (no deadlock, no error), and whichever is first in the log
    decides whether the approval was used."""
    gate = services.tokens.authenticate(
        scene.tokens["user:gate"]["Authorization"].removeprefix("Bearer "), where="test"
    )
    failures: list[BaseException] = []
    for round_ in range(8):
        request = {**CONFIG, "input": {"round": round_}}
        approval = scene.decide(request)["approval"]["id"]
        clock.advance(MINUTE)
        assert scene.vote(approval, "user:olga").json()["status"] == "approved"
        clock.advance(MINUTE)
        start = barrier(2)
        asked = Asked(
            capability=Capability.DO,
            action=CONFIG["action"],
            resource=CONFIG["resource"],
            agent="ops-bot",
            input={"round": round_},
        )

        def decide(start: threading.Barrier = start, asked: Asked = asked) -> None:
            start.wait()
            try:
                services.decisions.decide(gate, [asked])
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)

        def suspend(start: threading.Barrier = start) -> None:
            start.wait()
            try:
                services.agents.transition(SYSTEM, "ops-bot", LifecycleAction.SUSPEND)
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)

        join_all([spawn(decide), spawn(suspend)])
        assert not failures, failures
        with services.store.read() as unit:
            assert unit.approvals.unused_for("ops-bot") == [], round_
        clock.advance(MINUTE)
        services.agents.transition(SYSTEM, "ops-bot", LifecycleAction.REINSTATE)
        clock.advance(MINUTE)
