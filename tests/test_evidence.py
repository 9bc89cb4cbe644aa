"""Evidence bundles: built by the real app from the real store, verified offline with
the public key only, and refused when anything in them was changed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from charter.audit.checkpoints import sign_checkpoint
from charter.audit.evidence import bundle_from_json, verify_bundle
from charter.audit.merkle import MerkleTree, leaf_hash, root_from_inclusion_proof, tree_root
from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from charter.storage.keyfile import public_key_pem
from charter.storage.sql import SqlStore
from charter.storage.sql.schema import audit_records
from tests.helpers import Admin, bearer, charter_cli, log_size


def _grow(services: Services, humans: int) -> None:
    """Add ``humans`` people, one audit record each."""
    for n in range(humans):
        services.humans.add(SYSTEM, human_id=f"user:p{n}", email=f"p{n}@example.com")


@pytest.fixture
def bundle(services: Services, admin: Admin, api: TestClient) -> dict[str, Any]:
    """A bundle citing three records of a 13-record log (no checkpoint before it)."""
    _grow(services, 11)
    answer = api.post("/v1/audit/evidence", json={"seqs": [5, 0, 12]}, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def public_pem(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "audit.pub"
    path.write_text(public_key_pem(signing_key.public_key()), encoding="utf-8")
    return path


def _verify_file(tmp_path: Path, bundle: dict[str, Any], key: Path) -> tuple[int, Any]:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    code, out, _ = charter_cli(
        "audit", "verify-evidence", str(path), "--public-key", str(key), "--json"
    )
    return code, json.loads(out) if out.strip() else None


# -- the Merkle proofs themselves ----------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 300, 513])
def test_every_leaf_proves_against_the_root(size: int) -> None:
    leaves = [leaf_hash(str(n).encode()) for n in range(size)]
    tree = MerkleTree(leaves)
    assert tree.root() == tree_root(leaves)
    for index in range(size):
        proof = tree.inclusion_proof(index)
        assert root_from_inclusion_proof(leaves[index], index, size, proof) == tree.root()
        wrong = leaf_hash(b"other")
        assert root_from_inclusion_proof(wrong, index, size, proof) != tree.root()


def test_a_proof_for_another_position_or_size_fails() -> None:
    leaves = [leaf_hash(str(n).encode()) for n in range(10)]
    tree = MerkleTree(leaves)
    proof = tree.inclusion_proof(4)
    assert root_from_inclusion_proof(leaves[4], 5, 10, proof) != tree.root()
    # Too long a path for the size the checkpoint signed: no root at all.
    assert root_from_inclusion_proof(leaves[4], 4, 5, proof) is None
    assert root_from_inclusion_proof(leaves[4], 10, 10, proof) is None


# -- bundles from the real app, verified offline ---------------------------------------


def test_bundle_verifies_offline_with_the_public_key_only(
    bundle: dict[str, Any], tmp_path: Path, public_pem: Path, services: Services
) -> None:
    assert bundle["format"] == "charter-evidence/v1"
    assert [record["seq"] for record in bundle["records"]] == [0, 5, 12]
    # No checkpoint covered record 12, so one was signed for the bundle, as for the log.
    assert bundle["checkpoint"]["tree_size"] == log_size(services.store)  # type: ignore[arg-type]
    # The bodies are the records exactly as stored.
    assert json.loads(bundle["records"][1]["body"])["type"] == "human.added"
    code, report = _verify_file(tmp_path, bundle, public_pem)
    assert code == 0, report
    assert report["ok"]
    assert report["records"] == 3
    assert report["problem"] is None


def test_cli_human_output_says_ok_and_names_the_failure(
    bundle: dict[str, Any], tmp_path: Path, public_pem: Path
) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    code, out, _ = charter_cli(
        "audit", "verify-evidence", str(path), "--public-key", str(public_pem)
    )
    assert code == 0
    assert out.startswith("evidence OK: 3 record(s)")
    bundle["records"][0]["proof"][0] = "00" * 32
    path.write_text(json.dumps(bundle), encoding="utf-8")
    code, out, _ = charter_cli(
        "audit", "verify-evidence", str(path), "--public-key", str(public_pem)
    )
    assert code == 3
    assert "evidence FAILS at record 0 [proof_invalid]" in out


def _edit_body(bundle: dict[str, Any]) -> None:
    record = bundle["records"][1]
    fields = json.loads(record["body"])
    fields["actor"] = "user:mallory"
    record["body"] = json.dumps(fields, sort_keys=True, separators=(",", ":"))


def _edit_body_and_leaf(bundle: dict[str, Any]) -> None:
    _edit_body(bundle)
    record = bundle["records"][1]
    record["leaf_hash"] = leaf_hash(record["body"].encode()).hex()


def _edit_proof(bundle: dict[str, Any]) -> None:
    proof = bundle["records"][2]["proof"]
    proof[-1] = ("ff" if proof[-1][:2] != "ff" else "00") + proof[-1][2:]


def _edit_root(bundle: dict[str, Any]) -> None:
    root = bundle["checkpoint"]["root"]
    bundle["checkpoint"]["root"] = ("0" if root[0] != "0" else "1") + root[1:]


def _edit_signature(bundle: dict[str, Any]) -> None:
    signature = bundle["checkpoint"]["signature"]
    bundle["checkpoint"]["signature"] = signature[:-2] + ("00" if signature[-2:] != "00" else "01")


def _move_record(bundle: dict[str, Any]) -> None:
    bundle["records"][1]["seq"] = 6


@pytest.mark.parametrize(
    ("tamper", "code", "seq"),
    [
        (_edit_body, "record_altered", 5),
        (_edit_body_and_leaf, "proof_invalid", 5),
        (_edit_proof, "proof_invalid", 12),
        (_edit_root, "checkpoint_signature_invalid", None),
        (_edit_signature, "checkpoint_signature_invalid", None),
        (_move_record, "record_altered", 6),
    ],
)
def test_any_tampering_fails_with_a_clear_reason(
    bundle: dict[str, Any],
    tmp_path: Path,
    public_pem: Path,
    tamper: Any,
    code: str,
    seq: int | None,
) -> None:
    changed = copy.deepcopy(bundle)
    tamper(changed)
    exit_code, report = _verify_file(tmp_path, changed, public_pem)
    assert exit_code == 3
    assert report["ok"] is False
    assert report["problem"]["code"] == code
    assert report["problem"]["seq"] == seq
    assert report["problem"]["message"]


def test_another_key_fails_even_if_it_re_signs_the_checkpoint(
    bundle: dict[str, Any], tmp_path: Path, public_pem: Path
) -> None:
    other = Ed25519PrivateKey.generate()
    other_pem = tmp_path / "other.pub"
    other_pem.write_text(public_key_pem(other.public_key()), encoding="utf-8")
    exit_code, report = _verify_file(tmp_path, bundle, other_pem)
    assert exit_code == 3
    assert report["problem"]["code"] == "key_mismatch"

    # A forger re-signs an edited tree with their own key: the auditor's key refuses it.
    read = bundle_from_json(bundle)
    forged = sign_checkpoint(other, read.checkpoint.tree_size, b"\x00" * 32, read.checkpoint.at)
    swapped = {**bundle, "key_id": forged.key_id, "checkpoint": forged.to_json()}
    assert verify_bundle(bundle_from_json(swapped), other.public_key()).ok is False
    exit_code, report = _verify_file(tmp_path, swapped, public_pem)
    assert report["problem"]["code"] == "key_mismatch"


def test_a_malformed_bundle_is_a_usage_error(tmp_path: Path, public_pem: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"format": "charter-evidence/v9"}', encoding="utf-8")
    code, _, err = charter_cli(
        "audit", "verify-evidence", str(path), "--public-key", str(public_pem)
    )
    assert code == 2
    assert "evidence_invalid" in err
    assert "unknown bundle format" in err
    code, _, err = charter_cli(
        "audit", "verify-evidence", str(tmp_path / "none.json"), "--public-key", str(public_pem)
    )
    assert code == 2
    assert "evidence_unreadable" in err


# -- the API: who may ask, what it refuses ---------------------------------------------


def test_an_existing_covering_checkpoint_is_reused(
    services: Services, admin: Admin, api: TestClient
) -> None:
    first = services.audit.checkpoint()
    assert first is not None
    answer = api.post("/v1/audit/evidence", json={"seqs": [1]}, headers=admin.headers)
    assert answer.status_code == 200
    assert answer.json()["checkpoint"] == first.to_json()
    listed = api.get("/v1/audit/checkpoints", headers=admin.headers).json()
    assert len(listed) == 1


def test_only_auditors_and_admins_build_evidence(
    services: Services, admin: Admin, api: TestClient
) -> None:
    services.humans.add(SYSTEM, human_id="user:eve", email="eve@example.com")
    token = services.tokens.issue_for_human(SYSTEM, "user:eve").token
    answer = api.post("/v1/audit/evidence", json={"seqs": [0]}, headers=bearer(token))
    assert answer.status_code == 403
    services.humans.add(
        SYSTEM, human_id="user:aud", email="aud@example.com", roles=[HumanRole.AUDITOR]
    )
    token = services.tokens.issue_for_human(SYSTEM, "user:aud").token
    answer = api.post("/v1/audit/evidence", json={"seqs": [0]}, headers=bearer(token))
    assert answer.status_code == 200


def test_bad_requests_get_clear_errors(admin: Admin, api: TestClient) -> None:
    missing = api.post("/v1/audit/evidence", json={"seqs": [999]}, headers=admin.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "audit_record_not_found"
    assert "no record 999" in missing.json()["error"]["message"]
    bodies: list[dict[str, Any]] = [{"seqs": []}, {"seqs": [-1]}, {"seqs": ["1"]}, {}]
    for body in bodies:
        answer = api.post("/v1/audit/evidence", json=body, headers=admin.headers)
        assert answer.status_code == 422, (body, answer.text)


def test_no_evidence_from_a_broken_log(
    services: Services, admin: Admin, api: TestClient, store: SqlStore
) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(audit_records)
            .where(audit_records.c.seq == 0)
            .values(body=sa.func.replace(audit_records.c.body, "admin@", "mallory@"))
        )
    answer = api.post("/v1/audit/evidence", json={"seqs": [1]}, headers=admin.headers)
    assert answer.status_code >= 500
    assert answer.json()["error"]["code"] == "audit_log_broken"


def test_cli_writes_a_bundle_through_a_live_server(
    services: Services,
    admin: Admin,
    live_server: str,
    tmp_path: Path,
    public_pem: Path,
    clock: ManualClock,
) -> None:
    out = tmp_path / "bundle.json"
    code, _, err = charter_cli(
        "audit",
        "evidence",
        "--seq",
        "0",
        "--seq",
        "1",
        "-o",
        str(out),
        "--server",
        live_server,
        "--token",
        admin.token,
    )
    assert code == 0, err
    code, stdout, _ = charter_cli(
        "audit", "verify-evidence", str(out), "--public-key", str(public_pem)
    )
    assert code == 0, stdout
