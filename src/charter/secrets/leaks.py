"""The leaked-secret registry's records: a fingerprint and why it is there, no value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.clock import format_time

__all__ = ["MAX_NOTE", "Leak"]

MAX_NOTE = 500
"""Longest note, ticket or source a report may carry."""


@dataclass(frozen=True, slots=True)
class Leak:
    """A secret reported exposed: any later request carrying it is denied."""

    fingerprint: str
    type: str | None
    """What the detectors take the secret for (None when reported by fingerprint)."""
    length: int | None
    """The secret's length in characters, so that scans fingerprint only strings of a
    leaked length (None when reported by fingerprint alone)."""
    note: str
    ticket: str | None
    source: str | None
    reported_by: str
    reported_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The leak as the API and the audit log show it (the length stays inside)."""
        return {
            "fingerprint": self.fingerprint,
            "type": self.type,
            "note": self.note,
            "ticket": self.ticket,
            "source": self.source,
            "reported_by": self.reported_by,
            "reported_at": format_time(self.reported_at),
        }
