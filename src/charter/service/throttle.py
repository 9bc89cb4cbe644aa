"""A per-second budget for audit records that unauthenticated callers can cause.

Every failed authentication is audited, but anyone who can reach the server can fail
authentication as fast as they can send requests. Past the budget, failures are only
counted, and the count is written as one summary record, so a flood cannot bury the
log or starve real writes of the store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

__all__ = ["FailureBudget", "Suppressed"]


@dataclass(frozen=True, slots=True)
class Suppressed:
    """Failures that were counted but not recorded one by one, in one window."""

    count: int
    since: datetime


class FailureBudget:
    """Allows ``per_second`` records in each one-second window (thread-safe)."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self._lock = threading.Lock()
        self._window: int | None = None
        self._used = 0
        self._suppressed = 0
        self._suppressed_since: datetime | None = None

    def admit(self, now: datetime) -> tuple[bool, Suppressed | None]:
        """Whether to record a failure at ``now``, and a finished window's suppressed count."""
        with self._lock:
            window = int(now.timestamp())
            finished = None
            if window != self._window:
                finished = self._take()
                self._window, self._used = window, 0
            if self._used < self.per_second:
                self._used += 1
                return True, finished
            if self._suppressed == 0:
                self._suppressed_since = now
            self._suppressed += 1
            return False, finished

    def drain(self) -> Suppressed | None:
        """The suppressed count so far, if any, resetting it."""
        with self._lock:
            return self._take()

    def _take(self) -> Suppressed | None:
        if self._suppressed == 0 or self._suppressed_since is None:
            return None
        taken = Suppressed(self._suppressed, self._suppressed_since)
        self._suppressed, self._suppressed_since = 0, None
        return taken
