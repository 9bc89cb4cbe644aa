"""Durations as people write them in policies, settings and commands: ``30s``, ``15m``,
``24h``, ``7d``; bounded, so no duration anywhere is longer than ten years."""

from __future__ import annotations

import re
from datetime import timedelta

from charter.codes import ErrorCode
from charter.errors import InvalidInput

__all__ = ["MAX_DURATION", "format_duration", "parse_duration"]

MAX_DURATION = timedelta(days=3660)
"""The longest duration anything accepts (ten years): a grant, a token lifetime, a policy's
``expiresIn``. Longer ones are refused, never rounded down."""

# ASCII digits only (``\d`` would take fullwidth and other digits int() reads), and few
# enough of them that int() never works hard: 3660 days is 316 224 000 seconds, 9 digits.
_DURATION = re.compile(r"([0-9]{1,12})([smhd])", re.ASCII)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_MAX_TEXT = 64


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``15m``, ``24h`` or ``7d`` into a ``timedelta`` of at most
    ``MAX_DURATION``; anything else is ``InvalidInput`` (``invalid_duration``)."""
    match = _DURATION.fullmatch(text.strip()) if len(text) <= _MAX_TEXT else None
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(
            f"invalid duration {text[:_MAX_TEXT]!r}",
            code=ErrorCode.INVALID_DURATION,
            help="write a positive whole number followed by s, m, h or d, e.g. 24h",
        )
    amount, unit = int(match.group(1)), _UNITS[match.group(2)]
    seconds = amount * int(timedelta(**{unit: 1}).total_seconds())
    if seconds > MAX_DURATION.total_seconds():
        raise InvalidInput(
            f"duration {text.strip()!r} is longer than {MAX_DURATION.days} days",
            code=ErrorCode.INVALID_DURATION,
            help=f"durations are at most {MAX_DURATION.days}d (ten years)",
        )
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """``duration`` as ``parse_duration`` reads it, in the largest unit that divides it:
    ``31d``, ``36h``, ``90m``, ``45s`` (never ``31 days, 0:00:00``)."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
