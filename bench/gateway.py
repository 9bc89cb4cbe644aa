"""What the MCP gateway adds to a ``tools/call``: the same call made directly to a local
upstream and through ``charter gateway mcp``, side by side.

Run: `make bench-gateway` (or `.venv/bin/python -m bench.gateway --help`). It:

1. initialises a store with `charter init --demo --policy examples/policies` in a
   temporary data dir and starts `charter serve` on a loopback port (a subprocess);
2. adds the gateway's enforcer account and issues it a token through the API;
3. from this process, an MCP client (the MCP SDK's ``Client``, over stdio) calls
   ``lookup_status`` on the example upstream (`examples/mcp/desk_server.py`) started
   directly, and through the gateway started as `charter gateway mcp` (which starts its
   own copy of the upstream), in turns: each round makes the warm-up calls, then the
   measured ones, on each path;
4. checks every answer (not an error, the upstream's text), then stops the server.

Each gateway call is decided (`POST /v1/decisions`, an audit record committed) and its
result screened (`POST /v1/secrets/scan`) before it is answered. Results go to
docs/benchmarks.md between `<!-- gateway:begin -->` and `<!-- gateway:end -->`.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from bench.report import REPORT, cpu_name, replace_section
from charter.sdk import AsyncClient as CharterAsyncClient
from charter.sdk import Client as CharterClient

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DESK = ROOT / "examples" / "mcp" / "desk_server.py"
SECTION = "gateway"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def charter_server(data: Path) -> Iterator[tuple[str, str]]:
    """A fresh `charter serve` on loopback: its URL and the first admin's token."""
    token_file = data / "admin.token"
    subprocess.run(  # noqa: S603 - our own CLI, no shell
        [
            BIN / "charter",
            "init",
            "--data-dir",
            data,
            "--demo",
            "--policy",
            ROOT / "examples" / "policies",
            "--admin-token-file",
            token_file,
        ],
        check=True,
        capture_output=True,
    )
    port = _port()
    server = subprocess.Popen(  # noqa: S603 - our own CLI, no shell
        [BIN / "charter", "serve", "--data-dir", data, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with CharterClient(url) as probe:
                    probe.health()
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("charter serve did not start") from None
                time.sleep(0.1)
        yield url, token_file.read_text(encoding="utf-8").strip()
    finally:
        server.terminate()
        server.wait(timeout=30)


def enforcer_token(url: str, admin: str) -> str:
    """The gateway's account, with the enforcer role, and a token for it."""
    with CharterClient(url, admin, timeout=10) as charter:
        charter.add_human("user:mcp-gateway", email="mcp-gateway@example.com", roles=["enforcer"])
        return charter.issue_human_token("user:mcp-gateway").token


def gateway_config(data: Path, url: str) -> Path:
    path = data / "gateway.yaml"
    path.write_text(
        f"""\
charter: {{url: "{url}", timeout: 5s}}
agent: desk-assistant
upstreams:
  desk:
    command: ["{sys.executable}", "{DESK}"]
    tools:
      lookup_status: {{capability: request, resource: "desk/services/{{service}}"}}
""",
        encoding="utf-8",
    )
    return path


async def timed_calls(client: Client, count: int) -> list[float]:
    """``count`` calls, each timed, each checked."""
    latencies = []
    for index in range(count):
        started = time.perf_counter()
        result = await client.call_tool("lookup_status", {"service": f"svc-{index % 10}"})
        latencies.append(time.perf_counter() - started)
        text = " ".join(b.text for b in result.content if isinstance(b, types.TextContent))
        if result.is_error or "running" not in text:
            raise RuntimeError(f"unexpected answer: {text}")
    return latencies


async def run_path(target: StdioServerParameters, warmup: int, count: int) -> list[float]:
    async with Client(target, mode="legacy", read_timeout_seconds=30) as client:
        await timed_calls(client, warmup)
        return await timed_calls(client, count)


async def charter_only(url: str, token: str, warmup: int, count: int) -> list[float]:
    """The gateway's two Charter calls for one ``tools/call`` (the decision and the scan
    of a result like the upstream's), made from here: Charter's share of the added time."""
    latencies = []
    async with CharterAsyncClient(url, token, timeout=10) as charter:
        for index in range(warmup + count):
            started = time.perf_counter()
            service = f"svc-{index % 10}"
            decided = await charter.decide(
                "request",
                "mcp.desk.lookup_status",
                resource=f"desk/services/{service}",
                agent="desk-assistant",
                context={"gateway": "mcp", "mcp_server": "desk", "mcp_tool": "lookup_status"},
                input={"service": service},
            )
            result = {"service": service, "status": "running", "owner": "it-desk"}
            await charter.scan({"texts": [str(result)], "structured": result}, redact=False)
            if decided.decision != "allow":
                raise RuntimeError(f"unexpected decision: {decided.code}")
            if index >= warmup:
                latencies.append(time.perf_counter() - started)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="measured calls per round and path")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the report")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    direct = StdioServerParameters(command=sys.executable, args=[str(DESK)], env=env)
    results: dict[str, list[list[float]]] = {"direct": [], "gateway": [], "charter": []}
    with tempfile.TemporaryDirectory() as scratch, charter_server(Path(scratch)) as (url, admin):
        token = enforcer_token(url, admin)
        config = gateway_config(Path(scratch), url)
        through = StdioServerParameters(
            command=str(BIN / "charter"),
            args=["gateway", "mcp", "--config", str(config)],
            env={**env, "CHARTER_GATEWAY_TOKEN": token},
        )
        for _ in range(args.rounds):
            results["direct"].append(anyio.run(run_path, direct, args.warmup, args.calls))
            results["gateway"].append(anyio.run(run_path, through, args.warmup, args.calls))
            results["charter"].append(anyio.run(charter_only, url, token, args.warmup, args.calls))
    rows = []
    summary: dict[str, tuple[float, float]] = {}
    paths = (
        ("direct", "direct to the upstream"),
        ("gateway", "through the gateway"),
        ("charter", "the gateway's two Charter calls alone (decide, then scan)"),
    )
    for name, label in paths:
        p50 = statistics.median(statistics.median(run) for run in results[name]) * 1000
        p99 = statistics.median(percentile(run, 0.99) for run in results[name]) * 1000
        summary[name] = (p50, p99)
        rows.append(f"| {label} | {args.calls * args.rounds} | {p50:.2f} | {p99:.2f} |")
    added50 = summary["gateway"][0] - summary["direct"][0]
    added99 = summary["gateway"][1] - summary["direct"][1]
    commit = subprocess.run(  # noqa: S603 - a fixed command line, no shell
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],  # noqa: S607
        capture_output=True,
        text=True,
    ).stdout.strip()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m bench.gateway " + " ".join(sys.argv[1:])
    body = f"""\
## The MCP gateway (`charter gateway mcp`)

Measured {now} at commit `{commit}` on {cpu_name()}, {os.cpu_count()} cores
({platform.system()} {platform.machine()}, Python {platform.python_version()}), with
`{command.strip()}`. One MCP client (the MCP SDK's `Client`, over stdio, in the bench's
process) calls `lookup_status` of the example upstream (`examples/mcp/desk_server.py`),
one call at a time: directly, and through `charter gateway mcp` (also over stdio; it
starts its own copy of the upstream). Through the gateway, each call is decided by a
local `charter serve` (SQLite, `POST /v1/decisions`, audit record committed) and its
result screened (`POST /v1/secrets/scan`) before it is answered. Every process shares the
machine's two cores. Each figure is the median over {args.rounds} rounds of
{args.calls} calls (after {args.warmup} warm-up calls per round and path).

| path | calls | p50 ms | p99 ms |
|---|---|---|---|
{chr(10).join(rows)}

**Added by the gateway:** {added50:.2f} ms at the median, {added99:.2f} ms at p99 per
`tools/call`. Of that, the two HTTP calls to Charter take {summary["charter"][0]:.2f} ms
at the median when made alone (the last row: the decision, with its audit record
committed, is most of it); the rest is the gateway's own work (one more stdio hop, the
MCP SDK reading and writing each message, building the request). The machine is a
shared, noisy virtual one: compare the rows of one run.
"""
    print(body)
    if not args.no_write:
        replace_section(REPORT, SECTION, body)


if __name__ == "__main__":
    main()
