"""Time as a collaborator: code that needs "now" is handed a clock, never reads one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "ManualClock", "format_time", "system_clock", "to_utc"]

Clock = Callable[[], datetime]
"""A clock returns the current time as an aware UTC ``datetime``."""


def system_clock() -> datetime:
    """Return the wall-clock time in UTC."""
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """Return ``moment`` as aware UTC; naive values are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Render a UTC time with microseconds: the one form Charter writes a time in (audit
    record bodies, API answers, events)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ManualClock:
    """A clock that moves only when told to: for tests and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = to_utc(start or datetime(2026, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment``."""
        self._now = to_utc(moment)
