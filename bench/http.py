"""Decisions over HTTP with durable audit: a real server, a load generator beside it.

Run: `make bench-http` (or `.venv/bin/python -m bench.http --help` for shorter runs).
For each backend, SQLite in fresh temporary data dirs and PostgreSQL in fresh databases
(created on the server `CHARTER_BENCH_POSTGRES_URL` names, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres, and dropped afterwards; the
section says so when it is unreachable), it:

1. initialises three stores (one more per `--workers` count) with `charter init --demo
   --policy examples/policies`;
2. starts `python -m bench.http_server` on each (`charter serve`'s stack plus bench-only
   routes; one with group commit as the product wires it, one with one transaction per
   decision, one without access reviews' usage and outcomes, and one with `--workers N`
   processes for each count asked, 2 by default) as subprocesses on loopback ports, and
   issues `support-bot` a token through the API;
3. from this process (never a server's) drives HTTP/1.1 keep-alive connections written
   on raw asyncio streams: closed loop (N connections, each sending its next request as
   soon as the last is answered) against the empty routes, `GET /v1/whoami` and
   `POST /v1/decisions`, then open loop at fixed rates against `POST /v1/decisions`,
   latency counted from when each request was due, so a server falling behind shows in
   the latencies instead of slowing the load down;
4. checks every answer: status 200 and, for decisions, the decision the policy gives
   for that request; then stops the servers and verifies each audit log offline.

Results go to docs/benchmarks.md between `<!-- http:begin -->` and `<!-- http:end -->`
(bench/report.py); `bench/policy.py` keeps its own section and leaves this one alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.report import REPORT, cpu_name, replace_section
from charter.sdk import Client

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECTION = "http"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

SUPPORT_CONTEXT = {"purpose": "account_recovery", "on_behalf_of": "user:bob"}
# (weight, body, expected decision): the mix support-bot sends, from examples/policies.
DECISION_MIX: list[tuple[int, dict[str, Any], str]] = [
    # Scenario 1: field-limited customer read for account recovery; ssn is redacted.
    (
        4,
        {
            "capability": "request",
            "action": "crm.customer.read",
            "resource": {"id": "crm/customer/42", "attributes": {"region": "eu"}},
            "fields": ["name", "email", "ssn"],
            "context": SUPPORT_CONTEXT,
        },
        "allow",
    ),
    # The same read on behalf of nobody: the guardrail denies it.
    (
        1,
        {
            "capability": "request",
            "action": "crm.customer.read",
            "resource": "crm/customer/43",
            "fields": ["name"],
            "context": {"purpose": "account_recovery"},
        },
        "deny",
    ),
    # For another purpose: the role's condition fails.
    (
        1,
        {
            "capability": "request",
            "action": "crm.customer.read",
            "resource": "crm/customer/44",
            "fields": ["name", "email"],
            "context": {"purpose": "marketing", "on_behalf_of": "user:bob"},
        },
        "deny",
    ),
    (
        2,
        {
            "capability": "do",
            "action": "ticket.create",
            "resource": "ticketing/queue/support",
            "input": {"title": "Customer locked out", "customer": "crm/customer/42"},
        },
        "allow",
    ),
    # Nothing grants these to support-bot.
    (1, {"capability": "do", "action": "secrets.rotate", "resource": "vault/prod/db"}, "deny"),
    (1, {"capability": "do", "action": "rbac.assign", "resource": "iam/role/admin"}, "deny"),
]
DECISIONS = {"allow", "deny", "approval_required", "step_up_required"}


# -- the load generator ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One prepared HTTP request and how to check its answer."""

    payload: bytes
    expect: str | None  # the decision expected, or None when any 200 will do


