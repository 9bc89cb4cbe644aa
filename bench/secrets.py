"""Charter's secrets scanner against detect-secrets on the labelled corpus, and its speed.

Run: `make bench-secrets` (or `.venv/bin/python -m bench.secrets`). Reads
bench/data/secrets_corpus.jsonl (bench/secrets_corpus.py makes it), scans every sample's
text with `charter.secrets.Scanner.scan` and with detect-secrets (the `bench` extra)
through its in-process API, scores both the same way (`score`), times Charter, and
writes its section of docs/benchmarks.md (between the `secrets` markers, see
bench/report.py).

Scoring: a labelled secret is found when some finding's span overlaps it, whatever type
the finding names (Charter's type accuracy is reported beside). A finding overlapping no
labelled secret is a false positive, each distinct span counted once. Recall = found /
labelled; precision = found / (found + false positives), so a tool gains nothing by
reporting one secret several times. Charter's findings count from `POLICY_CONFIDENCE` up,
for recall and for false positives alike (what a policy acting at that confidence
sees); the wild corpus's scores counting every finding are printed beside.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench import secrets_formats as fmt
from bench import secrets_real as real
from bench import secrets_wild as wild
from bench.report import REPORT, ROOT, cpu_name, replace_section
from bench.secrets_corpus import CORPUS, SEED, build, load
from charter.secrets import SECRET_TYPES as _ALL_TYPES
from charter.secrets.filters import DEFAULT_CREDENTIAL_CONFIDENCE

SECTION = "secrets"
TARGET_RECALL = 0.95
TARGET_PRECISION = 0.95
TARGET_MASK_US = 20.0
WILD_TARGET_PRECISION = 0.97
POLICY_CONFIDENCE = 0.5
"""The confidence from which Charter's findings are counted, as found and as false
positives alike: below it the scanner reports what it judges no one's secret (a product's
default password, ``filters.DEFAULT_CREDENTIAL_CONFIDENCE``) for a policy to see, not to
refuse on."""


@dataclass(frozen=True, slots=True)
class Span:
    """Where a tool says a secret is in a sample's text, and what it calls it."""

    start: int
    end: int
    type: str
    confidence: float = 1.0


Scan = Callable[[str], list[Span]]


@dataclass
class Score:
    """One tool's results over the corpus."""

    labelled: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    typed: Counter[str] = field(default_factory=Counter)
    encoded_labelled: Counter[str] = field(default_factory=Counter)
    encoded_found: Counter[str] = field(default_factory=Counter)
    false_by_type: Counter[str] = field(default_factory=Counter)
    false_by_family: Counter[str] = field(default_factory=Counter)
    true_by_type: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    labelled_by_provider: Counter[str] = field(default_factory=Counter)
    found_by_provider: Counter[str] = field(default_factory=Counter)
    typed_by_provider: Counter[str] = field(default_factory=Counter)
    labelled_by_form: Counter[str] = field(default_factory=Counter)
    found_by_form: Counter[str] = field(default_factory=Counter)
    harmless_by_family: Counter[str] = field(default_factory=Counter)
    flagged_by_family: Counter[str] = field(default_factory=Counter)
    """Samples without a secret where the tool reported anything, by look-alike family."""

    @property
    def recall(self) -> float:
        """Found over labelled, all types."""
        return sum(self.found.values()) / max(1, sum(self.labelled.values()))

    @property
    def false_positives(self) -> int:
        """Distinct spans that overlap no labelled secret."""
        return sum(self.false_by_type.values())

    @property
    def precision(self) -> float:
        """Found over found plus false positives."""
        found = sum(self.found.values())
        return found / max(1, found + self.false_positives)


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


SECRET_TYPES = _ALL_TYPES[:17]
"""Charter's first seventeen types, compared in full; the providers' after them by slug."""


def provider_of(kind: str) -> str:
    """The row a labelled type is counted in: the type itself for Charter's first
    seventeen types, else its provider slug (``twilio`` of ``twilio_api_key``)."""
    return kind if kind in SECRET_TYPES else kind.split("_", 1)[0]


def same_provider(label: str, reported: str) -> bool:
    """Whether a finding's type names the labelled secret's kind: the full type for
    Charter's first seventeen, the provider slug for the others."""
    if label in SECRET_TYPES:
        return reported == label
    return reported.split("_", 1)[0] == label.split("_", 1)[0]


