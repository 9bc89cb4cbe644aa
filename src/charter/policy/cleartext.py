"""Secrets written into policy files, refused wherever a policy is validated or applied.

A policy revision is stored as it was written and shown to everyone who may read
policy, and what it declares (an agent's purpose, its labels, a guardrail's reason)
reaches the audit log: a token or key pasted into a file would be kept and shown in
clear. A policy names a secret (a vault path, an environment variable), never holds it.
The detectors are the ones that guard decisions ([REDACTED:...] in the audit log).
"""

from __future__ import annotations

from collections.abc import Mapping

from charter.policy.diagnostics import Diagnostic, Severity
from charter.policy.model import Source
from charter.secrets import Scanner

__all__ = ["secrets_in"]

_SCANNER = Scanner()


def secrets_in(files: Mapping[str, str]) -> list[Diagnostic]:
    """An error for every secret the detectors find in ``files`` (``{name: text}``), at
    its line and column; the message says what kind, never the value."""
    found: list[Diagnostic] = []
    for name, text in sorted(files.items()):
        for finding in _SCANNER.scan(text):
            line_start = text.rfind("\n", 0, finding.start) + 1
            found.append(
                Diagnostic(
                    Severity.ERROR,
                    "secret_in_policy",
                    f"this looks like a secret ({finding.type}): a policy is stored, shown "
                    "to its readers and audited as written",
                    Source(
                        name, text.count("\n", 0, finding.start) + 1, finding.start - line_start + 1
                    ),
                    help="name where the secret is kept (a vault path, an environment "
                    "variable), never its value",
                )
            )
    return found
