"""A log split into shards: one tree per shard, sealed together; verified whole, after a
segment is exported and pruned, and when a shard is tampered with; read back in order."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from charter.audit.checkpoints import key_id, sign_checkpoint
from charter.audit.evidence import build_sealed_bundle, bundle_from_json, verify_bundle
from charter.audit.keychain import KEY_ROTATED, KeyLink, chain_from_json, link_from_json
from charter.audit.merkle import Frontier, MerkleTree, leaf_hash
from charter.audit.records import AuditEntry, AuditRecord, seal
from charter.audit.seals import Seal, ShardHead, seal_from_json, sign_seal
from charter.audit.segments import verify_segment
from charter.audit.verify import VerifyReport
from charter.cli.main import app as cli_app
from charter.clock import ManualClock
from charter.errors import Unavailable
from charter.server.app import create_app
from charter.service import SYSTEM, Services
from charter.storage.keyfile import load_signing_key
from charter.storage.ports import AuditQuery
from charter.storage.sql import SqlStore, open_store
from tests.helpers import Admin, bearer
from tests.test_console import _sign_in


@pytest.fixture
def shard_stores(database_url: str, store: SqlStore) -> Iterator[dict[str, SqlStore]]:
    """Three more servers' stores on the same database: shards a, b, and a again."""
    opened = {
        "a": open_store(database_url, migrate=False, audit_shard="a"),
        "b": open_store(database_url, migrate=False, audit_shard="b"),
        "a2": open_store(database_url, migrate=False, audit_shard="a"),
    }
    yield opened
    for each in opened.values():
        each.close()


@pytest.fixture
def shard_services(
    shard_stores: dict[str, SqlStore], clock: ManualClock, signing_key: Ed25519PrivateKey
) -> dict[str, Services]:
    return {
        name: Services.build(each, clock=clock, signing_key=signing_key)
        for name, each in shard_stores.items()
    }


def add_humans(services: Services, prefix: str, count: int) -> None:
    for index in range(count):
        services.humans.add(SYSTEM, human_id=f"user:{prefix}{index}", email=f"{prefix}{index}@x.io")


@pytest.fixture
def sharded(
    services: Services, shard_services: dict[str, Services], admin: Admin, clock: ManualClock
) -> dict[str, Services]:
    """Records in the default log, before and after the shards opened, and in a and b
    (a written by two servers taking turns); one seal in the middle, one at the end."""
    add_humans(services, "d", 3)
    add_humans(shard_services["a"], "a", 4)
    add_humans(shard_services["b"], "b", 3)
    clock.advance(timedelta(seconds=1))
    assert services.audit.seal() is not None
    add_humans(shard_services["a2"], "c", 3)
    add_humans(services, "e", 2)
    add_humans(shard_services["b"], "f", 2)
    clock.advance(timedelta(seconds=1))
    assert shard_services["b"].audit.seal() is not None
    return {"": services, **shard_services}


def records_of(store: SqlStore, shard: str | None = None) -> list[AuditRecord]:
    with store.read() as unit:
        return list(unit.audit.records(shard=shard))


