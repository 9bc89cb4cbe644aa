"""Secrets written into policy files, refused wherever a policy is validated or applied.

A policy revision is stored as it was written and shown to everyone who may read
policy, and what it declares (an agent's purpose, its labels, a guardrail's reason)
reaches the audit log: a token or key pasted into a file would be kept and shown in
clear. A policy names a secret (a vault path, an environment variable), never holds it.
The detectors are the ones that guard decisions ([REDACTED:...] in the audit log); a
server checks its registered leaks too (``charter.secrets.free_text``).

``PolicyTest`` documents are not scanned: their cases are sample requests, and a
guardrail against secrets is tested with one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping

import yaml

from charter.policy.diagnostics import Diagnostic, Severity
from charter.policy.model import Source
from charter.secrets.free_text import found as secrets_found

__all__ = ["secrets_in"]

_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
"""What YAML counts as a line break, so that lines here are the loader's lines."""
_MOST_PER_FILE = 50
"""Secrets reported in one file: enough to fix, never a response as large as the file."""


def secrets_in(files: Mapping[str, str]) -> list[Diagnostic]:
    """An error for every secret the detectors find in ``files`` (``{name: text}``; on a
    server, every registered leak too), at its line and column, at most
    ``_MOST_PER_FILE`` a file; the message says what kind, never the value."""
    found: list[Diagnostic] = []
    for name, text in sorted(files.items()):
        findings = secrets_found(text)
        if not findings:
            continue
        tests = _policy_test_lines(text) if "PolicyTest" in text else []
        starts = [0, *(match.end() for match in _BREAK.finditer(text))]
        reported = 0
        for finding in findings:
            index = bisect_right(starts, finding.start) - 1
            line = index + 1
            if any(first <= line <= last for first, last in tests):
                continue
            if reported == _MOST_PER_FILE:
                break
            reported += 1
            line_start = starts[index]
            found.append(
                Diagnostic(
                    Severity.ERROR,
                    "secret_in_policy",
                    f"this looks like a secret ({finding.type}): a policy is stored, shown "
                    "to its readers and audited as written",
                    Source(name, line, finding.start - line_start + 1),
                    help="name where the secret is kept (a vault path, an environment "
                    "variable), never its value",
                )
            )
    return found


def _policy_test_lines(text: str) -> list[tuple[int, int]]:
    """The first and last lines (from 1) of each ``PolicyTest`` document of ``text``;
    none when it is not YAML, which the loader reports, and which is then scanned whole."""
    spans = []
    try:
        for node in yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(node, yaml.MappingNode) and any(
                isinstance(key, yaml.ScalarNode)
                and key.value == "kind"
                and isinstance(value, yaml.ScalarNode)
                and value.value == "PolicyTest"
                for key, value in node.value
            ):
                end = node.end_mark
                # An end at a line's first column is the next document's "---".
                last = end.line + 1 if end.column else end.line
                spans.append((node.start_mark.line + 1, last))
    except yaml.YAMLError:
        return []
    return spans
