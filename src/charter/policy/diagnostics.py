"""What the loader and validator report: every problem at once, each with its place."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from charter.policy.model import Source

__all__ = ["Diagnostic", "Severity", "did_you_mean"]


class Severity(StrEnum):
    """Errors refuse a policy; warnings never block it."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: how bad, a stable code, where, what, and maybe a suggestion."""

    severity: Severity
    code: str
    message: str
    source: Source
    help: str | None = None

    def __str__(self) -> str:
        text = f"{self.source}: {self.severity.value}[{self.code}]: {self.message}"
        return f"{text} ({self.help})" if self.help else text

    def to_json(self) -> dict[str, object]:
        """The diagnostic as the API and ``--json`` show it."""
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.source.file,
            "line": self.source.line,
            "column": self.source.column,
            "help": self.help,
        }


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the closest of ``choices``, if one is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None