def execute(store: SqlStore, statement: str, **params: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def problem(report: VerifyReport) -> tuple[str, str | None, int | None]:
    assert not report.ok, report
    assert report.problem is not None
    return report.problem.code, report.problem.shard, report.problem.seq


# -- appending and verifying -------------------------------------------------------------


def test_each_shard_keeps_its_own_tree_and_the_seals_cover_them_all(
    sharded: dict[str, Services], store: SqlStore
) -> None:
    records = records_of(store)
    seqs = [record.seq for record in records]
    assert seqs == sorted(set(seqs)), "seqs are unique and ordered"
    by_shard: dict[str, list[int]] = {}
    for record in records:
        by_shard.setdefault(record.shard, []).append(record.index)
    # Each shard's places are 0, 1, 2...: a shared by two servers taking turns.
    assert by_shard["a"] == list(range(7))
    assert by_shard["b"] == list(range(5))
    assert by_shard[""] == list(range(len(by_shard[""])))
    # A named shard's record says where it is, in its body too.
    named = next(record for record in records if record.shard == "a")
    assert json.loads(named.body)["shard"] == "a"
    assert named.to_json()["index"] == named.index

    report = sharded[""].audit.verify_store()
    assert report.ok, report.problem
    assert report.records == len(records)
    assert report.seals_verified == 2
    shown = {shard["shard"]: shard for shard in report.shards}
    assert report.to_json()["shards"] == [dict(shard) for shard in report.shards]
    assert shown["a"]["records"] == 7
    assert shown["a"]["unsealed"] == 0
    assert set(shown) == {"", "a", "b"}
    # Any server can verify: the answer does not depend on its own shard.
    assert sharded["b"].audit.verify_store().ok


def test_a_store_that_was_never_sharded_reports_as_before(
    services: Services, store: SqlStore
) -> None:
    add_humans(services, "d", 3)
    report = services.audit.verify_store()
    assert report.ok
    assert "shards" not in report.to_json()
    assert [record.shard_index for record in records_of(store)] == [None] * 3


def test_nothing_new_is_not_sealed_again(sharded: dict[str, Services]) -> None:
    assert sharded["a"].audit.seal() is None
    add_humans(sharded["a"], "g", 1)
    sealed = sharded["a"].audit.seal()
    assert sealed is not None
    assert sealed.number == 2
    assert sealed.shards["a"].size == 8


# -- tampering ---------------------------------------------------------------------------


def test_an_edited_record_names_its_shard_and_place(
    sharded: dict[str, Services], store: SqlStore
) -> None:
    target = records_of(store, "a")[2]
    execute(
        store,
        "UPDATE audit_records SET body = replace(body, 'a2@x.io', 'evil@x.io') WHERE seq = :s",
        s=target.seq,
    )
    assert problem(sharded[""].audit.verify_store()) == ("record_altered", "a", 2)
    assert "shard 'a'" in str(sharded[""].audit.verify_store().problem)


def test_a_deleted_record_names_its_shard_and_place(
    sharded: dict[str, Services], store: SqlStore
) -> None:
    target = records_of(store, "b")[1]
    execute(store, "DELETE FROM audit_records WHERE seq = :s", s=target.seq)
    assert problem(sharded[""].audit.verify_store()) == ("record_missing", "b", 1)


def test_swapped_records_of_a_shard_are_caught(
    sharded: dict[str, Services], store: SqlStore
) -> None:
    first, second = records_of(store, "a")[1:3]
    with store.engine.begin() as conn:
        for target, source in ((first, second), (second, first)):
            conn.execute(
                sa.text(
                    "UPDATE audit_records SET body = :body, leaf_hash = :leaf, tree_root = :root, "
                    "subject = :subject WHERE seq = :seq"
                ),
                {
                    "body": source.body,
                    "leaf": source.leaf_hash.hex(),
                    "root": source.tree_root.hex(),
                    "subject": source.subject,
                    "seq": target.seq,
                },
            )
    code, shard, _ = problem(sharded[""].audit.verify_store())
    assert (code, shard) == ("record_altered", "a")


def test_a_forged_shard_head_is_caught(sharded: dict[str, Services], store: SqlStore) -> None:
    execute(store, "UPDATE audit_head SET size = size - 1 WHERE shard = 'b'")
    code, shard, _ = problem(sharded[""].audit.verify_store())
    assert shard == "b"
    assert code in {"head_mismatch", "audit_head_corrupt"}


def test_a_shard_rewritten_with_every_hash_recomputed_breaks_its_seal(
    sharded: dict[str, Services], store: SqlStore
) -> None:
    kept = records_of(store, "b")
    frontier = Frontier.empty()
    with store.engine.begin() as conn:
        for record in kept:
            data = record.data()
            if record.index == 1:
                data = {**data, "email": "mallory@x.io"}
            entry = AuditEntry(
                record.type, record.actor, record.at, record.agent, record.subject, data
            )
            resealed, frontier = seal(entry, frontier, seq=record.seq, shard="b")
            conn.execute(
                sa.text(
                    "UPDATE audit_records SET body = :body, leaf_hash = :leaf, tree_root = :root "
                    "WHERE seq = :seq"
                ),
                {
                    "body": resealed.body,
                    "leaf": resealed.leaf_hash.hex(),
                    "root": resealed.tree_root.hex(),
                    "seq": record.seq,
                },
            )
        conn.execute(
            sa.text("UPDATE audit_head SET frontier = :f, root = :r WHERE shard = 'b'"),
            {"f": ",".join(part.hex() for part in frontier.hashes), "r": frontier.root().hex()},
        )
    assert problem(sharded[""].audit.verify_store())[:2] == ("seal_mismatch", "b")


def test_a_deleted_seal_or_a_truncated_shard_is_caught(
    sharded: dict[str, Services], store: SqlStore
) -> None:
    last = records_of(store, "b")[-1]
    execute(store, "DELETE FROM audit_records WHERE seq = :s", s=last.seq)
    execute(store, "UPDATE audit_head SET size = size WHERE shard = 'b'")
    assert problem(sharded[""].audit.verify_store())[:2] in {
        ("log_truncated", "b"),
        ("head_mismatch", "b"),
    }
    execute(store, "DELETE FROM audit_seals WHERE number = 0")
    assert problem(sharded[""].audit.verify_store())[0] == "seal_missing"


def test_a_forged_seal_is_caught(sharded: dict[str, Services], store: SqlStore) -> None:
    execute(store, "UPDATE audit_seals SET signature = :s WHERE number = 1", s="00" * 64)
    assert problem(sharded[""].audit.verify_store())[0] == "seal_signature_invalid"


# -- sealed segments -----------------------------------------------------------------------


def test_export_and_prune_a_sealed_segment_then_keep_verifying(
    sharded: dict[str, Services], store: SqlStore, signing_key: Ed25519PrivateKey
) -> None:
    audit = sharded[""].audit
    document, row = audit.export_segment("a", prune=True)
    assert (row.start, row.end) == (0, 7)
    audit.record_segment(replace(row, digest="0" * 64))
    assert records_of(store, "a") == []
    report = audit.verify_store()
    assert report.ok, report.problem
    shown = {shard["shard"]: shard for shard in report.shards}
    assert shown["a"]["pruned"] == 7

    # The file verifies alone, with the public key.
    checked = verify_segment(json.loads(json.dumps(document)), signing_key.public_key())
    assert checked.ok, checked.problem
    assert (checked.start, checked.end) == (0, 7)

    # The shard goes on; the next segment starts where the last ended.
    add_humans(sharded["a"], "h", 2)
    assert audit.seal() is not None
    assert audit.verify_store().ok
    second, next_row = audit.export_segment("a", prune=True)
    assert (next_row.start, next_row.end) == (7, 9)
    audit.record_segment(next_row)
    assert audit.verify_store().ok
    assert verify_segment(second, signing_key.public_key()).ok


def test_a_tampered_segment_file_is_caught(
    sharded: dict[str, Services], signing_key: Ed25519PrivateKey
) -> None:
    document, _ = sharded[""].audit.export_segment("b")
    key = signing_key.public_key()

    edited = json.loads(json.dumps(document))
    edited["records"][1]["body"] = edited["records"][1]["body"].replace("b1@", "evil@")
    assert verify_segment(edited, key).problem.code == "record_altered"  # type: ignore[union-attr]

    dropped = json.loads(json.dumps(document))
    del dropped["records"][2]
    assert verify_segment(dropped, key).problem.code == "record_missing"  # type: ignore[union-attr]

    truncated = json.loads(json.dumps(document))
    del truncated["records"][-1]
    assert verify_segment(truncated, key).problem.code == "record_missing"  # type: ignore[union-attr]

    forged = json.loads(json.dumps(document))
    forged["seal"]["signature"] = "00" * 64
    assert verify_segment(forged, key).problem.code == "seal_signature_invalid"  # type: ignore[union-attr]

    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_segment(document, other).ok


def test_a_pruned_store_whose_segment_row_is_forged_does_not_verify(
    sharded: dict[str, Services], store: SqlStore
) -> None:
    audit = sharded[""].audit
    _, row = audit.export_segment("a", prune=True)
    audit.record_segment(row)
    execute(store, "UPDATE audit_segments SET frontier = :f", f="00" * 32)
    assert not audit.verify_store().ok


# -- readers -------------------------------------------------------------------------------


def test_paging_by_seq_sees_every_shard_once(sharded: dict[str, Services], store: SqlStore) -> None:
    everything = records_of(store)
    # On PostgreSQL, readers stop at the stable horizon: below the idle shards' floors
    # until a server's sweep moves them (here, by hand).
    first = sharded["a"].audit.query(SYSTEM, AuditQuery(limit=1000))
    assert [record.seq for record in first] == [r.seq for r in everything][: len(first)]
    sharded["b"].audit.advance_horizon()
    seen: list[int] = []
    after = -1
    while True:
        page = sharded["a"].audit.query(SYSTEM, AuditQuery(after_seq=after, limit=4))
        if not page:
            break
        seen.extend(record.seq for record in page)
        after = page[-1].seq
    assert seen == [record.seq for record in everything]
    only_b = sharded[""].audit.query(SYSTEM, AuditQuery(shard="b", limit=100))
    assert {record.shard for record in only_b} == {"b"}
    assert len(only_b) == 5


def test_the_api_tails_and_verifies_a_sharded_log(
    sharded: dict[str, Services], admin: Admin, shard_services: dict[str, Services]
) -> None:
    shard_services["b"].audit.advance_horizon()
    with TestClient(create_app(shard_services["b"]), raise_server_exceptions=False) as api:
        first = api.get("/v1/audit", params={"limit": 5}, headers=bearer(admin.token))
        assert first.status_code == 200, first.text
        body = first.json()
        assert len(body["records"]) == 5
        rest = api.get(
            "/v1/audit",
            params={"after": body["records"][-1]["seq"], "limit": 1000},
            headers=bearer(admin.token),
        )
        seqs = [r["seq"] for r in body["records"] + rest.json()["records"]]
        assert seqs == sorted(seqs)
        assert len(seqs) == len(set(seqs))
        shards = {r.get("shard", "") for r in rest.json()["records"]}
        assert {"a", "b"} <= shards
        verified = api.get("/v1/audit/verify", headers=bearer(admin.token))
        assert verified.status_code == 200
        assert verified.json()["ok"] is True
        assert {shard["shard"] for shard in verified.json()["shards"]} == {"", "a", "b"}
        assert verified.json()["seals_verified"] == 2
        seals = api.get("/v1/audit/seals", headers=bearer(admin.token))
        assert [seal["number"] for seal in seals.json()] == [0, 1]
        assert api.get("/v1/audit/seals").status_code == 401


def test_evidence_cites_records_of_any_shard_against_a_seal(
    sharded: dict[str, Services], store: SqlStore, signing_key: Ed25519PrivateKey
) -> None:
    records = records_of(store)
    cited = [
        next(r for r in records if r.shard == "a"),
        next(r for r in records if r.shard == ""),
        [r for r in records if r.shard == "b"][-1],
    ]
    bundle = sharded["b"].evidence.bundle([record.seq for record in cited])
    assert bundle.seal is not None
    shown = bundle.to_json()
    assert "seal" in shown
    assert {record["shard"] for record in shown["records"]} == {"a", "", "b"}
    read = bundle_from_json(json.loads(json.dumps(shown)))
    key = signing_key.public_key()
    assert verify_bundle(read, key).ok

    tampered = json.loads(json.dumps(shown))
    tampered["records"][0]["body"] = tampered["records"][0]["body"].replace("user:", "usr:")
    assert verify_bundle(bundle_from_json(tampered), key).problem.code == "record_altered"  # type: ignore[union-attr]
    moved = json.loads(json.dumps(shown))
    moved["records"][0]["index"] += 1
    assert not verify_bundle(bundle_from_json(moved), key).ok

    # A record appended after the last seal is sealed first, then cited.
    add_humans(sharded["a"], "late", 1)
    late = records_of(store, "a")[-1]
    assert verify_bundle(sharded[""].evidence.bundle([late.seq]), key).ok


def test_a_transaction_reads_the_records_it_appended(
    sharded: dict[str, Services], shard_stores: dict[str, SqlStore], clock: ManualClock
) -> None:
    with shard_stores["a"].write() as unit:
        record = unit.audit.append(AuditEntry("test.appended", "system", clock()))
        found = unit.audit.query(AuditQuery(after_seq=record.seq - 1, limit=10))
    assert [r.seq for r in found] == [record.seq]


def test_servers_append_at_once_on_shared_and_separate_shards(
    services: Services, shard_stores: dict[str, SqlStore], store: SqlStore, clock: ManualClock
) -> None:
    """Four writers at once: the default log, a, a again (another server), b."""
    import threading

    writers = [store, shard_stores["a"], shard_stores["a2"], shard_stores["b"]]
    start = threading.Barrier(len(writers))
    failures: list[BaseException] = []

    def write(target: SqlStore, name: int) -> None:
        try:
            start.wait(timeout=30)
            for index in range(25):
                with target.write() as unit:
                    unit.audit.append(
                        AuditEntry("test.appended", "system", clock(), data={"w": name, "i": index})
                    )
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(w, n)) for n, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    records = records_of(store)
    assert len(records) == len({r.seq for r in records}) == 100
    assert sorted(r.index for r in records if r.shard == "a") == list(range(50))
    assert services.audit.seal() is not None
    report = services.audit.verify_store()
    assert report.ok, report.problem


