"""The ``charter`` command: offline commands on real files, the rest against a live server."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter.cli.main import app
from charter.sdk.client import Client
from tests.helpers import Admin

runner = CliRunner()


def charter(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# -- init and offline verification (SQLite files in a temporary data dir) -------------


def test_init_creates_store_key_and_admin_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code, out, _ = charter("init", "--data-dir", str(data_dir), "--json")
    assert code == 0
    created = json.loads(out)
    assert created["admin_token"].startswith("cht_")
    key = data_dir / "audit-signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (data_dir / "audit-signing.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    # The token is shown once: it is not in the store, only its hash.
    assert created["admin_token"].encode() not in (data_dir / "charter.db").read_bytes()

    again, _, err = charter("init", "--data-dir", str(data_dir))
    assert again == 1
    assert "already_initialised" in err
    assert charter("init", "--data-dir", str(data_dir), "--if-missing")[0] == 0


def test_init_demo_writes_token_file_and_verifies(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    token_file = data_dir / "admin.token"
    code, _, _ = charter(
        "init", "--data-dir", str(data_dir), "--demo", "--admin-token-file", str(token_file)
    )
    assert code == 0
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().startswith("cht_")
    code, out, _ = charter("audit", "verify", "--data-dir", str(data_dir), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert report["records"] >= 9  # the admin, its token, four humans, four agents
    assert report["checkpoints_verified"] == 1


def test_offline_verify_names_an_edited_record_and_exits_1(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert charter("init", "--data-dir", str(data_dir), "--demo")[0] == 0
    with sqlite3.connect(data_dir / "charter.db") as db:
        db.execute(
            "UPDATE audit_records SET body = replace(body, 'alice@example.com', "
            "'mallory@example.com') WHERE type = 'human.added' AND body LIKE '%alice%'"
        )
        (seq,) = db.execute("SELECT seq FROM audit_records WHERE body LIKE '%mallory%'").fetchone()
    code, out, _ = charter("audit", "verify", "--data-dir", str(data_dir))
    assert code == 3
    assert f"BROKEN at record {seq}" in out
    assert "record_altered" in out


def test_offline_verify_without_a_store_fails_clearly(tmp_path: Path) -> None:
    code, _, err = charter("audit", "verify", "--data-dir", str(tmp_path / "nothing"))
    assert code == 1
    assert "store_not_initialised" in err  # the documented code, not the key's
    assert not (tmp_path / "nothing" / "charter.db").exists()


def test_serve_refuses_without_a_signing_key(tmp_path: Path) -> None:
    code, _, err = charter("serve", "--data-dir", str(tmp_path / "empty"))
    assert code == 1
    assert "signing_key_missing" in err
    assert "charter init" in err


# -- commands through the server (both backends) --------------------------------------


@pytest.fixture
def remote(live_server: str, admin: Admin) -> list[str]:
    return ["--server", live_server, "--token", admin.token]


def test_agent_lifecycle_through_the_cli(remote: list[str]) -> None:
    assert charter("humans", "add", "user:erin", "--email", "erin@example.com", *remote)[0] == 0
    code, out, err = charter(
        "agents",
        "register",
        "triage",
        "--owner",
        "user:erin",
        "--purpose",
        "Triage tickets",
        "--risk-tier",
        "low",
        "--label",
        "team=support",
        "--json",
        *remote,
    )
    assert code == 0, err
    assert json.loads(out)["labels"] == {"team": "support"}

    code, out, _ = charter("tokens", "issue", "--agent", "triage", "--ttl", "1h", "--json", *remote)
    issued = json.loads(out)
    agent_token = issued["token"]
    assert code == 0

    # The agent's own token cannot reach admin calls.
    server = remote[1]
    code, _, err = charter("agents", "list", "--server", server, "--token", agent_token)
    assert code == 1
    assert "forbidden" in err

    code, out, _ = charter("agents", "suspend", "triage", "--reason", "test", *remote)
    assert code == 0
    assert "suspended" in out
    code, _, err = charter("agents", "suspend", "triage", *remote)
    assert code == 1
    assert "invalid_transition" in err

    code, out, _ = charter("agents", "show", "triage", "--json", *remote)
    assert json.loads(out)["status"] == "suspended"

    code, out, _ = charter("agents", "retire", "triage", "--json", *remote)
    assert json.loads(out)["revoked_tokens"] == [issued["credential"]["id"]]

    code, out, _ = charter("tokens", "list", "--agent", "triage", "--json", *remote)
    assert [token["state"] for token in json.loads(out)] == ["revoked"]


def test_tokens_rotate_and_revoke(remote: list[str]) -> None:
    charter("humans", "add", "user:erin", "--email", "erin@example.com", *remote)
    code, out, _ = charter("tokens", "issue", "--human", "user:erin", "--json", *remote)
    first = json.loads(out)["credential"]["id"]
    code, out, _ = charter("tokens", "rotate", first, "--json", *remote)
    assert code == 0
    rotated = json.loads(out)["credential"]
    assert rotated["rotated_from"] == first
    assert charter("tokens", "revoke", rotated["id"], "--reason", "done", *remote)[0] == 0
    code, out, _ = charter("tokens", "list", "--human", "user:erin", "--json", *remote)
    assert {token["state"] for token in json.loads(out)} == {"revoked"}
    code, _, err = charter("tokens", "issue", "--agent", "a1", "--human", "user:erin", *remote)
    assert code == 2  # a usage error
    assert "exactly one" in err


def test_humans_deactivate_reports_orphans(remote: list[str]) -> None:
    charter("humans", "add", "user:erin", "--email", "erin@example.com", *remote)
    charter("agents", "register", "triage", "--owner", "user:erin", "--purpose", "p", *remote)
    code, out, _ = charter("humans", "deactivate", "user:erin", "--json", *remote)
    assert code == 0
    assert [agent["id"] for agent in json.loads(out)["orphaned_agents"]] == ["triage"]
    code, out, _ = charter("humans", "list", "--json", *remote)
    assert {human["id"]: human["active"] for human in json.loads(out)} == {
        "user:admin": True,
        "user:erin": False,
    }


def test_audit_export_tail_and_online_verify(remote: list[str], tmp_path: Path) -> None:
    charter("humans", "add", "user:erin", "--email", "erin@example.com", *remote)
    charter("agents", "register", "triage", "--owner", "user:erin", "--purpose", "p", *remote)
    target = tmp_path / "audit.jsonl"
    assert charter("audit", "export", "--output", str(target), *remote)[0] == 0
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [record["seq"] for record in records] == list(range(len(records)))
    assert records[-1]["type"] == "agent.registered"

    code, out, _ = charter("audit", "export", "--agent", "triage", *remote)
    assert [json.loads(line)["type"] for line in out.splitlines()] == ["agent.registered"]

    code, out, _ = charter("audit", "tail", "-n", "2", *remote)
    lines = out.splitlines()
    assert len(lines) == 2
    assert "agent.registered" in lines[-1]

    code, out, _ = charter("audit", "verify", "--online", "--json", *remote)
    assert code == 0
    assert json.loads(out)["ok"] is True


def test_unreachable_server_is_an_error_not_a_crash() -> None:
    code, _, err = charter("agents", "list", "--server", "http://127.0.0.1:9", "--token", "x")
    assert code == 1
    assert "unreachable" in err
    assert "http://127.0.0.1:9" in err  # the URL it tried


def test_checkpoints_kept_outside_catch_deleted_checkpoint_rows(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert charter("init", "--data-dir", str(data_dir), "--demo")[0] == 0
    # An auditor's copy, in the format `charter audit checkpoints` prints.
    with sqlite3.connect(data_dir / "charter.db") as db:
        rows = db.execute("SELECT tree_size, root, at, key_id, signature FROM audit_checkpoints")
        (size, root, at, key_id, signature) = rows.fetchone()
    kept = tmp_path / "checkpoints.jsonl"
    at_text = at.replace(" ", "T").split("+")[0] + "Z"
    kept.write_text(
        json.dumps(
            {
                "tree_size": size,
                "root": root,
                "at": at_text,
                "key_id": key_id,
                "signature": signature,
            }
        )
        + "\n"
    )
    verify = ["audit", "verify", "--data-dir", str(data_dir), "--checkpoints", str(kept)]
    assert charter(*verify)[0] == 0
    with sqlite3.connect(data_dir / "charter.db") as db:
        db.execute("DELETE FROM audit_checkpoints")
    assert charter("audit", "verify", "--data-dir", str(data_dir))[0] == 0
    code, out, _ = charter(*verify)
    assert code == 3
    assert "checkpoint_missing" in out


def test_verify_refuses_a_missing_store_without_creating_one(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert charter("init", "--data-dir", str(data_dir))[0] == 0
    (data_dir / "charter.db").unlink()
    code, _, err = charter("audit", "verify", "--data-dir", str(data_dir))
    assert code == 1
    assert "store_not_initialised" in err
    assert not (data_dir / "charter.db").exists()


def test_serve_refuses_a_corrupt_signing_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert charter("init", "--data-dir", str(data_dir))[0] == 0
    (data_dir / "audit-signing.key").write_text("not a key")
    code, _, err = charter("serve", "--data-dir", str(data_dir))
    assert code == 1
    assert "signing_key_invalid" in err


def test_admin_token_breaks_glass_on_the_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code, out, _ = charter("init", "--data-dir", str(data_dir), "--demo", "--json")
    first = json.loads(out)["admin_token"]
    code, out, _ = charter("admin-token", "--data-dir", str(data_dir), "--ttl", "8h", "--json")
    assert code == 0
    issued = json.loads(out)
    assert issued["token"].startswith("cht_")
    assert issued["token"] != first
    assert issued["human"] == "user:admin"
    code, _, err = charter("admin-token", "--data-dir", str(data_dir), "--human", "user:alice")
    assert code == 1
    assert "not_an_admin" in err
    with sqlite3.connect(data_dir / "charter.db") as db:
        actors = [
            row[0]
            for row in db.execute("SELECT actor FROM audit_records WHERE type = 'token.issued'")
        ]
    assert actors[-1] == "system:break-glass"
    assert charter("audit", "verify", "--data-dir", str(data_dir))[0] == 0


def test_audit_checkpoints_prints_json_lines(remote: list[str]) -> None:
    charter("humans", "add", "user:erin", "--email", "erin@example.com", *remote)
    server, token = remote[1], remote[3]
    with Client(server, token) as client:
        signed = client.sign_checkpoint()
    assert signed is not None
    code, out, _ = charter("audit", "checkpoints", *remote)
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [signed]
