"""Human use cases through the service layer: add, update, deactivate, the last admin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.clock import ManualClock
from charter.errors import AuthenticationError, Conflict, InvalidInput, NotFound, PermissionDenied
from charter.identity.agents import AgentStatus, LifecycleAction, RiskTier
from charter.identity.humans import Human, HumanRole
from charter.service import SYSTEM, HumanChanges, Services
from charter.storage.ports import AuditQuery
from charter.storage.sql import SqlStore
from tests.helpers import add_human, human, log_size, login, register


def records_of_type(services: Services, record_type: str) -> list[dict[str, object]]:
    return [
        record.data() for record in services.audit.query(SYSTEM, AuditQuery(types=[record_type]))
    ]


# -- adding -----------------------------------------------------------------------------


def test_add_creates_an_active_human_and_records_it(services: Services, clock: ManualClock) -> None:
    added = services.humans.add(
        SYSTEM,
        human_id="user:alice",
        email="alice@example.com",
        groups=["support", "emea", "support"],
        roles=[HumanRole.APPROVER],
    )
    assert added.active
    assert added.display_name == "alice"
    assert added.groups == ("emea", "support")
    assert added.roles == frozenset({HumanRole.APPROVER})
    assert added.created_at == added.updated_at == clock()
    assert services.humans.get(SYSTEM, "user:alice") == added
    [record] = services.audit.query(SYSTEM, AuditQuery(types=["human.added"]))
    assert (record.actor, record.subject) == ("system", "user:alice")
    assert record.data() == {
        "email": "alice@example.com",
        "display_name": "alice",
        "groups": ["emea", "support"],
        "roles": ["approver"],
        "active": True,
    }


@pytest.mark.parametrize(
    ("human_id", "email"),
    [("user:alice", "someone-else@example.com"), ("user:alice2", "alice@example.com")],
)
def test_duplicate_id_or_email_is_refused(
    services: Services, store: SqlStore, human_id: str, email: str
) -> None:
    services.humans.add(SYSTEM, human_id="user:alice", email="alice@example.com")
    before = log_size(store)
    with pytest.raises(Conflict) as raised:
        services.humans.add(SYSTEM, human_id=human_id, email=email)
    assert raised.value.code == "human_exists"
    assert log_size(store) == before
    assert [h.id for h in services.humans.list(SYSTEM)] == ["user:alice"]


@pytest.mark.parametrize(
    ("human_id", "email", "groups", "code"),
    [
        ("alice", "alice@example.com", [], "invalid_human_id"),
        ("user:Alice", "alice@example.com", [], "invalid_human_id"),
        ("user:alice", "not-an-email", [], "invalid_email"),
        ("user:alice", "a@b@example.com", [], "invalid_email"),
        ("user:alice", "alice@example.com", ["Has Space"], "invalid_groups"),
        ("user:alice", "alice@example.com", [f"g{index}" for index in range(65)], "invalid_groups"),
    ],
)
def test_add_validates_its_input(
    services: Services, store: SqlStore, human_id: str, email: str, groups: list[str], code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        services.humans.add(SYSTEM, human_id=human_id, email=email, groups=groups)
    assert raised.value.code == code
    assert log_size(store) == 0


# -- updating ---------------------------------------------------------------------------


def test_update_records_the_changes(services: Services, clock: ManualClock) -> None:
    add_human(services, "user:alice")
    clock.advance(timedelta(hours=1))
    updated = services.humans.update(
        SYSTEM,
        "user:alice",
        HumanChanges(email="alice@new.example", roles=[HumanRole.AUDITOR], groups=["grc"]),
    )
    assert (updated.email, updated.roles, updated.groups) == (
        "alice@new.example",
        frozenset({HumanRole.AUDITOR}),
        ("grc",),
    )
    assert updated.updated_at == clock()
    assert services.humans.get(SYSTEM, "user:alice") == updated
    assert records_of_type(services, "human.updated") == [
        {
            "changes": {
                "email": ["alice@x.test", "alice@new.example"],
                "groups": [[], ["grc"]],
                "roles": [[], ["auditor"]],
            }
        }
    ]


def test_update_that_changes_nothing_records_nothing(services: Services, store: SqlStore) -> None:
    add_human(services, "user:alice", HumanRole.APPROVER)
    before = log_size(store)
    services.humans.update(SYSTEM, "user:alice", HumanChanges(roles=[HumanRole.APPROVER]))
    assert log_size(store) == before


def test_update_refuses_a_taken_email(services: Services) -> None:
    add_human(services, "user:alice")
    add_human(services, "user:bob")
    with pytest.raises(Conflict) as raised:
        services.humans.update(SYSTEM, "user:bob", HumanChanges(email="alice@x.test"))
    assert raised.value.code == "human_exists"
    assert services.humans.get(SYSTEM, "user:bob").email == "bob@x.test"


def test_update_cannot_deactivate(services: Services) -> None:
    add_human(services, "user:alice")
    with pytest.raises(InvalidInput) as raised:
        services.humans.update(SYSTEM, "user:alice", HumanChanges(active=False))
    assert raised.value.code == "use_deactivate"
    assert services.humans.get(SYSTEM, "user:alice").active


def test_update_reactivates(services: Services) -> None:
    add_human(services, "user:alice")
    services.humans.deactivate(SYSTEM, "user:alice")
    reactivated = services.humans.update(SYSTEM, "user:alice", HumanChanges(active=True))
    assert reactivated.active
    assert login(services, "user:alice").id == "user:alice"


def test_unknown_humans(services: Services) -> None:
    for call in (
        lambda: services.humans.get(SYSTEM, "user:nobody"),
        lambda: services.humans.update(SYSTEM, "user:nobody", HumanChanges(display_name="x")),
        lambda: services.humans.deactivate(SYSTEM, "user:nobody"),
    ):
        with pytest.raises(NotFound) as raised:
            call()
        assert raised.value.code == "human_not_found"


# -- deactivating -----------------------------------------------------------------------


def test_deactivate_revokes_tokens_and_reports_orphaned_agents(services: Services) -> None:
    add_human(services, "user:alice")
    add_human(services, "user:bob")
    register(services, "alice-active", "user:alice")
    register(services, "alice-suspended", "user:alice")
    register(services, "alice-retired", "user:alice")
    register(services, "bob-bot", "user:bob")
    services.agents.transition(SYSTEM, "alice-suspended", LifecycleAction.SUSPEND)
    services.agents.transition(SYSTEM, "alice-retired", LifecycleAction.RETIRE)
    tokens = [services.tokens.issue_for_human(SYSTEM, "user:alice") for _ in range(2)]
    bobs = services.tokens.issue_for_human(SYSTEM, "user:bob")

    result = services.humans.deactivate(SYSTEM, "user:alice", reason="left the company")

    assert not result.human.active
    assert not services.humans.get(SYSTEM, "user:alice").active
    assert [agent.id for agent in result.orphaned_agents] == ["alice-active", "alice-suspended"]
    assert result.revoked_tokens == sorted(issued.credential.id for issued in tokens)
    for issued in tokens:
        with pytest.raises(AuthenticationError) as raised:
            services.tokens.authenticate(issued.token, where="test")
        assert raised.value.code == "token_revoked"
    assert services.tokens.authenticate(bobs.token, where="test").id == "user:bob"
    # Orphaned agents are reported, not changed: deciding their fate is a human's call.
    assert services.agents.get(SYSTEM, "alice-active").status is AgentStatus.ACTIVE
    assert records_of_type(services, "human.deactivated") == [
        {
            "reason": "left the company",
            "orphaned_agents": ["alice-active", "alice-suspended"],
            "revoked_tokens": result.revoked_tokens,
        }
    ]
    with pytest.raises(Conflict) as again:
        services.humans.deactivate(SYSTEM, "user:alice")
    assert again.value.code == "human_inactive"
    with pytest.raises(Conflict) as no_token:
        services.tokens.issue_for_human(SYSTEM, "user:alice")
    assert no_token.value.code == "human_inactive"


def test_the_last_admin_cannot_be_deactivated(services: Services, store: SqlStore) -> None:
    add_human(services, "user:root", HumanRole.ADMIN)
    before = log_size(store)
    with pytest.raises(Conflict) as raised:
        services.humans.deactivate(SYSTEM, "user:root")
    assert raised.value.code == "last_admin"
    assert services.humans.get(SYSTEM, "user:root").active
    assert log_size(store) == before


def test_the_last_admin_cannot_lose_the_admin_role(services: Services) -> None:
    add_human(services, "user:root", HumanRole.ADMIN, HumanRole.AUDITOR)
    with pytest.raises(Conflict) as raised:
        services.humans.update(SYSTEM, "user:root", HumanChanges(roles=[HumanRole.AUDITOR]))
    assert raised.value.code == "last_admin"
    assert HumanRole.ADMIN in services.humans.get(SYSTEM, "user:root").roles


def test_an_admin_may_go_while_another_active_admin_remains(services: Services) -> None:
    add_human(services, "user:root", HumanRole.ADMIN)
    add_human(services, "user:second", HumanRole.ADMIN)
    add_human(services, "user:third", HumanRole.ADMIN)
    services.humans.update(SYSTEM, "user:second", HumanChanges(roles=[]))
    services.humans.deactivate(SYSTEM, "user:third")
    # An inactive admin does not count: user:root is now the last one.
    assert HumanRole.ADMIN in services.humans.get(SYSTEM, "user:third").roles
    with pytest.raises(Conflict) as raised:
        services.humans.deactivate(SYSTEM, "user:root")
    assert raised.value.code == "last_admin"
    with pytest.raises(Conflict):
        services.humans.update(SYSTEM, "user:root", HumanChanges(roles=[]))


def test_the_last_admin_is_found_among_many_humans(
    services: Services, store: SqlStore, clock: ManualClock
) -> None:
    # The check pages through humans; put the only other admin well past the first page.
    add_human(services, "user:aaa-root", HumanRole.ADMIN)
    with store.write() as unit:
        for index in range(510):
            unit.humans.add(
                Human(
                    id=f"user:m{index:04d}",
                    email=f"m{index}@x.test",
                    display_name=f"m{index}",
                    groups=(),
                    roles=frozenset(),
                    active=True,
                    created_at=clock(),
                    updated_at=clock(),
                )
            )
    add_human(services, "user:zzz-admin", HumanRole.ADMIN)
    services.humans.deactivate(SYSTEM, "user:aaa-root")
    with pytest.raises(Conflict) as raised:
        services.humans.deactivate(SYSTEM, "user:zzz-admin")
    assert raised.value.code == "last_admin"


# -- who may do what --------------------------------------------------------------------


def test_only_admins_change_humans(services: Services) -> None:
    plain = human(services, "user:alice")
    auditor = human(services, "user:carol", HumanRole.AUDITOR)
    policy_admin = human(services, "user:dave", HumanRole.POLICY_ADMIN, HumanRole.APPROVER)
    services.agents.register(
        SYSTEM,
        agent_id="alice-bot",
        display_name=None,
        owner="user:alice",
        purpose="testing",
        risk_tier=RiskTier.LOW,
    )
    agent = services.tokens.authenticate(
        services.tokens.issue_for_agent(SYSTEM, "alice-bot").token, where="test"
    )
    for actor in (plain, auditor, policy_admin, agent):
        with pytest.raises(PermissionDenied) as raised:
            add_human(services, "user:mallory", HumanRole.ADMIN, actor=actor)
        assert raised.value.code == "forbidden"
        with pytest.raises(PermissionDenied):
            services.humans.update(actor, actor.id, HumanChanges(roles=[HumanRole.ADMIN]))
        with pytest.raises(PermissionDenied):
            services.humans.update(actor, "user:alice", HumanChanges(display_name="x"))
        with pytest.raises(PermissionDenied):
            services.humans.deactivate(actor, "user:alice")
    with pytest.raises(NotFound):
        services.humans.get(SYSTEM, "user:mallory")
    assert services.humans.get(SYSTEM, "user:alice").active
    assert services.humans.get(SYSTEM, "user:alice").display_name == "alice"

    admin = human(services, "user:root", HumanRole.ADMIN)
    add_human(services, "user:bob", actor=admin)
    services.humans.update(admin, "user:bob", HumanChanges(display_name="Bob"))
    assert services.humans.deactivate(admin, "user:bob").human.display_name == "Bob"


def test_reading_humans(services: Services) -> None:
    plain = human(services, "user:alice")
    auditor = human(services, "user:carol", HumanRole.AUDITOR)
    add_human(services, "user:bob")
    # Anyone may read themself; auditors and admins may read and list everyone.
    assert services.humans.get(plain, "user:alice").id == "user:alice"
    with pytest.raises(PermissionDenied):
        services.humans.get(plain, "user:bob")
    with pytest.raises(PermissionDenied):
        services.humans.list(plain)
    assert services.humans.get(auditor, "user:bob").id == "user:bob"
    listed = [h.id for h in services.humans.list(auditor)]
    assert listed == ["user:alice", "user:bob", "user:carol"]
    assert [h.id for h in services.humans.list(auditor, after="user:alice", limit=1)] == [
        "user:bob"
    ]
