"""Rotating the audit signing key: the chain of keys, what verifies and what does not.

The tampering tests write to the store the way someone with write access to the database
(but not the current signing key) could: appending well-formed records and checkpoint
rows. Only a link signed by the retiring key, and checkpoints signed by the key in force,
verify from the root public key.
"""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from charter.audit.checkpoints import key_id, sign_checkpoint
from charter.audit.evidence import bundle_from_json, verify_bundle
from charter.audit.keychain import (
    KEY_ROTATED,
    KeyLink,
    KeyRing,
    chain_from_json,
    link_from_json,
    sign_link,
)
from charter.audit.records import AuditEntry
from charter.audit.seals import ShardHead, sign_seal
from charter.audit.verify import VerifyReport
from charter.cli.main import app
from charter.clock import ManualClock
from charter.errors import PermissionDenied, Unavailable
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from charter.storage.keyfile import key_finder, rotated_key_path, write_signing_key
from charter.storage.ports import AuditQuery, Store
from charter.storage.sql import SqlStore
from tests.helpers import Admin, human

runner = CliRunner()


def _grow(services: Services, clock: ManualClock, count: int, prefix: str) -> None:
    clock.advance(timedelta(minutes=1))
    for index in range(count):
        services.humans.add(SYSTEM, human_id=f"user:{prefix}{index}", email=f"{prefix}{index}@x.io")


def _finder(*keys: Ed25519PrivateKey) -> Any:
    by_id = {key_id(key.public_key()): key for key in keys}
    return by_id.get


def _verify(services: Services, root: Ed25519PrivateKey) -> VerifyReport:
    return Services.build(services.store, public_key=root.public_key()).audit.verify_store()


def _problem(report: VerifyReport) -> tuple[str, int | None] | None:
    return None if report.problem is None else (report.problem.code, report.problem.seq)


def _append_raw(store: Store, entry: AuditEntry) -> int:
    with store.write() as unit:
        return unit.audit.append(entry).seq


def _rotate(services: Services, clock: ManualClock, *keys: Ed25519PrivateKey) -> KeyLink:
    new = Ed25519PrivateKey.generate()
    services.audit.find_keys_with(_finder(*keys, new))
    clock.advance(timedelta(seconds=1))
    return services.audit.rotate_key(SYSTEM, new)


# -- rotation end to end, on SQLite and PostgreSQL -------------------------------------


def test_rotation_hands_signing_over_and_every_checkpoint_still_verifies(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey, admin: Admin
) -> None:
    root = signing_key
    _grow(services, clock, 3, "before")
    first = services.audit.checkpoint()
    assert first is not None
    assert first.key_id == key_id(root.public_key())
    _grow(services, clock, 2, "unsealed")  # sealed by the old key at the rotation

    second = Ed25519PrivateKey.generate()
    services.audit.find_keys_with(_finder(root, second))
    link = services.audit.rotate_key(SYSTEM, second)
    assert link.previous_key_id == key_id(root.public_key())
    assert link.key_id == key_id(second.public_key())

    checkpoints = services.audit.checkpoints(SYSTEM)
    # The old key sealed everything before the link; the new key the link itself on.
    assert [(cp.tree_size, cp.key_id) for cp in checkpoints[-2:]] == [
        (link.seq, link.previous_key_id),
        (link.seq + 1, link.key_id),
    ]
    auditor = human(services, "user:auditor-x", HumanRole.AUDITOR)
    rotated = services.audit.query(auditor, AuditQuery(types=(KEY_ROTATED,)))
    assert [(r.seq, r.subject) for r in rotated] == [(link.seq, link.key_id)]

    _grow(services, clock, 2, "after")
    latest = services.audit.checkpoint()
    assert latest is not None
    assert latest.key_id == link.key_id

    third = Ed25519PrivateKey.generate()
    services.audit.find_keys_with(_finder(root, second, third))
    services.audit.rotate_key(SYSTEM, third)
    _grow(services, clock, 1, "third")
    assert services.audit.checkpoint() is not None

    report = _verify(services, root)
    assert report.ok, report.problem
    assert report.checkpoints_verified == len(services.audit.checkpoints(SYSTEM))
    assert any("rotated 2 time(s)" in note for note in report.notes)
    assert [one.key_id for one in services.audit.key_chain()] == [
        key_id(second.public_key()),
        key_id(third.public_key()),
    ]
    # The root is the trust anchor: a later key alone does not verify the log.
    wrong_root = _problem(_verify(services, second))
    assert wrong_root == ("checkpoint_signature_invalid", first.tree_size - 1)


