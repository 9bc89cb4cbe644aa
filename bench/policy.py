"""Embedded decision speed of charter.Engine on a generated workload.

Run: `make bench` (or `.venv/bin/python -m bench.policy`). Writes a section of
docs/benchmarks.md with the machine, the date and the command.
"""

from __future__ import annotations

import gc
import platform
import statistics
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from bench.workload import NOW, build
from charter.policy.cel import compile_condition
from charter.policy.compiled import Snapshot
from charter.policy.compiler import compile_policy
from charter.policy.decision import Facts, Request
from charter.policy.evaluate import evaluate

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _timings(
    snapshot: Snapshot, facts: dict[str, Facts], requests: list[Request], rounds: int = 3
) -> list[float]:
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for request in requests:
            fact = facts[request.agent]
            start = clock()
            evaluate(request, snapshot, fact, NOW)
            samples.append((clock() - start) / 1000)
    return samples


def _row(label: str, samples: list[float]) -> str:
    samples.sort()
    median = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99)]
    return f"| {label} | {median:.1f} | {p99:.1f} | {1e6 / statistics.fmean(samples):,.0f} |"


def run() -> str:
    """Measure and return the markdown section."""
    lines = []
    for agents in (1_000, 10_000):
        workload = build(agents)
        gc.collect()
        tracemalloc.start()
        start = time.perf_counter()
        snapshot = compile_policy(
            workload.policy, revision="rev_bench", conditions=compile_condition
        )
        compile_ms = (time.perf_counter() - start) * 1000
        memory = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        allowed = sum(
            evaluate(r, snapshot, workload.facts[r.agent], NOW).allowed for r in workload.requests
        )
        gc.disable()
        try:
            mixed = _timings(snapshot, workload.facts, workload.requests)
            conditional = _timings(snapshot, workload.facts, workload.conditional_requests)
        finally:
            gc.enable()
        lines.append(
            f"\n**{agents:,} agents**, {len(workload.policy.bindings):,} bindings, "
            f"compiled in {compile_ms:.0f} ms using {memory:.1f} MiB; "
            f"{allowed / len(workload.requests):.0%} of the mixed requests allowed.\n"
        )
        lines.append("| requests | median µs | p99 µs | decisions/s (one core) |")
        lines.append("|---|---|---|---|")
        lines.append(_row("mixed (no condition on the deciding rule)", mixed))
        lines.append(_row("allowed through one CEL condition", conditional))
    header = (
        "## Embedded decisions (`charter.Engine`)\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_cpu()} "
        f"({platform.system()} {platform.machine()}, Python {platform.python_version()}), "
        "with `make bench` (`python -m bench.policy`). Each decision is timed alone "
        "(`perf_counter_ns` around `evaluate`, garbage collector off), three rounds over the "
        "same requests; the machine is shared, so compare medians within one run.\n"
        "\nTargets (DESIGN.md §9): median ≤ 3 µs without conditions, ≤ 6 µs with one, "
        "p99 ≤ 20 µs. Peer engines (Cedar, OPA/regorus, Casbin) are not measured yet.\n"
    )
    return header + "\n".join(lines) + "\n"


def main() -> None:
    """Run and record."""
    section = run()
    print(section)
    title = "# Benchmarks\n\nNumbers from `bench/`, one command each; never from tests.\n\n"
    REPORT.write_text(title + section)


if __name__ == "__main__":
    main()