def score(samples: list[dict[str, Any]], scan: Scan) -> Score:
    """Score ``scan`` over ``samples`` (see the module docstring)."""
    result = Score()
    for sample in samples:
        text, labels = sample["text"], sample["secrets"]
        spans: dict[tuple[int, int], str] = {}
        for span in scan(text):
            spans.setdefault((span.start, span.end), span.type)
        for label in labels:
            kind, encoding = label["type"], label["encoding"]
            hits = [
                t for (s, e), t in spans.items() if _overlaps(s, e, label["start"], label["end"])
            ]
            result.labelled[kind] += 1
            row, form = provider_of(kind), sample.get("form") or sample["family"]
            result.labelled_by_provider[row] += 1
            result.labelled_by_form[form] += 1
            if encoding:
                result.encoded_labelled[encoding] += 1
            if hits:
                result.found[kind] += 1
                result.typed[kind] += kind in hits
                result.found_by_provider[row] += 1
                result.found_by_form[form] += 1
                result.typed_by_provider[row] += any(same_provider(kind, t) for t in hits)
                if encoding:
                    result.encoded_found[encoding] += 1
            elif len(result.missed) < 400:
                secret = text[label["start"] : label["end"]]
                result.missed.append(f"{sample['id']} {kind} {encoding} {secret[:60]!r}")
        if not labels:
            result.harmless_by_family[sample["family"]] += 1
            result.flagged_by_family[sample["family"]] += bool(spans)
        for (start, end), kind in spans.items():
            if any(_overlaps(start, end, label["start"], label["end"]) for label in labels):
                result.true_by_type[kind] += 1
                continue
            result.false_by_type[kind] += 1
            result.false_by_family[sample["family"]] += 1
            if len(result.examples) < 400:
                result.examples.append(f"{sample['id']} {kind} {text[start:end][:60]!r}")
    return result


# -- the tools ---------------------------------------------------------------------------


def charter_scan(min_confidence: float = POLICY_CONFIDENCE) -> Scan:
    """`Scanner.scan` on the text, without fingerprints: its findings of
    ``min_confidence`` or more."""
    from charter.secrets import Scanner

    scanner = Scanner(key=None)

    def scan(text: str) -> list[Span]:
        return [
            Span(f.start, f.end, f.type, f.confidence)
            for f in scanner.scan(text)
            if f.confidence >= min_confidence
        ]

    return scan


def _lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def detect_secrets_scan(labels_of: Callable[[str], list[dict[str, Any]]]) -> Scan:
    """detect-secrets' `scan_line` on each line, with every plugin and the default filters.

    `scan_line` is its ad hoc mode: when a line has no quoted string, the entropy plugins
    return every word with its entropy and leave the limit to the caller, as `scan
    --string` does when it prints them; here the plugin's own limit is applied to those,
    as a file scan would. It gives the secret's value, not its place: the value is located
    in its line, at an occurrence overlapping a labelled secret if there is one (its best
    case), else at the first.
    """
    from detect_secrets.core.scan import scan_line
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
    from detect_secrets.settings import get_plugins

    def scan(text: str) -> list[Span]:
        labels = labels_of(text)
        entropy = {
            p.secret_type: p for p in get_plugins() if isinstance(p, HighEntropyStringsPlugin)
        }
        spans: list[Span] = []
        for offset, line in _lines(text):
            for secret in scan_line(line):
                value = secret.secret_value or ""
                plugin = entropy.get(secret.type)
                if not value or (
                    plugin and plugin.calculate_shannon_entropy(value) <= plugin.entropy_limit
                ):
                    continue
                places = []
                at = line.find(value)
                while at >= 0:
                    places.append(offset + at)
                    at = line.find(value, at + 1)
                if not places:
                    continue
                start = next(
                    (
                        p
                        for p in places
                        if any(
                            _overlaps(p, p + len(value), lb["start"], lb["end"]) for lb in labels
                        )
                    ),
                    places[0],
                )
                spans.append(Span(start, start + len(value), secret.type))
        return spans

    return scan


# -- speed ---------------------------------------------------------------------------------