def test_a_server_without_the_new_key_stops_signing_until_it_is_installed(
    store: SqlStore, clock: ManualClock, tmp_path: Path
) -> None:
    root = Ed25519PrivateKey.generate()
    own_path = tmp_path / "audit-signing.key"
    write_signing_key(own_path, root)
    one = Services.build(store, clock=clock, signing_key=root)
    other = Services.build(store, clock=clock, signing_key=root)  # a second server
    one.audit.find_keys_with(key_finder(own_path, root))
    other.audit.find_keys_with(key_finder(tmp_path / "elsewhere" / "audit-signing.key", root))
    _grow(one, clock, 2, "a")
    assert other.audit.checkpoint() is not None

    new = Ed25519PrivateKey.generate()
    new_path = rotated_key_path(own_path, key_id(new.public_key()))
    write_signing_key(new_path, new)
    assert stat.S_IMODE(new_path.stat().st_mode) == 0o600
    one.audit.rotate_key(SYSTEM, new)
    _grow(one, clock, 2, "b")

    with pytest.raises(Unavailable) as refused:
        other.audit.checkpoint()
    assert refused.value.code == "signing_key_retired"
    assert key_id(new.public_key()) in refused.value.message
    size_before = len(one.audit.checkpoints(SYSTEM))

    # The operator copies the new key file beside the other server's key: it signs again.
    (tmp_path / "elsewhere").mkdir()
    write_signing_key(
        rotated_key_path(tmp_path / "elsewhere" / "audit-signing.key", key_id(new.public_key())),
        new,
    )
    signed = other.audit.checkpoint()
    assert signed is not None
    assert signed.key_id == key_id(new.public_key())
    assert len(one.audit.checkpoints(SYSTEM)) == size_before + 1
    assert _verify(one, root).ok


def test_only_admins_rotate_and_auditors_read_the_chain(
    services: Services, clock: ManualClock
) -> None:
    auditor = human(services, "user:audrey", HumanRole.AUDITOR)
    with pytest.raises(PermissionDenied):
        services.audit.rotate_key(auditor, Ed25519PrivateKey.generate())
    assert services.audit.key_chain_for(auditor) == []
    with pytest.raises(PermissionDenied):
        services.audit.key_chain_for(human(services, "user:nobody"))


# -- tampering ---------------------------------------------------------------------------


