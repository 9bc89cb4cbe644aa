"""The example policy pack, its PolicyTest cases, and the offline ``charter policy`` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter import Engine
from charter.cli.main import app

PACK = Path(__file__).resolve().parent.parent / "examples" / "policies"
ENGINE = Engine.from_directory(PACK)
RESULTS = ENGINE.run_tests()
runner = CliRunner()


def test_the_pack_is_valid_without_warnings() -> None:
    assert ENGINE.diagnostics == ()
    assert len(RESULTS) >= 20


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: f"{r.test}: {r.case.name}")
def test_every_case_of_the_pack_passes(result: object) -> None:
    assert result.passed, result.failures  # type: ignore[attr-defined]


def _broken_pack(tmp_path: Path) -> Path:
    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy)
    return copy


def test_a_wrong_expectation_fails_the_run(tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path)
    cases = pack / "tests" / "scenarios.yaml"
    cases.write_text(
        cases.read_text().replace(
            "expect: {decision: deny, code: guardrail, policy: Guardrail/no-prod",
            "expect: {decision: allow, code: guardrail, policy: Guardrail/no-prod",
        )
    )
    result = runner.invoke(app, ["policy", "test", str(pack)])
    assert result.exit_code == 3
    assert "FAIL  secrets-scanner-remediates: never rotates a production credential" in (
        result.stdout
    )
    assert "decision: expected allow, got deny (guardrail)" in result.stdout
    assert "1 failed" in result.stdout


def test_policy_test_passes_on_the_pack() -> None:
    result = runner.invoke(app, ["policy", "test", str(PACK), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["failed"] == 0
    assert report["passed"] == len(RESULTS)


def test_validate_reports_every_error_with_its_place_and_exits_3(tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path)
    bindings = pack / "bindings.yaml"
    bindings.write_text(
        bindings.read_text().replace("role: review-drafter", "role: review-drafters")
    )
    roles = pack / "roles.yaml"
    roles.write_text(roles.read_text().replace("capability: infer", "capabilty: infer", 1))
    result = runner.invoke(app, ["policy", "validate", str(pack)])
    assert result.exit_code == 3
    assert "bindings.yaml:" in result.stderr
    assert "unknown_role" in result.stderr
    assert "did you mean 'review-drafter'?" in result.stderr
    assert "roles.yaml:" in result.stderr
    assert "did you mean 'capability'?" in result.stderr
    assert "2 error(s)" in result.stderr or "error(s)" in result.stderr


def test_validate_passes_on_the_pack() -> None:
    result = runner.invoke(app, ["policy", "validate", str(PACK), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["revision"] == ENGINE.revision


def test_check_explains_and_sets_the_exit_code() -> None:
    base = ["policy", "check", "--dir", str(PACK), "--agent", "support-bot"]
    allowed = runner.invoke(
        app,
        [
            *base,
            "--capability",
            "request",
            "--action",
            "crm.customer.read",
            "--resource",
            "crm/customer/42",
            "--field",
            "name",
            "--field",
            "ssn",
            "--context",
            '{"purpose": "account_recovery", "on_behalf_of": "user:bob"}',
        ],
    )
    assert allowed.exit_code == 0
    assert "ALLOW [allowed]" in allowed.stdout
    assert "redacted fields: ssn" in allowed.stdout
    denied = runner.invoke(
        app,
        [
            *base,
            "--capability",
            "do",
            "--action",
            "secrets.rotate",
            "--resource",
            "vault/prod/x",
            "--json",
        ],
    )
    assert denied.exit_code == 3
    assert json.loads(denied.stdout)["code"] == "guardrail"  # deny guardrails come first
    bad = runner.invoke(
        app,
        [*base, "--capability", "do", "--action", "a.b", "--resource", "r", "--context", "[1]"],
    )
    assert bad.exit_code == 2
    assert "invalid_context" in bad.stderr