def tool_arguments(*, with_secret: bool) -> dict[str, Any]:
    """A ~1 KB JSON tool call as an agent sends it; with a GitHub token in a header if asked."""
    rng = random.Random(7)  # noqa: S311 - fixed content, not a secret
    headers = {"Content-Type": "application/json", "X-Request-Id": fmt.uuid4(rng)}
    token = fmt.github_token(random.Random(3))  # noqa: S311 - a fake token
    headers["Authorization"] = f"token {token}" if with_secret else "token ${GITHUB_TOKEN}"
    description = (
        "Customer reports that exports started failing after the 2.3 upgrade. Steps: open "
        "Reports, choose 'Last 90 days', click Export CSV; the spinner never stops and the "
        "browser console shows a 504 from /api/v2/exports after 60 seconds. Affects the EU "
        "tenant only, since Tuesday. Logs attached in the linked ticket; trace "
        f"{fmt.hex_digest(rng, 32)}, build {fmt.hex_digest(rng, 40)}. Priority set by the "
        "support rota; please confirm the workaround (smaller date range) with the customer."
    )
    return {
        "tool": "http_request",
        "call_id": "call_" + fmt.pick(rng, fmt.BASE62, 24),
        "arguments": {
            "method": "POST",
            "url": "https://api.github.com/repos/acme/reports/issues",
            "headers": headers,
            "body": {
                "title": "CSV export times out for EU tenant",
                "body": description,
                "labels": ["bug", "exports", "customer-reported"],
                "assignees": ["dana-ops"],
                "milestone": 14,
            },
        },
    }


def _timed(call: Callable[[], object], repetitions: int) -> tuple[float, float]:
    """Median and p99 in µs, each call timed alone with the garbage collector off."""
    clock = time.perf_counter_ns
    samples: list[float] = []
    for _ in range(200):
        call()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repetitions):
            start = clock()
            call()
            samples.append((clock() - start) / 1000)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def _throughput(scan: Callable[[str], object], texts: list[str], rounds: int) -> float:
    """MB (10^6 bytes of UTF-8) scanned per second, the median of ``rounds`` passes."""
    size = sum(len(text.encode()) for text in texts)
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            scan(text)
        rates.append(size / 1e6 / (time.perf_counter() - start))
    return statistics.median(rates)


# -- the report ----------------------------------------------------------------------------


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"  # noqa: RUF001


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def _top(counter: Counter[str], limit: int = 8) -> str:
    items = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return ", ".join(f"`{name}` {count}" for name, count in items) or "none"


def _corpus_lines(samples: list[dict[str, Any]]) -> list[str]:
    labels = [label for sample in samples for label in sample["secrets"]]
    kinds = Counter(sample["kind"] for sample in samples)
    encodings = Counter(label["encoding"] for label in labels if label["encoding"])
    benign = [sample for sample in samples if not sample["secrets"]]
    families = sorted({sample["family"] for sample in benign})
    return [
        f"**The corpus** (`{CORPUS.relative_to(ROOT)}`, written by "
        "`python -m bench.secrets_corpus` from one seed, byte for byte the same each time): "
        f"{len(samples):,} samples ({', '.join(f'{n} {k}' for k, n in kinds.most_common())}) "
        f"holding {len(labels)} fake secrets of {len({lb['type'] for lb in labels})} types, "
        f"{encodings['base64']} of them base64-encoded and {encodings['url']} URL-encoded, "
        f"and {len(benign):,} samples with none. The secrets are random values in each "
        "provider's published format (prefix, length, alphabet; GitHub's classic tokens "
        "with their CRC32 checksum), placed where agents meet them: JSON tool arguments, "
        "application and access logs, .env, YAML, INI and JSON configs, chat messages, "
        "HTTP request dumps, shell commands, source code and connection strings, among "
        "UUIDs, commit SHAs and request ids. The samples without secrets are look-alikes "
        f"in {len(families)} families: {', '.join(f'`{f}`' for f in families)} (placeholders "
        "such as `<token>`, `${API_KEY}`, `{{ secret }}`, `changeme`; references such as "
        "`password: ${DB_PASSWORD}`; AWS's documented `AKIAIOSFODNN7EXAMPLE`; "
        "sha256/sha512 in checksums, lockfiles and `integrity` fields; base64 images "
        "and data; public keys and certificates; Stripe publishable keys).",
    ]


