"""The README's five-minute tour, pasted verbatim into bash against a real ``charter serve``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _block(name: str) -> str:
    block = re.search(
        rf"<!-- {name}:start -->\s*```bash\n(.*?)```\s*<!-- {name}:end -->", README, re.S
    )
    assert block is not None, f"the README has lost its {name} block"
    return block.group(1)


def _quickstart() -> str:
    return _block("quickstart")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """What `make run` leaves: a venv, an initialised ./.charter and a server."""
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the tours run in a checkout
    charter = str(Path(sys.prefix) / "bin" / "charter")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    subprocess.run(
        [
            charter,
            "init",
            "--data-dir",
            ".charter",
            "--demo",
            "--policy",
            str(ROOT / "examples" / "policies"),
            "--if-missing",
            "--admin-token-file",
            ".charter/admin.token",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [charter, "serve", "--data-dir", ".charter", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"charter serve did not become ready: {_log(tmp_path)}")
            time.sleep(0.1)
        yield tmp_path, port
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _log(workdir: Path) -> str:
    return (workdir / "serve.log").read_text(errors="replace")


def _paste(script: str, served: tuple[Path, int]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in bash as a reader would paste it, against the served demo."""
    workdir, port = served
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace("127.0.0.1:8080", f"127.0.0.1:{port}")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_quick_start_works_verbatim(served: tuple[Path, int]) -> None:
    result = _paste(_quickstart(), served)
    assert '"id":"ticket-triage"' in result.stdout  # the token worked before suspension
    assert '"code":"agent_suspended"' in result.stdout  # and was refused after it
    assert "agent.suspended" in result.stdout  # the tail shows the kill switch
    assert "audit log OK" in result.stdout


def test_the_guard_tour_works_verbatim(served: tuple[Path, int]) -> None:
    """Right after the quick start, as a reader would paste them: one shell."""
    result = _paste(_quickstart() + _block("guard-tour"), served)
    waits = re.findall(r"not yet: waiting for approval (apr_[a-z2-7]{16})", result.stderr)
    assert len(waits) == 2, result.stderr
    assert waits[0] != waits[1]  # the second wait is a new approval: the first was used
    assert result.stdout.count("added dev-7 to developers") == 1, result.stdout
    assert "approved" in result.stdout


def test_the_secrets_tour_works_verbatim(served: tuple[Path, int]) -> None:
    """Right after the quick start, in the same shell."""
    result = _paste(_quickstart() + _block("secrets-tour"), served)
    out = result.stdout
    assert "github_token" in out  # the local scan found it
    assert "registered: fp_" in out
    assert "DENY (leaked_secret)" in out
    assert "export GITHUB_TOKEN=[REDACTED:github_token]" in out
    assert "APPROVAL_REQUIRED" in out
    assert "Guardrail/inferred-privilege-changes-need-approval" in out
    assert "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" not in _log(served[0])


def test_the_reviews_tour_works_verbatim(served: tuple[Path, int]) -> None:
    """Right after the quick start, in the same shell."""
    result = _paste(_quickstart() + _block("reviews-tour"), served)
    out = result.stdout
    assert "Binding/scanner-remediates" in out
    assert "reduce" in out
    assert "DENY (revoked_by_review)" in out
    assert out.count("ALLOW") >= 4, out  # three reads before, one after
    assert "reviews/rvc_" in out  # the file patch added
    assert "no outcome in force" in out  # applied: done


def test_the_gateway_tour_works_verbatim(served: tuple[Path, int]) -> None:
    """Right after the quick start, in the same shell: a real MCP client, a real gateway
    over stdio and the example help-desk server behind it."""
    result = _paste(_quickstart() + _block("gateway-tour"), served)
    out, err = result.stdout, result.stderr
    listed = re.findall(r"^(\w+): ", out, re.M)
    assert {"lookup_status", "read_secret", "restart_service"} == set(listed), out
    assert "Not called (guardrail)" in out
    assert "unsafe_resource_argument" in out
    assert re.search(r"/ui/approvals/apr_[a-z2-7]{16}", out), out
    assert out.count("mail restarted") == 1, out
    assert '"charter/decision_id": "dec_' in err
    assert '"charter/policy_revision"' in err


def test_the_governance_tour_works_verbatim(served: tuple[Path, int]) -> None:
    """Right after the quick start, in the same shell: posture, a report whose evidence
    verifies with the public key only, a simulation that trips the gate, an investigation."""
    result = _paste(_quickstart() + _block("governance-tour"), served)
    out = result.stdout
    assert re.search(r"^\d+ finding\(s\): \d+ high", out, re.M), out
    assert "standing_sensitive_privilege" in out
    assert re.search(r"^evidence OK: \d+ record\(s\) are in the log", out, re.M), out
    assert "replayed 2 of 2 decisions" in out
    assert "allow_to_deny: 2" in out
    assert "CI gate: exit 3" in out
    assert "# Investigation of agent secrets-scanner" in out
    authority = "| allowed | agent:secrets-scanner | Role/secrets-remediator permissions[0] |"
    assert out.count(authority) == 2, out


def test_the_readme_names_both_commands() -> None:
    assert "make run" in README
    assert "make test" in README
