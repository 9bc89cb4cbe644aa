"""What Charter adds to one approval round trip, server-side: ``make bench-approvals``.

The round trip is the three calls a human approval costs: the agent's decision that
opens the approval, the approver's vote, and the agent's identical request that the
approval then allows. Each call goes through the real ASGI app in-process (routing,
token check, the use case, the audit record, the SQLite commit) with no network in
between, so the figures are the server's own work. Every round asks with a new input,
so each opens, and uses, an approval of its own. Writes the ``approvals`` section of
docs/benchmarks.md with the machine and the date, and fails past the 100 ms budget.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from bench.report import REPORT, cpu_name, replace_section
from charter.identity.humans import HumanRole
from charter.server.app import create_app
from charter.service import SYSTEM, Services
from charter.storage.sql import open_store

BUDGET_MS = 100.0
"""The most the server may add to one approval round trip (median)."""

POLICY = """
apiVersion: charter/v1
kind: Agent
metadata: {name: ops-bot}
spec: {owner: "user:olga"}
---
apiVersion: charter/v1
kind: Role
metadata: {name: operator}
spec:
  permissions:
    - {capability: do, actions: [config.change]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: operator-standing}
spec: {role: operator, agents: [ops-bot]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: config-needs-owner}
spec:
  effect: require_approval
  match: {capabilities: [do], actions: [config.change]}
  approval: {approvers: [owner], expiresIn: 1h}
"""

STEPS = ("open (decision)", "vote", "allowed request")


def _expect(ok: bool, answer: str) -> None:
    """Stop the benchmark when the server answered something else than the round trip
    needs: timing a refusal would measure the wrong thing."""
    if not ok:
        raise SystemExit(f"unexpected answer: {answer[:500]}")


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _people(services: Services) -> dict[str, dict[str, str]]:
    tokens = {}
    for human, roles in (("user:olga", ()), ("user:pat", (HumanRole.POLICY_ADMIN,))):
        services.humans.add(SYSTEM, human_id=human, email=f"{human[5:]}@x.test", roles=roles)
        tokens[human] = _headers(services.tokens.issue_for_human(SYSTEM, human).token)
    return tokens


def round_trips(
    api: TestClient, tokens: dict[str, dict[str, str]], count: int
) -> list[list[float]]:
    """``count`` round trips; for each, the milliseconds of each step."""
    timings = []
    for n in range(count):
        request: dict[str, Any] = {
            "capability": "do",
            "action": "config.change",
            "resource": "prod/web",
            "input": {"round": n},
        }
        started = time.perf_counter_ns()
        opened = api.post("/v1/decisions", json=request, headers=tokens["ops-bot"])
        voted_at = time.perf_counter_ns()
        body = opened.json()
        _expect(body["decision"] == "approval_required", opened.text)
        vote = api.post(
            f"/v1/approvals/{body['approval']['id']}/approve",
            json={"reason": "bench"},
            headers=tokens["user:olga"],
        )
        asked_at = time.perf_counter_ns()
        _expect(vote.json()["status"] == "approved", vote.text)
        allowed = api.post("/v1/decisions", json=request, headers=tokens["ops-bot"])
        done = time.perf_counter_ns()
        _expect(allowed.json()["decision"] == "allow", allowed.text)
        timings.append(
            [(voted_at - started) / 1e6, (asked_at - voted_at) / 1e6, (done - asked_at) / 1e6]
        )
    return timings


def measure(count: int, warmup: int) -> list[list[float]]:
    """Run the round trips on a fresh SQLite store in a temporary directory."""
    with tempfile.TemporaryDirectory() as data:
        store = open_store(f"sqlite:///{Path(data) / 'charter.db'}")
        try:
            services = Services.build(store, signing_key=Ed25519PrivateKey.generate())
            tokens = _people(services)
            with TestClient(create_app(services)) as api:
                applied = api.post(
                    "/v1/policies",
                    json={"files": {"policy.yaml": POLICY}},
                    headers=tokens["user:pat"],
                )
                _expect(applied.status_code == 201, applied.text)
                agent = services.tokens.issue_for_agent(SYSTEM, "ops-bot").token
                tokens["ops-bot"] = _headers(agent)
                round_trips(api, tokens, warmup)
                return round_trips(api, tokens, count)
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the report")
    args = parser.parse_args()
    timings = measure(args.rounds, args.warmup)
    medians = [statistics.median(step[i] for step in timings) for i in range(len(STEPS))]
    totals = [sum(step) for step in timings]
    total = statistics.median(totals)
    p90 = statistics.quantiles(totals, n=10, method="inclusive")[8]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = "\n".join(
        f"| {name} | {value:.1f} |" for name, value in zip(STEPS, medians, strict=True)
    )
    body = f"""## Approval round trip (server-side)

Measured {now} on {cpu_name()} ({platform.system()} {platform.machine()}, Python
{platform.python_version()}), with `make bench-approvals` (`python -m bench.approvals`):
{args.rounds} round trips after {args.warmup} to warm up, each the three calls a human
approval costs (the decision that opens the approval, the approver's vote, the identical
request the approval then allows), through the real ASGI app in-process over a SQLite
file (token check, use case, audit record, commit; no network). Every round uses a new
input, so each opens and uses its own approval. Budget: a median round trip under
{BUDGET_MS:.0f} ms.

| step | median ms |
|---|---|
{rows}
| **round trip** | **{total:.1f}** (p90 {p90:.1f}) |
"""
    print(body)
    if not args.no_write:
        replace_section(REPORT, "approvals", body)
    if total >= BUDGET_MS:
        print(f"over budget: {total:.1f} ms >= {BUDGET_MS:.0f} ms", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
