"""Chart geometry for the HTML report: rectangles and labels the template draws as
inline SVG, so the report needs no script and fetches nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["OUTCOME_COLOURS", "Bar", "Chart", "bar_chart", "stacked_by_day", "wait_histogram"]

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 240, 44, 36, 16

OUTCOME_COLOURS = {
    "allow": "#2e7d32",
    "deny": "#c62828",
    "approval_required": "#f9a825",
    "step_up_required": "#6a1b9a",
}
SEVERITY_COLOURS = {
    "critical": "#7f0000",
    "high": "#c62828",
    "medium": "#ef6c00",
    "low": "#f9a825",
    "info": "#546e7a",
}
WAIT_BUCKETS = ((5, "< 5 min"), (30, "5-30 min"), (120, "30 min-2 h"), (480, "2-8 h"))


@dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle, with what it stands for (its tooltip)."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart's bars, x labels, y scale and legend."""

    id: str
    title: str
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]
    top_value: int
    legend: tuple[tuple[str, str], ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM
    top: int = TOP

    @property
    def empty(self) -> bool:
        return not self.bars


def _scale(top: int) -> float:
    return (HEIGHT - BOTTOM - TOP) / max(top, 1)


def _columns(
    chart_id: str,
    title: str,
    columns: Sequence[tuple[str, Sequence[tuple[str, int, str]]]],
    legend: Sequence[tuple[str, str]],
) -> Chart:
    """Columns of stacked (name, count, colour) segments, labelled below."""
    top = max((sum(n for _, n, _ in segs) for _, segs in columns), default=0)
    scale = _scale(top)
    slot = (WIDTH - LEFT - 8) / max(len(columns), 1)
    bars, labels = [], []
    for i, (label, segments) in enumerate(columns):
        x = LEFT + i * slot + slot * 0.15
        y: float = HEIGHT - BOTTOM
        for name, count, colour in segments:
            if count <= 0:
                continue
            height = count * scale
            y -= height
            bars.append(Bar(x, y, slot * 0.7, height, colour, f"{label}: {count} {name}"))
        labels.append((x + slot * 0.35, label))
    # Thin labels out so they never overlap.
    step = max(1, len(labels) // 8)
    return Chart(chart_id, title, tuple(bars), tuple(labels[::step]), top, tuple(legend))


def stacked_by_day(by_day: Mapping[str, Mapping[str, int]]) -> Chart:
    """Decisions per day, stacked by outcome (the last 31 days that have any)."""
    days = sorted(by_day)[-31:]
    columns = [
        (
            day[5:],
            [(o, by_day[day].get(o, 0), colour) for o, colour in OUTCOME_COLOURS.items()],
        )
        for day in days
    ]
    legend = [(o, c) for o, c in OUTCOME_COLOURS.items()]
    return _columns("decisions-over-time", "Decisions over time by outcome", columns, legend)


def wait_histogram(waits: Sequence[float]) -> Chart:
    """Approvals by how long a human took to answer them."""
    counts = [0] * (len(WAIT_BUCKETS) + 1)
    for wait in waits:
        slot = next((i for i, (limit, _) in enumerate(WAIT_BUCKETS) if wait < limit), -1)
        counts[slot] += 1
    names = [name for _, name in WAIT_BUCKETS] + ["8 h or more"]
    columns = [
        (name, [("approval(s)", n, "#1565c0")]) for name, n in zip(names, counts, strict=True)
    ]
    chart = _columns("approval-waits", "Approval wait times", columns, [("approvals", "#1565c0")])
    return chart if waits else Chart(chart.id, chart.title, (), (), 0, ())


def bar_chart(counts: Mapping[str, int]) -> Chart:
    """Findings by severity."""
    columns = [(s, [("finding(s)", counts.get(s, 0), c)]) for s, c in SEVERITY_COLOURS.items()]
    chart = _columns("findings-by-severity", "Findings by severity", columns, ())
    return chart if any(counts.values()) else Chart(chart.id, chart.title, (), (), 0, ())
