"""Where a decision's CPU goes without HTTP: the event loop against the writer thread.

Run: `.venv/bin/python -m bench.inprocess` (`--help` for the options). It initialises a
fresh SQLite store (`charter init --demo --policy examples/policies`, as `make
bench-http` does), wires `Services` as `charter serve` does (the group committer
included), issues `support-bot` a token and has N callers on one event loop ask
`DecisionService.decide_as_async` for bench/http.py's decision mix, one decision at a
time each, as the fast HTTP route does. For each run it prints decisions/s, the mean
decisions per commit and each thread's CPU time per decision, read from
`/proc/self/task` (Linux): the event loop's thread (the secrets scan, handing the work
over, being woken) and the group committer's (the transaction: token, evaluation,
records, statements, commit). With `--statements` it also prints the CPU each kind of
statement spends inside the driver, per transaction; with `--reads` it times, alone on a
warm connection, the reads every decision transaction makes (through the store, then one
of them on the driver alone) and stops.

It prints only; docs/benchmarks.md quotes it by hand ("What limits decisions over
HTTP"). Compare runs taken side by side: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.http import DECISION_MIX, _init
from bench.http_server import wired
from charter.server.app import settle_collector
from charter.server.routes.decisions import _asked
from charter.service import Services
from charter.service.commits import GroupCommitter
from charter.settings import Settings
from charter.storage.sql import SqlStore, open_store
from charter.wire.decisions import DecisionIn


def _thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each of this process's threads, by native id."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[int, float] = {}
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/stat", encoding="ascii") as stat:
            text = stat.read()
        fields = text[text.rindex(")") + 2 :].split()
        seconds[int(task)] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


class _StatementCpu:
    """CPU each statement (its first words) spends inside the driver, on its thread."""

    def __init__(self) -> None:
        self.spent: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])

    def listen(self, engine: Any) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *args: Any) -> None:
        conn.info["bench.cpu"] = time.thread_time_ns()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started: int = conn.info.pop("bench.cpu")
        kind = " ".join(statement.split()[:3])[:60]
        spent = self.spent[kind]
        spent[0] += 1
        spent[1] += time.thread_time_ns() - started


def _reads(store: SqlStore, token: str) -> None:
    """CPU of the reads every decision transaction makes, one at a time on a warm
    connection: through the store (SQLAlchemy Core, rows mapped to Charter's types) and
    the credential's read on the driver alone, the same statement as text."""
    credential_id = f"tok_{token.split('_')[1]}"
    with store.read() as unit:
        driver = unit.connection.connection.driver_connection
        if driver is None:
            raise SystemExit("the store's connection has no driver connection")
        timed: list[tuple[str, Callable[[], object]]] = [
            ("credentials.get", lambda: unit.credentials.get(credential_id)),
            ("agents.get", lambda: unit.agents.get("support-bot")),
            ("policies.state", unit.policies.state),
            ("audit.head", unit.audit.head),
            (
                "the credential's select on the driver",
                lambda: driver.execute(
                    "SELECT * FROM credentials WHERE id = ?", (credential_id,)
                ).fetchone(),
            ),
        ]
        for label, read in timed:
            for _ in range(200):
                read()
            started = time.thread_time_ns()
            for _ in range(_READS):
                read()
            print(f"{(time.thread_time_ns() - started) / _READS / 1e3:7.1f} µs  {label}")


_READS = 3000


async def _run(services: Services, token: str, callers: int, decisions: int) -> int:
    mix = [body for weight, body, _ in DECISION_MIX for _ in range(weight)]
    asked = [_asked(DecisionIn.model_validate(body)) for body in mix]
    each = decisions // callers

    async def caller(index: int) -> None:
        for turn in range(each):
            batch = [asked[(index + turn) % len(asked)]]
            await services.decisions.decide_as_async(token, batch, where="bench", on_caller=None)

    await asyncio.gather(*(caller(index) for index in range(callers)))
    return each * callers


def main() -> None:
    """Parse the command line, decide, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=32, help="concurrent callers")
    parser.add_argument("--decisions", type=int, default=6400, help="decisions a run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs")
    parser.add_argument("--statements", action="store_true", help="CPU per statement kind")
    parser.add_argument("--reads", action="store_true", help="time single reads, then stop")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="charter-inprocess-")) / "data"
    admin = _init(data_dir, dict(os.environ))
    settings = Settings.from_env(os.environ, data_dir=data_dir)
    store = open_store(settings.store_url)
    committer = GroupCommitter(store, deciding=True)
    services = wired(store, settings, committer)
    services.policies.load_active()
    settle_collector()  # as `charter serve` does once its policy is loaded
    admin_principal = services.tokens.authenticate(admin, where="bench")
    token = services.tokens.issue_for_agent(admin_principal, "support-bot").token
    if args.reads:
        _reads(store, token)
        store.close()
        return
    statements = _StatementCpu()
    if args.statements:
        statements.listen(store.engine)

    loop_thread = threading.get_native_id()
    asyncio.run(_run(services, token, args.callers, args.decisions))  # warm-up
    print(f"{args.callers} callers, {args.decisions} decisions a run, SQLite ({data_dir})")
    for _ in range(args.rounds):
        statements.spent.clear()
        before, started = _thread_cpu(), time.perf_counter()
        commits, works = committer.transactions, committer.committed
        decided = asyncio.run(_run(services, token, args.callers, args.decisions))
        wall, after = time.perf_counter() - started, _thread_cpu()
        commits, works = committer.transactions - commits, committer.committed - works
        spent = {task: after[task] - before.get(task, 0.0) for task in after}
        loop = spent.pop(loop_thread, 0.0)
        others = sum(spent.values())
        print(
            f"{decided / wall:,.0f} decisions/s, {works / max(commits, 1):.1f} per commit; "
            f"CPU per decision {(loop + others) / decided * 1e6:,.0f} µs: event loop "
            f"{loop / decided * 1e6:,.0f} µs, writer and other threads "
            f"{others / decided * 1e6:,.0f} µs"
        )
        for kind, (count, cpu) in sorted(statements.spent.items(), key=lambda kv: -kv[1][1]):
            print(f"  {cpu / max(commits, 1) / 1e3:7.1f} µs a commit, {count:6d}x  {kind}")
    store.close()


if __name__ == "__main__":
    main()