@pytest.mark.parametrize("name", ["Bad Name", "-x", "a" * 64, "ü"])
def test_a_shard_name_that_cannot_be_one_is_refused(name: str) -> None:
    from charter.errors import InvalidInput
    from charter.settings import Settings

    with pytest.raises(InvalidInput) as refused:
        Settings.from_env({"CHARTER_AUDIT_SHARD": name})
    assert refused.value.code == "invalid_setting"
    assert Settings.from_env({"CHARTER_AUDIT_SHARD": "r-1.east_2"}).audit_shard == "r-1.east_2"
    assert Settings.from_env({}).audit_shard == ""


def test_the_ocsf_export_reads_records_of_every_shard(
    sharded: dict[str, Services], store: SqlStore
) -> None:
    from charter.audit.ocsf import to_ocsf

    for record in records_of(store):
        event = to_ocsf(record.to_json(), product_version="test")
        assert event["class_uid"]
        assert str(record.seq) in json.dumps(event)


def test_the_signing_key_is_not_rotated_from_a_named_shard(sharded: dict[str, Services]) -> None:
    from charter.errors import InvalidInput

    # The link must be a record of the default shard: a store appending elsewhere refuses.
    with pytest.raises(InvalidInput, match="default shard"):
        sharded["a"].audit.rotate_key(SYSTEM, Ed25519PrivateKey.generate())


