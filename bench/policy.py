"""Embedded decision speed of charter.Engine on a generated workload, and of peer
engines (Cedar, OPA/Rego through regorus, Casbin) on the same workload, side by side.

Run: `make bench` (or `.venv/bin/python -m bench.policy`). Writes its section of
docs/benchmarks.md (between the `policy` markers, see bench/report.py) with the machine,
the date and the command. The peers need the `bench` extra
(`pip install -e ".[bench]"`); see bench/peers.py for how the workload is translated.
"""

from __future__ import annotations

import gc
import platform
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import peers
from bench.report import REPORT, cpu_name, replace_section
from bench.workload import NOW, RESOURCES, Workload, build
from charter.policy.cel import compile_condition
from charter.policy.compiled import Snapshot
from charter.policy.compiler import compile_policy
from charter.policy.decision import Facts, Request
from charter.policy.evaluate import evaluate


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


PEER_MIXED = 2_000
PEER_CONDITIONAL = 1_000
PEER_GUARDED = 1_000
"""The peer comparison's sample: the first requests of each set, timed once each."""


def _timed(
    decide: Callable[[Any], bool], prepared: Sequence[Any]
) -> tuple[list[float], list[bool]]:
    """Each decision timed alone (the caller turns the garbage collector off); the samples
    and the answers."""
    samples: list[float] = []
    answers: list[bool] = []
    clock = time.perf_counter_ns
    for item in prepared:
        start = clock()
        answer = decide(item)
        samples.append((clock() - start) / 1000)
        answers.append(answer)
    return samples, answers


