"""Control changes are linearizable with decisions, on real SQLite and PostgreSQL.

A decision takes its place in the audit log (the head's lock) before it reads the agent,
its token, the active policy revision, its grants and approvals: so no decision recorded
after an agent's suspension, a token's revocation or a policy activation was decided by
the state before it, and a server that holds an older revision than the store follows
the store before deciding. No timing: the threads race for real and the log is checked.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from charter.audit.records import AuditRecord
from charter.errors import AuthenticationError
from charter.identity.agents import LifecycleAction
from charter.identity.humans import HumanRole
from charter.policy.model import Capability
from charter.service import Services
from charter.service.decisions import Asked
from charter.storage.sql import SqlStore, open_store
from tests.helpers import add_human, agent_token, login, register
from tests.waiting import join_all

POLICY = """
apiVersion: charter/v1
kind: Role
metadata: {name: tidy}
spec:
  permissions:
    - {capability: do, actions: [files.clean], resources: ["tmp/**"]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: janitor-tidy}
spec: {role: tidy, agents: [janitor]}
"""
WALLED = (
    POLICY
    + """---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-cleaning}
spec:
  effect: deny
  match: {actions: [files.clean]}
"""
)
CLEAN = Asked(capability=Capability.DO, action="files.clean", resource="tmp/a")
ROUNDS = 12
DECIDERS = 4


def _records(store: SqlStore) -> list[AuditRecord]:
    with store.read() as unit:
        return list(unit.audit.records())


@pytest.fixture
def janitor(services: Services) -> str:
    add_human(services, "user:alice")
    add_human(services, "user:pat", HumanRole.POLICY_ADMIN)
    register(services, "janitor", "user:alice")
    services.policies.apply(login(services, "user:pat"), {"p.yaml": POLICY})
    return agent_token(services, "janitor")


def test_no_allow_is_recorded_after_a_suspension(
    services: Services, store: SqlStore, janitor: str
) -> None:
    alice = login(services, "user:alice")
    stop = threading.Event()
    failures: list[BaseException] = []

    def decide_forever() -> None:
        while not stop.is_set():
            try:
                services.decisions.decide_as(janitor, [CLEAN], where="test")
            except AuthenticationError:
                pass  # refused while suspended: that is the point
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)
                return

    threads = [threading.Thread(target=decide_forever) for _ in range(DECIDERS)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(ROUNDS):
            services.agents.transition(alice, "janitor", LifecycleAction.SUSPEND, reason="x")
            services.agents.transition(alice, "janitor", LifecycleAction.REINSTATE, reason="y")
    finally:
        stop.set()
        join_all(threads)
    assert not failures, failures

    status = "active"
    allows_while_suspended: list[int] = []
    decisions = 0
    for record in _records(store):
        if record.type == "agent.suspended":
            status = "suspended"
        elif record.type == "agent.reinstated":
            status = "active"
        elif record.type == "decision":
            decisions += 1
            if record.data()["decision"] == "allow" and status != "active":
                allows_while_suspended.append(record.seq)
    assert decisions > 0
    assert allows_while_suspended == []
    assert services.audit.verify_store().ok


def test_no_allow_is_recorded_after_a_token_is_revoked(
    services: Services, store: SqlStore, janitor: str
) -> None:
    # One token at a time: a round issues one, decides with it in a thread while it is
    # revoked, and waits for the thread to be refused.
    alice = login(services, "user:alice")
    failures: list[BaseException] = []

    give_up = threading.Event()

    def decide_until_refused(token: str) -> None:
        while not give_up.is_set():
            try:
                services.decisions.decide_as(token, [CLEAN], where="test")
            except AuthenticationError:
                return
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)
                return

    for _ in range(ROUNDS):
        issued = services.tokens.issue_for_agent(alice, "janitor")
        thread = threading.Thread(target=decide_until_refused, args=(issued.token,))
        thread.start()
        try:
            services.tokens.revoke(alice, issued.credential.id)
        finally:
            try:
                join_all([thread])
            finally:
                give_up.set()
    assert not failures, failures

    revoked = False
    late: list[int] = []
    for record in _records(store):
        if record.type == "token.revoked":
            revoked = True
        elif record.type == "token.issued":
            revoked = False
        elif record.type == "decision" and record.data()["decision"] == "allow" and revoked:
            late.append(record.seq)
    assert late == []
    assert services.audit.verify_store().ok


def _replica(database_url: str, services: Services) -> tuple[Services, SqlStore]:
    """A second server's services over the same store (its own engine, its own cache)."""
    other = open_store(database_url, migrate=False)
    return Services.build(other, clock=services.clock), other


def test_a_replica_never_decides_by_a_revision_older_than_the_store(
    services: Services, database_url: str, janitor: str
) -> None:
    replica, other_store = _replica(database_url, services)
    try:
        replica.policies.load_active()
        first = replica.decisions.decide_as(janitor, [CLEAN], where="test")[0]
        assert first.decision.allowed

        # Activated through this server; the replica has had no chance to poll.
        applied = services.policies.apply(login(services, "user:pat"), {"p.yaml": WALLED})
        held = replica.policies.compiled.engine
        assert held is not None
        assert held.revision != applied.revision
        after = replica.decisions.decide_as(janitor, [CLEAN], where="test")[0]
        assert (after.decision.effect.value, after.decision.code) == ("deny", "guardrail")
        assert after.decision.policy_revision == applied.revision
        # And back again, through a rollback on the replica this time.
        back = replica.policies.rollback(login(replica, "user:pat"), first.decision.policy_revision)
        assert back.revision == first.decision.policy_revision
        again = services.decisions.decide_as(janitor, [CLEAN], where="test")[0]
        assert again.decision.allowed
    finally:
        other_store.close()


def _revision_of(record: AuditRecord) -> Any:
    return record.data().get("policy_revision") or record.data().get("revision")


def test_decisions_follow_policy_activations_in_log_order(
    services: Services, store: SqlStore, database_url: str, janitor: str
) -> None:
    replica, other_store = _replica(database_url, services)
    pat = login(services, "user:pat")
    stop = threading.Event()
    failures: list[BaseException] = []

    def decide_forever() -> None:
        while not stop.is_set():
            try:
                replica.decisions.decide_as(janitor, [CLEAN], where="test")
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)
                return

    try:
        replica.policies.load_active()
        threads = [threading.Thread(target=decide_forever) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            for round_ in range(ROUNDS // 2):
                services.policies.apply(pat, {"p.yaml": WALLED + f"# {round_}\n"})
                services.policies.apply(pat, {"p.yaml": POLICY + f"# {round_}\n"})
        finally:
            stop.set()
            join_all(threads)
        assert not failures, failures
    finally:
        other_store.close()

    active = _revision_of(next(r for r in _records(store) if r.type == "policy.applied"))
    stale: list[int] = []
    for record in _records(store):
        if record.type in {"policy.applied", "policy.activated", "policy.rolled_back"}:
            active = _revision_of(record) or active
        elif record.type == "decision" and record.data()["policy_revision"] != active:
            stale.append(record.seq)
    assert stale == []
