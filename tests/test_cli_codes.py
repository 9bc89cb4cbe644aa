"""One set of exit codes for every command (0 done, 1 error, 2 usage, 3 the answer is no),
and the local commands (init, serve, verify) saying what to do. No server: real files,
a real store and real sockets."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter.cli.common import Exit
from charter.cli.main import app as cli_app
from charter.service import SYSTEM, Services
from charter.settings import Settings
from charter.storage.keyfile import load_signing_key
from charter.storage.sql import open_store
from tests.helpers import PACK
from tests.helpers import charter_cli as charter

SUPPORT_READ = [
    "--agent",
    "support-bot",
    "--capability",
    "request",
    "--action",
    "crm.customer.read",
    "--resource",
    "crm/customer/42",
]
ON_BEHALF = '{"purpose": "account_recovery", "on_behalf_of": "user:bob"}'
FAKE_GITHUB_TOKEN = "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"


def test_the_codes_are_defined_once() -> None:
    assert [(code.name, int(code)) for code in Exit] == [
        ("OK", 0),
        ("ERROR", 1),
        ("USAGE", 2),
        ("NO", 3),
    ]


@pytest.fixture
def broken_policy(tmp_path: Path) -> Path:
    directory = tmp_path / "broken"
    directory.mkdir()
    (directory / "roles.yaml").write_text(
        "apiVersion: charter/v1\nkind: Role\nmetadata: {name: reader}\nspec: {grants: nope}\n"
    )
    return directory


@pytest.fixture
def failing_pack(tmp_path: Path) -> Path:
    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy)
    cases = copy / "tests" / "scenarios.yaml"
    text = cases.read_text()
    wrong = text.replace("expect: {decision: deny", "expect: {decision: allow", 1)
    assert wrong != text
    cases.write_text(wrong)
    return copy


def test_policy_commands_exit_3_for_no_and_2_for_usage(
    broken_policy: Path, failing_pack: Path
) -> None:
    assert charter("policy", "validate", str(PACK))[0] == Exit.OK
    assert charter("policy", "validate", str(broken_policy))[0] == Exit.NO
    assert charter("policy", "test", str(PACK))[0] == Exit.OK
    assert charter("policy", "test", str(failing_pack))[0] == Exit.NO
    assert charter("policy", "test", str(broken_policy))[0] == Exit.NO

    check = ["policy", "check", "--dir", str(PACK), *SUPPORT_READ, "--field", "name"]
    assert charter(*check, "--context", ON_BEHALF)[0] == Exit.OK
    assert charter(*check)[0] == Exit.NO  # denied: no one it acts for
    code, _, err = charter(*check, "--context", "[1]")
    assert (code, "invalid_context" in err) == (Exit.USAGE, True)
    code, _, err = charter(*check, "--capability", "act")
    assert (code, "invalid_capability" in err) == (Exit.USAGE, True)
    assert charter("policy", "check", "--dir", str(PACK))[0] == Exit.USAGE  # missing options
    code, _, err = charter("policy", "validate", str(PACK / "nothing-here"))
    assert (code, "policy_not_found" in err) == (Exit.ERROR, True)


def test_secrets_scan_exits_3_when_it_finds_one(tmp_path: Path) -> None:
    log = tmp_path / "deploy.log"
    log.write_text(f"export GITHUB_TOKEN={FAKE_GITHUB_TOKEN}\n")
    code, out, _ = charter("secrets", "scan", str(log))
    assert (code, "github_token" in out) == (Exit.NO, True)
    log.write_text("nothing to see\n")
    code, _, err = charter("secrets", "scan", str(log))
    assert (code, "no secrets found" in err) == (Exit.OK, True)
    assert charter("secrets", "scan", str(tmp_path / "missing.log"))[0] == Exit.USAGE


def test_usage_errors_exit_2_before_anything_is_sent() -> None:
    # Port 9 (discard) has no Charter: had anything been sent, the error would be 1.
    nowhere = ["--server", "http://127.0.0.1:9", "--token", "x"]
    for args in (
        ["nonsense"],
        ["agents", "register", "a1", *nowhere],  # --owner and --purpose missing
        ["tokens", "issue", "--agent", "a1", "--ttl", "1y", *nowhere],
        ["tokens", "issue", *nowhere],  # neither --agent nor --human
        ["agents", "register", "a1", "--owner", "user:x", "--purpose", "p", "--label", "x"],
        ["decide", "--capability", "act", "--action", "a", "--resource", "r", *nowhere],
        ["decide", "--capability", "do", "--action", "a", "--resource", "r", "--input", "{"],
        ["approvals", "show", "apr_x", *nowhere],
        ["approvals", "list", "--status", "done", *nowhere],
        ["admin-token", "--ttl", "forever"],
    ):
        code, _, err = charter(*args)
        assert code == Exit.USAGE, (args, err)
        assert "unreachable" not in err


def test_unreachable_is_an_error_naming_the_url() -> None:
    code, _, err = charter("humans", "list", "--server", "http://127.0.0.1:9", "--token", "x")
    assert code == Exit.ERROR
    assert "cannot reach the Charter server at http://127.0.0.1:9" in err
    assert "charter serve" in err


# -- init, serve and verify on a real store --------------------------------------------


def test_init_if_missing_says_where_the_admin_token_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token_file = data / "admin.token"
    first = ["init", "--data-dir", str(data), "--demo", "--if-missing"]
    assert charter(*first, "--admin-token-file", str(token_file))[0] == Exit.OK
    code, out, err = charter(*first, "--admin-token-file", str(token_file))
    assert code == Exit.OK
    assert out == ""
    assert f"already initialised in {data}" in err
    assert f"The admin token from its first run is in {token_file}" in err
    assert f"charter admin-token --data-dir {data}" in err
    token_file.unlink()
    code, _, err = charter(*first, "--admin-token-file", str(token_file))
    assert "first run is in" not in err  # no file to point at: only the way to a new one
    assert "charter admin-token" in err


def test_serve_says_the_port_is_in_use_before_it_claims_to_serve(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert charter("init", "--data-dir", str(data))[0] == Exit.OK
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = charter("serve", "--data-dir", str(data), "--port", str(port))
    assert code == Exit.ERROR
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "another server" in err
    assert "serving on" not in out + err


def test_verify_counts_each_checkpoint_once_with_a_kept_copy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert charter("init", "--data-dir", str(data), "--demo")[0] == Exit.OK
    settings = Settings.from_env({}, data_dir=data)
    store = open_store(settings.store_url)
    try:
        services = Services.build(
            store, settings=settings, signing_key=load_signing_key(settings.signing_key)
        )
        for number in range(4):  # init signed the first
            services.humans.add(SYSTEM, human_id=f"user:h{number}", email=f"h{number}@x.org")
            assert services.audit.checkpoint() is not None
        kept = [checkpoint.to_json() for checkpoint in services.audit.checkpoints(SYSTEM)]
    finally:
        store.close()
    assert len(kept) == 5
    copy = tmp_path / "checkpoints.jsonl"
    copy.write_text("".join(json.dumps(checkpoint) + "\n" for checkpoint in kept))

    verify = ["audit", "verify", "--data-dir", str(data), "--json"]
    code, out, _ = charter(*verify, "--checkpoints", str(copy))
    assert code == Exit.OK
    assert json.loads(out)["checkpoints_verified"] == 5
    code, out, _ = charter(*verify)
    assert json.loads(out)["checkpoints_verified"] == 5
    code, out, _ = charter("audit", "verify", "--data-dir", str(data), "--checkpoints", str(copy))
    assert "5 signed checkpoint(s) verified" in out


def test_the_wait_for_an_answer_is_set_by_charter_timeout() -> None:
    # A server that accepts the connection and never answers: the CLI gives up after
    # CHARTER_TIMEOUT (its default, 10 s, is what the helper's 60 s replaces).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        server = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = CliRunner().invoke(
            cli_app,
            ["humans", "list", "--server", server, "--token", "x"],
            env={"CHARTER_TIMEOUT": "1s"},
        )
    assert result.exit_code == Exit.ERROR, result.stderr
    assert "did not answer in time" in result.stderr
    assert "[timeout]" in result.stderr
    assert "no answer in 1s: set CHARTER_TIMEOUT (e.g. 30s) to wait longer" in result.stderr


@pytest.mark.parametrize("value", ["soon", "0s", "-5s", "10", "1.5s", "2h", "3660d", "9" * 80])
def test_a_charter_timeout_that_is_not_a_duration_of_at_most_an_hour_is_refused(
    value: str,
) -> None:
    # Refused before anything is sent (port 9 has no Charter), never read as the default.
    args = ["humans", "list", "--server", "http://127.0.0.1:9", "--token", "x"]
    result = CliRunner().invoke(cli_app, args, env={"CHARTER_TIMEOUT": value})
    assert result.exit_code == Exit.USAGE, result.stderr
    assert "CHARTER_TIMEOUT" in result.stderr
    assert "[invalid_duration]" in result.stderr
    assert "unreachable" not in result.stderr
