"""How decisions scale with replicas: one audit log against one shard per replica.

Real ``charter serve`` processes (1 and 3 replicas) on one fresh PostgreSQL database
each, driven over HTTP with ``POST /v1/decisions`` (bench/http.py's load generator and
decision mix), first with every replica appending to the one audit log (the default),
then with one audit shard per replica (``--audit-shard``). After each run: the records
written, the bytes each takes in PostgreSQL (table and indexes), and whether ``charter
audit verify`` passes. Then the projection for 10 replicas at 10,000 decisions/s.

Writes the ``scaling`` section of docs/benchmarks.md; ``--seconds 1 --no-write`` for a
smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.http import (
    DEFAULT_POSTGRES,
    Run,
    Server,
    closed_loop,
    decision_calls,
    postgres_database,
)
from bench.report import REPORT, cpu_name, replace_section
from charter.sdk import Client

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECTION = "scaling"
SEAL_SECONDS = 60
"""How often a server seals (``CHARTER_CHECKPOINT_INTERVAL``'s default)."""
TARGET_REPLICAS = 10
TARGET_RATE = 10_000


@dataclass(frozen=True, slots=True)
class Setup:
    """One row: how many replicas, and whether each has its own audit shard."""

    replicas: int
    sharded: bool

    @property
    def label(self) -> str:
        """The row's name."""
        log = "one shard per replica" if self.sharded else "one audit log"
        return f"{self.replicas} replica{'s' if self.replicas > 1 else ''}, {log}"


@dataclass(frozen=True, slots=True)
class Result:
    """What one row measured."""

    setup: Setup
    run: Run
    records: int
    bytes_per_record: float
    verified: str


def _charter(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, no shell
        [str(BIN / "charter"), *args], env=env, capture_output=True, text=True, check=False
    )


@contextlib.contextmanager
def replicas(setup: Setup, env: dict[str, str], scratch: Path) -> Iterator[list[Server]]:
    """Initialise the store, start the replicas, issue support-bot's token on each."""
    done = _charter(
        env, "init", "--demo", "--policy", str(ROOT / "examples" / "policies"), "--json"
    )
    if done.returncode != 0:
        raise RuntimeError(f"charter init failed: {done.stderr.strip()[:300]}")
    admin: str = json.loads(done.stdout)["admin_token"]
    servers: list[Server] = []
    try:
        for index in range(setup.replicas):
            port = _free_port()
            options = ["--audit-shard", f"r{index}"] if setup.sharded else []
            log = (scratch / f"replica-{index}.log").open("wb")
            process = subprocess.Popen(  # noqa: S603 - our own CLI, no shell
                [str(BIN / "charter"), "serve", "--port", str(port), *options],
                env=env,
                stdout=log,
                stderr=log,
            )
            servers.append(Server(process, port, admin))
        for server in servers:
            _wait_ready(server)
            with Client(server.url, admin) as client:
                server.agent_token = client.issue_agent_token(
                    "support-bot", description="bench/scaling.py"
                ).token
        yield servers
    finally:
        for server in servers:
            server.process.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"a replica did not start (port {server.port})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/readyz").status_code == 200:
                return
        time.sleep(0.1)


async def _drive(servers: Sequence[Server], connections: int, seconds: float) -> Run:
    """``connections`` closed-loop callers per replica, all at once; one merged run."""
    runs = [Run(f"replica {index}") for index in range(len(servers))]
    await asyncio.gather(
        *(
            closed_loop(
                server.port,
                decision_calls(server),
                connections=connections,
                seconds=seconds,
                run=run,
            )
            for server, run in zip(servers, runs, strict=True)
        )
    )
    merged = Run("all replicas", seconds=max(run.seconds for run in runs))
    for run in runs:
        merged.latencies.extend(run.latencies)
        merged.sent += run.sent
        for kind, count in run.errors.items():
            merged.errors[kind] = merged.errors.get(kind, 0) + count
    return merged


INDEX_BYTES = 4 * 32
"""What a record adds to the log's four indexes, roughly (key, pointer, overhead)."""
MEASURED_ON_DISK = 10_000
"""Fewer records than this: the table's fixed pages dwarf them, so bytes per record are
the rows' own size plus ``INDEX_BYTES`` rather than the table's size over its rows."""


