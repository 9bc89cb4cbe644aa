"""Secrets: detectors, fingerprints, the leaked-secret registry's view, and redaction.

``Scanner`` finds secrets in text and in JSON values; each ``Finding`` says what kind,
where, how sure, and the secret's fingerprint (a keyed hash), never the value.
``redact`` replaces each finding with a typed placeholder such as
``[REDACTED:aws_access_key]``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from charter.secrets.findings import LEAKED_SECRET, SECRET_TYPES, Finding, LeakSet
from charter.secrets.scan import MAX_DEPTH, Scanner, placeholder

__all__ = [
    "LEAKED_SECRET",
    "MAX_DEPTH",
    "SECRET_TYPES",
    "Finding",
    "LeakSet",
    "Scanner",
    "placeholder",
    "redact",
]

T = TypeVar("T")
_LOCAL = Scanner()


def redact(value: T) -> T:
    """``value`` (a text, or JSON made of dicts, lists and scalars) with every secret the
    detectors find replaced by ``[REDACTED:<type>]``. Registered leaks need the server's
    key: the SDK's guard asks the server for those."""
    masked: Any = _LOCAL.mask(value)[0]
    return masked  # type: ignore[no-any-return]
