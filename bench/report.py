"""docs/benchmarks.md, written by several benchmarks: each owns one marked section.

A section lives between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; a writer
replaces only its own, appending it the first time, so `make bench` and `make bench-http`
each keep the other's numbers.
"""

from __future__ import annotations

import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
TITLE = "# Benchmarks\n\nNumbers from `bench/`, one command each; never from tests.\n"


def cpu_name() -> str:
    """The processor's model name, as /proc/cpuinfo gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def replace_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` between ``name``'s markers in ``path``, leaving the rest as it is."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    start, stop = text.find(begin), text.find(end)
    if start >= 0 and stop > start:
        text = text[:start] + block + text[stop + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