@dataclass(slots=True)
class Run:
    """What one load run saw."""

    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    unanswered: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    transactions: int = 0
    works: int = 0

    def error(self, kind: str) -> None:
        """Count one failed call."""
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def rate(self) -> float:
        """Answers per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency in ms at ``fraction`` (0.5, 0.99) of the answered calls."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


class Connection:
    """One HTTP/1.1 keep-alive connection: write a request, read its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        """Connect to the server on loopback, with Nagle off as browsers and proxies do."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def call(self, payload: bytes) -> tuple[int, bytes]:
        """Send one request; the status and the body of the answer."""
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lowered = head.lower()
        start = lowered.find(b"\r\ncontent-length:")
        if start < 0:
            raise ValueError("an answer without Content-Length")
        end = lowered.index(b"\r\n", start + 2)
        body = await self.reader.readexactly(int(lowered[start + 17 : end]))
        return status, body

    def close(self) -> None:
        """Close the socket."""
        self.writer.close()


def check(run: Run, call: Call, status: int, body: bytes) -> bool:
    """Count a wrong answer as an error; True when the answer is right."""
    if status != 200:
        run.error(f"HTTP {status}")
        return False
    if call.expect is None:
        return True
    try:
        answer = json.loads(body)
    except ValueError:
        run.error("malformed JSON")
        return False
    decision = answer.get("decision") if isinstance(answer, dict) else None
    if decision not in DECISIONS or not str(answer.get("decision_id", "")).startswith("dec_"):
        run.error("malformed decision")
        return False
    if decision != call.expect:
        run.error(f"{decision} where {call.expect} was expected")
        return False
    return True


def _cpu_seconds(pid: int) -> float:
    """User+system CPU of ``pid`` and of its child processes still running (the worker
    processes of a server started with ``--workers``)."""
    ticks = 0
    for one in (pid, *_children(pid)):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def _commits(url: str | None) -> tuple[int, int]:
    if url is None:
        return 0, 0  # several workers: each counts its own commits
    counts = httpx.get(f"{url}/bench/commits").json()
    return counts["transactions"], counts["works"]


@contextlib.contextmanager
def _measured(run: Run, server_pid: int, url: str | None) -> Iterator[None]:
    transactions, works = _commits(url)
    server, client = _cpu_seconds(server_pid), time.process_time()
    try:
        yield
    finally:
        run.server_cpu = _cpu_seconds(server_pid) - server
        run.client_cpu = time.process_time() - client
        after = _commits(url)
        run.transactions, run.works = after[0] - transactions, after[1] - works


async def closed_loop(
    port: int, calls: Sequence[Call], *, connections: int, seconds: float, run: Run
) -> None:
    """``connections`` callers, each sending its next request when the last is answered."""
    pool = [await Connection.open(port) for _ in range(connections)]
    clock = time.perf_counter
    deadline = clock() + seconds
    counter = iter(range(1 << 62))

    async def caller(connection: Connection) -> None:
        while clock() < deadline:
            call = calls[next(counter) % len(calls)]
            start = clock()
            try:
                status, body = await connection.call(call.payload)
            except (OSError, ValueError, asyncio.IncompleteReadError) as error:
                run.error(type(error).__name__)
                return
            run.sent += 1
            if check(run, call, status, body):
                run.latencies.append(clock() - start)

    began = clock()
    await asyncio.gather(*(caller(connection) for connection in pool))
    run.seconds = clock() - began
    for connection in pool:
        connection.close()


async def open_loop(
    port: int,
    calls: Sequence[Call],
    *,
    rate: float,
    seconds: float,
    connections: int,
    run: Run,
    drain: float = 5.0,
) -> None:
    """Requests due at a fixed ``rate`` over ``connections``; each latency runs from when
    its request was due. Requests still unanswered ``drain`` s after the last was due are
    counted as unanswered."""
    pool = [await Connection.open(port) for _ in range(connections)]
    clock = time.perf_counter
    due: asyncio.Queue[tuple[float, Call] | None] = asyncio.Queue()
    last_answer = 0.0

    async def caller(connection: Connection) -> None:
        nonlocal last_answer
        while (item := await due.get()) is not None:
            scheduled, call = item
            try:
                status, body = await connection.call(call.payload)
            except (OSError, ValueError, asyncio.IncompleteReadError) as error:
                run.error(type(error).__name__)
                return
            now = clock()
            last_answer = now
            if check(run, call, status, body):
                run.latencies.append(now - scheduled)

    workers = [asyncio.ensure_future(caller(connection)) for connection in pool]
    total = int(rate * seconds)
    began = clock()
    for index in range(total):
        scheduled = began + index / rate
        wait = scheduled - clock()
        if wait > 0:
            await asyncio.sleep(wait)
        due.put_nowait((scheduled, calls[index % len(calls)]))
    run.sent = total
    for _ in workers:
        due.put_nowait(None)
    _, pending = await asyncio.wait(workers, timeout=drain)
    for worker in pending:
        worker.cancel()
    run.unanswered = total - len(run.latencies) - sum(run.errors.values())
    run.seconds = max(last_answer, began + seconds) - began
    for connection in pool:
        connection.close()


# -- the server under test ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Server:
    """A bench server subprocess and the tokens to call it with."""

    process: subprocess.Popen[bytes]
    port: int
    admin_token: str
    agent_token: str = ""
    workers: int = 1

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def counted(self) -> str | None:
        """Its base URL if one process counts all its commits, else None."""
        return self.url if self.workers == 1 else None


def _init(data_dir: Path, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI, no shell
        [
            str(BIN / "charter"),
            "init",
            "--data-dir",
            str(data_dir),
            "--demo",
            "--policy",
            str(ROOT / "examples" / "policies"),
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token: str = json.loads(done.stdout)["admin_token"]
    return token


@contextlib.contextmanager
def serving(
    data_dir: Path, env: dict[str, str], log: Path, options: Sequence[str] = ()
) -> Iterator[Server]:
    """Initialise the store, start the server, wait for it, issue support-bot's token."""
    admin = _init(data_dir, env)
    port = _free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [
                sys.executable,
                "-m",
                "bench.http_server",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
                *options,
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
    workers = int(options[options.index("--workers") + 1]) if "--workers" in options else 1
    server = Server(process, port, admin, workers=workers)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bench server did not start; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/readyz").status_code == 200:
                    break
            time.sleep(0.1)
        with Client(server.url, admin) as client:
            server.agent_token = client.issue_agent_token(
                "support-bot", description="bench/http.py"
            ).token
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(method: str, path: str, port: int, token: str | None, body: Any = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(content)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + content


def decision_calls(server: Server) -> list[Call]:
    """The decision mix, interleaved so every stretch of ten requests holds all kinds."""
    calls = [
        Call(_request("POST", "/v1/decisions", server.port, server.agent_token, body), expect)
        for weight, body, expect in DECISION_MIX
        for _ in range(weight)
    ]
    return calls[::2] + calls[1::2]


def endpoint_calls(server: Server) -> dict[str, list[Call]]:
    """What each closed-loop row sends."""
    return {
        BARE: [Call(_request("POST", "/bench/bare", server.port, None, {}), None)],
        EMPTY_FIRST: [Call(_request("POST", "/bench/empty-first", server.port, None, {}), None)],
        EMPTY: [Call(_request("POST", "/bench/empty", server.port, None, {}), None)],
        EMPTY_SYNC: [Call(_request("POST", "/bench/empty-sync", server.port, None, {}), None)],
        WHOAMI: [Call(_request("GET", "/v1/whoami", server.port, server.agent_token), None)],
        "decisions (`POST /v1/decisions`)": decision_calls(server),
    }


def _verify(data_dir: Path, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI, no shell
        [str(BIN / "charter"), "audit", "verify", "--data-dir", str(data_dir), "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"**audit verify failed** (exit {done.returncode}): {done.stdout.strip()[:300]}"
    report = json.loads(done.stdout)
    return (
        f"`charter audit verify` after the load: intact, {report['records']:,} records, "
        f"{report['checkpoints_verified']} signed checkpoints verified"
    )


# -- measuring one backend ------------------------------------------------------------

DECIDE = "decisions (`POST /v1/decisions`)"
BARE = "bare ASGI (`POST /bench/bare`, before all of Charter's layers)"
EMPTY_FIRST = "empty, second route (`POST /bench/empty-first`)"
EMPTY = "empty (`POST /bench/empty`, no token)"
EMPTY_SYNC = "empty on the thread pool (`POST /bench/empty-sync`)"
WHOAMI = "token only (`GET /v1/whoami`)"


@dataclass(frozen=True, slots=True)
class Plan:
    """How long and how hard to push."""

    seconds: float
    rounds: int
    connections: tuple[int, ...]
    rates: tuple[int, ...]
    fractions: tuple[float, ...]
    open_connections: int
    workers: tuple[int, ...] = ()
    """Worker process counts (over 1) measured beside the single-process server."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One server configuration measured side by side with the others."""

    name: str
    options: tuple[str, ...]
    everything: bool  # every closed-loop row, or only the decisions
    same_path: bool = False
    """Run the first server's other rows too, unreported, so that each decision row meets
    this server in the state it meets the first one (whose cost it is compared with)."""


VARIANTS = (
    Variant("group commit", (), everything=True),
    Variant("one transaction per decision", ("--no-group-commit",), everything=False),
    Variant("group commit, without reviews", ("--no-reviews",), everything=False, same_path=True),
)


def variants(plan: Plan) -> tuple[Variant, ...]:
    """``VARIANTS``, then one server with each of the plan's worker counts."""
    return VARIANTS + tuple(
        Variant(f"group commit, {count} workers", ("--workers", str(count)), everything=False)
        for count in plan.workers
    )


@dataclass(slots=True)
class Measured:
    """Every run for one backend, by row."""

    backend: str
    closed: dict[tuple[str, str, int], list[Run]] = field(default_factory=dict)
    open: dict[tuple[int, str], list[Run]] = field(default_factory=dict)
    calibrated: float = 0.0
    verified: list[str] = field(default_factory=list)


def _closed(server: Server, calls: Sequence[Call], connections: int, seconds: float) -> Run:
    run = Run("")
    with _measured(run, server.process.pid, server.counted):
        asyncio.run(
            closed_loop(server.port, calls, connections=connections, seconds=seconds, run=run)
        )
    return run


def measure(backend: str, stores: Sequence[dict[str, str]], plan: Plan, scratch: Path) -> Measured:
    """Start one server per variant (each on its own store), run the plan against them in
    turns, then verify each audit log."""
    result = Measured(backend)
    with contextlib.ExitStack() as stack:
        servers = []
        for number, (variant, env) in enumerate(zip(variants(plan), stores, strict=True)):
            data_dir = scratch / f"{backend}-{number}"
            log = scratch / f"{backend}-{number}-server.log"
            server = stack.enter_context(serving(data_dir, env, log, variant.options))
            servers.append((variant, server, data_dir, env))
        for variant, server, _, _ in servers:
            # Warm up: the policy's condition memos, the connection pools, the first touch.
            warm = _closed(server, decision_calls(server), 16, 2)
            if warm.errors:
                raise RuntimeError(f"{backend}, {variant.name}: wrong answers: {warm.errors}")
        first = servers[0][1]
        result.calibrated = _closed(first, decision_calls(first), max(plan.connections), 3).rate
        for variant, server, _, _ in servers[1:]:
            if variant.same_path:
                _closed(server, decision_calls(server), max(plan.connections), 3)
        rates = sorted(
            {*plan.rates, *(round(result.calibrated * share, -1) for share in plan.fractions)}
        )
        for _ in range(plan.rounds):
            for variant, server, _, _ in servers:
                rows = endpoint_calls(server)
                for label, calls in rows.items():
                    if not variant.everything and label != DECIDE:
                        for connections in plan.connections if variant.same_path else ():
                            _closed(server, calls, connections, plan.seconds)
                        continue
                    for connections in plan.connections:
                        run = _closed(server, calls, connections, plan.seconds)
                        key = (label, variant.name, connections)
                        result.closed.setdefault(key, []).append(run)
                        _progress(backend, f"{variant.name[:5]} closed {connections}", label, run)
                for rate in rates:
                    run = Run("")
                    with _measured(run, server.process.pid, server.counted):
                        asyncio.run(
                            open_loop(
                                server.port,
                                rows[DECIDE],
                                rate=rate,
                                seconds=plan.seconds,
                                connections=plan.open_connections,
                                run=run,
                            )
                        )
                    result.open.setdefault((int(rate), variant.name), []).append(run)
                    _progress(backend, f"{variant.name[:5]} open {rate:.0f}/s", DECIDE, run)
    for variant, _, data_dir, env in servers:
        result.verified.append(f"{variant.name}: {_verify(data_dir, env)}")
    return result


def _progress(backend: str, what: str, label: str, run: Run) -> None:
    print(
        f"{backend:<10} {what:<22} {label[:30]:<30} {run.rate:7,.0f}/s "
        f"p50 {run.percentile(0.5):8.2f} ms p99 {run.percentile(0.99):8.2f} ms "
        f"cpu {run.server_cpu / max(run.seconds, 1e-9):4.0%} batch {_batch([run])} "
        f"errors {sum(run.errors.values())} unanswered {run.unanswered}",
        file=sys.stderr,
        flush=True,
    )


@contextlib.contextmanager
def postgres_database(base: str) -> Iterator[str]:
    """A fresh database on the server ``base`` names, dropped afterwards."""
    name = f"charter_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# -- the report -----------------------------------------------------------------------


def _median(runs: list[Run], value: Callable[[Run], float]) -> float:
    return statistics.median(value(run) for run in runs)


def _errors(runs: list[Run]) -> str:
    counted: dict[str, int] = {}
    for run in runs:
        for kind, count in run.errors.items():
            counted[kind] = counted.get(kind, 0) + count
    return ", ".join(f"{count} {kind}" for kind, count in sorted(counted.items())) or "0"


def _batch(runs: list[Run]) -> str:
    transactions = sum(run.transactions for run in runs)
    works = sum(run.works for run in runs)
    return f"{works / transactions:.1f}" if transactions else "–"  # noqa: RUF001


def _cpu(run: Run) -> float:
    return run.server_cpu / run.seconds if run.seconds else 0.0


def _cpu_per_answer(run: Run) -> float:
    return run.server_cpu / len(run.latencies) if run.latencies else float("nan")


def _review_cost(
    measured: Measured, rates: dict[tuple[str, str, int], float], group: str, bare: str
) -> str:
    """What access reviews cost each decision: usage noted in the group commit and
    review outcomes applied, against the same server without them."""

    def change(with_reviews: float, without: float) -> str:
        return f"{with_reviews:,.0f} vs {without:,.0f}/s, {with_reviews / without - 1:+.0%}"

    closed = [
        f"{connections} connections {change(rates[key], rates[DECIDE, bare, connections])}"
        for key in rates
        if key[0] == DECIDE and key[1] == group
        for connections in [key[2]]
    ]
    opened = [
        f"{rate:,}/s offered {change(_median(runs, _achieved), _median(bare_runs, _achieved))}"
        for (rate, variant), runs in sorted(measured.open.items())
        if variant == group
        for bare_runs in [measured.open[rate, bare]]
    ]
    return (
        "Access reviews' cost (usage noted in the same group commit, review outcomes "
        "applied; the `--no-reviews` server leaves both out), decisions/s with them vs "
        f"without: closed loop at {'; '.join(closed)}; open loop at {'; '.join(opened)}.\n"
    )


def _achieved(run: Run) -> float:
    return run.rate


def _section(measured: Measured, plan: Plan) -> list[str]:
    lines = [f"\n### {measured.backend}\n"]
    lines.append(
        "| closed loop | decisions committed | connections | answers/s | p50 ms | p99 ms | "
        "server CPU | decisions per commit | errors |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|")
    rates: dict[tuple[str, str, int], float] = {}
    for key, runs in measured.closed.items():
        label, variant, connections = key
        rates[key] = _median(runs, lambda run: run.rate)
        committed = variant if label == DECIDE else ""
        lines.append(
            f"| {label} | {committed} | {connections} | {rates[key]:,.0f} | "
            f"{_median(runs, lambda run: run.percentile(0.5)):.2f} | "
            f"{_median(runs, lambda run: run.percentile(0.99)):.2f} | "
            f"{_median(runs, _cpu):.0%} | {_batch(runs) if label == DECIDE else ''} | "
            f"{_errors(runs)} |"
        )
    busiest = max(plan.connections)
    group, alone, bare = (variant.name for variant in VARIANTS)
    several = [variant.name for variant in variants(plan)[len(VARIANTS) :]]
    bare_asgi, empty_first, empty, empty_sync, whoami = (
        rates[label, group, busiest] for label in (BARE, EMPTY_FIRST, EMPTY, EMPTY_SYNC, WHOAMI)
    )
    decisions = rates[DECIDE, group, busiest]
    before = rates[DECIDE, alone, busiest]
    per_request = {
        label: _median(measured.closed[label, group, busiest], _cpu_per_answer) * 1e6
        for label in (BARE, EMPTY_FIRST, EMPTY, DECIDE)
    }
    lines.append(
        f"\nServer CPU per answer at {busiest} connections: {per_request[BARE]:,.0f} µs for "
        f"the bare ASGI answer (uvicorn alone, {bare_asgi:,.0f}/s), "
        f"{per_request[EMPTY_FIRST]:,.0f} µs for the empty route second in the route table "
        f"({empty_first:,.0f}/s: Charter's "
        f"layers and FastAPI's endpoint), {per_request[EMPTY]:,.0f} µs for the empty route "
        f"last in it (finding the route among the app's), {per_request[DECIDE]:,.0f} µs for a "
        "decision.\n"
    )
    lines.append(
        f"\nAt {busiest} connections, decisions run at **{decisions / empty:.2f}x** the empty "
        f"route's throughput ({decisions:,.0f} vs {empty:,.0f}/s), {decisions / empty_sync:.2f}x "
        f"the empty route on the thread pool ({empty_sync:,.0f}/s) and {decisions / whoami:.2f}x "
        f"a token check alone ({whoami:,.0f}/s); group commit takes them from {before:,.0f} "
        f"to {decisions:,.0f}/s ({decisions / before:.2f}x).\n"
    )
    lines.append(_review_cost(measured, rates, group, bare))
    for name in several:
        alongside = rates[DECIDE, name, busiest]
        lines.append(
            f"With {name.rsplit(', ', 1)[1]} (`--workers`), decisions at {busiest} connections "
            f"run at {alongside:,.0f}/s against {decisions:,.0f}/s with one process "
            f"({alongside / decisions:.2f}x); its *decisions per commit* is not counted "
            "(each worker has its own committer).\n"
        )
    lines.append(
        f"Open loop at fixed rates: {', '.join(f'{rate:,}' for rate in plan.rates)}/s and "
        f"{', '.join(f'{share:.0%}' for share in plan.fractions)} of the "
        f"{measured.calibrated:,.0f}/s a calibration run measured at {busiest} connections "
        "with group commit, both variants at the same rates.\n"
    )
    lines.append(
        "| open loop, decisions | decisions committed | achieved/s | p50 ms | p99 ms | "
        "server CPU | decisions per commit | errors | unanswered |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for (rate, variant), runs in sorted(measured.open.items()):
        lines.append(
            f"| {rate:,}/s | {variant} | {_median(runs, lambda run: run.rate):,.0f} | "
            f"{_median(runs, lambda run: run.percentile(0.5)):.2f} | "
            f"{_median(runs, lambda run: run.percentile(0.99)):.2f} | "
            f"{_median(runs, _cpu):.0%} | {_batch(runs)} | {_errors(runs)} | "
            f"{sum(run.unanswered for run in runs)} |"
        )
    lines.append("")
    lines.extend(f"- {line}." for line in measured.verified)
    return lines


def _commit() -> str:
    done = subprocess.run(  # noqa: S603 - a fixed command line, no shell
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],  # noqa: S607
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "unknown"


def report(measured: list[Measured], plan: Plan, skipped: list[str], command: str) -> str:
    """The markdown section."""
    mix = ", ".join(
        f"{weight} x {body['capability']} {body['action']} → {expect}"
        for weight, body, expect in DECISION_MIX
    )
    header = [
        "## Decisions over HTTP (`POST /v1/decisions`)\n",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit `{_commit()}` on "
        f"{cpu_name()}, {os.cpu_count()} cores ({platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}), with `{command}`. Each server is one process "
        "on `charter serve`'s stack (uvicorn on uvloop and httptools; FastAPI; the same "
        "app and middleware) started through "
        "`bench/http_server.py`, which adds only bench routes: `POST /bench/empty` (async, "
        "no token, no body read, last in the route table), `POST /bench/empty-first` (the "
        "same, second in the route table, after the fast decision route), "
        "`POST /bench/empty-sync` (the same as a plain function, so FastAPI runs it on its "
        "thread pool), `GET /bench/commits`, and `POST /bench/bare`, answered by a plain "
        "ASGI callable outside all of Charter's layers (what uvicorn alone costs). Per "
        "backend, three servers on fresh stores run side by side, measured in turns: one wired as "
        "`Services.build` wires it, with group commit (src/charter/service/commits.py), "
        "one with `--no-group-commit`, one transaction per decision as before, and one "
        "with `--no-reviews`, group commit without what access reviews add to a decision "
        "(usage noted, review outcomes applied), which also runs the first server's other "
        "rows, unreported, so that both meet each decision row in the same state; then, for "
        "each `--workers` count, one more server started with `--workers N` (N processes on "
        "one store, as `charter serve --workers N`), measured on decisions only. The load "
        "generator (raw asyncio HTTP/1.1 keep-alive connections, `bench/http.py`) is a "
        "separate process sharing the machine's cores with the server and, for PostgreSQL, "
        "with the database server. Every decision is answered after its audit record is "
        "committed: SQLite in WAL mode with `synchronous=NORMAL`; PostgreSQL with `fsync` "
        "and `synchronous_commit` on.\n",
        f"Each row is the median of {plan.rounds} runs of {plan.seconds:g} s, taken in turns; "
        "p50/p99 are the medians of each run's percentiles. Closed loop: each connection "
        "sends its next request once the last is answered, so latency includes only the "
        "server's queueing. Open loop: requests fall due at a fixed rate over "
        f"{plan.open_connections} connections and latency runs from when each was due, so a "
        "server that cannot keep up shows it in p50/p99 and in *achieved/s*; *unanswered* "
        "counts requests still without an answer 5 s after the last fell due, summed over "
        "the runs. Errors are "
        "answers other than 200 or decisions other than the policy's. Server CPU is the "
        "server's processes' user+system time over the run's wall time (100% = one core); "
        "*decisions per commit* is the group committer's mean batch over the run. "
        "The machine is a shared, noisy virtual one: runs minutes apart differ by a quarter "
        "or more, so compare rows within one run.\n",
        f"The decision mix (support-bot's own agent token, examples/policies): {mix}; the "
        "allowed customer read releases name and email and redacts ssn.\n",
    ]
    lines = list(header)
    for one in measured:
        lines.extend(_section(one, plan))
    lines.extend(f"\n{note}" for note in skipped)
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure SQLite and PostgreSQL, print the section and record it."""
    parser = argparse.ArgumentParser(description="Charter's HTTP decision benchmark.")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per row")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--rates", type=int, nargs="+", default=[250, 1000])
    parser.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        default=[0.25, 0.5, 0.75, 0.9],
        help="open-loop rates as shares of the calibrated closed-loop throughput",
    )
    parser.add_argument("--open-connections", type=int, default=64)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=[2],
        help="worker process counts to measure beside one process (none: only one)",
    )
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    plan = Plan(
        args.seconds,
        args.rounds,
        tuple(args.connections),
        tuple(args.rates),
        tuple(args.fractions),
        args.open_connections,
        tuple(count for count in args.workers if count > 1),
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    measured: list[Measured] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="charter-bench-http-") as scratch:
        if "sqlite" in args.backends:
            count = len(variants(plan))
            measured.append(measure("SQLite", [env] * count, plan, Path(scratch)))
        if "postgresql" in args.backends:
            base = os.environ.get("CHARTER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
            try:
                with contextlib.ExitStack() as databases:
                    urls = [
                        databases.enter_context(postgres_database(base)) for _ in variants(plan)
                    ]
                    stores = [{**env, "CHARTER_DATABASE_URL": url} for url in urls]
                    measured.append(measure("PostgreSQL", stores, plan, Path(scratch)))
            except sa.exc.OperationalError as error:
                skipped.append(f"PostgreSQL not measured: {str(error).splitlines()[0]}")
    command = (
        "make bench-http" if not sys.argv[1:] else "python -m bench.http " + " ".join(sys.argv[1:])
    )
    section = report(measured, plan, skipped, command)
    print(section)
    if not args.no_write:
        replace_section(REPORT, SECTION, section)


if __name__ == "__main__":
    main()
