"""Credential use cases through the service layer: issue, authenticate, expire, revoke, rotate."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from charter.clock import ManualClock
from charter.errors import AuthenticationError, Conflict, InvalidInput, NotFound, PermissionDenied
from charter.identity.agents import LifecycleAction
from charter.identity.credentials import IssuedToken, PrincipalKind, TokenLifetimes, hash_secret
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service import SYSTEM, HumanChanges, Services
from charter.settings import Settings
from charter.storage.ports import AuditQuery
from charter.storage.sql import SqlStore
from tests.helpers import add_human, human, register

TOKEN = re.compile(r"^cht_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$")


def authenticate(services: Services, token: str | None) -> Principal:
    return services.tokens.authenticate(token, where="test")


def refused(services: Services, token: str | None) -> str:
    """Authenticate ``token``, expecting a refusal; return its code."""
    with pytest.raises(AuthenticationError) as raised:
        authenticate(services, token)
    return raised.value.code


def parts_of(issued: IssuedToken) -> tuple[str, str]:
    """The public id and the secret of a clear token."""
    match = TOKEN.fullmatch(issued.token)
    assert match is not None, issued.token
    return match.group(1), match.group(2)


def secret_of(issued: IssuedToken) -> str:
    return parts_of(issued)[1]


def dump_database(store: SqlStore) -> str:
    """Every row of every table, as text."""
    lines: list[str] = []
    with store.engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                lines.append(f"{table}: {tuple(row)!r}")
    return "\n".join(lines)


def audit_records(services: Services) -> list[tuple[str, dict[str, object]]]:
    return [
        (record.type, record.data())
        for record in services.audit.query(SYSTEM, AuditQuery(limit=10_000))
    ]


@pytest.fixture
def alice(services: Services) -> Principal:
    """A human without roles who owns ``alice-bot``."""
    principal = human(services, "user:alice")
    register(services, "alice-bot", "user:alice")
    return principal


# -- issuing ----------------------------------------------------------------------------


def test_token_format_and_stored_hash(services: Services, alice: Principal) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "alice-bot", description="ci")
    match = TOKEN.fullmatch(issued.token)
    assert match is not None, issued.token
    public, secret = match.groups()
    credential = issued.credential
    assert credential.id == f"tok_{public}"
    assert credential.secret_hash == hash_secret(secret)
    assert secret not in credential.secret_hash
    assert (credential.principal_kind, credential.principal_id) == (
        PrincipalKind.AGENT,
        "alice-bot",
    )
    assert (credential.created_by, credential.description) == ("system", "ci")
    principal = authenticate(services, issued.token)
    assert (principal.kind, principal.id, principal.credential_id) == (
        PrincipalKind.AGENT,
        "alice-bot",
        credential.id,
    )
    assert principal.roles == frozenset()
    again = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    assert again.token != issued.token
    assert again.credential.id != credential.id


def test_human_token_carries_the_humans_roles(services: Services) -> None:
    principal = human(services, "user:carol", HumanRole.AUDITOR, HumanRole.APPROVER)
    assert (principal.kind, principal.id) == (PrincipalKind.HUMAN, "user:carol")
    assert principal.roles == frozenset({HumanRole.AUDITOR, HumanRole.APPROVER})


def test_the_clear_token_is_stored_nowhere(
    services: Services, store: SqlStore, clock: ManualClock, alice: Principal
) -> None:
    issued = [
        services.tokens.issue_for_agent(SYSTEM, "alice-bot"),
        services.tokens.issue_for_human(SYSTEM, "user:alice"),
    ]
    for each in issued:
        authenticate(services, each.token)
    rotated = services.tokens.rotate(SYSTEM, issued[0].credential.id)
    issued.append(rotated)
    authenticate(services, rotated.token)
    # A wrong secret for a known id, and an old token after revocation, are audited too.
    public, _ = parts_of(issued[1])
    refused(services, f"cht_{public}_{'A' * 43}")
    refused(services, issued[0].token)
    clock.advance(timedelta(days=31))
    refused(services, issued[1].token)

    dump = dump_database(store)
    assert "tok_" in dump  # the dump really holds the credentials
    for each in issued:
        assert each.token not in dump
        assert secret_of(each) not in dump
        assert each.credential.secret_hash in dump


@pytest.mark.parametrize(
    ("kind", "default"),
    [(PrincipalKind.AGENT, timedelta(hours=24)), (PrincipalKind.HUMAN, timedelta(days=30))],
)
def test_default_lifetimes(
    services: Services,
    clock: ManualClock,
    alice: Principal,
    kind: PrincipalKind,
    default: timedelta,
) -> None:
    issued = (
        services.tokens.issue_for_agent(SYSTEM, "alice-bot")
        if kind is PrincipalKind.AGENT
        else services.tokens.issue_for_human(SYSTEM, "user:alice")
    )
    assert issued.credential.created_at == clock()
    assert issued.credential.expires_at == clock() + default
    clock.advance(default - timedelta(microseconds=1))
    assert authenticate(services, issued.token).credential_id == issued.credential.id
    clock.advance(timedelta(microseconds=1))
    assert refused(services, issued.token) == "token_expired"


@pytest.mark.parametrize(
    ("kind", "cap"),
    [(PrincipalKind.AGENT, timedelta(days=30)), (PrincipalKind.HUMAN, timedelta(days=90))],
)
def test_lifetimes_over_the_maximum_are_refused(
    services: Services, clock: ManualClock, alice: Principal, kind: PrincipalKind, cap: timedelta
) -> None:
    def issue(ttl: timedelta) -> IssuedToken:
        if kind is PrincipalKind.AGENT:
            return services.tokens.issue_for_agent(SYSTEM, "alice-bot", ttl=ttl)
        return services.tokens.issue_for_human(SYSTEM, "user:alice", ttl=ttl)

    assert issue(cap).credential.expires_at == clock() + cap
    with pytest.raises(InvalidInput) as raised:
        issue(cap + timedelta(seconds=1))
    assert raised.value.code == "ttl_too_long"
    for bad in (timedelta(0), timedelta(seconds=-1)):
        with pytest.raises(InvalidInput) as invalid:
            issue(bad)
        assert invalid.value.code == "invalid_ttl"


def test_configured_maximum_also_bounds_the_default(
    store: SqlStore, clock: ManualClock, alice: Principal
) -> None:
    settings = Settings(token_lifetimes=TokenLifetimes(agent_max=timedelta(hours=1)))
    strict = Services.build(store, settings=settings, clock=clock)
    issued = strict.tokens.issue_for_agent(SYSTEM, "alice-bot")
    assert issued.credential.expires_at == clock() + timedelta(hours=1)
    with pytest.raises(InvalidInput) as raised:
        strict.tokens.issue_for_agent(SYSTEM, "alice-bot", ttl=timedelta(hours=2))
    assert raised.value.code == "ttl_too_long"


def test_issue_is_recorded(services: Services, clock: ManualClock, alice: Principal) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "alice-bot", description="ci")
    [record] = services.audit.query(SYSTEM, AuditQuery(agent="alice-bot", types=["token.issued"]))
    assert (record.actor, record.subject) == ("system", issued.credential.id)
    assert record.data() == {
        "principal_kind": "agent",
        "principal": "alice-bot",
        "expires_at": (clock() + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "description": "ci",
        "rotated_from": None,
    }


def test_issue_needs_an_active_principal(services: Services, alice: Principal) -> None:
    services.agents.transition(SYSTEM, "alice-bot", LifecycleAction.SUSPEND)
    with pytest.raises(Conflict) as suspended:
        services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    assert suspended.value.code == "agent_suspended"
    with pytest.raises(NotFound) as unknown_agent:
        services.tokens.issue_for_agent(SYSTEM, "no-such-bot")
    assert unknown_agent.value.code == "agent_not_found"
    with pytest.raises(NotFound) as unknown_human:
        services.tokens.issue_for_human(SYSTEM, "user:nobody")
    assert unknown_human.value.code == "human_not_found"


# -- authentication ---------------------------------------------------------------------


def test_authentication_records_use(
    services: Services, clock: ManualClock, alice: Principal
) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    authenticate(services, issued.token)
    first_use = clock()
    [credential] = services.tokens.list_for(SYSTEM, PrincipalKind.AGENT, "alice-bot")
    assert credential.last_used_at == first_use
    assert services.agents.get(SYSTEM, "alice-bot").last_seen_at == first_use
    # Uses within a minute are not written again; later ones are.
    clock.advance(timedelta(seconds=30))
    authenticate(services, issued.token)
    [credential] = services.tokens.list_for(SYSTEM, PrincipalKind.AGENT, "alice-bot")
    assert credential.last_used_at == first_use
    clock.advance(timedelta(seconds=30))
    authenticate(services, issued.token)
    [credential] = services.tokens.list_for(SYSTEM, PrincipalKind.AGENT, "alice-bot")
    assert credential.last_used_at == clock()
    assert services.agents.get(SYSTEM, "alice-bot").last_seen_at == clock()


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "token_missing"),
        ("", "token_missing"),
        ("not-a-token", "token_invalid"),
        ("cht_abc_def", "token_invalid"),
        ("Bearer cht_aaaaaaaaaaaaaaaa_" + "A" * 43, "token_invalid"),
        ("cht_aaaaaaaaaaaaaaaa_" + "A" * 42, "token_invalid"),
        ("cht_aaaaaaaaaaaaaaaa_" + "A" * 43, "token_invalid"),  # well formed, unknown
    ],
)
def test_malformed_missing_and_unknown_tokens(
    services: Services, token: str | None, code: str
) -> None:
    assert refused(services, token) == code
    [record] = services.audit.query(SYSTEM, AuditQuery())  # the log was empty
    assert (record.type, record.actor, record.agent, record.subject) == (
        "auth.failed",
        "anonymous",
        None,
        None,
    )
    assert record.data() == {"code": code, "where": "test"}
    if token:
        assert token not in record.body


def test_a_known_id_with_a_wrong_secret_is_invalid(services: Services, alice: Principal) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    secret = secret_of(issued)
    wrong = issued.token[: -len(secret)] + ("B" if secret[0] == "A" else "A") + secret[1:]
    assert refused(services, wrong) == "token_invalid"
    # The failure names no credential: a guesser learns nothing about which ids exist.
    [record] = services.audit.query(SYSTEM, AuditQuery(types=["auth.failed"]))
    assert (record.agent, record.subject) == (None, None)
    assert record.data() == {"code": "token_invalid", "where": "test"}
    assert wrong not in record.body
    assert authenticate(services, issued.token).id == "alice-bot"


def test_revoked_token_is_refused_from_the_next_call(
    services: Services, clock: ManualClock, alice: Principal
) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    authenticate(services, issued.token)
    revoked = services.tokens.revoke(SYSTEM, issued.credential.id, reason="leaked")
    assert revoked.revoked_at == clock()
    assert revoked.revoked_by == "system"
    assert refused(services, issued.token) == "token_revoked"
    # Revoking again changes nothing and records nothing.
    count = len(audit_records(services))
    assert services.tokens.revoke(SYSTEM, issued.credential.id) == revoked
    assert len(audit_records(services)) == count
    [record] = services.audit.query(SYSTEM, AuditQuery(types=["token.revoked"]))
    assert (record.agent, record.subject) == ("alice-bot", issued.credential.id)
    assert record.data() == {
        "principal_kind": "agent",
        "principal": "alice-bot",
        "reason": "leaked",
    }


def test_revoke_of_an_unknown_token(services: Services) -> None:
    with pytest.raises(NotFound) as raised:
        services.tokens.revoke(SYSTEM, "tok_aaaaaaaaaaaaaaaa")
    assert raised.value.code == "token_not_found"


def test_rotate_revokes_the_old_token_and_the_new_one_works(
    services: Services, clock: ManualClock, alice: Principal
) -> None:
    old = services.tokens.issue_for_agent(SYSTEM, "alice-bot", description="ci")
    clock.advance(timedelta(hours=1))
    new = services.tokens.rotate(SYSTEM, old.credential.id)
    assert new.credential.rotated_from == old.credential.id
    assert new.credential.description == "ci"
    assert new.credential.expires_at == clock() + timedelta(hours=24)
    assert refused(services, old.token) == "token_revoked"
    assert authenticate(services, new.token).credential_id == new.credential.id
    record = services.audit.query(SYSTEM, AuditQuery(types=["token.rotated"]))[-1]
    assert record.subject == new.credential.id
    assert record.data()["rotated_from"] == old.credential.id
    with pytest.raises(Conflict) as again:
        services.tokens.rotate(SYSTEM, old.credential.id)
    assert again.value.code == "token_revoked"


def test_rotate_refuses_expired_tokens_and_inactive_agents(
    services: Services, clock: ManualClock, alice: Principal
) -> None:
    short = services.tokens.issue_for_agent(SYSTEM, "alice-bot", ttl=timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Conflict) as expired:
        services.tokens.rotate(SYSTEM, short.credential.id)
    assert expired.value.code == "token_expired"
    live = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    services.agents.transition(SYSTEM, "alice-bot", LifecycleAction.SUSPEND)
    with pytest.raises(Conflict) as suspended:
        services.tokens.rotate(SYSTEM, live.credential.id)
    assert suspended.value.code == "agent_suspended"
    services.agents.transition(SYSTEM, "alice-bot", LifecycleAction.REINSTATE)
    assert authenticate(services, live.token).id == "alice-bot"


def test_suspension_refuses_an_agents_tokens_until_reinstated(
    services: Services, alice: Principal
) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    services.agents.transition(SYSTEM, "alice-bot", LifecycleAction.SUSPEND)
    assert refused(services, issued.token) == "agent_suspended"
    services.agents.transition(SYSTEM, "alice-bot", LifecycleAction.REINSTATE)
    assert authenticate(services, issued.token).id == "alice-bot"
    services.agents.transition(SYSTEM, "alice-bot", LifecycleAction.RETIRE)
    assert refused(services, issued.token) == "token_revoked"


def test_deactivated_humans_tokens_are_refused(
    services: Services, store: SqlStore, alice: Principal
) -> None:
    first = services.tokens.issue_for_human(SYSTEM, "user:alice")
    services.humans.deactivate(SYSTEM, "user:alice")
    assert refused(services, first.token) == "token_revoked"
    # A token that escaped revocation (say, issued in a race with the deactivation)
    # is still refused because the human is inactive.
    services.humans.update(SYSTEM, "user:alice", HumanChanges(active=True))
    second = services.tokens.issue_for_human(SYSTEM, "user:alice")
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE humans SET active = :no WHERE id = 'user:alice'"), {"no": False}
        )
    assert refused(services, second.token) == "human_inactive"


def assert_failure_recorded(
    services: Services, issued: IssuedToken, code: str, *, agent: str | None
) -> None:
    """Authenticating ``issued`` fails with ``code`` and adds one record, free of the secret."""
    before = len(audit_records(services))
    assert refused(services, issued.token) == code
    records = services.audit.query(SYSTEM, AuditQuery(after_seq=before - 1))
    assert len(records) == 1
    [record] = records
    assert record.type == "auth.failed"
    assert (record.actor, record.agent, record.subject) == (
        "anonymous",
        agent,
        issued.credential.id,
    )
    assert record.data() == {"code": code, "where": "test"}
    assert issued.token not in record.body
    assert secret_of(issued) not in record.body


def test_every_failed_authentication_is_audited_without_the_secret(
    services: Services, clock: ManualClock, alice: Principal
) -> None:
    expiring = services.tokens.issue_for_agent(SYSTEM, "alice-bot", ttl=timedelta(minutes=1))
    clock.advance(timedelta(minutes=1))
    assert_failure_recorded(services, expiring, "token_expired", agent="alice-bot")

    revoked = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    services.tokens.revoke(SYSTEM, revoked.credential.id)
    assert_failure_recorded(services, revoked, "token_revoked", agent="alice-bot")

    suspended = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    services.agents.transition(SYSTEM, "alice-bot", LifecycleAction.SUSPEND)
    assert_failure_recorded(services, suspended, "agent_suspended", agent="alice-bot")

    human_token = services.tokens.issue_for_human(SYSTEM, "user:alice")
    services.humans.deactivate(SYSTEM, "user:alice")
    assert_failure_recorded(services, human_token, "token_revoked", agent=None)


# -- who may do what --------------------------------------------------------------------


def test_owner_manages_their_own_agents_tokens_only(services: Services, alice: Principal) -> None:
    add_human(services, "user:bob")
    register(services, "bob-bot", "user:bob")
    mine = services.tokens.issue_for_agent(alice, "alice-bot")
    assert mine.credential.created_by == "user:alice"
    listed = services.tokens.list_for(alice, PrincipalKind.AGENT, "alice-bot")
    assert [credential.id for credential in listed] == [mine.credential.id]
    rotated = services.tokens.rotate(alice, mine.credential.id)
    services.tokens.revoke(alice, rotated.credential.id)

    bobs = services.tokens.issue_for_agent(SYSTEM, "bob-bot")
    for call in (
        lambda: services.tokens.issue_for_agent(alice, "bob-bot"),
        lambda: services.tokens.list_for(alice, PrincipalKind.AGENT, "bob-bot"),
        lambda: services.tokens.revoke(alice, bobs.credential.id),
        lambda: services.tokens.rotate(alice, bobs.credential.id),
        lambda: services.tokens.issue_for_human(alice, "user:alice"),
        lambda: services.tokens.list_for(alice, PrincipalKind.HUMAN, "user:bob"),
    ):
        with pytest.raises(PermissionDenied) as raised:
            call()
        assert raised.value.code == "forbidden"
    assert authenticate(services, bobs.token).id == "bob-bot"


def test_unknown_agents_and_tokens_look_like_someone_elses(
    services: Services, alice: Principal
) -> None:
    # Non-admins get the same refusal for what does not exist as for what is not theirs.
    for call in (
        lambda: services.tokens.issue_for_agent(alice, "no-such-bot"),
        lambda: services.tokens.list_for(alice, PrincipalKind.AGENT, "no-such-bot"),
        lambda: services.tokens.revoke(alice, "tok_aaaaaaaaaaaaaaaa"),
        lambda: services.tokens.rotate(alice, "tok_aaaaaaaaaaaaaaaa"),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_humans_manage_their_own_tokens(services: Services, alice: Principal) -> None:
    issued = services.tokens.issue_for_human(SYSTEM, "user:alice")
    listed = services.tokens.list_for(alice, PrincipalKind.HUMAN, "user:alice")
    assert issued.credential.id in {credential.id for credential in listed}
    rotated = services.tokens.rotate(alice, issued.credential.id)
    services.tokens.revoke(alice, rotated.credential.id)
    assert refused(services, rotated.token) == "token_revoked"


def test_auditors_list_tokens_but_change_none(services: Services, alice: Principal) -> None:
    auditor = human(services, "user:carol", HumanRole.AUDITOR)
    issued = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    listed = services.tokens.list_for(auditor, PrincipalKind.AGENT, "alice-bot")
    assert [credential.id for credential in listed] == [issued.credential.id]
    assert services.tokens.list_for(auditor, PrincipalKind.HUMAN, "user:alice")
    for call in (
        lambda: services.tokens.issue_for_agent(auditor, "alice-bot"),
        lambda: services.tokens.issue_for_human(auditor, "user:alice"),
        lambda: services.tokens.revoke(auditor, issued.credential.id),
        lambda: services.tokens.rotate(auditor, issued.credential.id),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert authenticate(services, issued.token).id == "alice-bot"


def test_agents_cannot_manage_tokens_not_even_their_own(
    services: Services, alice: Principal
) -> None:
    issued = services.tokens.issue_for_agent(SYSTEM, "alice-bot")
    agent = authenticate(services, issued.token)
    for call in (
        lambda: services.tokens.issue_for_agent(agent, "alice-bot"),
        lambda: services.tokens.issue_for_human(agent, "user:alice"),
        lambda: services.tokens.list_for(agent, PrincipalKind.AGENT, "alice-bot"),
        lambda: services.tokens.revoke(agent, issued.credential.id),
        lambda: services.tokens.rotate(agent, issued.credential.id),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert authenticate(services, issued.token).id == "alice-bot"


def test_admins_manage_every_token(services: Services, alice: Principal) -> None:
    admin = human(services, "user:root", HumanRole.ADMIN)
    agent_token = services.tokens.issue_for_agent(admin, "alice-bot")
    human_token = services.tokens.issue_for_human(admin, "user:alice")
    assert agent_token.credential.created_by == "user:root"
    rotated = services.tokens.rotate(admin, agent_token.credential.id)
    services.tokens.revoke(admin, human_token.credential.id)
    assert authenticate(services, rotated.token).id == "alice-bot"
    assert refused(services, human_token.token) == "token_revoked"


def test_rotation_keeps_or_replaces_the_description(services: Services) -> None:
    services.humans.add(SYSTEM, human_id="user:erin", email="erin@x.test")
    first = services.tokens.issue_for_human(SYSTEM, "user:erin", description="laptop")
    kept = services.tokens.rotate(SYSTEM, first.credential.id)
    assert kept.credential.description == "laptop"
    renamed = services.tokens.rotate(SYSTEM, kept.credential.id, description="new laptop")
    assert renamed.credential.description == "new laptop"
