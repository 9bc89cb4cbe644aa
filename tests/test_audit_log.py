"""The audit log in the real store: what the services write, checkpoints, tampering, queries.

Every tampering test edits the database directly in SQL, the way someone with write access
to the database (but not the signing key) could, and checks that verification names the
problem and the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.audit.checkpoints import Checkpoint, sign_checkpoint, signature_holds
from charter.audit.merkle import Frontier, leaf_hash
from charter.audit.records import AuditEntry, AuditRecord, canonical_json, seal
from charter.audit.verify import VerifyReport
from charter.clock import ManualClock
from charter.errors import PermissionDenied, StoreError
from charter.identity.agents import LifecycleAction, RiskTier
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from charter.storage.ports import AuditQuery
from charter.storage.sql import SqlStore
from charter.storage.sql.schema import audit_records
from tests.helpers import Admin, human

START = datetime(2026, 1, 1, tzinfo=UTC)

# What the `log` fixture writes, in order; the clock moves an hour before seqs 2, 4 and 7.
EXPECTED = [
    ("human.added", None),  # 0  user:admin (the admin fixture)
    ("token.issued", None),  # 1  admin's token
    ("human.added", None),  # 2  user:alice
    ("human.added", None),  # 3  user:bob
    ("agent.registered", "support-bot"),  # 4
    ("agent.registered", "billing-bot"),  # 5
    ("token.issued", "support-bot"),  # 6
    ("agent.suspended", "support-bot"),  # 7
    ("agent.reinstated", "support-bot"),  # 8
    ("agent.suspended", "billing-bot"),  # 9
]
SIZE = len(EXPECTED)
AGENT_RECORD = 4  # a record with an agent, a subject and data


@pytest.fixture
def log(services: Services, admin: Admin, clock: ManualClock) -> int:
    """A log of ``SIZE`` records written through the services; returns its size."""
    clock.advance(timedelta(hours=1))
    for name in ("alice", "bob"):
        services.humans.add(SYSTEM, human_id=f"user:{name}", email=f"{name}@example.com")
    clock.advance(timedelta(hours=1))
    for agent_id, owner in (("support-bot", "user:alice"), ("billing-bot", "user:bob")):
        services.agents.register(
            SYSTEM,
            agent_id=agent_id,
            display_name=None,
            owner=owner,
            purpose="testing",
            risk_tier=RiskTier.LOW,
            labels={"team": "qa"},
        )
    services.tokens.issue_for_agent(SYSTEM, "support-bot")
    clock.advance(timedelta(hours=1))
    services.agents.transition(SYSTEM, "support-bot", LifecycleAction.SUSPEND, reason="test")
    services.agents.transition(SYSTEM, "support-bot", LifecycleAction.REINSTATE)
    services.agents.transition(SYSTEM, "billing-bot", LifecycleAction.SUSPEND)
    assert verify(services).ok
    return SIZE


# -- helpers: reading, and editing the database behind the services' back ------------


def verify(services: Services) -> VerifyReport:
    return services.audit.verify_store()


def problem(report: VerifyReport) -> tuple[str, int | None]:
    assert not report.ok
    assert report.problem is not None
    return report.problem.code, report.problem.seq


def stored(store: SqlStore) -> list[AuditRecord]:
    with store.read() as unit:
        return list(unit.audit.records())


def execute(store: SqlStore, statement: str, **params: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def entries_of(records: Iterable[AuditRecord]) -> list[AuditEntry]:
    return [
        AuditEntry(
            type=record.type,
            actor=record.actor,
            at=record.at,
            agent=record.agent,
            subject=record.subject,
            data=record.data(),
        )
        for record in records
    ]


_INSERT_RECORD = sa.text(
    "INSERT INTO audit_records (seq, at, type, actor, agent_id, subject, body, leaf_hash, "
    "tree_root) VALUES (:seq, :at, :type, :actor, :agent, :subject, :body, :leaf, :root)"
).bindparams(sa.bindparam("at", type_=audit_records.c.at.type))


def insert_record(conn: sa.Connection, record: AuditRecord) -> None:
    conn.execute(
        _INSERT_RECORD,
        {
            "seq": record.seq,
            "at": record.at,
            "type": record.type,
            "actor": record.actor,
            "agent": record.agent,
            "subject": record.subject,
            "body": record.body,
            "leaf": record.leaf_hash.hex(),
            "root": record.tree_root.hex(),
        },
    )


def rewrite_log(store: SqlStore, entries: list[AuditEntry]) -> bytes:
    """Replace the log with ``entries``, every hash and the head recomputed; return the root.

    This is the best a forger without the signing key can do: the log is internally
    consistent again, and only a signed checkpoint can tell.
    """
    frontier = Frontier.empty()
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_records"))
        for entry in entries:
            record, frontier = seal(entry, frontier)
            insert_record(conn, record)
        conn.execute(
            sa.text("UPDATE audit_head SET size = :size, frontier = :frontier, root = :root"),
            {
                "size": frontier.size,
                "frontier": ",".join(part.hex() for part in frontier.hashes),
                "root": frontier.root().hex(),
            },
        )
    return frontier.root()


def with_data(entry: AuditEntry, **data: Any) -> AuditEntry:
    return AuditEntry(entry.type, entry.actor, entry.at, entry.agent, entry.subject, data)


def replace_checkpoints(store: SqlStore, checkpoints: Iterable[Checkpoint]) -> None:
    insert = sa.text(
        "INSERT INTO audit_checkpoints (tree_size, root, at, key_id, signature) "
        "VALUES (:size, :root, :at, :kid, :signature)"
    ).bindparams(sa.bindparam("at", type_=audit_records.c.at.type))
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_checkpoints"))
        for checkpoint in checkpoints:
            conn.execute(
                insert,
                {
                    "size": checkpoint.tree_size,
                    "root": checkpoint.root.hex(),
                    "at": checkpoint.at,
                    "kid": checkpoint.key_id,
                    "signature": checkpoint.signature.hex(),
                },
            )


# -- what the services write ---------------------------------------------------------------


def test_services_write_one_sealed_record_per_change(
    services: Services, store: SqlStore, log: int
) -> None:
    records = stored(store)
    assert [(record.type, record.agent) for record in records] == EXPECTED
    assert [record.seq for record in records] == list(range(log))
    frontier = Frontier.empty()
    for record in records:
        assert record.leaf_hash == leaf_hash(record.body.encode("utf-8"))
        frontier = frontier.append(record.leaf_hash)
        assert record.tree_root == frontier.root()
    registered = records[AGENT_RECORD]
    assert registered.actor == "system"
    assert registered.subject == "agent:support-bot"
    assert registered.data()["owner"] == "user:alice"
    report = verify(services)
    assert report.ok
    assert report.problem is None
    assert report.records == log
    assert report.root == frontier.root().hex()
    with store.read() as unit:
        assert unit.audit.head().root() == frontier.root()


def test_empty_log_verifies(services: Services) -> None:
    report = verify(services)
    assert report.ok
    assert report.records == 0
    assert report.root == Frontier.empty().root().hex()


def test_checkpoints_are_signed_and_verified(
    services: Services, store: SqlStore, signing_key: Ed25519PrivateKey, log: int
) -> None:
    first = services.audit.checkpoint()
    assert first is not None
    assert first.tree_size == log
    assert signature_holds(first, signing_key.public_key())
    assert not signature_holds(first, Ed25519PrivateKey.generate().public_key())
    with store.read() as unit:
        assert first.root == unit.audit.head().root()
    # Nothing new to seal: no second checkpoint of the same size.
    assert services.audit.checkpoint() is None
    report = verify(services)
    assert report.ok
    assert (report.checkpoints_verified, report.last_checkpoint_size) == (1, log)
    assert report.unsealed_records == 0
    assert report.notes == ()

    services.humans.add(SYSTEM, human_id="user:carol", email="carol@example.com")
    assert verify(services).unsealed_records == 1
    second = services.audit.checkpoint()
    assert second is not None
    assert second.tree_size == log + 1
    report = verify(services)
    assert report.ok
    assert (report.checkpoints_verified, report.last_checkpoint_size) == (2, log + 1)
    assert services.audit.checkpoints(SYSTEM) == [first, second]


def test_checkpoints_need_a_signing_key(
    services: Services, store: SqlStore, clock: ManualClock, log: int
) -> None:
    assert services.audit.checkpoint() is not None
    keyless = Services.build(store, clock=clock)
    assert not keyless.audit.can_sign
    with pytest.raises(StoreError) as raised:
        keyless.audit.checkpoint()
    assert raised.value.code == "signing_key_missing"
    report = keyless.audit.verify_store()
    assert report.ok
    assert report.checkpoints_verified == 1
    assert any("not checked" in note for note in report.notes)


# -- tampering: edits ----------------------------------------------------------------------


def test_edited_body_is_caught(services: Services, store: SqlStore, log: int) -> None:
    record = stored(store)[AGENT_RECORD]
    body = record.body.replace('"owner":"user:alice"', '"owner":"user:mallory"')
    assert body != record.body
    execute(store, "UPDATE audit_records SET body = :body WHERE seq = :seq", body=body, seq=4)
    assert problem(verify(services)) == ("record_altered", AGENT_RECORD)


def test_body_rewritten_in_another_json_form_is_caught(
    services: Services, store: SqlStore, log: int
) -> None:
    record = stored(store)[AGENT_RECORD]
    spaced = record.body.replace(",", ", ")
    execute(store, "UPDATE audit_records SET body = :body WHERE seq = :seq", body=spaced, seq=4)
    report = verify(services)
    assert problem(report) == ("record_altered", AGENT_RECORD)
    assert report.problem is not None
    assert "canonical" in report.problem.message


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("type", "agent.retired"),
        ("agent_id", "billing-bot"),
        ("agent_id", None),
        ("actor", "user:mallory"),
        ("subject", "agent:billing-bot"),
    ],
)
def test_edited_indexed_column_is_caught(
    services: Services, store: SqlStore, log: int, column: str, value: str | None
) -> None:
    execute(
        store,
        f"UPDATE audit_records SET {column} = :value WHERE seq = :seq",
        value=value,
        seq=AGENT_RECORD,
    )
    report = verify(services)
    assert problem(report) == ("record_altered", AGENT_RECORD)
    assert report.problem is not None
    assert repr(column.removesuffix("_id")) in report.problem.message


def test_edited_time_is_caught(services: Services, store: SqlStore, log: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(audit_records)
            .where(audit_records.c.seq == AGENT_RECORD)
            .values(at=START - timedelta(days=1))
        )
    assert problem(verify(services)) == ("record_altered", AGENT_RECORD)


def test_edited_body_with_its_leaf_hash_recomputed_breaks_the_tree(
    services: Services, store: SqlStore, log: int
) -> None:
    record = stored(store)[AGENT_RECORD]
    body = record.body.replace('"purpose":"testing"', '"purpose":"anything"')
    assert body != record.body
    execute(
        store,
        "UPDATE audit_records SET body = :body, leaf_hash = :leaf WHERE seq = :seq",
        body=body,
        leaf=leaf_hash(body.encode("utf-8")).hex(),
        seq=AGENT_RECORD,
    )
    assert problem(verify(services)) == ("tree_mismatch", AGENT_RECORD)


# -- tampering: deletions ----------------------------------------------------------------


@pytest.mark.parametrize("seq", [0, 5, SIZE - 2])
def test_deleted_row_is_caught(services: Services, store: SqlStore, log: int, seq: int) -> None:
    execute(store, "DELETE FROM audit_records WHERE seq = :seq", seq=seq)
    assert problem(verify(services)) == ("record_missing", seq)


def test_deleted_last_row_is_caught_by_the_head(
    services: Services, store: SqlStore, log: int
) -> None:
    execute(store, "DELETE FROM audit_records WHERE seq = :seq", seq=log - 1)
    report = verify(services)
    assert problem(report) == ("head_mismatch", log - 1)
    assert report.records == log - 1


@pytest.mark.parametrize("head_rewritten", [False, True])
def test_truncation_is_caught_by_the_checkpoint(
    services: Services, store: SqlStore, log: int, head_rewritten: bool
) -> None:
    assert services.audit.checkpoint() is not None
    records = stored(store)
    execute(store, "DELETE FROM audit_records WHERE seq >= :seq", seq=log - 2)
    if head_rewritten:
        rewrite_log(store, entries_of(records[: log - 2]))
    assert problem(verify(services)) == ("log_truncated", log - 2)


def test_edited_head_is_caught(services: Services, store: SqlStore, log: int) -> None:
    with store.read() as unit:
        head = unit.audit.head()
    # A well-formed frontier for the right size, but not the one the records give.
    forged = ",".join(leaf_hash(part).hex() for part in head.hashes)
    execute(store, "UPDATE audit_head SET frontier = :frontier", frontier=forged)
    assert problem(verify(services)) == ("head_mismatch", log)
    # A larger size with as many perfect subtrees (10 = 0b1010, 12 = 0b1100).
    execute(store, "UPDATE audit_head SET size = :size", size=12)
    assert problem(verify(services)) == ("head_mismatch", log)


@pytest.mark.parametrize("frontier", ["zz", "", "00"])
def test_corrupt_head_is_refused_not_misread(
    services: Services, store: SqlStore, log: int, frontier: str
) -> None:
    execute(store, "UPDATE audit_head SET frontier = :frontier", frontier=frontier)
    report = verify(services)
    assert report.ok is False
    assert report.problem is not None
    assert report.problem.code == "audit_head_corrupt"
    # Nothing can be appended to a log whose head cannot be read.
    with pytest.raises(StoreError):
        services.humans.add(SYSTEM, human_id="user:carol", email="carol@example.com")
    with store.read() as unit:
        assert unit.humans.get("user:carol") is None


# -- tampering: reordering and insertion ---------------------------------------------------


def _swap(store: SqlStore, first: AuditRecord, second: AuditRecord) -> None:
    update = (
        "UPDATE audit_records SET type = :type, actor = :actor, agent_id = :agent, "
        "subject = :subject, body = :body, leaf_hash = :leaf, tree_root = :root WHERE seq = :seq"
    )
    with store.engine.begin() as conn:
        for target, source in ((first, second), (second, first)):
            conn.execute(
                sa.text(update),
                {
                    "type": source.type,
                    "actor": source.actor,
                    "agent": source.agent,
                    "subject": source.subject,
                    "body": source.body,
                    "leaf": source.leaf_hash.hex(),
                    "root": source.tree_root.hex(),
                    "seq": target.seq,
                },
            )


def test_swapped_rows_are_caught(services: Services, store: SqlStore, log: int) -> None:
    records = stored(store)
    _swap(store, records[4], records[7])
    report = verify(services)
    assert problem(report) == ("record_altered", 4)
    assert report.problem is not None
    assert "'seq'" in report.problem.message


def test_reorder_with_bodies_resealed_breaks_the_tree(
    services: Services, store: SqlStore, log: int
) -> None:
    records = stored(store)
    entries = entries_of(records)
    # Move record 7 to position 4 with a body and leaf hash made for its new place,
    # keeping the tree roots that were stored.
    forged, _ = seal(entries[7], Frontier(4, ()))
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(audit_records)
            .where(audit_records.c.seq == 4)
            .values(
                at=forged.at,
                type=forged.type,
                agent_id=forged.agent,
                subject=forged.subject,
                body=forged.body,
                leaf_hash=forged.leaf_hash.hex(),
            )
        )
    assert problem(verify(services)) == ("tree_mismatch", 4)


def test_forged_row_after_the_head_is_caught(services: Services, store: SqlStore, log: int) -> None:
    with store.read() as unit:
        head = unit.audit.head()
    forged, _ = seal(
        AuditEntry(type="agent.reinstated", actor="user:admin", at=START, agent="billing-bot"),
        head,
    )
    with store.engine.begin() as conn:
        insert_record(conn, forged)
    report = verify(services)
    assert problem(report) == ("head_mismatch", log)
    assert report.records == log + 1


def test_forged_row_inserted_mid_log_with_every_hash_recomputed_is_caught_by_the_checkpoint(
    services: Services, store: SqlStore, log: int
) -> None:
    assert services.audit.checkpoint() is not None
    entries = entries_of(stored(store))
    forged = AuditEntry(type="agent.reinstated", actor="user:admin", at=START, agent="billing-bot")
    rewrite_log(store, [*entries[:5], forged, *entries[5:]])
    assert problem(verify(services)) == ("checkpoint_mismatch", 0)


def test_forged_row_mid_log_without_a_checkpoint_verifies_so_checkpoints_matter(
    services: Services, store: SqlStore, log: int
) -> None:
    # The limit of an unsigned log: a forger who recomputes every hash goes unnoticed
    # until a checkpoint is signed, which is why the server signs them periodically.
    entries = entries_of(stored(store))
    rewrite_log(store, [*entries[:5], with_data(entries[5], forged=True), *entries[6:]])
    report = verify(services)
    assert report.ok
    assert report.unsealed_records == log


# -- tampering: a full rewrite against signed checkpoints ----------------------------------


@pytest.mark.parametrize(("rewritten", "span_start"), [(2, 0), (5, 0), (8, 6)])
def test_rewrite_with_every_hash_recomputed_is_caught_by_the_checkpoint(
    services: Services, store: SqlStore, log: int, rewritten: int, span_start: int
) -> None:
    # Rebuild the same log in two steps, to sign checkpoints after 6 and after all 10 records.
    entries = entries_of(stored(store))
    rewrite_log(store, entries[:6])
    first = services.audit.checkpoint()
    rewrite_log(store, entries)
    second = services.audit.checkpoint()
    assert first is not None
    assert second is not None
    assert verify(services).ok

    forged = [*entries]
    forged[rewritten] = with_data(entries[rewritten], rewritten=True)
    rewrite_log(store, forged)
    report = verify(services)
    assert problem(report) == ("checkpoint_mismatch", span_start)
    assert report.checkpoints_verified == (1 if span_start else 0)


def test_checkpoint_signed_by_another_key_is_caught(
    services: Services, store: SqlStore, clock: ManualClock, log: int
) -> None:
    assert services.audit.checkpoint() is not None
    entries = entries_of(stored(store))
    entries[AGENT_RECORD] = with_data(entries[AGENT_RECORD], owner="user:mallory")
    root = rewrite_log(store, entries)
    forged = sign_checkpoint(Ed25519PrivateKey.generate(), log, root, clock())
    replace_checkpoints(store, [forged])
    report = verify(services)
    assert problem(report) == ("checkpoint_signature_invalid", log - 1)
    assert report.checkpoints_verified == 0


def test_checkpoint_with_an_altered_signature_is_caught(
    services: Services, store: SqlStore, log: int
) -> None:
    checkpoint = services.audit.checkpoint()
    assert checkpoint is not None
    flipped = bytes([checkpoint.signature[0] ^ 1]) + checkpoint.signature[1:]
    execute(
        store,
        "UPDATE audit_checkpoints SET signature = :signature WHERE tree_size = :size",
        signature=flipped.hex(),
        size=log,
    )
    assert problem(verify(services)) == ("checkpoint_signature_invalid", log - 1)


def test_checkpoints_checked_against_another_public_key_fail(
    services: Services, store: SqlStore, clock: ManualClock, log: int
) -> None:
    assert services.audit.checkpoint() is not None
    other = Services.build(store, clock=clock, public_key=Ed25519PrivateKey.generate().public_key())
    assert problem(other.audit.verify_store()) == ("checkpoint_signature_invalid", log - 1)


def test_tampering_is_still_caught_after_later_appends(
    services: Services, store: SqlStore, log: int
) -> None:
    record = stored(store)[2]
    execute(
        store,
        "UPDATE audit_records SET body = :body WHERE seq = 2",
        body=record.body.replace("alice@example.com", "mallory@example.com"),
    )
    services.humans.add(SYSTEM, human_id="user:carol", email="carol@example.com")
    assert problem(verify(services)) == ("record_altered", 2)


def test_report_serialises_the_problem(services: Services, store: SqlStore, log: int) -> None:
    execute(store, "DELETE FROM audit_records WHERE seq = 3")
    shown = verify(services).to_json()
    assert shown["ok"] is False
    assert shown["problem"] == {
        "code": "record_missing",
        "seq": 3,
        "message": "record 3 is missing (the next record present is 4)",
    }
    assert canonical_json(shown)  # plain JSON all the way down


# -- queries ------------------------------------------------------------------------------


def seqs(records: Iterable[AuditRecord]) -> list[int]:
    return [record.seq for record in records]


def test_query_by_agent(services: Services, log: int) -> None:
    found = services.audit.query(SYSTEM, AuditQuery(agent="support-bot"))
    assert seqs(found) == [4, 6, 7, 8]
    assert all(record.agent == "support-bot" for record in found)
    assert services.audit.query(SYSTEM, AuditQuery(agent="no-such-bot")) == []


def test_query_by_type(services: Services, log: int) -> None:
    assert seqs(services.audit.query(SYSTEM, AuditQuery(types=["human.added"]))) == [0, 2, 3]
    both = AuditQuery(types=["agent.suspended", "agent.reinstated"])
    assert seqs(services.audit.query(SYSTEM, both)) == [7, 8, 9]
    combined = AuditQuery(agent="billing-bot", types=["agent.suspended"])
    assert seqs(services.audit.query(SYSTEM, combined)) == [9]


def test_query_by_time_range(services: Services, log: int) -> None:
    hour = timedelta(hours=1)
    # since is inclusive, until exclusive.
    window = AuditQuery(since=START + hour, until=START + 3 * hour)
    assert seqs(services.audit.query(SYSTEM, window)) == [2, 3, 4, 5, 6]
    assert seqs(services.audit.query(SYSTEM, AuditQuery(since=START + 3 * hour))) == [7, 8, 9]
    assert seqs(services.audit.query(SYSTEM, AuditQuery(until=START + hour))) == [0, 1]
    # The same instant written in another zone selects the same records.
    in_another_zone = (START + 2 * hour).astimezone(timezone(timedelta(hours=5)))
    later = seqs(services.audit.query(SYSTEM, AuditQuery(since=in_another_zone)))
    assert later == [4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize("page_size", [1, 3, 4, SIZE, 100])
def test_query_pages_with_a_cursor(services: Services, log: int, page_size: int) -> None:
    collected: list[AuditRecord] = []
    after, pages = -1, 0
    while page := services.audit.query(SYSTEM, AuditQuery(after_seq=after, limit=page_size)):
        assert len(page) <= page_size
        collected.extend(page)
        after = page[-1].seq
        pages += 1
    assert seqs(collected) == list(range(log))
    assert pages == -(-log // page_size)
    filtered = services.audit.query(SYSTEM, AuditQuery(agent="support-bot", after_seq=4, limit=2))
    assert seqs(filtered) == [6, 7]


def test_reading_the_log_needs_an_auditor_or_admin(
    services: Services, admin: Admin, log: int
) -> None:
    auditor = human(services, "user:carol", HumanRole.AUDITOR)
    admin_principal = services.tokens.authenticate(admin.token, where="test")
    for reader in (auditor, admin_principal):
        assert seqs(services.audit.query(reader, AuditQuery(limit=2))) == [0, 1]
        assert services.audit.verify(reader).ok
        assert services.audit.checkpoints(reader) == []
    approver = human(services, "user:dave", HumanRole.APPROVER)
    agent_issued = services.tokens.issue_for_agent(SYSTEM, "support-bot")
    agent = services.tokens.authenticate(agent_issued.token, where="test")
    for outsider in (approver, agent):
        with pytest.raises(PermissionDenied):
            services.audit.query(outsider, AuditQuery())
        with pytest.raises(PermissionDenied):
            services.audit.verify(outsider)
        with pytest.raises(PermissionDenied):
            services.audit.checkpoints(outsider)


def test_refusals_are_recorded(services: Services, store: SqlStore, log: int) -> None:
    outsider = human(services, "user:dave")
    services.audit.record_refusal(outsider, code="forbidden", where="GET /v1/audit")
    last = stored(store)[-1]
    assert (last.type, last.actor, last.subject) == (
        "auth.forbidden",
        "user:dave",
        outsider.credential_id,
    )
    assert last.data() == {"code": "forbidden", "where": "GET /v1/audit"}
    assert verify(services).ok


# -- checkpoints kept outside the store ------------------------------------------------------


def test_deleting_checkpoint_rows_shows_against_trusted_checkpoints(
    services: Services, store: SqlStore, log: int
) -> None:
    exported = services.audit.checkpoint()
    assert exported is not None
    execute(store, "DELETE FROM audit_checkpoints")
    # Without the exported copy nothing shows: the rows are simply gone.
    assert verify(services).ok
    report = services.audit.verify_store(trusted=[exported])
    assert problem(report) == ("checkpoint_missing", log - 1)


def test_truncation_hidden_by_deleting_checkpoints_shows_against_trusted_ones(
    services: Services, store: SqlStore, log: int
) -> None:
    exported = services.audit.checkpoint()
    assert exported is not None
    execute(store, "DELETE FROM audit_checkpoints")
    execute(store, "DELETE FROM audit_records WHERE seq >= :seq", seq=log - 2)
    assert problem(services.audit.verify_store(trusted=[exported])) == ("log_truncated", log - 2)


def test_a_trusted_checkpoint_that_still_matches_verifies(services: Services, log: int) -> None:
    exported = services.audit.checkpoint()
    assert exported is not None
    services.humans.add(SYSTEM, human_id="user:carol", email="carol@example.com")
    report = services.audit.verify_store(trusted=[exported])
    assert report.ok
    assert report.checkpoints_verified == 1  # the stored copy and its trusted copy: one


def test_forged_checkpoint_past_the_end_is_a_bad_signature_not_a_truncation(
    services: Services, store: SqlStore, log: int
) -> None:
    forged = sign_checkpoint(Ed25519PrivateKey.generate(), log + 5, b"\x00" * 32, START)
    with store.write() as unit:
        unit.audit.add_checkpoint(forged)
    assert problem(verify(services)) == ("checkpoint_signature_invalid", log + 4)
