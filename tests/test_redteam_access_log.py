"""A real ``charter serve`` with text logs (the default) writes no secret a request
carries in its path or query string: uvicorn's access line, which logged both as sent,
is replaced by Charter's (the route template). Store errors, which are logged, hold no
statement's values, and the call an audit record names (``where``) has the secrets of
its path masked."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from charter.identity.agents import RiskTier
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore
from tests.helpers import Admin, add_human, agent_token, bearer
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from charter.cli.main import main; main()"]
GITHUB = "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"
AWS = "AKIAQWERTYUIOPASDF2G"


def test_text_logs_of_a_real_server_hold_no_path_or_query_string(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    env["CHARTER_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [*CLI, "init", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    admin = json.loads(done.stdout)["admin_token"]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=env, stdout=output, stderr=output
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
        with httpx.Client(base_url=url, timeout=30) as client:
            wrong = {"Authorization": f"Bearer {admin}x"}
            sent = [
                client.get(f"/v1/agents?token={admin}&key={GITHUB}", headers=wrong),
                client.get(f"/v1/whoami/{GITHUB}"),
                client.get(f"/v1/agents/{GITHUB.lower()[:60]}", headers={"Authorization": admin}),
                client.get(f"/v1/humans/user:{GITHUB.lower()[:50]}?access_token={admin}"),
                client.get("/v1/whoami", headers={"Authorization": f"Bearer {admin}"}),
            ]
            assert [answer.status_code for answer in sent] == [401, 404, 401, 401, 200]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    written = log.read_text()
    assert "charter.access GET /v1/whoami 200" in written, written
    assert "charter.access GET /v1/agents 401" in written, written
    secret = admin.split("_")[-1]
    for value in (secret, GITHUB, GITHUB.lower()[:40], "token=", "access_token="):
        assert value not in written, (value, written)


def test_store_errors_that_are_logged_carry_no_statement_values(store: SqlStore) -> None:
    with store.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as failed:
        conn.execute(sa.text("SELECT * FROM no_such_table WHERE x = :v"), {"v": GITHUB})
    assert GITHUB not in str(failed.value)
    assert "no_such_table" in str(failed.value)  # the statement itself is kept


def test_the_call_an_audit_record_names_holds_no_secret_of_its_path(
    api: TestClient, admin: Admin, services: Services
) -> None:
    add_human(services, "user:owner")
    services.agents.register(
        SYSTEM,
        agent_id="ops-bot",
        display_name=None,
        owner="user:owner",
        purpose="tests",
        risk_tier=RiskTier.LOW,
    )
    agent = bearer(agent_token(services, "ops-bot"))
    calls = [
        # A bad token: auth.failed, whatever the path's params would have said.
        ("GET", f"/v1/humans/user:{GITHUB}/tokens", bearer("cht_aaaaaaaaaaaaaaaa_" + "b" * 43)),
        ("GET", f"/v1/agents/{GITHUB}", {"Authorization": f"Bearer {GITHUB}"}),
        ("POST", f"/v1/agents/{AWS}/suspend", {"Authorization": "Bearer x"}),
        # An agent token on an admin route: auth.forbidden.
        ("POST", f"/v1/leaks/{GITHUB}/rotated", agent),
    ]
    for method, path, headers in calls:
        answer = api.request(method, path, headers=headers, json={"note": "x"})
        assert answer.status_code in (401, 403), (path, answer.text)
    records = api.get("/v1/audit", params={"limit": 1000}, headers=admin.headers).json()
    refusals = [r for r in records["records"] if r["type"] in ("auth.failed", "auth.forbidden")]
    wheres = [r["data"]["where"] for r in refusals]
    assert len(wheres) == len(calls), wheres
    assert wheres[0] == "GET /v1/humans/user:[REDACTED:github_token]/tokens", wheres
    written = json.dumps(records)
    for secret in (GITHUB, AWS):
        assert secret not in written
