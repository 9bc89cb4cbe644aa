"""Harmless real text: the project's own files and the Python standard library, scanned.

Nothing in these files is a live secret, so every finding is either an intentional fake
(a test's or a document's example, kept on purpose) or a false alarm. Which one is
decided by where the file is, not by looking at the value: a finding in the project's
``tests/``, ``docs/``, ``examples/`` or ``README.md``, or in the standard library's own
tests, is listed as a fake in a test or document; anywhere else (the project's ``src/``,
the standard library's modules) it counts as a false positive. Every finding is listed
with its file, line, type and confidence, and the value only as a masked shape (letters
and digits replaced by their class), never the value.
"""

from __future__ import annotations

import sysconfig
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import ROOT

PROJECT_PARTS = ("src", "docs", "tests", "examples", "README.md")
TEXT_SUFFIXES = {
    ".py",
    ".md",
    ".yaml",
    ".yml",
    ".json",
    ".toml",
    ".txt",
    ".cel",
    ".rego",
    ".ini",
    ".cfg",
}
FAKE_DIRECTORIES = {"tests", "docs", "examples", "test", "idle_test", "tests.py"}
TIME_BUDGET_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Hit:
    """One finding in a real file, without its value."""

    file: str
    line: int
    type: str
    confidence: float
    shape: str
    fake: bool
    """In a test or a document: an intentional fake, listed but not counted."""


@dataclass
class RealRun:
    """One scanner over one set of files."""

    name: str
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: int = 0
    """Files left unscanned: undecodable, or past the time budget."""
    hits: list[Hit] = field(default_factory=list)

    @property
    def false_positives(self) -> list[Hit]:
        """The findings outside tests and documents."""
        return [hit for hit in self.hits if not hit.fake]


Finder = Callable[[str], list[tuple[int, int, str, float]]]


def shape(value: str, keep: int = 24) -> str:
    """``value`` masked: a lower-case letter becomes ``a``, an upper-case ``A``, a digit
    ``9``; other characters stay; at most ``keep`` characters and the length."""
    masked = "".join(
        "a" if c.islower() else "A" if c.isupper() else "9" if c.isdigit() else c
        for c in value[:keep]
    )
    masked = masked.replace("\n", "\\n").replace("|", "\\|").replace("`", "'")
    return masked + ("…" if len(value) > keep else "") + f" ({len(value)})"


def project_files(root: Path = ROOT) -> Iterator[Path]:
    """The project's own text files: src/, docs/, tests/, examples/ and README.md."""
    for part in PROJECT_PARTS:
        path = root / part
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES
            )


def stdlib_root() -> Path:
    """Where this interpreter's standard library source is."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files() -> Iterator[Path]:
    """The standard library's .py files, without installed packages."""
    for path in sorted(stdlib_root().rglob("*.py")):
        if "site-packages" not in path.parts and "dist-packages" not in path.parts:
            yield path


def _is_fake_place(relative: Path) -> bool:
    parts = set(relative.parts[:-1]) | {relative.name}
    return (
        bool(parts & FAKE_DIRECTORIES)
        or relative.name in ("README.md",)
        or (relative.name.startswith("test_"))
    )


def scan_files(
    name: str,
    find: Finder,
    files: list[tuple[str, Path]],
    budget: float = TIME_BUDGET_SECONDS,
) -> RealRun:
    """Run ``find`` over each file's text (files labelled by the shown name), within
    ``budget`` seconds: the files left when it runs out are counted as skipped."""
    run = RealRun(name)
    started = time.perf_counter()
    for shown, path in files:
        if time.perf_counter() - started > budget:
            run.skipped += 1
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            run.skipped += 1
            continue
        run.files += 1
        run.bytes += len(text.encode("utf-8", "surrogatepass"))
        fake = _is_fake_place(Path(shown))
        for start, end, kind, confidence in find(text):
            line = text.count("\n", 0, start) + 1
            run.hits.append(Hit(shown, line, kind, confidence, shape(text[start:end]), fake))
    run.seconds = time.perf_counter() - started
    return run


def labelled_files(root: Path = ROOT) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    """The project's files and the standard library's, each with the name shown for it."""
    project = [(str(p.relative_to(root)), p) for p in project_files(root)]
    lib = stdlib_root()
    stdlib = [(f"stdlib/{p.relative_to(lib)}", p) for p in stdlib_files()]
    return project, stdlib


def _confidence(hit: Hit) -> str:
    return f"{hit.confidence:.2f}" if hit.confidence >= 0 else "–"  # noqa: RUF001


def render_hits(run: RealRun, limit: int = 40) -> list[str]:
    """The findings of ``run`` as markdown lines: one a finding while there are few,
    grouped by file past ``limit``."""
    if not run.hits:
        return ["No findings."]
    lines = ["| file:line | type | confidence | shape | category |", "|---|---|---|---|---|"]
    if len(run.hits) <= limit:
        for hit in run.hits:
            category = "fake in a test or doc" if hit.fake else "**false positive**"
            lines.append(
                f"| `{hit.file}:{hit.line}` | `{hit.type}` | {_confidence(hit)} | "
                f"`{hit.shape}` | {category} |"
            )
        return lines
    by_file: dict[str, list[Hit]] = {}
    for hit in run.hits:
        by_file.setdefault(hit.file, []).append(hit)
    lines = [
        "| file | findings (line: type confidence) | category |",
        "|---|---|---|",
    ]
    ordered = sorted(by_file.items(), key=lambda item: (item[1][0].fake, -len(item[1]), item[0]))
    for index, (name, hits) in enumerate(ordered):
        if index >= limit:
            rest = ordered[limit:]
            count = sum(len(h) for _, h in rest)
            lines.append(
                f"| {len(rest)} more files | {count} findings | "
                f"{sum(not h.fake for _, hs in rest for h in hs)} false positives |"
            )
            break
        shown = ", ".join(f"{h.line}: `{h.type}` {_confidence(h)}" for h in hits[:6])
        if len(hits) > 6:
            shown += f", … {len(hits) - 6} more"
        category = "fake in a test or doc" if hits[0].fake else "**false positive**"
        lines.append(f"| `{name}` | {shown} | {category} |")
    return lines


def summary(run: RealRun) -> str:
    """One line: what was scanned, how fast, and how many findings of each category."""
    types = Counter(hit.type for hit in run.false_positives)
    top = ", ".join(f"`{t}` {n}" for t, n in types.most_common(5)) or "none"
    return (
        f"{run.name}: {run.files:,} files, {run.bytes / 1e6:.1f} MB in {run.seconds:.1f} s"
        f"{f' ({run.skipped} skipped)' if run.skipped else ''}; {len(run.hits)} findings, "
        f"{len(run.hits) - len(run.false_positives)} in tests or docs, "
        f"**{len(run.false_positives)} false positives** ({top})"
    )