def _tables(charter: Score, peer: Score, samples: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| tool | recall | precision | found / labelled | false positives | "
        "base64-encoded found | URL-encoded found |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in (("Charter (`Scanner.scan`)", charter), ("detect-secrets", peer)):
        found, labelled = sum(result.found.values()), sum(result.labelled.values())
        lines.append(
            f"| {name} | {result.recall:.1%} | {result.precision:.1%} | {found} / {labelled} | "
            f"{result.false_positives} | "
            f"{result.encoded_found['base64']} / {result.encoded_labelled['base64']} | "
            f"{result.encoded_found['url']} / {result.encoded_labelled['url']} |"
        )
    lines += [
        "",
        "Per labelled type (recall counts a detection under any type name; type accuracy = "
        "share of the labelled secrets Charter reported under the label's own type; "
        "Charter precision = of Charter's distinct findings reported under this type, the "
        "share that overlap a labelled secret):",
        "",
        "| type | labelled | Charter recall | detect-secrets recall | Charter type accuracy | "
        "Charter precision (reported type) |",
        "|---|---|---|---|---|---|",
    ]
    for kind in sorted(charter.labelled):
        n = charter.labelled[kind]
        reported = charter.true_by_type[kind] + charter.false_by_type[kind]
        lines.append(
            f"| `{kind}` | {n} | {_pct(charter.found[kind], n)} | {_pct(peer.found[kind], n)} | "
            f"{_pct(charter.typed[kind], n)} | {_pct(charter.true_by_type[kind], reported)} |"
        )
    benign = sum(not sample["secrets"] for sample in samples)
    lines += [
        "",
        f"False positives, by the type each tool reported: Charter {_top(charter.false_by_type)}; "
        f"detect-secrets {_top(peer.false_by_type)}.",
        "",
        f"By the family of the sample they were in ({benign:,} samples have no secret; "
        "a family named after a template is a sample that also holds labelled secrets): "
        f"Charter {_top(charter.false_by_family)}; detect-secrets {_top(peer.false_by_family)}.",
    ]
    return lines


def _flagged_share(result: Score) -> tuple[int, int]:
    return sum(result.flagged_by_family.values()), sum(result.harmless_by_family.values())


def worst(found: Counter[str], labelled: Counter[str], limit: int = 10) -> list[str]:
    """The ``limit`` rows with the lowest share found (ties: most labelled first)."""
    rows = sorted(labelled, key=lambda k: (found[k] / labelled[k], -labelled[k], k))
    return [f"`{k}` {found[k]}/{labelled[k]}" for k in rows[:limit]]


def worst_families(result: Score, limit: int = 10) -> list[str]:
    """The look-alike families Charter flags most often."""
    rows = sorted(
        result.harmless_by_family,
        key=lambda k: (-result.flagged_by_family[k] / result.harmless_by_family[k], k),
    )
    return [
        f"`{k}` {result.flagged_by_family[k]}/{result.harmless_by_family[k]}"
        for k in rows[:limit]
        if result.flagged_by_family[k]
    ]


def _wild_lines(results: Results) -> list[str]:
    samples, charter, peer = results.wild_samples, results.wild_charter, results.wild_peer
    secrets = [sample for sample in samples if sample["secrets"]]
    harmless = len(samples) - len(secrets)
    providers = {sample["provider"] for sample in secrets}
    forms = {sample["form"] for sample in secrets}
    lines = [
        "### The second corpus: many providers, every common form",
        "",
        f"`{wild.CORPUS.relative_to(ROOT)}` (written by `python -m bench.secrets_wild` from "
        f"one seed; built independently of the first corpus and of the scanner's rules): "
        f"{len(samples):,} samples, {sum(len(s['secrets']) for s in secrets):,} fake secrets "
        f"of {len(providers)} providers ({len(charter.labelled)} types; "
        f"{wild.PER_PROVIDER} each) written in {len(forms)} forms, and {harmless:,} harmless "
        f"look-alikes in {len(charter.harmless_by_family)} families. A value without a "
        "distinctive prefix (a Twilio auth token, a Heroku UUID key, Datadog hex keys, an "
        "Azure storage AccountKey) is always written next to its provider's name; prefixed "
        "values also stand under neutral names (`API_TOKEN`) and alone in prose.",
        "",
        "| tool | recall | precision | found / labelled | false positives | "
        "harmless samples flagged |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in (("Charter (`Scanner.scan`)", charter), ("detect-secrets", peer)):
        flagged, total = _flagged_share(result)
        lines.append(
            f"| {name} | {result.recall:.1%} | {result.precision:.1%} | "
            f"{sum(result.found.values())} / {sum(result.labelled.values())} | "
            f"{result.false_positives} | {flagged} / {total} ({_pct(flagged, total)}) |"
        )
    every = results.wild_every
    low = every.false_positives - charter.false_positives
    lines += [
        "",
        f"Charter's row counts findings of confidence {POLICY_CONFIDENCE} or more, as found "
        "and as false positives alike (what a policy acting from there sees). Counting "
        f"every finding it makes: recall {every.recall:.1%}, precision {every.precision:.1%}, "
        f"{every.false_positives} false positives; the {low} below {POLICY_CONFIDENCE} are "
        + (_top(Counter(every.false_by_family) - Counter(charter.false_by_family)) or "none")
        + " by family (a product's default password is reported at "
        f"`filters.DEFAULT_CREDENTIAL_CONFIDENCE`, {DEFAULT_CREDENTIAL_CONFIDENCE}).",
        "",
        "Worst for Charter: providers "
        + ", ".join(worst(charter.found_by_provider, charter.labelled_by_provider))
        + "; forms "
        + ", ".join(worst(charter.found_by_form, charter.labelled_by_form))
        + "; look-alike families "
        + (", ".join(worst_families(charter)) or "none")
        + ".",
        "",
        "Per provider (a row per provider slug, Charter's first seventeen types each their "
        "own row; type accuracy = share of the labelled secrets Charter reported under the "
        "same provider, the full type for the first seventeen):",
        "",
        "| provider | labelled | Charter recall | detect-secrets recall | Charter type accuracy |",
        "|---|---|---|---|---|",
    ]
    for row in sorted(charter.labelled_by_provider):
        n = charter.labelled_by_provider[row]
        lines.append(
            f"| `{row}` | {n} | {_pct(charter.found_by_provider[row], n)} | "
            f"{_pct(peer.found_by_provider[row], n)} | "
            f"{_pct(charter.typed_by_provider[row], n)} |"
        )
    lines += [
        "",
        "Per form (how the secret is written down):",
        "",
        "| form | labelled | Charter recall | detect-secrets recall |",
        "|---|---|---|---|",
    ]
    for form in sorted(charter.labelled_by_form):
        n = charter.labelled_by_form[form]
        lines.append(
            f"| `{form}` | {n} | {_pct(charter.found_by_form[form], n)} | "
            f"{_pct(peer.found_by_form[form], n)} |"
        )
    lines += [
        "",
        "Per look-alike family (share of the harmless samples where the tool reported anything):",
        "",
        "| family | samples | Charter flagged | detect-secrets flagged |",
        "|---|---|---|---|",
    ]
    for family in sorted(charter.harmless_by_family):
        n = charter.harmless_by_family[family]
        lines.append(
            f"| `{family}` | {n} | {_pct(charter.flagged_by_family[family], n)} | "
            f"{_pct(peer.flagged_by_family[family], n)} |"
        )
    return lines


def _real_lines(results: Results) -> list[str]:
    lines = [
        "### Harmless real text",
        "",
        "The project's own `src/`, `docs/`, `tests/`, `examples/` and `README.md`, and the "
        "Python standard library's .py files, each file scanned whole. Nothing there is a "
        "live secret. The category is decided by where the file is, not by the value: a "
        "finding in a test or a document (the project's tests and docs, the standard "
        "library's tests) is listed and not counted, whether it is an intentional fake or "
        "not; one anywhere else is a **false positive**. Values are shown only as masked "
        "shapes (`a` lower-case letter, `A` upper-case, `9` digit; length in brackets).",
        "",
    ]
    for run in results.real_runs:
        lines.append(f"- {real.summary(run)}")
    lines.append(
        "- detect-secrets, Python standard library: not run (at its speed here, about "
        "0.07 MB/s, its 30 MB take several minutes)"
    )
    for run in results.real_runs:
        lines += ["", f"{run.name}:", "", *real.render_hits(run)]
    explained = [
        f"- `{file}`: {why}"
        for file, why in EXPLAINED.items()
        if any(
            hit.file == file
            for run in results.real_runs
            if run.name.startswith("Charter")
            for hit in run.false_positives
        )
    ]
    unexplained = sorted(
        {
            hit.file
            for run in results.real_runs
            if run.name.startswith("Charter")
            for hit in run.false_positives
            if hit.file not in EXPLAINED
        }
    )
    if explained or unexplained:
        lines += ["", "Charter's false positives on real text, explained:", "", *explained]
        lines += [f"- `{file}`: not yet explained" for file in unexplained]
    return lines


EXPLAINED = {
    "stdlib/distutils/command/register.py": "a docstring shows a `.pypirc` with "
    "`password: sekrit`; a made-up password in prose reads as a password would, and the "
    "scanner has no way to tell a module's docstring from a configuration file.",
    "stdlib/urllib/request.py": "the module docstring's example "
    "`add_password(..., passwd='geheim$parole')`: the same as above, an invented password "
    "written exactly as a real one is.",
    "stdlib/pydoc_data/topics.py": "the help text of the `pass` statement is stored under "
    "the key `'pass'`, a name a password goes under too; the value is a quoted sentence, "
    "and passphrases with spaces are real secrets, so sentences are not filtered.",
}
"""Charter's false positives that remain on harmless real text, each with why it is left:
hand-written, shown only while the finding is there (a file not listed here is printed
as not yet explained)."""


@dataclass(frozen=True)
class Results:
    """Everything one run measured."""

    samples: list[dict[str, Any]]
    charter: Score
    peer: Score
    other_seed: Score
    peer_version: str
    charter_rate: float
    peer_rate: float
    call_size: int
    timings: dict[str, tuple[float, float]]
    wild_samples: list[dict[str, Any]]
    wild_charter: Score
    wild_every: Score
    """Charter on the wild corpus counting every finding, whatever its confidence."""
    wild_peer: Score
    real_runs: list[real.RealRun]


DECIDE_ALONE = "a decision alone (embedded `Engine`, example pack)"
DECIDE_SCANNED = "the same decision after masking its context and the call as its input"


def _decisions(scanner: Any, tool_call: dict[str, Any]) -> tuple[Callable[[], object], ...]:
    """A decision as the embedded engine makes it, and the same with the scan the server
    does first (``LeakService.scan_request``: context and input masked in one pass, the
    findings passed on)."""
    from dataclasses import replace

    from charter import Capability, Engine, Request

    engine = Engine.from_directory(ROOT / "examples" / "policies")
    context = {"purpose": "incident", "ticket": "INC-1"}
    request = Request(
        agent="secrets-scanner",
        capability=Capability.DO,
        action="ticket.create",
        resource="ticketing/queue/remediation",
        context=context,
    )
    if not engine.decide(request).allowed:
        raise RuntimeError("the timed decision is not an allow")

    def alone() -> object:
        return engine.decide(request)

    def scanned() -> object:
        _, findings = scanner.mask({"context": context, "input": tool_call})
        return engine.decide(replace(request, secrets=tuple(findings)))

    return alone, scanned


def _real_runs() -> list[real.RealRun]:
    """Charter over the project's files and the standard library's; detect-secrets over
    the project's only (at its speed the standard library would take minutes)."""
    from detect_secrets.settings import default_settings

    charter = charter_scan(0.0)  # every finding listed, its confidence shown

    def charter_find(text: str) -> list[tuple[int, int, str, float]]:
        return [(s.start, s.end, s.type, s.confidence) for s in charter(text)]

    project, stdlib = real.labelled_files()
    runs = [
        real.scan_files("Charter, project files", charter_find, project),
        real.scan_files("Charter, Python standard library", charter_find, stdlib),
    ]
    with default_settings():
        peer = detect_secrets_scan(lambda text: [])
        runs.append(
            real.scan_files(
                "detect-secrets, project files",
                lambda text: [(s.start, s.end, s.type, -1.0) for s in peer(text)],
                project,
            )
        )
    return runs


def measure() -> Results:
    """Score both tools on the corpus and time Charter."""
    from importlib.metadata import version

    from detect_secrets.settings import default_settings

    from charter.secrets import Scanner

    samples = load()
    labels_by_text = {sample["text"]: sample["secrets"] for sample in samples}
    texts = [sample["text"] for sample in samples]
    charter = score(samples, charter_scan())
    # The same templates with new random values: the rules were tuned on the committed
    # corpus, so this shows whether they fit its values rather than its formats.
    other_seed = score(build(SEED + 1), charter_scan())
    with default_settings():
        peer_scan = detect_secrets_scan(lambda text: labels_by_text.get(text, []))
        peer = score(samples, peer_scan)
        peer_rate = _throughput(peer_scan, texts, rounds=1)

    scanner = Scanner(key=b"\x00" * 32)
    charter_rate = _throughput(scanner.scan, texts, rounds=5)
    benign_value, secret_value = tool_arguments(with_secret=False), tool_arguments(with_secret=True)
    masked, findings = scanner.mask(secret_value)
    if [f.type for f in findings] != ["github_token"] or "[REDACTED:" not in json.dumps(masked):
        raise RuntimeError(f"mask did not redact the one token: {findings}")
    if scanner.scan(benign_value):
        raise RuntimeError("the benign tool call has findings: the timing would not be benign")
    benign_text = json.dumps(benign_value)
    decide_alone, decide_scanned = _decisions(scanner, benign_value)
    timings = {
        "`mask`, no secret": _timed(lambda: scanner.mask(benign_value), 5_000),
        "`mask`, one GitHub token in a header": _timed(lambda: scanner.mask(secret_value), 5_000),
        "`scan`, no secret": _timed(lambda: scanner.scan(benign_value), 5_000),
        "`scan` of the same call as JSON text, no secret": _timed(
            lambda: scanner.scan(benign_text), 5_000
        ),
        DECIDE_ALONE: _timed(decide_alone, 5_000),
        DECIDE_SCANNED: _timed(decide_scanned, 5_000),
    }
    wild_samples = wild.load()
    wild_labels = {sample["text"]: sample["secrets"] for sample in wild_samples}
    wild_charter = score(wild_samples, charter_scan())
    wild_every = score(wild_samples, charter_scan(0.0))
    with default_settings():
        wild_peer = score(wild_samples, detect_secrets_scan(lambda text: wild_labels.get(text, [])))
    real_runs = _real_runs()
    return Results(
        wild_samples=wild_samples,
        wild_charter=wild_charter,
        wild_every=wild_every,
        wild_peer=wild_peer,
        real_runs=real_runs,
        samples=samples,
        charter=charter,
        peer=peer,
        other_seed=other_seed,
        peer_version=version("detect-secrets"),
        charter_rate=charter_rate,
        peer_rate=peer_rate,
        call_size=len(benign_text.encode()),
        timings=timings,
    )


def render(results: Results) -> str:
    """The markdown section for ``results``."""
    samples, charter, peer, timings = (
        results.samples,
        results.charter,
        results.peer,
        results.timings,
    )
    texts = [sample["text"] for sample in samples]
    mask_median = timings["`mask`, no secret"][0]
    mask_secret = timings["`mask`, one GitHub token in a header"][0]
    added = timings[DECIDE_SCANNED][0] - timings[DECIDE_ALONE][0]
    lines = [
        "## Secrets scanner (`charter.secrets`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu_name()} "
        f"({platform.system()} {platform.machine()}, Python {platform.python_version()}), "
        f"with `make bench-secrets` (`python -m bench.secrets`), against detect-secrets "
        f"{results.peer_version}.",
        "",
        *_corpus_lines(samples),
        "",
        "**Scoring.** Each sample's text is scanned whole by `Scanner.scan` (no "
        "fingerprints) and line by line by detect-secrets' in-process `scan_line` inside "
        "`default_settings()` (every plugin, the default filters). `scan_line` gives a "
        "value, not a place: it is located in its line, at an occurrence overlapping a "
        "labelled secret if there is one, else at the first. In that ad hoc mode the "
        "entropy plugins return unquoted words whatever their entropy (for `scan --string` "
        "to print); the plugins' own limits are applied to those here, as a file scan "
        "applies them. A labelled secret is found when any finding's span overlaps it, "
        "under whatever type; a finding that overlaps no labelled secret is a false "
        "positive, each distinct span once. Recall = found / labelled; precision = found / "
        "(found + false positives). Charter's findings count from confidence "
        f"{POLICY_CONFIDENCE} up, for recall and false positives alike: below it the "
        "scanner reports what it judges no one's secret (a product's default password such "
        "as `postgres:postgres`) for a policy to see, not to refuse on; the second corpus "
        "below also gives the scores counting every finding.",
        "",
        *_tables(charter, peer, samples),
        "",
        "Charter's rules and filters (`src/charter/secrets/rules.py`, `filters.py`) were "
        "tuned while looking at this corpus's misses and false positives, so these numbers "
        "flatter it. On a corpus generated from the next seed (the same templates with new "
        f"values) it finds {results.other_seed.recall:.1%} with a precision of "
        f"{results.other_seed.precision:.1%} ({results.other_seed.false_positives} false "
        "positives); new surroundings, not new values, are what would test it.",
        "",
        f"**Speed.** Charter scans the whole corpus at {results.charter_rate:.1f} MB/s "
        "(median of 5 "
        f"passes over {sum(len(t.encode()) for t in texts) / 1e6:.2f} MB, one core); "
        f"detect-secrets as driven here at {results.peer_rate:.2f} MB/s. A "
        f"{results.call_size:,}-byte JSON tool "
        "call (`bench.secrets.tool_arguments`), each call timed alone with "
        "`perf_counter_ns`, 5,000 repetitions after 200 warm-up calls, garbage collector off:",
        "",
        "| call | median µs | p99 µs |",
        "|---|---|---|",
        *(f"| {name} | {median:.1f} | {p99:.1f} |" for name, (median, p99) in timings.items()),
        "",
        f"Scanning adds {added:.1f} µs to that decision (the difference of the two medians "
        "above). Where a 1 KB scan's time goes (cProfile): the walk over the JSON value and "
        "the RE2 set that tells which rules' prefixes occur, 2-4 µs each; then, only for the "
        "prefixes found, Python `re` and `str.find` passes over the joined text and the "
        "checks of each candidate (placeholders, sequences, entropy). A call holding a "
        "secret pays for its exact match, fingerprint, path and the masked copy of the "
        "value, several times the benign cost.",
        "",
        *_wild_lines(results),
        "",
        *_real_lines(results),
        "",
        "**Against the targets**, in this run:",
        "",
        f"- recall {charter.recall:.1%} (≥ 95%: {_verdict(charter.recall >= TARGET_RECALL)}; "
        f"detect-secrets {peer.recall:.1%}, above it: {_verdict(charter.recall > peer.recall)})",
        f"- precision {charter.precision:.1%} (≥ 95%: "
        f"{_verdict(charter.precision >= TARGET_PRECISION)}; detect-secrets "
        f"{peer.precision:.1%}, above it: {_verdict(charter.precision > peer.precision)})",
        f"- on the second corpus: recall {results.wild_charter.recall:.1%} (≥ 95%: "
        f"{_verdict(results.wild_charter.recall >= TARGET_RECALL)}), precision "
        f"{results.wild_charter.precision:.1%} (≥ 97%: "
        f"{_verdict(results.wild_charter.precision >= WILD_TARGET_PRECISION)})",
        f"- scanning a ~1 KB input adds {added:.1f} µs to a decision "
        f"(≤ {TARGET_MASK_US:.0f}: {_verdict(added <= TARGET_MASK_US)}); `mask` alone "
        f"{mask_median:.1f} µs without a secret, {mask_secret:.1f} µs with one (a request "
        "carrying a secret pays more, and is usually refused for it)",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Measure, print and record the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--misses", action="store_true", help="also list each tool's misses and false positives"
    )
    args = parser.parse_args(argv)
    results = measure()
    section = render(results)
    print(section)
    if args.misses:
        for name, result in (("charter", results.charter), ("detect-secrets", results.peer)):
            print(f"\n# {name}: missed\n" + "\n".join(result.missed))
            print(f"\n# {name}: false positives\n" + "\n".join(result.examples))
    replace_section(REPORT, SECTION, section)


if __name__ == "__main__":
    main()
