"""Two real ``charter serve`` processes on one PostgreSQL database, each appending to its
own audit shard: decisions on both, then one log that verifies whole, seals included."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from charter.sdk import Client
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from charter.cli.main import main; main()"]


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    env["CHARTER_DATABASE_URL"] = database_url
    env["CHARTER_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


@contextlib.contextmanager
def _serve(env: dict[str, str], shard: str, log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--audit-shard", shard],
            env=env,
            stdout=output,
            stderr=output,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"charter serve did not start: {log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            time.sleep(0.1)  # waiting for a subprocess to listen, not for time to pass
        yield url
    finally:
        # Stopping, each server signs a checkpoint: on a sharded log, a seal.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_two_servers_on_two_shards_make_one_verifiable_log(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("servers share a store on PostgreSQL")
    env = _env(database_url, tmp_path / "data")
    done = subprocess.run(
        [*CLI, "init", "--demo", "--policy", str(ROOT / "examples" / "policies"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    admin = json.loads(done.stdout)["admin_token"]
    with (
        _serve(env, "east", tmp_path / "east.log") as east,
        _serve(env, "west", tmp_path / "west.log") as west,
    ):
        with Client(east, admin) as client:
            agent = client.issue_agent_token("support-bot", description="shards").token
        asked = {"capability": "do", "action": "secrets.rotate", "resource": "vault/prod/db"}
        for url in (east, west, east, west):
            answer = httpx.post(
                f"{url}/v1/decisions", json=asked, headers={"Authorization": f"Bearer {agent}"}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["decision"] == "deny"
    verified = subprocess.run(
        [*CLI, "audit", "verify", "--json"], env=env, capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    shards = {shard["shard"]: shard for shard in report["shards"]}
    assert {"east", "west"} <= set(shards)
    assert shards["east"]["records"] >= 2
    assert shards["west"]["records"] >= 2
    assert report["seals_verified"] >= 1
    assert shards["west"]["unsealed"] == 0
