"""Embedded decision speed of charter.Engine on a generated workload, and of peer
engines (Cedar, OPA/Rego through regorus, Casbin) on the same workload, side by side.

Run: `make bench` (or `.venv/bin/python -m bench.policy`). Writes its section of
docs/benchmarks.md (between the `policy` markers, see bench/report.py) with the machine,
the date and the command. The peers need the `bench` extra
(`pip install -e ".[bench]"`); see bench/peers.py for how the workload is translated.

`python -m bench.policy --quick` is the short form for a busy machine: 10,000 agents
only, fewer requests, one round, regorus as the only peer; it prints its tables and
writes nothing.

Where the compiled core is built (`setup.py`), the independent check's table also has
Charter's rows on the pure-Python modules, timed first by a fresh process that loads
them from source (`CHARTER_PURE_PYTHON=1`, `bench/purepython.py`; that process runs
`python -m bench.policy --charter-outside` and prints its samples as JSON).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import peers, purepython
from bench.report import REPORT, cpu_name, replace_section
from bench.workload import NOW, OUTSIDE_CHECK, RESOURCES, Workload, build
from charter.policy.cel import compile_condition
from charter.policy.compiled import Snapshot
from charter.policy.compiler import compile_policy
from charter.policy.core import compiled_core
from charter.policy.decision import Facts, Request
from charter.policy.evaluate import evaluate
from charter.policy.model import Capability


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


Parts = tuple[str, Capability, str, str, Any]
"""A request as a caller holds it before asking: agent, capability, action, resource and
the value of ``context.level`` (the one context key the workload sends)."""


def _parts(requests: Sequence[Request]) -> list[Parts]:
    parts = []
    for request in requests:
        if set(request.context) != {"level"} or request.fields or request.resource_attributes:
            raise ValueError(f"not a workload request: {request}")
        level = request.context["level"]
        parts.append((request.agent, request.capability, request.action, request.resource, level))
    return parts


def _built_timings(
    snapshot: Snapshot, facts: dict[str, Facts], parts: list[Parts], rounds: int = 3
) -> list[float]:
    """Like ``_timings``, with the ``Request`` (its context included) built inside the
    timed region, as a caller builds it for each decision."""
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for agent, capability, action, resource, level in parts:
            fact = facts[agent]
            start = clock()
            evaluate(
                Request(agent, capability, action, resource, context={"level": level}),
                snapshot,
                fact,
                NOW,
            )
            samples.append((clock() - start) / 1000)
    return samples


def _compile(workload: Workload) -> Snapshot:
    return compile_policy(workload.policy, revision="rev_bench", conditions=compile_condition)


def _warm(snapshot: Snapshot, workload: Workload, requests: Sequence[Request]) -> None:
    """Fill ``snapshot``'s memos (rules by action) and the canonical names, as a running
    engine has them: with ``requests``, which the timed ones must not repeat when they
    are meant to carry new contexts."""
    for request in requests:
        evaluate(request, snapshot, workload.facts[request.agent], NOW)


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


CHARTER = "Charter (`evaluate`)"
CHARTER_BUILT = "Charter (`Request` + `evaluate`)"
CHARTER_PURE = "Charter, pure Python (`evaluate`)"
CHARTER_BUILT_PURE = "Charter, pure Python (`Request` + `evaluate`)"
REGO = "OPA/Rego (regorus, opa-eval)"


def _peer_section(
    workload: Workload, snapshot: Snapshot, compile_ms: float, *, quick: bool = False
) -> tuple[list[str], dict[str, tuple[str, float]], dict[str, dict[str, float]]]:
    """Charter and each peer on the same sample, one run; agreement over the sample.
    Also, per request kind, the fastest peer and how many times Charter's median it took,
    and every engine's median by kind."""
    scale = 2 if quick else 1
    requests = {
        "mixed": workload.requests[: PEER_MIXED // scale],
        "conditional": workload.conditional_requests[: PEER_CONDITIONAL // scale],
        "novel": workload.novel_conditional_requests[: PEER_CONDITIONAL // scale],
        # Not in the timing columns: aimed at guardrails and failing conditions, so the
        # agreement check exercises the translations that deny.
        "guarded": workload.guarded_requests[: PEER_GUARDED // scale],
    }
    facts = workload.facts

    def charter(request: Request) -> bool:
        return evaluate(request, snapshot, facts[request.agent], NOW).allowed

    # The second Charter row builds each Request in its timed region. It decides on a
    # snapshot of its own, so the new contexts are new to it too (conditions remember
    # outcomes per snapshot), warmed like the first on everything else.
    built = _compile(workload)
    _warm(built, workload, [*requests["mixed"], *requests["conditional"]])

    def charter_built(parts: Parts) -> bool:
        agent, capability, action, resource, level = parts
        request = Request(agent, capability, action, resource, context={"level": level})
        return evaluate(request, built, facts[agent], NOW).allowed

    # (label, setup, decide, prepared requests by kind) for every engine that loads.
    engines: list[tuple[str, str, Callable[[Any], bool], dict[str, list[Any]]]] = [
        (CHARTER, f"{compile_ms:,.0f}", charter, requests),
        (
            CHARTER_BUILT,
            f"{compile_ms:,.0f}",
            charter_built,
            {name: _parts(items) for name, items in requests.items()},
        ),
    ]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as scratch:
        directory = Path(scratch)
        loaders: list[Callable[[], peers.Peer]] = [
            lambda: peers.rego_peer(workload.policy, facts, NOW, directory),
        ]
        if not quick:
            loaders[:0] = [
                lambda: peers.cedar_peer(workload.policy, facts, NOW, RESOURCES, per_role=True),
                lambda: peers.cedar_peer(workload.policy, facts, NOW, RESOURCES),
            ]
            loaders.append(lambda: peers.casbin_peer(workload.policy, facts, NOW, directory))
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
        # evenly, but let each engine evict the others' memory from the caches. The
        # requests aimed at guardrails go through once untimed first, so that no engine
        # is timed straight after the collector has walked (and evicted) everything.
        timings: list[dict[str, tuple[list[float], list[bool]]]] = []
        for _, _, decide, prepared in engines:
            gc.collect()
            gc.disable()
            try:
                for item in prepared["guarded"]:
                    decide(item)
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
        f"Side by side on the first {len(requests['mixed']):,} mixed requests and "
        f"{len(requests['conditional']):,} "
        "conditional ones of each kind (context seen before, every context new), each timed "
        "once, one engine after another in this run; ratio = median relative to "
        "Charter's `evaluate` on the same requests; disagreements = allow/not-allow answers "
        f"that differ from Charter's over those and {len(requests['guarded']):,} more "
        "requests aimed at the deny guardrails and at failing conditions.",
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
            ((label, _stats(timing[name][0])[0] / base[name]) for label, _, timing in rows[2:]),
            key=lambda pair: pair[1],
            default=("no peer measured", 0.0),
        )
        for name in ("mixed", "conditional", "novel")
    }
    medians = {
        label: {name: _stats(timing[name][0])[0] for name in ("mixed", "conditional", "novel")}
        for label, _, timing in rows
    }
    return lines, fastest, medians


def _verdict(value: float, target: float, *, at_least: bool = False) -> str:
    met = value >= target if at_least else value <= target
    return "met" if met else "**not met**"


def _targets(
    medians: dict[str, tuple[float, float]],
    built: dict[str, tuple[float, float]],
    fastest: dict[str, tuple[str, float]],
    outside: dict[str, tuple[float, float, float]],
) -> str:
    """Charter's speed targets against this run's 10,000-agent numbers."""
    mixed, seen, novel = medians["mixed"], medians["conditional"], medians["novel"]
    peer = fastest["mixed"][0]
    alone, whole = outside[CHARTER], outside[CHARTER_BUILT]
    return (
        "\n**Against the targets**, at 10,000 agents in this run:\n\n"
        f"- median without a condition: {mixed[0]:.2f} µs (≤ 3: {_verdict(mixed[0], 3)}); "
        f"{built['mixed'][0]:.2f} µs with the `Request` built "
        f"(≤ 4: {_verdict(built['mixed'][0], 4)})\n"
        f"- median with one CEL condition: {seen[0]:.2f} µs with a context seen before "
        f"(≤ 6: {_verdict(seen[0], 6)}), {novel[0]:.2f} µs with every context new "
        f"(≤ 6: {_verdict(novel[0], 6)}); with the `Request` built, "
        f"{built['conditional'][0]:.2f} and {built['novel'][0]:.2f} µs\n"
        f"- p99: {mixed[1]:.1f}, {seen[1]:.1f} and {novel[1]:.1f} µs for those three "
        f"(≤ 20: {_verdict(mixed[1], 20)}, {_verdict(seen[1], 20)}, "
        f"{_verdict(novel[1], 20)})\n"
        f"- side by side, the fastest peer ({peer}) takes {fastest['mixed'][1]:.1f}x "
        f"Charter's `evaluate` median on mixed requests, {fastest['conditional'][1]:.1f}x "
        f"with a context seen before and {fastest['novel'][1]:.1f}x with every context new "
        f"(≥ 10x: {_verdict(fastest['mixed'][1], 10, at_least=True)}, "
        f"{_verdict(fastest['conditional'][1], 10, at_least=True)}, "
        f"{_verdict(fastest['novel'][1], 10, at_least=True)})\n"
        "- the independent check's shape (every context new, `Request` built): median "
        f"{whole[0]:.2f} µs (≤ 4: {_verdict(whole[0], 4)}), p99 {whole[1]:.1f} µs "
        f"(≤ 20: {_verdict(whole[1], 20)}), regorus {whole[2]:.1f}x slower "
        f"(≥ 10x: {_verdict(whole[2], 10, at_least=True)}); `evaluate` alone "
        f"{alone[0]:.2f} µs, p99 {alone[1]:.1f} µs, regorus {alone[2]:.1f}x\n"
        + _against_pure(outside)
    )


def _against_pure(outside: dict[str, tuple[float, float, float]]) -> str:
    """The compiled core against the pure-Python modules on the independent check's shape
    (nothing when only one of them was measured)."""
    if CHARTER_BUILT_PURE not in outside:
        return ""
    lines = []
    for compiled, pure, what in (
        (CHARTER_BUILT, CHARTER_BUILT_PURE, "with the `Request` built"),
        (CHARTER, CHARTER_PURE, "`evaluate` alone"),
    ):
        fast, slow = outside[compiled][0], outside[pure][0]
        lines.append(
            f"{what}, median {fast:.2f} µs compiled against {slow:.2f} µs pure Python "
            f"({1 - fast / slow:.0%} less; p99 {outside[compiled][1]:.1f} against "
            f"{outside[pure][1]:.1f} µs)"
        )
    return "- the compiled core on that shape: " + "; ".join(lines) + "\n"


def _row(label: str, samples: list[float], built: list[float]) -> str:
    samples.sort()
    built.sort()
    return (
        f"| {label} | {statistics.median(samples):.1f} | {samples[int(len(samples) * 0.99)]:.1f} "
        f"| {1e6 / statistics.fmean(samples):,.0f} | {statistics.median(built):.1f} "
        f"| {built[int(len(built) * 0.99)]:.1f} | {1e6 / statistics.fmean(built):,.0f} |"
    )


def _outside_workload(*, quick: bool) -> tuple[Workload, list[Request]]:
    """The independent check's workload and the requests timed on it."""
    count = 6_000 if quick else 20_000
    workload = build(requests=count, **OUTSIDE_CHECK)  # type: ignore[arg-type]
    return workload, workload.requests[: count // 2 if quick else count]


Timed = tuple[list[float], list[bool]]


def _charter_outside(workload: Workload, sample: list[Request]) -> list[Timed]:
    """Charter's two rows of the independent check's shape, `evaluate` alone and with the
    `Request` built: the samples and the answers of each."""
    facts = workload.facts
    # Each Charter row on a snapshot of its own, warmed (agents, actions) on other
    # requests whose contexts are new too: none of the timed contexts was seen before.
    warm = [*workload.conditional_requests, *workload.novel_conditional_requests]
    alone, built = _compile(workload), _compile(workload)
    _warm(alone, workload, warm)
    _warm(built, workload, warm)

    def charter(request: Request) -> bool:
        return evaluate(request, alone, facts[request.agent], NOW).allowed

    def charter_built(parts: Parts) -> bool:
        agent, capability, action, resource, level = parts
        request = Request(agent, capability, action, resource, context={"level": level})
        return evaluate(request, built, facts[agent], NOW).allowed

    # Untimed, before each engine's turn (see `_peer_section`): contexts new too.
    before = workload.guarded_requests
    engines: list[tuple[Callable[[Any], bool], list[Any], list[Any]]] = [
        (charter, list(sample), list(before)),
        (charter_built, _parts(sample), _parts(before)),
    ]
    return [_turn(decide, prepared, untimed) for decide, prepared, untimed in engines]


def _turn(decide: Callable[[Any], bool], prepared: list[Any], untimed: list[Any]) -> Timed:
    """One engine's turn: ``untimed`` decided first, then each of ``prepared`` timed."""
    gc.collect()
    gc.disable()
    try:
        for item in untimed:
            decide(item)
        return _timed(decide, prepared)
    finally:
        gc.enable()


def _pure_outside(*, quick: bool) -> list[Timed] | None:
    """Charter's rows of the independent check's shape on the pure-Python modules, from a
    fresh process that loads them from source (``bench/purepython.py``); None when this
    process runs them already."""
    if not compiled_core():
        return None
    command = [sys.executable, "-m", "bench.policy", "--charter-outside"]
    finished = subprocess.run(  # noqa: S603 - this interpreter running this module
        [*command, "--quick"] if quick else command,
        env={**os.environ, purepython.VARIABLE: "1"},
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    rows: list[Timed] = [(samples, answers) for samples, answers in json.loads(finished.stdout)]
    return rows


def _outside_section(*, quick: bool) -> tuple[list[str], dict[str, tuple[float, float, float]]]:
    """The independent check's shape: Charter with and without building the Request,
    on the compiled core and the pure-Python modules when the core is built, and regorus,
    over the same requests, each carrying a context never seen before. By engine:
    median, p99 and how many times slower regorus was."""
    # First, in a fresh process of its own, as an independent check would run.
    pure = _pure_outside(quick=quick)
    workload, sample = _outside_workload(quick=quick)
    facts = workload.facts
    results = _charter_outside(workload, sample)
    labels = [CHARTER, CHARTER_BUILT]
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as scratch:
        try:
            peer = peers.rego_peer(workload.policy, facts, NOW, Path(scratch))
        except ImportError as error:
            return [f"\nThe independent check's shape: not measured ({error}).\n"], {}
        results.append(
            _turn(
                peer.decide,
                [peer.prepare(r) for r in sample],
                [peer.prepare(r) for r in workload.guarded_requests],
            )
        )
        labels.append(REGO)
    if pure is not None:
        results[2:2] = pure
        labels[2:2] = [CHARTER_PURE, CHARTER_BUILT_PURE]
    answers = [answer for _, answer in results]
    allowed = sum(answers[0])
    disagreements = sum(
        a != b for other in answers[1:] for a, b in zip(answers[0], other, strict=True)
    )
    rego = _stats(results[-1][0])[0]
    core = (
        "the first two rows on the compiled core, the next two on the pure-Python modules "
        "(timed first, by a fresh process of their own)"
        if pure is not None
        else "the evaluator's pure-Python modules (no compiled core built)"
    )
    lines = [
        f"\n**The independent check's shape**: {OUTSIDE_CHECK['agents']:,} agents, "
        f"{len(workload.policy.roles)} roles, "
        f"{sum(len(r.permissions) for r in workload.policy.roles):,} role permissions, "
        f"{sum(len(f.grants) for f in facts.values()):,} JIT grants; {len(sample):,} "
        "requests (half allowed through a permission the agent holds, half at random), "
        "each with a `context.level` drawn at random and never repeated, each timed once "
        f"per engine; Charter on {core}; {allowed / len(sample):.0%} allowed; "
        f"{disagreements} allow/not-allow answers differ from the first row's. "
        "Ratio = regorus's median over the row's.\n",
        "| engine | median µs | p99 µs | decisions/s | regorus ratio |",
        "|---|---|---|---|---|",
    ]
    found: dict[str, tuple[float, float, float]] = {}
    for label, (samples, _) in zip(labels, results, strict=True):
        median, p99, rate = _stats(samples)
        found[label] = (median, p99, rego / median)
        lines.append(f"| {label} | {median:.1f} | {p99:.1f} | {rate:,.0f} | {rego / median:.1f} |")
    return lines, found


def run(*, quick: bool = False) -> str:
    """Measure and return the markdown section (quick: 10,000 agents only, fewer requests,
    one round, regorus the only peer)."""
    # First, in a process holding nothing else yet, as an independent check would run.
    outside_lines, outside = _outside_section(quick=quick)
    gc.collect()
    lines = []
    rounds = 1 if quick else 3
    for agents in (10_000,) if quick else (1_000, 10_000):
        workload = build(agents, requests=6_000 if quick else 20_000)
        gc.collect()
        # Memory from a compile under tracemalloc, time from one without it (tracing
        # every allocation slows compiling several times over).
        tracemalloc.start()
        traced = _compile(workload)
        memory = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        del traced
        gc.collect()
        start = time.perf_counter()
        snapshot = _compile(workload)
        compile_ms = (time.perf_counter() - start) * 1000
        allowed = sum(
            evaluate(r, snapshot, workload.facts[r.agent], NOW).allowed for r in workload.requests
        )
        # The first requests of the new contexts are left for the side-by-side run, new to
        # it too; the rest are split between the two ways of timing, so that each meets
        # contexts never seen before, in one round: a second would find the outcomes of
        # the first remembered.
        novel = workload.novel_conditional_requests[PEER_CONDITIONAL:]
        half = len(novel) // 2
        gc.disable()
        try:
            mixed = _timings(snapshot, workload.facts, workload.requests, rounds)
            conditional = _timings(snapshot, workload.facts, workload.conditional_requests, rounds)
            fresh = _timings(snapshot, workload.facts, novel[:half], rounds=1)
            mixed_built = _built_timings(
                snapshot, workload.facts, _parts(workload.requests), rounds
            )
            conditional_built = _built_timings(
                snapshot, workload.facts, _parts(workload.conditional_requests), rounds
            )
            fresh_built = _built_timings(snapshot, workload.facts, _parts(novel[half:]), rounds=1)
        finally:
            gc.enable()
        lines.append(
            f"\n**{agents:,} agents**, {len(workload.policy.bindings):,} bindings, "
            f"compiled in {compile_ms:.0f} ms using {memory:.1f} MiB; "
            f"{allowed / len(workload.requests):.0%} of the mixed requests allowed.\n"
        )
        lines.append(
            "| requests | `evaluate` median µs | p99 µs | decisions/s (one core) | "
            "`Request` + `evaluate` median µs | p99 µs | decisions/s |"
        )
        lines.append("|---|---|---|---|---|---|---|")
        lines.append(_row("mixed (no condition on the deciding rule)", mixed, mixed_built))
        lines.append(
            _row(
                "allowed through one CEL condition, context seen before",
                conditional,
                conditional_built,
            )
        )
        lines.append(
            _row("allowed through one CEL condition, every context new", fresh, fresh_built)
        )
        section, fastest, _ = _peer_section(workload, snapshot, compile_ms, quick=quick)
        lines.extend(section)
        medians = {
            name: _stats(samples)[:2]
            for name, samples in (("mixed", mixed), ("conditional", conditional), ("novel", fresh))
        }
        built = {
            name: _stats(samples)[:2]
            for name, samples in (
                ("mixed", mixed_built),
                ("conditional", conditional_built),
                ("novel", fresh_built),
            )
        }
    lines.extend(outside_lines)
    if outside:
        lines.append(_targets(medians, built, fastest, outside))
    core = (
        "the evaluator on its compiled core (the optional Cython build, `setup.py`)"
        if compiled_core()
        else "the evaluator in pure Python (no compiled core built)"
    )
    header = (
        "## Embedded decisions (`charter.Engine`)\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu_name()} "
        f"({platform.system()} {platform.machine()}, Python {platform.python_version()}), "
        f"with `{'python -m bench.policy --quick' if quick else 'make bench'}` "
        f"(`python -m bench.policy`), {core}. Each decision is timed alone "
        "(`perf_counter_ns` around `evaluate`, garbage collector off), "
        f"{'one round' if quick else 'three rounds'} over the same requests (one round for "
        "new contexts, half of them timed each way). The machine is a shared "
        "virtual one: between runs minutes apart, the same code's medians have moved by a "
        "third, so compare numbers within one run.\n"
        "\nThe `Request` + `evaluate` columns time what a caller of `charter.Engine` pays: "
        "the `Request` built from its parts (its context dict included), then decided; "
        "`evaluate` alone starts from a `Request` built beforehand, as the peers start from "
        "their own input built beforehand.\n"
        "\nA CEL condition remembers its outcome for the exact values it read "
        "(docs/policy.md, *Conditions*), so a context seen before skips the conversion "
        "into CEL; in the *every context new* rows each request carries a `context.level` "
        "never seen before, so every condition there runs in CEL.\n"
        "\nCharter's targets: median ≤ 3 µs without conditions, ≤ 6 µs with one, "
        "p99 ≤ 20 µs; on the independent check's shape (below), median ≤ 4 µs with the "
        "`Request` built, p99 ≤ 20 µs, and at least 10x faster than regorus.\n"
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
        "Charter's rows there go through the same timing loop (with the facts lookup "
        "inside it), so they read a little above the table just before it.\n"
    )
    return header + "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Run and record (``--quick``: run the short form and only print)."""
    parser = argparse.ArgumentParser(prog="python -m bench.policy", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10,000 agents only, fewer requests, one round, regorus the only peer; "
        "prints the tables and writes nothing",
    )
    parser.add_argument("--charter-outside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.charter_outside:
        # Charter's rows of the independent check's shape, as JSON (see `_pure_outside`).
        print(json.dumps(_charter_outside(*_outside_workload(quick=args.quick))))
        return
    section = run(quick=args.quick)
    print(section)
    if not args.quick:
        replace_section(REPORT, "policy", section)


if __name__ == "__main__":
    main()