def _storage(url: str) -> tuple[int, float]:
    """Records in the log, and bytes per record: PostgreSQL's size of the table, TOAST
    and indexes over the records once there are enough, else the rows' mean size plus
    what the indexes add."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            count = int(conn.exec_driver_sql("SELECT count(*) FROM audit_records").scalar_one())
            total = int(
                conn.exec_driver_sql("SELECT pg_total_relation_size('audit_records')").scalar_one()
            )
            row = float(
                conn.exec_driver_sql(
                    "SELECT coalesce(avg(pg_column_size(r.*)), 0) FROM audit_records r"
                ).scalar_one()
            )
    finally:
        engine.dispose()
    if count >= MEASURED_ON_DISK:
        return count, total / count
    return count, row + 24 + INDEX_BYTES  # 24: the tuple header and line pointer


def _verify(env: dict[str, str]) -> str:
    done = _charter(env, "audit", "verify", "--json")
    if done.returncode != 0:
        return f"FAILED (exit {done.returncode})"
    report = json.loads(done.stdout)
    shards = len(report.get("shards", [])) or 1
    return f"ok ({shards} tree{'s' if shards > 1 else ''}, {report.get('seals_verified', 0)} seals)"


def measure(setup: Setup, base: str, connections: int, seconds: float, scratch: Path) -> Result:
    """One row on a fresh database."""
    with postgres_database(base) as url:
        data = scratch / f"{setup.replicas}-{int(setup.sharded)}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
        env |= {"CHARTER_DATABASE_URL": url, "CHARTER_DATA_DIR": str(data)}
        with replicas(setup, env, scratch) as servers:
            # Warm up (connections, the compiled policy, the token cache), unmeasured.
            asyncio.run(_drive(servers, connections, min(1.0, seconds / 4)))
            run = asyncio.run(_drive(servers, connections, seconds))
        records, per_record = _storage(url)
        verified = _verify(env)
    print(
        f"{setup.label}: {run.rate:,.0f} decisions/s, p50 {run.percentile(0.5):.1f} ms, "
        f"p99 {run.percentile(0.99):.1f} ms, errors {sum(run.errors.values())}, "
        f"{records:,} records at {per_record:,.0f} B, verify {verified}",
        file=sys.stderr,
    )
    return Result(setup, run, records, per_record, verified)


def projection(bytes_per_record: float, shards: int = TARGET_REPLICAS) -> list[str]:
    """What 10 replicas at 10,000 decisions/s need, at the measured bytes per record."""
    per_day = TARGET_RATE * 86_400
    storage = per_day * bytes_per_record
    # A seal: per shard its name, size and 64-hex root in canonical JSON, plus a signature.
    seal_bytes = 120 + shards * (len('"r00":{"root":"","size":}') + 64 + 10) + 128
    seals_per_day = 86_400 // SEAL_SECONDS * TARGET_REPLICAS
    return [
        f"- **Writes:** {TARGET_RATE:,} audit records/s (one per decision, plus the "
        "records of approvals they open), spread over "
        f"{shards} shard heads: {TARGET_RATE // shards:,}/s each, written in group-commit "
        "batches, so each head row is updated a few hundred times a second, not 10,000.",
        f"- **Storage:** {per_day / 1e6:,.0f} M records/day x {bytes_per_record:,.0f} B "
        f"(measured: table, TOAST and indexes) = **{storage / 1e9:,.0f} GB/day**, "
        f"{storage * 30 / 1e12:,.1f} TB per 30 days kept in the store.",
        f"- **Seals:** one per replica per {SEAL_SECONDS} s (each covers every shard; one "
        f"that adds nothing is not made), at most {seals_per_day:,}/day of about "
        f"{seal_bytes:,} B: {seals_per_day * seal_bytes / 1e6:,.1f} MB/day. Each exported "
        f"segment carries two seals.",
        "- **The limit:** no longer a lock every replica takes in turn, but one PostgreSQL "
        "primary taking every insert: at 10,000 records/s it writes "
        f"{TARGET_RATE * bytes_per_record / 1e6:,.0f} MB/s of table and index pages plus "
        "WAL, and every insert updates four indexes. That is within a well-provisioned "
        "primary (NVMe, tuned `max_wal_size`, records partitioned by time so old "
        "partitions are dropped after export) but not a small one; past it, the shards "
        "go to separate databases and the seals, which already cover shards "
        "independently, tie them together.",
    ]


def report(results: list[Result], connections: int, seconds: float, command: str) -> str:
    """The markdown section."""
    lines = [
        "## Replicas and audit shards (`POST /v1/decisions` on PostgreSQL)\n",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu_name()}, "
        f"{os.cpu_count()} cores ({platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}), with `{command}`. Each row starts real `charter "
        "serve` processes on one fresh PostgreSQL database (same machine) and drives them "
        f"with {connections} closed-loop connections per replica for {seconds:g} s, after "
        "an unmeasured warm-up, "
        "(bench/http.py's load generator and decision mix). *One audit log*: every "
        "replica appends to the one tree and takes its head row's lock in turn; *one "
        "shard per replica*: `--audit-shard rN`, each replica its own tree and head. "
        "Bytes per record are PostgreSQL's (table, TOAST and indexes) over the records "
        f"written once there are {MEASURED_ON_DISK:,} or more, else each row's own size "
        f"(`pg_column_size`) plus its tuple header and about {INDEX_BYTES} B of index "
        "entries. On a machine with few cores the replicas, the load generator and the "
        "database share the CPUs, so rows show where the head lock costs, not a "
        "production ceiling.\n",
        "| setup | decisions/s | p50 ms | p99 ms | errors | records | bytes/record | "
        "`audit verify` |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        run = result.run
        lines.append(
            f"| {result.setup.label} | {run.rate:,.0f} | {run.percentile(0.5):.1f} | "
            f"{run.percentile(0.99):.1f} | {sum(run.errors.values())} | {result.records:,} | "
            f"{result.bytes_per_record:,.0f} | {result.verified} |"
        )
    measured = [r.bytes_per_record for r in results if r.bytes_per_record]
    per_record = sum(measured) / len(measured) if measured else 1400.0
    lines += [
        "",
        f"### {TARGET_REPLICAS} replicas at {TARGET_RATE:,} decisions/s",
        "",
        *projection(per_record),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure each setup, print the section and record it."""
    parser = argparse.ArgumentParser(description="Charter's replica and audit shard benchmark.")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--connections", type=int, default=16, help="per replica")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    base = os.environ.get("CHARTER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    setups = [Setup(n, sharded) for sharded in (False, True) for n in args.replicas]
    results = []
    with tempfile.TemporaryDirectory(prefix="charter-bench-scaling-") as scratch:
        for setup in setups:
            results.append(measure(setup, base, args.connections, args.seconds, Path(scratch)))
    command = (
        "make bench-scaling"
        if not sys.argv[1:]
        else "python -m bench.scaling " + " ".join(sys.argv[1:])
    )
    section = report(results, args.connections, args.seconds, command)
    print(section)
    if not args.no_write:
        replace_section(REPORT, SECTION, section)


if __name__ == "__main__":
    main()
