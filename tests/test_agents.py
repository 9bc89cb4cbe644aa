"""Agent use cases through the service layer: registration, lifecycle, updates, who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.clock import ManualClock
from charter.errors import AuthenticationError, Conflict, InvalidInput, NotFound, PermissionDenied
from charter.identity.agents import AgentStatus, LifecycleAction, RiskTier
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service import SYSTEM, AgentChanges, Services
from charter.storage.ports import AuditQuery
from charter.storage.sql import SqlStore
from tests.helpers import human, log_size, register

SUSPEND = LifecycleAction.SUSPEND
REINSTATE = LifecycleAction.REINSTATE
RETIRE = LifecycleAction.RETIRE


def as_agent(services: Services, agent_id: str) -> Principal:
    issued = services.tokens.issue_for_agent(SYSTEM, agent_id)
    return services.tokens.authenticate(issued.token, where="test")


def last_record_types(services: Services, count: int) -> list[str]:
    records = services.audit.query(SYSTEM, AuditQuery(limit=10_000))
    return [record.type for record in records[-count:]]


@pytest.fixture
def alice(services: Services) -> Principal:
    """A human without roles who will own agents."""
    return human(services, "user:alice")


# -- registration ---------------------------------------------------------------------


def test_register_creates_an_active_agent_and_records_it(
    services: Services, clock: ManualClock, alice: Principal
) -> None:
    agent = register(services, "support-bot", "user:alice", labels={"team": "support"})
    assert agent.status is AgentStatus.ACTIVE
    assert agent.owner == "user:alice"
    assert agent.display_name == "support-bot"
    assert agent.labels == {"team": "support"}
    assert agent.created_at == agent.updated_at == clock()
    assert agent.recertify_by == clock() + timedelta(days=90)
    assert services.agents.get(SYSTEM, "support-bot") == agent
    [record] = services.audit.query(SYSTEM, AuditQuery(agent="support-bot"))
    assert (record.type, record.actor, record.subject) == (
        "agent.registered",
        "system",
        "agent:support-bot",
    )
    assert record.data()["owner"] == "user:alice"
    assert record.data()["status"] == "active"


def test_register_needs_a_known_owner(services: Services, store: SqlStore) -> None:
    before = log_size(store)
    with pytest.raises(InvalidInput) as raised:
        register(services, "support-bot", "user:nobody")
    assert raised.value.code == "unknown_owner"
    with pytest.raises(InvalidInput) as raised:
        register(services, "support-bot", "alice")
    assert raised.value.code == "invalid_human_id"
    assert log_size(store) == before
    assert services.agents.list(SYSTEM) == []


def test_register_needs_an_active_owner(
    services: Services, store: SqlStore, alice: Principal
) -> None:
    services.humans.deactivate(SYSTEM, "user:alice")
    before = log_size(store)
    with pytest.raises(Conflict) as raised:
        register(services, "support-bot", "user:alice")
    assert raised.value.code == "owner_inactive"
    assert log_size(store) == before


def test_register_refuses_a_taken_id_and_writes_nothing(
    services: Services, store: SqlStore, alice: Principal
) -> None:
    first = register(services, "support-bot", "user:alice")
    before = log_size(store)
    with pytest.raises(Conflict) as raised:
        register(services, "support-bot", "user:alice")
    assert raised.value.code == "agent_exists"
    assert log_size(store) == before
    assert services.agents.get(SYSTEM, "support-bot") == first


@pytest.mark.parametrize(
    ("agent_id", "labels", "code"),
    [
        ("Support-Bot", {}, "invalid_agent_id"),
        ("x", {}, "invalid_agent_id"),
        ("-bot", {}, "invalid_agent_id"),
        ("a" * 64, {}, "invalid_agent_id"),
        ("support-bot", {"Team": "x"}, "invalid_labels"),
        ("support-bot", {"team": "has space"}, "invalid_labels"),
        ("support-bot", {f"k{index}": "v" for index in range(33)}, "invalid_labels"),
    ],
)
def test_register_validates_names(
    services: Services, alice: Principal, agent_id: str, labels: dict[str, str], code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        register(services, agent_id, "user:alice", labels=labels)
    assert raised.value.code == code


# -- lifecycle ------------------------------------------------------------------------


def test_suspend_and_reinstate(services: Services, clock: ManualClock, alice: Principal) -> None:
    register(services, "support-bot", "user:alice")
    clock.advance(timedelta(minutes=5))
    suspended, revoked = services.agents.transition(
        SYSTEM, "support-bot", SUSPEND, reason="odd behaviour"
    )
    assert suspended.status is AgentStatus.SUSPENDED
    assert suspended.updated_at == clock()
    assert revoked == []
    assert services.agents.get(SYSTEM, "support-bot").status is AgentStatus.SUSPENDED
    reinstated, _ = services.agents.transition(SYSTEM, "support-bot", REINSTATE)
    assert reinstated.status is AgentStatus.ACTIVE
    records = services.audit.query(SYSTEM, AuditQuery(agent="support-bot"))
    assert [record.type for record in records] == [
        "agent.registered",
        "agent.suspended",
        "agent.reinstated",
    ]
    assert records[1].data() == {
        "from": "active",
        "to": "suspended",
        "reason": "odd behaviour",
        "revoked_tokens": [],
        "cancelled_approvals": [],
        "revoked_grants": [],
    }


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], REINSTATE),
        ([SUSPEND], SUSPEND),
        ([RETIRE], SUSPEND),
        ([RETIRE], REINSTATE),
        ([RETIRE], RETIRE),
        ([SUSPEND, RETIRE], REINSTATE),
    ],
)
def test_illegal_transitions_are_refused(
    services: Services,
    store: SqlStore,
    alice: Principal,
    path: list[LifecycleAction],
    illegal: LifecycleAction,
) -> None:
    register(services, "support-bot", "user:alice")
    for action in path:
        services.agents.transition(SYSTEM, "support-bot", action)
    status = services.agents.get(SYSTEM, "support-bot").status
    before = log_size(store)
    with pytest.raises(Conflict) as raised:
        services.agents.transition(SYSTEM, "support-bot", illegal)
    assert raised.value.code == "invalid_transition"
    assert services.agents.get(SYSTEM, "support-bot").status is status
    assert log_size(store) == before


@pytest.mark.parametrize("path", [[RETIRE], [SUSPEND, RETIRE]])
def test_retiring_revokes_every_token_and_is_final(
    services: Services, alice: Principal, path: list[LifecycleAction]
) -> None:
    register(services, "support-bot", "user:alice")
    register(services, "other-bot", "user:alice")
    tokens = [services.tokens.issue_for_agent(SYSTEM, "support-bot") for _ in range(2)]
    other = services.tokens.issue_for_agent(SYSTEM, "other-bot")
    revoked: list[str] = []
    for action in path:
        agent, revoked = services.agents.transition(SYSTEM, "support-bot", action)
    assert agent.status is AgentStatus.RETIRED
    assert revoked == sorted(issued.credential.id for issued in tokens)
    for issued in tokens:
        with pytest.raises(AuthenticationError) as raised:
            services.tokens.authenticate(issued.token, where="test")
        assert raised.value.code == "token_revoked"
    assert services.tokens.authenticate(other.token, where="test").id == "other-bot"
    record = services.audit.query(SYSTEM, AuditQuery(types=["agent.retired"]))[0]
    assert record.data()["revoked_tokens"] == revoked
    with pytest.raises(Conflict) as refused:
        services.tokens.issue_for_agent(SYSTEM, "support-bot")
    assert refused.value.code == "agent_retired"
    for action in LifecycleAction:
        with pytest.raises(Conflict):
            services.agents.transition(SYSTEM, "support-bot", action)


def test_transition_of_an_unknown_agent(services: Services) -> None:
    with pytest.raises(NotFound) as raised:
        services.agents.transition(SYSTEM, "no-such-bot", SUSPEND)
    assert raised.value.code == "agent_not_found"


# -- updates --------------------------------------------------------------------------


def test_update_records_the_changes(
    services: Services, clock: ManualClock, alice: Principal
) -> None:
    register(services, "support-bot", "user:alice", labels={"team": "support"})
    clock.advance(timedelta(hours=1))
    updated = services.agents.update(
        SYSTEM,
        "support-bot",
        AgentChanges(purpose="triage", risk_tier=RiskTier.HIGH, labels={}),
    )
    assert (updated.purpose, updated.risk_tier, updated.labels) == ("triage", RiskTier.HIGH, {})
    assert updated.updated_at == clock()
    assert services.agents.get(SYSTEM, "support-bot") == updated
    record = services.audit.query(SYSTEM, AuditQuery(types=["agent.updated"]))[0]
    assert record.data() == {
        "changes": {
            "purpose": ["testing", "triage"],
            "risk_tier": ["low", "high"],
            "labels": [{"team": "support"}, {}],
        }
    }


def test_update_that_changes_nothing_records_nothing(
    services: Services, store: SqlStore, alice: Principal
) -> None:
    agent = register(services, "support-bot", "user:alice")
    before = log_size(store)
    same = services.agents.update(
        SYSTEM, "support-bot", AgentChanges(purpose=agent.purpose, owner="user:alice")
    )
    assert same == agent
    assert log_size(store) == before


def test_owner_change_is_recorded_on_its_own(services: Services, alice: Principal) -> None:
    human(services, "user:bob")
    register(services, "support-bot", "user:alice")
    updated = services.agents.update(SYSTEM, "support-bot", AgentChanges(owner="user:bob"))
    assert updated.owner == "user:bob"
    assert last_record_types(services, 2) == ["agent.updated", "agent.owner_changed"]
    [changed] = services.audit.query(SYSTEM, AuditQuery(types=["agent.owner_changed"]))
    assert changed.agent == "support-bot"
    assert changed.data() == {"from": "user:alice", "to": "user:bob", "revoked_tokens": []}
    # The new owner now holds the owner's rights, the old one lost them.
    bob = services.tokens.authenticate(
        services.tokens.issue_for_human(SYSTEM, "user:bob").token, where="test"
    )
    assert services.agents.get(bob, "support-bot").owner == "user:bob"
    with pytest.raises(PermissionDenied):
        services.agents.get(alice, "support-bot")


def test_owner_change_needs_an_active_known_owner(
    services: Services, store: SqlStore, alice: Principal
) -> None:
    human(services, "user:bob")
    services.humans.deactivate(SYSTEM, "user:bob")
    register(services, "support-bot", "user:alice")
    before = log_size(store)
    with pytest.raises(Conflict) as inactive:
        services.agents.update(SYSTEM, "support-bot", AgentChanges(owner="user:bob"))
    assert inactive.value.code == "owner_inactive"
    with pytest.raises(InvalidInput) as unknown:
        services.agents.update(SYSTEM, "support-bot", AgentChanges(owner="user:nobody"))
    assert unknown.value.code == "unknown_owner"
    assert services.agents.get(SYSTEM, "support-bot").owner == "user:alice"
    assert log_size(store) == before


def test_retired_agents_cannot_be_updated(services: Services, alice: Principal) -> None:
    register(services, "support-bot", "user:alice")
    services.agents.transition(SYSTEM, "support-bot", RETIRE)
    with pytest.raises(Conflict) as raised:
        services.agents.update(SYSTEM, "support-bot", AgentChanges(purpose="revived"))
    assert raised.value.code == "agent_retired"
    assert services.agents.get(SYSTEM, "support-bot").purpose == "testing"


def test_update_of_an_unknown_agent(services: Services) -> None:
    with pytest.raises(NotFound) as raised:
        services.agents.update(SYSTEM, "no-such-bot", AgentChanges(purpose="x"))
    assert raised.value.code == "agent_not_found"


# -- reads ----------------------------------------------------------------------------


def test_list_filters_and_pages(services: Services, alice: Principal) -> None:
    human(services, "user:bob")
    for index in range(5):
        register(services, f"bot-{index}", "user:alice" if index % 2 == 0 else "user:bob")
    services.agents.transition(SYSTEM, "bot-2", SUSPEND)
    ids = [agent.id for agent in services.agents.list(SYSTEM)]
    assert ids == [f"bot-{index}" for index in range(5)]
    mine = services.agents.list(SYSTEM, owner="user:alice")
    assert [agent.id for agent in mine] == ["bot-0", "bot-2", "bot-4"]
    suspended = services.agents.list(SYSTEM, status=AgentStatus.SUSPENDED)
    assert [agent.id for agent in suspended] == ["bot-2"]
    page = services.agents.list(SYSTEM, after="bot-1", limit=2)
    assert [agent.id for agent in page] == ["bot-2", "bot-3"]


def test_get_of_an_unknown_agent(services: Services) -> None:
    with pytest.raises(NotFound) as raised:
        services.agents.get(SYSTEM, "no-such-bot")
    assert raised.value.code == "agent_not_found"


# -- who may do what ------------------------------------------------------------------


def test_owner_may_run_the_lifecycle_of_their_own_agent_only(
    services: Services, alice: Principal
) -> None:
    human(services, "user:bob")
    register(services, "alice-bot", "user:alice")
    register(services, "bob-bot", "user:bob")
    suspended, _ = services.agents.transition(alice, "alice-bot", SUSPEND)
    assert suspended.status is AgentStatus.SUSPENDED
    services.agents.transition(alice, "alice-bot", REINSTATE)
    for action in (SUSPEND, RETIRE):
        with pytest.raises(PermissionDenied) as raised:
            services.agents.transition(alice, "bob-bot", action)
        assert raised.value.code == "forbidden"
    assert services.agents.get(SYSTEM, "bob-bot").status is AgentStatus.ACTIVE
    last = services.audit.query(SYSTEM, AuditQuery(agent="alice-bot"))[-1]
    assert (last.type, last.actor) == ("agent.reinstated", "user:alice")


def test_owner_reads_only_their_own_agents(services: Services, alice: Principal) -> None:
    human(services, "user:bob")
    register(services, "alice-bot", "user:alice")
    register(services, "bob-bot", "user:bob")
    assert services.agents.get(alice, "alice-bot").id == "alice-bot"
    assert [agent.id for agent in services.agents.list(alice)] == ["alice-bot"]
    # Asking for someone else's agents is answered with the caller's own.
    assert [agent.id for agent in services.agents.list(alice, owner="user:bob")] == ["alice-bot"]
    with pytest.raises(PermissionDenied):
        services.agents.get(alice, "bob-bot")
    # An unknown agent looks the same as someone else's: nothing about what exists leaks.
    with pytest.raises(PermissionDenied):
        services.agents.get(alice, "no-such-bot")


def test_only_admins_register_and_update(services: Services, alice: Principal) -> None:
    auditor = human(services, "user:carol", HumanRole.AUDITOR)
    approver = human(services, "user:dave", HumanRole.APPROVER, HumanRole.POLICY_ADMIN)
    admin = human(services, "user:erin", HumanRole.ADMIN)
    register(services, "alice-bot", "user:alice")
    agent = as_agent(services, "alice-bot")
    for actor in (alice, auditor, approver, agent):
        with pytest.raises(PermissionDenied):
            register(services, "new-bot", "user:alice", actor=actor)
        with pytest.raises(PermissionDenied):
            services.agents.update(actor, "alice-bot", AgentChanges(purpose="mine now"))
    assert [agent.id for agent in services.agents.list(SYSTEM)] == ["alice-bot"]
    assert register(services, "new-bot", "user:alice", actor=admin).id == "new-bot"
    services.agents.update(admin, "new-bot", AgentChanges(purpose="changed by an admin"))
    assert services.agents.get(SYSTEM, "new-bot").purpose == "changed by an admin"


def test_auditors_read_everything_but_change_nothing(services: Services, alice: Principal) -> None:
    auditor = human(services, "user:carol", HumanRole.AUDITOR)
    register(services, "alice-bot", "user:alice")
    assert services.agents.get(auditor, "alice-bot").owner == "user:alice"
    assert [agent.id for agent in services.agents.list(auditor)] == ["alice-bot"]
    for action in (SUSPEND, RETIRE):
        with pytest.raises(PermissionDenied):
            services.agents.transition(auditor, "alice-bot", action)
    assert services.agents.get(SYSTEM, "alice-bot").status is AgentStatus.ACTIVE


def test_agents_cannot_govern_agents_not_even_themselves(
    services: Services, alice: Principal
) -> None:
    register(services, "alice-bot", "user:alice")
    register(services, "other-bot", "user:alice")
    agent = as_agent(services, "alice-bot")
    assert agent.kind is PrincipalKind.AGENT
    for target in ("alice-bot", "other-bot", "no-such-bot"):
        for action in LifecycleAction:
            with pytest.raises(PermissionDenied):
                services.agents.transition(agent, target, action)
        with pytest.raises(PermissionDenied):
            services.agents.get(agent, target)
    with pytest.raises(PermissionDenied):
        services.agents.list(agent)
    assert {a.status for a in services.agents.list(SYSTEM)} == {AgentStatus.ACTIVE}


def test_non_admins_cannot_probe_for_agents_through_the_lifecycle(
    services: Services, alice: Principal
) -> None:
    # As with reads, an unknown agent and someone else's agent are refused alike.
    human(services, "user:bob")
    register(services, "bob-bot", "user:bob")
    for target in ("bob-bot", "no-such-bot"):
        with pytest.raises(PermissionDenied):
            services.agents.transition(alice, target, SUSPEND)


def test_reinstating_needs_an_active_owner(
    services: Services, store: SqlStore, alice: Principal
) -> None:
    register(services, "support-bot", alice.id)
    services.agents.transition(SYSTEM, "support-bot", SUSPEND)
    services.humans.add(SYSTEM, human_id="user:root", email="root@x.test", roles=[HumanRole.ADMIN])
    services.humans.deactivate(SYSTEM, alice.id)
    before = log_size(store)
    with pytest.raises(Conflict) as refused:
        services.agents.transition(SYSTEM, "support-bot", REINSTATE)
    assert refused.value.code == "owner_inactive"
    assert services.agents.get(SYSTEM, "support-bot").status is AgentStatus.SUSPENDED
    assert log_size(store) == before
    # Given a new, active owner, it can go back to work.
    services.agents.update(SYSTEM, "support-bot", AgentChanges(owner="user:root"))
    moved, _ = services.agents.transition(SYSTEM, "support-bot", REINSTATE)
    assert moved.status is AgentStatus.ACTIVE