def test_a_change_on_one_shard_waits_for_decisions_in_flight_on_another(
    database_url: str, shard_stores: dict[str, SqlStore], clock: ManualClock
) -> None:
    """Decisions of two shards run side by side; a change waits for the decisions that
    took their place before it, so none is recorded after a change it did not see."""
    import threading

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite writers always take turns: nothing to order")
    deciding_a = threading.Event()
    release_a = threading.Event()

    def decision_on_a() -> None:
        with shard_stores["a"].write(deciding=True) as unit:
            deciding_a.set()
            assert release_a.wait(timeout=30)
            unit.audit.append(AuditEntry("decision", "agent:x", clock()))

    first = threading.Thread(target=decision_on_a)
    first.start()
    assert deciding_a.wait(timeout=30)

    def in_thread(work: Any) -> threading.Event:
        done = threading.Event()

        def run() -> None:
            work()
            done.set()

        threading.Thread(target=run, daemon=True).start()
        return done

    def decision_on_b() -> None:
        with shard_stores["b"].write(deciding=True) as unit:
            unit.audit.append(AuditEntry("decision", "agent:y", clock()))

    def change_on_b() -> None:
        with shard_stores["b"].write() as unit:
            unit.audit.append(AuditEntry("agent.suspended", "user:admin", clock()))

    # Another shard's decision does not wait for the one in flight on a...
    assert in_thread(decision_on_b).wait(timeout=30)
    # ...but a change does, until that decision is recorded.
    changed = in_thread(change_on_b)
    assert not changed.wait(timeout=1)
    release_a.set()
    first.join(timeout=30)
    assert changed.wait(timeout=30)
    types = [r.type for r in records_of(shard_stores["a"]) if r.type != "test.appended"]
    assert types[-3:] == ["decision", "decision", "agent.suspended"]


# -- the chain of signing keys on a sharded store -----------------------------------------


def _finder(*keys: Ed25519PrivateKey) -> Any:
    by_id = {key_id(key.public_key()): key for key in keys}
    return by_id.get