def test_a_checkpoint_signed_by_a_retired_key_after_its_retirement_fails(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    root = signing_key
    _grow(services, clock, 2, "a")
    link = _rotate(services, clock, root)
    _grow(services, clock, 3, "b")  # not sealed yet
    # Someone holding the old (retired) key signs the grown log.
    with services.store.write() as unit:
        head = unit.audit.head(lock=True)
        unit.audit.add_checkpoint(sign_checkpoint(root, head.size, head.root(), clock()))
        size = head.size
    assert size > link.seq + 1
    report = _verify(services, root)
    assert _problem(report) == ("checkpoint_key_retired", size - 1)
    assert f"retired at record {link.seq}" in report.problem.message  # type: ignore[union-attr]


def test_a_checkpoint_signed_by_a_key_outside_the_chain_fails(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    _grow(services, clock, 2, "a")
    _rotate(services, clock, signing_key)
    _grow(services, clock, 1, "b")
    stranger = Ed25519PrivateKey.generate()
    with services.store.write() as unit:
        head = unit.audit.head(lock=True)
        unit.audit.add_checkpoint(sign_checkpoint(stranger, head.size, head.root(), clock()))
        size = head.size
    assert _problem(_verify(services, signing_key)) == ("checkpoint_signature_invalid", size - 1)


def test_a_forged_link_to_an_attackers_key_breaks_the_chain(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    """With database access but not the key, one can append a well-sealed rotation
    record; its link is not signed by the current key, and verification says so."""
    _grow(services, clock, 2, "a")
    assert services.audit.checkpoint() is not None
    attacker = Ed25519PrivateKey.generate()
    with services.store.read() as unit:
        seq = unit.audit.head().size
    forged = sign_link(attacker, attacker.public_key(), seq, clock())
    # It even names the real current key as the one retiring.
    real = sign_link(signing_key, attacker.public_key(), seq, clock())
    data = {**real.to_json(), "signature": forged.signature.hex()}
    assert _append_raw(services.store, _rotation(data, clock)) == seq
    with services.store.write() as unit:
        head = unit.audit.head(lock=True)
        unit.audit.add_checkpoint(sign_checkpoint(attacker, head.size, head.root(), clock()))
    report = _verify(services, signing_key)
    assert _problem(report) == ("key_chain_broken", seq)
    assert "not signed by the key it retires" in report.problem.message  # type: ignore[union-attr]
    # And the server itself refuses to sign on the broken chain's key.
    with pytest.raises(Unavailable):
        services.audit.checkpoint()


def test_a_replayed_link_breaks_the_chain(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    _grow(services, clock, 2, "a")
    link = _rotate(services, clock, signing_key)
    _grow(services, clock, 1, "b")
    replayed = _append_raw(services.store, _rotation(link.to_json(), clock))
    assert _problem(_verify(services, signing_key)) == ("key_chain_broken", replayed)


def test_a_link_from_a_key_that_is_not_current_breaks_the_chain(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    """A link signed by the root again, after the root was retired (a stolen root key
    trying to start a second branch)."""
    _grow(services, clock, 2, "a")
    _rotate(services, clock, signing_key)
    _grow(services, clock, 1, "b")
    with services.store.read() as unit:
        seq = unit.audit.head().size
    branch = sign_link(signing_key, Ed25519PrivateKey.generate().public_key(), seq, clock())
    _append_raw(services.store, _rotation(branch.to_json(), clock))
    report = _verify(services, signing_key)
    assert _problem(report) == ("key_chain_broken", seq)
    assert "but the current key is" in report.problem.message  # type: ignore[union-attr]


def test_a_link_states_what_its_key_sealed_under_its_signature(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    """On a store that was never sharded the retiring key sealed nothing: its link says
    so ({}), and dropping or raising that statement breaks the link's signature."""
    _grow(services, clock, 2, "a")
    link = _rotate(services, clock, signing_key)
    assert link.sealed == {}
    assert link.to_json()["sealed"] == {}
    assert services.audit.key_chain() == [link]
    assert _verify(services, signing_key).ok
    ring = KeyRing(signing_key.public_key())
    assert ring.accept(link_from_json(json.loads(json.dumps(link.to_json())))) is None
    stripped = {key: value for key, value in link.to_json().items() if key != "sealed"}
    raised = {**link.to_json(), "sealed": {"": link.seq, "a": 99}}
    for tampered in (stripped, raised):
        fresh = KeyRing(signing_key.public_key())
        assert "not signed by the key it retires" in str(fresh.accept(link_from_json(tampered)))
    for malformed in ({"a": -1}, {"a": True}, {"a": "3"}, ["a"], {"ü" * 65: 1}):
        with pytest.raises(ValueError, match="sealed"):
            link_from_json({**link.to_json(), "sealed": malformed})
    # It sealed nothing, so no seal of it holds once it is retired, whatever it covers.
    root = sign_seal(signing_key, 0, {"": ShardHead(link.seq, b"\x00" * 32)}, clock())
    assert _seal_code(ring, root) == "seal_key_retired"


def _seal_code(ring: KeyRing, seal: Any) -> str | None:
    problem = ring.seal_problem(seal)
    return None if problem is None else problem[0]


def test_a_retired_keys_seal_holds_only_within_what_its_link_says_it_sealed() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    at = ManualClock()()
    root = b"\x01" * 32

    def sealed_by(key: Ed25519PrivateKey, **sizes: int) -> Any:
        shards = {name.strip("_"): ShardHead(size, root) for name, size in sizes.items()}
        return sign_seal(key, 0, shards, at)

    ring = KeyRing(old.public_key())
    link = sign_link(old, new.public_key(), 10, at, {"": 10, "a": 7})
    assert ring.accept(link) is None
    assert _seal_code(ring, sealed_by(old, _=10, a=7)) is None
    assert _seal_code(ring, sealed_by(old, _=4, a=2)) is None
    assert _seal_code(ring, sealed_by(old, _=10, a=8)) == "seal_key_retired"
    assert _seal_code(ring, sealed_by(old, _=11, a=7)) == "seal_key_retired"
    assert _seal_code(ring, sealed_by(old, _=10, a=7, b=1)) == "seal_key_retired"
    assert _seal_code(ring, sealed_by(old, a=7)) == "seal_key_retired"
    assert "does not name the default shard" in str(ring.seal_problem(sealed_by(old, a=1)))
    # The current key: as before, placed by the default shard only.
    assert _seal_code(ring, sealed_by(new, _=11, a=99, b=5)) is None
    assert _seal_code(ring, sealed_by(new, _=10, a=1)) == "seal_signature_invalid"

    # A link from before ``sealed``: the default shard up to the link, no other shard.
    legacy_ring = KeyRing(old.public_key())
    legacy = sign_link(old, new.public_key(), 10, at)
    assert legacy.sealed is None
    assert "sealed" not in legacy.to_json()
    assert legacy_ring.accept(link_from_json(legacy.to_json())) is None
    assert _seal_code(legacy_ring, sealed_by(old, _=10)) is None
    assert _seal_code(legacy_ring, sealed_by(old, _=11)) == "seal_key_retired"
    assert _seal_code(legacy_ring, sealed_by(old, _=10, a=1)) == "seal_key_retired"
    assert _seal_code(legacy_ring, sealed_by(old, a=1)) == "seal_key_retired"


def _rotation(data: dict[str, Any], clock: ManualClock) -> AuditEntry:
    return AuditEntry(type=KEY_ROTATED, actor="system", at=clock(), data=data)


# -- evidence bundles and the exported chain ------------------------------------------


def test_evidence_from_before_and_after_a_rotation_verifies_from_the_root(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    root = signing_key
    _grow(services, clock, 3, "a")
    services.audit.checkpoint()
    old_bundle = services.evidence.bundle([1])
    assert old_bundle.key_id == key_id(root.public_key())
    assert "key_chain" not in old_bundle.to_json()  # bundles without a rotation are as before

    link = _rotate(services, clock, root)
    _grow(services, clock, 2, "b")
    bundle = services.evidence.bundle([1, link.seq + 1])
    assert bundle.key_id == link.key_id
    written = json.loads(json.dumps(bundle.to_json()))
    assert [one["key_id"] for one in written["key_chain"]] == [link.key_id]
    read = bundle_from_json(written)

    assert verify_bundle(read, root.public_key()).ok
    assert verify_bundle(old_bundle, root.public_key()).ok  # old evidence still verifies
    chain = services.audit.key_chain()
    assert verify_bundle(read, root.public_key(), chain).ok
    # Without the links, the new key is not one the root vouches for.
    bare = bundle_from_json({key: value for key, value in written.items() if key != "key_chain"})
    assert verify_bundle(bare, root.public_key()).problem.code == "key_mismatch"  # type: ignore[union-attr]
    # A tampered link (another public key) breaks the chain.
    tampered = [link_from_json({**chain[0].to_json(), "public_key": "00" * 32})]
    report = verify_bundle(read, root.public_key(), tampered)
    assert report.problem is not None
    assert report.problem.code == "key_chain_broken"


def test_a_retired_key_forging_evidence_is_caught_with_the_full_chain(
    services: Services, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    root = signing_key
    _grow(services, clock, 2, "a")
    services.audit.checkpoint()
    _rotate(services, clock, root)
    _grow(services, clock, 2, "b")
    # The stolen root key signs the current log and a bundle is built on that checkpoint.
    with services.store.write() as unit:
        head = unit.audit.head(lock=True)
        forged = sign_checkpoint(root, head.size, head.root(), clock())
    from charter.audit.evidence import build_bundle
    from charter.audit.merkle import leaf_hash

    with services.store.read() as unit:
        records = list(unit.audit.records())
    leaves = [leaf_hash(record.body.encode()) for record in records]
    bundle = build_bundle(records[:1], leaves, forged, at=clock())  # it leaves out the chain
    full_chain = services.audit.key_chain()
    report = verify_bundle(bundle, root.public_key(), full_chain)
    assert report.problem is not None
    assert report.problem.code == "checkpoint_key_retired"


def test_the_chain_is_served_to_auditors(
    services: Services,
    api: TestClient,
    admin: Admin,
    clock: ManualClock,
    signing_key: Ed25519PrivateKey,
) -> None:
    empty = api.get("/v1/audit/keys", headers=admin.headers)
    assert empty.status_code == 200
    assert empty.json() == {"format": "charter-key-chain/v1", "links": [], "current_key_id": None}
    link = _rotate(services, clock, signing_key)
    body = api.get("/v1/audit/keys", headers=admin.headers).json()
    assert body["current_key_id"] == link.key_id
    assert chain_from_json(body) == [link]
    assert api.get("/v1/audit/keys").status_code == 401


def test_the_chain_is_exported_through_a_live_server(
    services: Services,
    live_server: str,
    admin: Admin,
    clock: ManualClock,
    signing_key: Ed25519PrivateKey,
) -> None:
    link = _rotate(services, clock, signing_key)
    code, out, err = _cli(
        "audit", "keys", "--online", "--server", live_server, "--token", admin.token
    )
    assert code == 0, err
    assert chain_from_json(json.loads(out)) == [link]
    assert json.loads(out)["current_key_id"] == link.key_id


# -- the commands, on a real data directory --------------------------------------------


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rotate_key_verify_and_export_from_the_command_line(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    where = ["--data-dir", str(data), "--database-url", database_url]
    assert _cli("init", *where)[0] == 0
    code, out, err = _cli("audit", "rotate-key", *where, "--json")
    assert code == 0, err
    rotated = json.loads(out)
    key_file = Path(rotated["key_file"])
    assert key_file.parent == data
    assert key_file.name == f"audit-signing.{rotated['key_id']}.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (data / "audit-signing.key").exists()  # the root key stays: it seeds secrets
    code, out, err = _cli("audit", "rotate-key", *where)
    assert code == 0, err
    assert "copy it beside CHARTER_SIGNING_KEY" in out

    code, out, _ = _cli("audit", "verify", *where, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"]
    assert report["checkpoints_verified"] >= 3
    assert any("rotated 2 time(s)" in note for note in report["notes"])

    code, out, _ = _cli("audit", "keys", *where)
    assert code == 0
    chain_file = tmp_path / "chain.json"
    chain_file.write_text(out)
    links = chain_from_json(json.loads(out))
    assert [link.previous_key_id for link in links][1] == rotated["key_id"]

    # Verifying from a key that is not the root fails: the root is the trust anchor.
    code, out, _ = _cli(
        "audit", "verify", *where, "--public-key", str(key_file.with_suffix(".pub")), "--json"
    )
    assert code == 3
    assert json.loads(out)["problem"]["code"] == "checkpoint_signature_invalid"

    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "charter-key-chain/v1", "links": [{"seq": -1}]}')
    bundle = tmp_path / "bundle.json"
    bundle.write_text("{}")
    code, _, err = _cli("audit", "verify-evidence", str(bundle), "--keys", str(broken))
    assert code == 2
    assert "Traceback" not in err
