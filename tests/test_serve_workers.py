"""``charter serve --workers 2``: a real server of two processes on one store, deciding,
and the audit log intact afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from charter.sdk import Client
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CHARTER = [sys.executable, "-c", "from charter.cli.main import main; main()"]

# support-bot's requests under examples/policies, and what the policy answers.
READ = {
    "capability": "request",
    "action": "crm.customer.read",
    "resource": {"id": "crm/customer/42", "attributes": {"region": "eu"}},
    "fields": ["name", "email", "ssn"],
    "context": {"purpose": "account_recovery", "on_behalf_of": "user:bob"},
}
ROTATE = {"capability": "do", "action": "secrets.rotate", "resource": "vault/prod/db"}


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """``charter serve --workers 2`` over an initialised store: its URL, the admin token
    and the environment that reaches the store."""
    with _serving(database_url, tmp_path) as served:
        yield served


@contextlib.contextmanager
def _serving(
    database_url: str, tmp_path: Path, *options: str, **environment: str
) -> Iterator[tuple[str, str, dict[str, str]]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    env |= {"CHARTER_DATA_DIR": str(tmp_path / "data"), "CHARTER_DATABASE_URL": database_url}
    env |= environment
    init = subprocess.run(
        [*CHARTER, "init", "--demo", "--policy", str(ROOT / "examples" / "policies"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    admin = json.loads(init.stdout)["admin_token"]
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [*CHARTER, "serve", "--port", str(port), "--workers", "2", *options],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                started = (tmp_path / "serve.log").read_text(errors="replace")
                if (
                    started.count("Application startup complete") >= 2
                    and httpx.get(f"{url}/readyz").status_code == 200
                ):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError((tmp_path / "serve.log").read_text(errors="replace"))
            time.sleep(0.1)
        assert len(_children(server.pid)) >= 2  # the workers (and no more than a helper)
        yield url, admin, env
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            log.close()
    assert server.returncode == 0, (tmp_path / "serve.log").read_text(errors="replace")


def test_two_workers_decide_on_one_store_and_the_log_verifies(
    two_workers: tuple[str, str, dict[str, str]],
) -> None:
    url, admin, env = two_workers
    with Client(url, admin) as client:
        token = client.issue_agent_token("support-bot", description="two workers").token
    headers = {"Authorization": f"Bearer {token}"}

    def decide(number: int) -> tuple[int, str]:
        body = READ if number % 2 else ROTATE
        # A connection each: the kernel spreads new connections over both workers.
        with httpx.Client(base_url=url, headers=headers) as one:
            answer = one.post("/v1/decisions", json=body)
        return answer.status_code, answer.json().get("decision", answer.text)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(decide, range(60)))
    assert answers == [(200, "allow" if number % 2 else "deny") for number in range(60)]
    verified = subprocess.run(
        [*CHARTER, "audit", "verify", "--json"], env=env, capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["records"] >= 60


def test_every_worker_appends_to_the_servers_audit_shard_and_logs_json(
    database_url: str, tmp_path: Path
) -> None:
    # The options reach the workers through the environment: the shard (each worker's
    # records in it, none in the default log) and the log format (every line JSON, the
    # workers' start-up lines and the parent's own included).
    with _serving(
        database_url, tmp_path, "--audit-shard", "replica-a", CHARTER_LOG_FORMAT="json"
    ) as (url, admin, env):
        with Client(url, admin) as client:
            token = client.issue_agent_token("support-bot", description="shard").token
        for _ in range(20):
            with httpx.Client(base_url=url) as one:  # new connections reach both workers
                answer = one.post(
                    "/v1/decisions", json=READ, headers={"Authorization": f"Bearer {token}"}
                )
            assert answer.json()["decision"] == "allow"
        verified = subprocess.run(
            [*CHARTER, "audit", "verify", "--json"], env=env, capture_output=True, text=True
        )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    shards = {shard["shard"]: shard["records"] for shard in json.loads(verified.stdout)["shards"]}
    assert shards.get("replica-a", 0) >= 20, shards
    lines = (tmp_path / "serve.log").read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # fails on any plain-text line
    messages = " ".join(line["message"] for line in parsed)
    assert "serving on" in messages
    assert messages.count("Application startup complete") == 2


def test_workers_must_be_at_least_one(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    run = subprocess.run(
        [*CHARTER, "serve", "--data-dir", str(tmp_path), "--workers", "0"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "--workers" in run.stderr