def _stats(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return (
        statistics.median(ordered),
        ordered[int(len(ordered) * 0.99)],
        1e6 / statistics.fmean(ordered),
    )


def _peer_section(
    workload: Workload, snapshot: Snapshot, compile_ms: float
) -> tuple[list[str], dict[str, tuple[str, float]]]:
    """Charter and each peer on the same sample, one run; agreement over the sample.
    Also, per request kind, the fastest peer and how many times Charter's median it took."""
    requests = {
        "mixed": workload.requests[:PEER_MIXED],
        "conditional": workload.conditional_requests[:PEER_CONDITIONAL],
        "novel": workload.novel_conditional_requests[:PEER_CONDITIONAL],
        # Not in the timing columns: aimed at guardrails and failing conditions, so the
        # agreement check exercises the translations that deny.
        "guarded": workload.guarded_requests[:PEER_GUARDED],
    }
    facts = workload.facts

    def charter(request: Request) -> bool:
        return evaluate(request, snapshot, facts[request.agent], NOW).allowed

    # (label, setup, decide, prepared requests by kind) for every engine that loads.
    engines: list[tuple[str, str, Callable[[Any], bool], dict[str, list[Any]]]] = [
        ("Charter (`evaluate`)", f"{compile_ms:,.0f}", charter, requests)
    ]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as scratch:
        directory = Path(scratch)
        loaders: list[Callable[[], peers.Peer]] = [
            lambda: peers.cedar_peer(workload.policy, facts, NOW, RESOURCES, per_role=True),
            lambda: peers.cedar_peer(workload.policy, facts, NOW, RESOURCES),
            lambda: peers.rego_peer(workload.policy, facts, NOW, directory),
            lambda: peers.casbin_peer(workload.policy, facts, NOW, directory),
        ]
        for load in loaders:
            try:
                peer = load()
            except ImportError as error:  # the bench extra is not installed
                notes.append(f"not measured: {error}")
                continue
            prepared = {name: [peer.prepare(r) for r in items] for name, items in requests.items()}
            engines.append((peer.name, f"{peer.setup_ms:,.0f}", peer.decide, prepared))
            notes.append(f"{peer.name}: {peer.size}; {peer.note}.")
        # Each engine in turn over every request, in a steady state of its own: taking
        # turns a few requests at a time would spread the machine's slow spells more
        # evenly, but let each engine evict the others' memory from the caches.
        timings: list[dict[str, tuple[list[float], list[bool]]]] = []
        for _, _, decide, prepared in engines:
            gc.collect()
            gc.disable()
            try:
                timings.append({name: _timed(decide, prepared[name]) for name in requests})
            finally:
                gc.enable()
    # After the timed pass, which must meet the new contexts first.
    expected = {name: [charter(r) for r in items] for name, items in requests.items()}
    rows = [
        (label, setup, timing)
        for (label, setup, _, _), timing in zip(engines, timings, strict=True)
    ]
    codes: dict[str, int] = {}
    for items in requests.values():
        for request in items:
            code = evaluate(request, snapshot, facts[request.agent], NOW).code
            codes[code] = codes.get(code, 0) + 1
    notes.insert(
        0,
        "Charter's answers over the sample: "
        + ", ".join(f"{count:,} `{code}`" for code, count in sorted(codes.items()))
        + ".",
    )
    base = {name: _stats(rows[0][2][name][0])[0] for name in requests}
    lines = [
        "",
        f"Side by side on the first {PEER_MIXED:,} mixed requests and {PEER_CONDITIONAL:,} "
        "conditional ones of each kind (context seen before, every context new), each timed "
        "once, one engine after another in this run; ratio = median relative to "
        "Charter's on the same requests; disagreements = allow/not-allow answers that differ "
        f"from Charter's over those and {len(requests['guarded']):,} more requests aimed at "
        "the deny guardrails and at failing conditions.",
        "",
        "| engine | setup ms | mixed median µs | mixed p99 µs | mixed decisions/s | "
        "conditional median µs | conditional p99 µs | new-context median µs | "
        "new-context p99 µs | ratio mixed | ratio conditional | ratio new-context | "
        "disagreements |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, setup, timing in rows:
        mixed = _stats(timing["mixed"][0])
        conditional = _stats(timing["conditional"][0])
        novel = _stats(timing["novel"][0])
        disagreements = sum(
            answer != want
            for name in requests
            for answer, want in zip(timing[name][1], expected[name], strict=True)
        )
        lines.append(
            f"| {label} | {setup} | {mixed[0]:.1f} | {mixed[1]:.1f} | {mixed[2]:,.0f} | "
            f"{conditional[0]:.1f} | {conditional[1]:.1f} | {novel[0]:.1f} | {novel[1]:.1f} | "
            f"{mixed[0] / base['mixed']:.1f} | {conditional[0] / base['conditional']:.1f} | "
            f"{novel[0] / base['novel']:.1f} | {disagreements} |"
        )
    lines.append("")
    lines.extend(f"- {note}" for note in notes)
    fastest = {
        name: min(
            ((label, _stats(timing[name][0])[0] / base[name]) for label, _, timing in rows[1:]),
            key=lambda pair: pair[1],
            default=("no peer measured", 0.0),
        )
        for name in ("mixed", "conditional", "novel")
    }
    return lines, fastest


def _verdict(value: float, target: float, *, at_least: bool = False) -> str:
    met = value >= target if at_least else value <= target
    return "met" if met else "**not met**"


def _targets(medians: dict[str, tuple[float, float]], fastest: dict[str, tuple[str, float]]) -> str:
    """Charter's speed targets against this run's 10,000-agent numbers."""
    mixed, seen, novel = medians["mixed"], medians["conditional"], medians["novel"]
    peer = fastest["mixed"][0]
    return (
        "\n**Against the targets**, at 10,000 agents in this run:\n\n"
        f"- median without a condition: {mixed[0]:.2f} µs (≤ 3: {_verdict(mixed[0], 3)})\n"
        f"- median with one CEL condition: {seen[0]:.2f} µs with a context seen before "
        f"(≤ 6: {_verdict(seen[0], 6)}), {novel[0]:.2f} µs with every context new "
        f"(≤ 6: {_verdict(novel[0], 6)})\n"
        f"- p99: {mixed[1]:.1f}, {seen[1]:.1f} and {novel[1]:.1f} µs for those three "
        f"(≤ 20: {_verdict(mixed[1], 20)}, {_verdict(seen[1], 20)}, "
        f"{_verdict(novel[1], 20)})\n"
        f"- side by side, the fastest peer ({peer}) takes {fastest['mixed'][1]:.1f}x "
        f"Charter's median on mixed requests, {fastest['conditional'][1]:.1f}x with a "
        f"context seen before and {fastest['novel'][1]:.1f}x with every context new "
        f"(≥ 10x: {_verdict(fastest['mixed'][1], 10, at_least=True)}, "
        f"{_verdict(fastest['conditional'][1], 10, at_least=True)}, "
        f"{_verdict(fastest['novel'][1], 10, at_least=True)})\n"
    )


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
        # Memory from a compile under tracemalloc, time from one without it (tracing
        # every allocation slows compiling several times over).
        tracemalloc.start()
        traced = compile_policy(workload.policy, revision="rev_bench", conditions=compile_condition)
        memory = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        del traced
        gc.collect()
        start = time.perf_counter()
        snapshot = compile_policy(
            workload.policy, revision="rev_bench", conditions=compile_condition
        )
        compile_ms = (time.perf_counter() - start) * 1000
        allowed = sum(
            evaluate(r, snapshot, workload.facts[r.agent], NOW).allowed for r in workload.requests
        )
        gc.disable()
        try:
            mixed = _timings(snapshot, workload.facts, workload.requests)
            conditional = _timings(snapshot, workload.facts, workload.conditional_requests)
            # One round: a second would find the outcomes of the first remembered. The
            # first requests are left for the side-by-side run, new to it too.
            novel = _timings(
                snapshot,
                workload.facts,
                workload.novel_conditional_requests[PEER_CONDITIONAL:],
                rounds=1,
            )
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
        lines.append(_row("allowed through one CEL condition, context seen before", conditional))
        lines.append(_row("allowed through one CEL condition, every context new", novel))
        section, fastest = _peer_section(workload, snapshot, compile_ms)
        lines.extend(section)
        medians = {
            name: _stats(samples)[:2]
            for name, samples in (("mixed", mixed), ("conditional", conditional), ("novel", novel))
        }
    lines.append(_targets(medians, fastest))
    header = (
        "## Embedded decisions (`charter.Engine`)\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu_name()} "
        f"({platform.system()} {platform.machine()}, Python {platform.python_version()}), "
        "with `make bench` (`python -m bench.policy`). Each decision is timed alone "
        "(`perf_counter_ns` around `evaluate`, garbage collector off), three rounds over the "
        "same requests (one round over 3x as many for new contexts). The machine is a shared "
        "virtual one: between runs minutes apart, the same code's medians have moved by a "
        "third, so compare numbers within one run.\n"
        "\nA CEL condition remembers its outcome for the exact values it read "
        "(docs/policy.md, *Conditions*), so a context seen before skips the conversion "
        "into CEL; in the *every context new* rows each request carries a `context.level` "
        "never seen before, so every condition there runs in CEL.\n"
        "\nCharter's targets: median ≤ 3 µs without conditions, ≤ 6 µs with one, "
        "p99 ≤ 20 µs.\n"
        "\nUnder each table, the peer engines on the same workload, translated by "
        "`bench/peers.py`: Cedar through `cedarpy` (the policy set and entities parsed once "
        "and reused as handles, `is_authorized` per request), OPA/Rego through `opa-eval` "
        "(the regorus engine; module and data loaded once, `evaluate_parsed` per request) and "
        "Casbin through `pycasbin` (`FastEnforcer`, pure Python). Grants are extra role "
        "assignments; deny guardrails are Cedar `forbid`s, Rego `deny` rules and Casbin "
        "deny-effect lines; `context.level` conditions are Cedar `when` clauses, Rego "
        "comparisons and named alternatives in Casbin's matcher. Requests are translated "
        "before timing; each peer's time includes its Python binding (for cedarpy, JSON "
        "encoding of the context and decoding of the answer). Setup is parsing/loading the "
        "translated text (for Charter: compiling the policy), not the translation. "
        "Charter's row there goes through the same timing loop (with the facts lookup "
        "inside it), so it reads a little above the table just before it.\n"
    )
    return header + "\n".join(lines) + "\n"


def main() -> None:
    """Run and record."""
    section = run()
    print(section)
    replace_section(REPORT, "policy", section)


if __name__ == "__main__":
    main()