def _resigned(seal_json: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The same seal, signed again by ``key`` (what a holder of that key could forge)."""
    read = seal_from_json(seal_json)
    return sign_seal(key, read.number, read.shards, read.at).to_json()


@pytest.fixture
def rotated(
    sharded: dict[str, Services], signing_key: Ed25519PrivateKey, clock: ManualClock
) -> tuple[KeyLink, Ed25519PrivateKey]:
    """The sharded log after one rotation on the default shard's server, then records of
    shard a sealed by b's server with the new key."""
    new = Ed25519PrivateKey.generate()
    sharded[""].audit.find_keys_with(_finder(signing_key, new))
    clock.advance(timedelta(seconds=1))
    link = sharded[""].audit.rotate_key(SYSTEM, new)
    add_humans(sharded["a"], "after", 3)
    sharded["b"].audit.find_keys_with(_finder(signing_key, new))
    clock.advance(timedelta(seconds=1))
    assert sharded["b"].audit.seal() is not None
    return link, new


def test_rotation_on_a_sharded_store_records_one_link_and_hands_seals_over(
    sharded: dict[str, Services],
    store: SqlStore,
    signing_key: Ed25519PrivateKey,
    rotated: tuple[KeyLink, Ed25519PrivateKey],
) -> None:
    link, new = rotated
    links = [record for record in records_of(store) if record.type == KEY_ROTATED]
    assert len(links) == 1, "the link is recorded once, whatever the number of shards"
    assert links[0].shard == ""
    assert link.seq == links[0].index, "signed for its place in the default shard's tree"
    with store.read() as unit:
        seals = unit.audit.seals()
    # Sealed by the retiring key up to the link, by the new one from just after it (the
    # seal before the link was made already: nothing had grown since).
    before, after, later = seals[1:]
    assert (before.key_id, before.shards[""].size) == (link.previous_key_id, link.seq)
    assert (after.key_id, after.shards[""].size) == (link.key_id, link.seq + 1)
    assert later.key_id == key_id(new.public_key())

    report = sharded[""].audit.verify_store()
    assert report.ok, report.problem
    assert report.seals_verified == len(seals) == 4
    assert any("rotated 1 time(s)" in note for note in report.notes)
    assert sharded[""].audit.key_chain() == [link]

    # A server without the new key stops sealing instead of sealing with the old one.
    add_humans(sharded["a"], "more", 1)
    with pytest.raises(Unavailable) as refused:
        sharded["a"].audit.seal()
    assert refused.value.code == "signing_key_retired"
    sharded["a"].audit.find_keys_with(_finder(signing_key, new))
    assert sharded["a"].audit.seal() is not None
    assert sharded[""].audit.verify_store().ok


def test_a_seal_of_a_retired_key_after_retirement_or_of_a_foreign_key_fails(
    sharded: dict[str, Services],
    store: SqlStore,
    signing_key: Ed25519PrivateKey,
    rotated: tuple[KeyLink, Ed25519PrivateKey],
    clock: ManualClock,
) -> None:
    add_humans(sharded["a"], "late", 2)
    with store.read() as unit:
        heads = {
            state.shard: ShardHead(state.frontier.size, state.frontier.root())  # type: ignore[union-attr]
            for state in unit.audit.shards()
        }
        number = unit.audit.seals()[-1].number + 1
    for forger, code in (
        (signing_key, "seal_key_retired"),  # the root key, stolen after it retired
        (Ed25519PrivateKey.generate(), "seal_signature_invalid"),  # a key outside the chain
    ):
        with store.write() as unit:
            assert unit.audit.add_seal(sign_seal(forger, number, heads, clock()))
        report = sharded[""].audit.verify_store()
        assert problem(report)[0] == code, report.problem
        execute(store, "DELETE FROM audit_seals WHERE number = :n", n=number)
    assert sharded[""].audit.verify_store().ok


def test_segments_and_evidence_carry_the_links_their_seals_need(
    sharded: dict[str, Services],
    store: SqlStore,
    signing_key: Ed25519PrivateKey,
    rotated: tuple[KeyLink, Ed25519PrivateKey],
) -> None:
    link, new = rotated
    root = signing_key.public_key()
    document, _ = sharded[""].audit.export_segment("a")
    document = json.loads(json.dumps(document))
    assert [link_from_json(each) for each in document["key_chain"]] == [link]
    checked = verify_segment(document, root)
    assert checked.ok, checked.problem
    # A seal the retiring key signed before the link stays good.
    exported, _ = sharded[""].audit.export_segment("b", size=3)
    early: dict[str, Any] = json.loads(json.dumps(exported))
    assert early["seal"]["key_id"] == link.previous_key_id
    assert verify_segment(early, root).ok
    # Without the links, the new key is no key of the root's; with them given apart, it is.
    bare = {key: value for key, value in document.items() if key != "key_chain"}
    assert verify_segment(bare, root).problem.code == "seal_signature_invalid"  # type: ignore[union-attr]
    assert verify_segment(bare, root, [link]).ok
    for forger, code in (
        (signing_key, "seal_key_retired"),
        (Ed25519PrivateKey.generate(), "seal_signature_invalid"),
    ):
        forged = {**document, "seal": _resigned(document["seal"], forger)}
        assert verify_segment(forged, root).problem.code == code  # type: ignore[union-attr]

    after = [r for r in records_of(store, "a") if r.index >= 7]
    before = records_of(store, "b")[0]
    bundle = sharded["b"].evidence.bundle([after[0].seq, before.seq]).to_json()
    assert bundle["seal"]["key_id"] == key_id(new.public_key())
    assert [link_from_json(each) for each in bundle["key_chain"]] == [link]
    assert verify_bundle(bundle_from_json(bundle), root).ok
    for forger, code in (
        (signing_key, "checkpoint_key_retired"),
        (Ed25519PrivateKey.generate(), "key_mismatch"),
    ):
        forged = {**bundle, "seal": _resigned(bundle["seal"], forger)}
        forged["key_id"] = forged["seal"]["key_id"]
        report = verify_bundle(bundle_from_json(forged), root)
        assert report.problem is not None
        assert report.problem.code == code


def _retired_seal(
    store: SqlStore, key: Ed25519PrivateKey, number: int, **shards: ShardHead | None
) -> Seal:
    """A seal the retired (stolen) key signs: the default shard as the key's last seal
    had it, at the retirement point, so the default shard's size alone places it in the
    chain within the key's period; the shards given over it (``None``: left out)."""
    with store.read() as unit:
        last_of_key = [s for s in unit.audit.seals() if s.key_id == key_id(key.public_key())][-1]
    given: dict[str, ShardHead | None] = {**last_of_key.shards, **shards}
    heads = {name: head for name, head in given.items() if head is not None}
    return sign_seal(key, number, heads, last_of_key.at + timedelta(minutes=5))


def _forge_segment(document: dict[str, Any], place: int) -> Frontier:
    """Rewrite the segment's records from ``place`` on (hashes recomputed, as one who
    means it would); the root they make."""
    hashes = tuple(bytes.fromhex(part) for part in document["start_frontier"])
    frontier = Frontier(document["start"], hashes)
    for entry in document["records"]:
        if json.loads(entry["body"])["index"] >= place:
            entry["body"] = entry["body"].replace("user:", "usr:")
        leaf = leaf_hash(entry["body"].encode("utf-8"))
        frontier = frontier.append(leaf)
        entry["leaf_hash"], entry["tree_root"] = leaf.hex(), frontier.root().hex()
    return frontier


def test_the_link_bounds_every_shard_a_retired_key_may_still_seal(
    sharded: dict[str, Services],
    store: SqlStore,
    signing_key: Ed25519PrivateKey,
    rotated: tuple[KeyLink, Ed25519PrivateKey],
) -> None:
    """The stolen root key signs a seal claiming the default shard at its retirement
    point (so it looks in period) over records of shard a added after the rotation:
    refused by full verify, a segment file and an evidence bundle alike, as is one that
    leaves the default shard out."""
    link, _ = rotated
    root = signing_key.public_key()
    with store.read() as unit:
        seals = unit.audit.seals()
    assert link.sealed == {name: head.size for name, head in seals[1].shards.items()}
    assert link.sealed is not None
    assert (link.sealed["a"], link.sealed[""]) == (7, link.seq)
    assert len(records_of(store, "a")) == 10  # 3 after the rotation

    # The segment file of shard a, rewritten after the rotation and sealed by the root key.
    document, _ = sharded[""].audit.export_segment("a")
    forged = json.loads(json.dumps(document))
    del forged["key_chain"]  # the forger leaves out the link; the verifier holds the chain
    tail = _forge_segment(forged, 7)
    for shards, why in (
        ({"a": ShardHead(tail.size, tail.root())}, "a beyond its last seal"),
        ({"a": ShardHead(tail.size, tail.root()), "": None}, "no default shard"),
    ):
        number = forged["seal"]["number"]
        forged["seal"] = _retired_seal(store, signing_key, number, **shards).to_json()
        assert verify_segment(forged, root).ok, "the file alone cannot know of the link"
        checked = verify_segment(forged, root, [link])
        assert not checked.ok, why
        assert checked.problem is not None, why
        assert checked.problem.code == "seal_key_retired", why

    # An evidence bundle citing a rewritten record of a, against such a seal.
    kept = records_of(store, "a")
    rewritten = [
        replace(r, body=r.body.replace("user:", "usr:")) if r.index >= 7 else r for r in kept
    ]
    leaves = [leaf_hash(r.body.encode("utf-8")) for r in rewritten]
    head_a = ShardHead(len(leaves), MerkleTree(leaves).root())
    for shards, why in (({"a": head_a}, "a beyond"), ({"a": head_a, "": None}, "no default")):
        bad = _retired_seal(store, signing_key, len(seals), **shards)
        bundle = build_sealed_bundle(
            [rewritten[8]], {"a": leaves}, bad, at=bad.at, key_chain=[link]
        )
        assert "key_chain" not in bundle.to_json()
        read = bundle_from_json(json.loads(json.dumps(bundle.to_json())))
        report = verify_bundle(read, root, sharded[""].audit.key_chain())
        assert report.problem is not None, why
        assert report.problem.code == "checkpoint_key_retired", why

    # The store: the new key's seals deleted, a seal of the root key over a's new records.
    with store.read() as unit:
        state = {each.shard: each.frontier for each in unit.audit.shards()}
    assert state["a"] is not None
    now_a = ShardHead(state["a"].size, state["a"].root())
    execute(store, "DELETE FROM audit_seals WHERE number >= 2")
    stored: list[tuple[dict[str, ShardHead | None], str]] = [
        ({"a": now_a}, "seal_key_retired"),
        ({"": None}, "seal_inconsistent"),  # the chain of seals refuses it first
    ]
    for over, code in stored:
        with store.write() as unit:
            assert unit.audit.add_seal(_retired_seal(store, signing_key, 2, **over))
        assert problem(sharded[""].audit.verify_store())[0] == code
        execute(store, "DELETE FROM audit_seals WHERE number = 2")
    assert sharded[""].audit.verify_store().ok


def test_seals_the_retired_key_signed_before_the_link_verify_everywhere(
    sharded: dict[str, Services],
    store: SqlStore,
    signing_key: Ed25519PrivateKey,
    rotated: tuple[KeyLink, Ed25519PrivateKey],
) -> None:
    link, _ = rotated
    root = signing_key.public_key()
    chain = sharded[""].audit.key_chain()
    assert sharded[""].audit.verify_store().ok  # seals 0 and 1 are the root key's
    with store.read() as unit:
        seals = unit.audit.seals()
    assert [s.key_id for s in seals[:2]] == [link.previous_key_id] * 2
    for shard, size in (("a", 4), ("b", 3)):
        exported, _ = sharded[""].audit.export_segment(shard, size=size)
        document = json.loads(json.dumps(exported))
        assert document["seal"]["key_id"] == link.previous_key_id
        for given in (None, chain):
            checked = verify_segment(document, root, given)
            assert checked.ok, checked.problem
    # Up to exactly what the last seal before the link covered, shard by shard.
    last = seals[1]
    assert dict(link.sealed or {}) == {name: head.size for name, head in last.shards.items()}
    kept = records_of(store, "a")[:7]
    leaves = {"a": [leaf_hash(r.body.encode("utf-8")) for r in kept]}
    bundle = build_sealed_bundle([kept[6]], leaves, last, at=last.at, key_chain=chain)
    for given in (None, chain):
        report = verify_bundle(
            bundle_from_json(json.loads(json.dumps(bundle.to_json()))), root, given
        )
        assert report.ok, report.problem


def test_a_segment_holding_a_key_link_is_not_pruned(
    sharded: dict[str, Services], rotated: tuple[KeyLink, Ed25519PrivateKey]
) -> None:
    from charter.errors import InvalidInput

    with pytest.raises(InvalidInput, match="chain of signing keys"):
        sharded[""].audit.export_segment("", prune=True)
    document, row = sharded[""].audit.export_segment("")  # exported, kept in the store
    assert not row.pruned
    exported: list[dict[str, Any]] = json.loads(json.dumps(document["records"]))
    assert any(json.loads(r["body"])["type"] == KEY_ROTATED for r in exported)


def test_the_api_verifies_and_proves_a_rotated_sharded_log(
    sharded: dict[str, Services],
    admin: Admin,
    signing_key: Ed25519PrivateKey,
    rotated: tuple[KeyLink, Ed25519PrivateKey],
    store: SqlStore,
) -> None:
    link, _ = rotated
    cited = records_of(store, "a")[-1].seq
    with TestClient(create_app(sharded[""]), raise_server_exceptions=False) as api:
        verified = api.get("/v1/audit/verify", headers=bearer(admin.token))
        assert verified.status_code == 200, verified.text
        assert verified.json()["ok"] is True, verified.json()["problem"]
        keys = api.get("/v1/audit/keys", headers=bearer(admin.token))
        assert keys.status_code == 200, keys.text
        assert chain_from_json(keys.json()) == [link]
        bundle = api.post("/v1/audit/evidence", json={"seqs": [cited]}, headers=bearer(admin.token))
        assert bundle.status_code == 200, bundle.text
    assert verify_bundle(bundle_from_json(bundle.json()), signing_key.public_key()).ok


# -- posture and the console, across shards ----------------------------------------------


def _stale(api: TestClient, token: str) -> list[dict[str, Any]]:
    answer = api.get("/v1/posture", params={"kind": "checkpoint_stale"}, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return [f for f in answer.json()["findings"] if f["kind"] == "checkpoint_stale"]


def test_posture_finds_a_stale_shard_whatever_the_default_shards_checkpoints(
    sharded: dict[str, Services], admin: Admin, clock: ManualClock
) -> None:
    with TestClient(create_app(sharded[""]), raise_server_exceptions=False) as api:
        assert sharded[""].audit.checkpoint() is not None  # default checkpoint, and a seal
        assert _stale(api, admin.token) == []
        add_humans(sharded["b"], "late", 2)  # on shard b only: no checkpoint covers them
        assert _stale(api, admin.token) == []  # unsealed, but not for long
        clock.advance(timedelta(days=2))
        sharded[""].humans.add(SYSTEM, human_id="user:fresh", email="fresh@x.io")
        with sharded[""].store.write() as unit:  # the default log alone is checkpointed
            cp = sign_checkpoint(sharded[""].audit._signing_key, *_head(unit), clock())  # type: ignore[arg-type]
            unit.audit.add_checkpoint(cp)
        (stale,) = _stale(api, admin.token)
        assert [shard["shard"] for shard in stale["evidence"]["shards"]] == ["b"]
        assert stale["evidence"]["shards"][0]["sealed"] == 5
        assert stale["evidence"]["shards"][0]["records"] == 7
        with sharded[""].store.read() as unit:
            sizes = [state.frontier.size for state in unit.audit.shards() if state.frontier]
        assert stale["evidence"]["records"] == sum(sizes)
        assert sharded["b"].audit.seal() is not None  # a seal covers b (and the rest) again
        assert _stale(api, admin.token) == []


def test_the_console_shows_every_shard_and_the_seal_covering_a_record(
    sharded: dict[str, Services], admin: Admin, store: SqlStore
) -> None:
    first_of_b = records_of(store, "b")[0]
    add_humans(sharded["b"], "late", 1)
    late = records_of(store, "b")[-1]
    sharded["b"].audit.advance_horizon()  # readers see every shard's records up to now
    with TestClient(create_app(sharded[""]), raise_server_exceptions=False) as console:
        assert _sign_in(console, admin.token).status_code == 303
        page = console.get(f"/ui/audit/{first_of_b.seq}").text
        assert "Sealed with every shard by seal 0" in page
        assert "this record is 0 of shard b" in page
        assert "No signed checkpoint covers this record yet." not in page
        page = console.get(f"/ui/audit/{late.seq}").text
        assert 'id="sealed-in"' not in page
        assert "No signed checkpoint covers this record yet." in page

        page = console.get("/ui/audit/verify").text
        assert "Verified:" in page
        rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td>", page)
        assert [name for name, _ in rows] == ["(default)", "a", "b"]
        assert dict(rows)["b"] == str(len(records_of(store, "b")))
        assert "2 seals verified" in page
        assert "seal 1, signed" in page
        assert "Verified with this server's public key and the keys it vouches for" in page


def test_the_console_checks_seals_and_checkpoints_along_the_key_chain(
    sharded: dict[str, Services], admin: Admin, rotated: tuple[KeyLink, Ed25519PrivateKey]
) -> None:
    link, _ = rotated
    with TestClient(create_app(sharded[""]), raise_server_exceptions=False) as console:
        assert _sign_in(console, admin.token).status_code == 303
        page = console.get("/ui/audit/verify").text
    assert "Verified:" in page
    assert f"<code>{link.key_id}</code>" in page  # the last seal's and checkpoint's key
    assert "Does not verify" not in page
    assert "Verified with this server's public key and the keys it vouches for" in page


def _head(unit: Any) -> tuple[int, bytes]:
    head = unit.audit.head(lock=True)
    return head.size, head.root()


# -- the commands, on a real data directory, sharded -----------------------------------


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rotate_seal_verify_and_segments_from_the_command_line(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    where = ["--data-dir", str(data), "--database-url", database_url]
    assert _cli("init", *where)[0] == 0
    root = load_signing_key(data / "audit-signing.key")
    shard = open_store(database_url, migrate=False, audit_shard="a")
    try:
        on_a = Services.build(shard, signing_key=root)
        add_humans(on_a, "a", 3)
        code, out, err = _cli("audit", "seal", *where, "--json")
        assert code == 0, err
        code, out, err = _cli("audit", "rotate-key", *where, "--json")
        assert code == 0, err
        rotated = json.loads(out)
        add_humans(on_a, "b", 2)
    finally:
        shard.close()
    code, out, err = _cli("audit", "seal", *where, "--json")
    assert code == 0, err
    assert json.loads(out)["sealed"]["key_id"] == rotated["key_id"]

    code, out, _ = _cli("audit", "verify", *where, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["seals_verified"] == 3  # before, just after and after the link
    assert any("rotated 1 time(s)" in note for note in report["notes"])

    segment = tmp_path / "a.json"
    code, _, err = _cli("audit", "export-segment", *where, "--shard", "a", "-o", str(segment))
    assert code == 0, err
    code, out, err = _cli("audit", "verify-segment", str(segment), "--data-dir", str(data))
    assert code == 0, out + err
    assert "segment OK" in out
    chain = tmp_path / "chain.json"
    chain.write_text(_cli("audit", "keys", *where)[1])
    bare = json.loads(segment.read_text())
    del bare["key_chain"]
    stripped = tmp_path / "bare.json"
    stripped.write_text(json.dumps(bare))
    code, out, _ = _cli("audit", "verify-segment", str(stripped), "--data-dir", str(data))
    assert code == 3
    code, out, _ = _cli(
        "audit", "verify-segment", str(stripped), "--data-dir", str(data), "--keys", str(chain)
    )
    assert code == 0, out
    forged = {**bare, "seal": _resigned(bare["seal"], root)}
    stripped.write_text(json.dumps(forged))
    code, out, _ = _cli(
        "audit", "verify-segment", str(stripped), "--keys", str(chain), "--data-dir", str(data)
    )
    assert code == 3
    assert "[seal_key_retired]" in out

    # The retired root key, stolen, seals the store again: verify names it.
    seal_store = open_store(database_url, migrate=False)
    try:
        with seal_store.write() as unit:
            last = unit.audit.seals()[-1]
            unit.audit.add_seal(sign_seal(root, last.number + 1, last.shards, last.at))
    finally:
        seal_store.close()
    code, out, _ = _cli("audit", "verify", *where, "--json")
    assert code == 3
    assert json.loads(out)["problem"]["code"] == "seal_key_retired"
