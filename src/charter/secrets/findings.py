"""What the scanner reports: one ``Finding`` for each secret, never the secret itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["LEAKED_SECRET", "SECRET_TYPES", "Finding", "LeakSet"]

SECRET_TYPES = (
    "aws_access_key",
    "aws_secret_key",
    "github_token",
    "gitlab_token",
    "slack_token",
    "slack_webhook",
    "stripe_key",
    "openai_key",
    "anthropic_key",
    "google_api_key",
    "npm_token",
    "pypi_token",
    "jwt",
    "private_key",
    "url_password",
    "authorization_header",
    "generic_secret",
)
"""Every type a detector reports."""

LEAKED_SECRET = "leaked_secret"
"""The type of a registered leak that no detector recognised (a password, say)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret found: where, what kind, how sure, and its fingerprint."""

    type: str
    path: str
    """Where the string holding it is: ``$`` for plain text, ``$.input.headers[0]`` in JSON."""
    start: int
    end: int
    """Character offsets in that string (of the encoded form, for an encoded secret)."""
    confidence: float
    fingerprint: str | None = None
    """HMAC of the secret under the server's key; None from a scanner without a key."""
    encoding: str | None = None
    """``base64`` or ``url`` when the secret was found only once decoded."""
    leaked: bool = False
    """The fingerprint is in the leaked-secret registry."""
    key: bool = False
    """The secret is in a JSON key (the one ``path`` ends with, shown masked)."""

    def to_json(self) -> dict[str, Any]:
        """The finding as the API, the audit log and CEL see it: no value, ever (``key``
        only when the secret is in a key)."""
        shown = {
            "type": self.type,
            "path": self.path,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
            "fingerprint": self.fingerprint,
            "encoding": self.encoding,
            "leaked": self.leaked,
        }
        if self.key:
            shown["key"] = True
        return shown


@dataclass(frozen=True, slots=True)
class LeakSet:
    """The registered leaks a scan looks for: their fingerprints, and their lengths, so
    that only strings of a leaked length are fingerprinted at all."""

    fingerprints: frozenset[str] = frozenset()
    lengths: frozenset[int] | None = frozenset()
    """None: some leak was registered by fingerprint alone, so every length counts."""
    count: int = 0
    """How many leaks were registered when this view was read (never fewer later)."""

    @classmethod
    def of(cls, leaks: Iterable[tuple[str, int | None]]) -> LeakSet:
        """From ``(fingerprint, length or None)`` pairs."""
        pairs = list(leaks)
        lengths = [length for _, length in pairs]
        return cls(
            fingerprints=frozenset(fingerprint for fingerprint, _ in pairs),
            lengths=None if None in lengths else frozenset(n for n in lengths if n is not None),
            count=len(pairs),
        )

    def __bool__(self) -> bool:
        return bool(self.fingerprints)

    def shortest(self) -> int:
        """The length of the shortest registered leak (1 when some length is unknown)."""
        return 1 if self.lengths is None or not self.lengths else min(self.lengths)

    def wants(self, length: int) -> bool:
        """Whether a candidate of ``length`` characters could be a registered leak."""
        return self.lengths is None or length in self.lengths
