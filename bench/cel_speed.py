"""What a condition costs on values it has not seen: natively, through cel-cpp, and
through the Rust-backed ``cel`` package (for comparison).

    python -m bench.cel_speed [--rounds 7] [--values 20000]

Each round evaluates a condition once on each of ``--values`` requests whose values all
differ (so nothing remembered helps) and whose variables are already built (as the
evaluator's are, once per request); the best round is reported, in microseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from typing import Any

import cel

from charter.policy.cel import compile_condition
from charter.policy.compiled import ConditionError, Variables

CONDITIONS: list[tuple[str, Callable[[int], dict[str, Any]]]] = [
    ("context.amount < 500", lambda n: {"context": {"amount": n, "ticket": "T-1"}}),
    ("agent.riskTier == 'high'", lambda n: {"agent": {"riskTier": f"tier-{n}", "id": "a"}}),
    (
        "has(context.ticket) && context.amount <= 500.5",
        lambda n: {"context": {"amount": n, "ticket": f"T-{n}"}},
    ),
    (
        "request.action in ['read', 'list'] || context.purpose == 'audit'",
        lambda n: {"request": {"action": f"x{n}"}, "context": {"purpose": "p"}},
    ),
    ("size(context.reason) > 10", lambda n: {"context": {"reason": f"because {n}"}}),
]


class _Given(Variables):
    __slots__ = ("given",)

    def __init__(self, given: dict[str, Any]) -> None:
        super().__init__()
        self.given = given

    def build(self, name: str) -> Any:
        return self.given[name]


def _best(run: Callable[[list[Any]], None], batches: list[list[Any]]) -> float:
    best = float("inf")
    for batch in batches:
        started = time.perf_counter()
        run(batch)
        best = min(best, (time.perf_counter() - started) / len(batch))
    return best * 1e6


def _holds(condition: Any) -> Callable[[list[Any]], None]:
    def run(batch: list[Any]) -> None:
        for variables in batch:
            with contextlib.suppress(ConditionError):
                condition.holds(variables)

    return run


def _rust(program: Any) -> Callable[[list[Any]], None]:
    def run(batch: list[Any]) -> None:
        for given in batch:
            with contextlib.suppress(Exception):
                program.execute(cel.Context(given))

    return run


def _requests(
    make: Callable[[int], dict[str, Any]], offset: int, rounds: int, values: int
) -> list[list[Any]]:
    """Batches of variables, every value new, each variable built (once per request)."""
    batches = []
    for round_ in range(rounds):
        batch = [_Given(make(offset + round_ * values + n)) for n in range(values)]
        for variables in batch:
            for name in variables.given:
                variables.get(name)
        batches.append(batch)
    return batches


def measure(rounds: int, values: int) -> list[tuple[str, bool, float, float, float]]:
    """Per condition: whether it is native, and µs per new value natively, through
    cel-cpp and through the ``cel`` package's own ``execute``."""
    rows = []
    for expression, make in CONDITIONS:
        native = compile_condition(expression)
        try:
            general = compile_condition(expression, native=False)  # type: ignore[call-arg,unused-ignore]
        except TypeError:  # a version without the native evaluator
            general = native
        rows.append(
            (
                expression,
                getattr(native, "native", False),
                _best(_holds(native), _requests(make, 0, rounds, values)),
                _best(_holds(general), _requests(make, 10 * rounds * values, rounds, values)),
                _best(
                    _rust(cel.compile(expression)),
                    [[make(n) for n in range(values)] for _ in range(rounds)],
                ),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--values", type=int, default=20000)
    arguments = parser.parse_args(argv)
    print(f"{'condition':66} {'native?':8} {'holds':>7} {'cel-cpp':>8} {'rust raw':>8}  (µs)")
    for expression, is_native, fast, general, rust in measure(arguments.rounds, arguments.values):
        print(f"{expression:66} {is_native!s:8} {fast:7.2f} {general:8.2f} {rust:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
