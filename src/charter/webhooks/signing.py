"""Signing webhook deliveries, and checking a signature on the receiving end.

Every delivery carries ``Charter-Signature: t=<unix seconds>,v1=<hex>`` where the hex
is HMAC-SHA256, keyed with the webhook's secret (its UTF-8 text), over
``f"{t}.{body}"``. The timestamp is inside the signed text, so a receiver that refuses
old timestamps refuses replays too: ``verify_signature`` does both.

Secrets are not stored anywhere: ``WebhookSecrets`` derives each webhook's secret from
one server key, the webhook's id and a random salt kept with the webhook, so a copy of
the database alone cannot forge a delivery.

A webhook's URL is often a credential of its own (a chat's incoming-webhook URL posts to
the channel for anyone who has it): it is stored sealed, AES-256-GCM under a key derived
from the same server key, bound to the webhook's id, so a copy of the database alone
does not hold it either. The audit log names it by its origin and a keyed digest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from charter.clock import Clock, system_clock
from charter.codes import ErrorCode
from charter.errors import Unavailable

__all__ = [
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "WebhookSecrets",
    "sign",
    "signature_header",
    "verify_signature",
]

SIGNATURE_HEADER = "Charter-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SEALED_PREFIX = "sealed:v1:"
"""How a stored URL that is sealed begins (one stored before URLs were sealed is a URL)."""
_LABEL = b"charter webhook secrets v1"
_URL_LABEL = b"charter webhook urls v1"
_DIGEST_LABEL = b"charter webhook url digests v1"
_NONCE = 12


class WebhookSecrets:
    """Derives every webhook's secret from one server key."""

    def __init__(self, server_key: bytes) -> None:
        if len(server_key) < 32:
            raise ValueError("the server key must hold at least 256 bits")
        # Keys of their own, so nothing is ever computed with the server key itself.
        self._root = hmac.new(server_key, _LABEL, hashlib.sha256).digest()
        self._urls = AESGCM(hmac.new(server_key, _URL_LABEL, hashlib.sha256).digest())
        self._digests = hmac.new(server_key, _DIGEST_LABEL, hashlib.sha256).digest()

    def for_webhook(self, webhook_id: str, salt: str) -> str:
        """The secret of one webhook: ``whsec_`` and 43 characters of base64url."""
        mac = hmac.new(self._root, f"{webhook_id}\x00{salt}".encode(), hashlib.sha256)
        return SECRET_PREFIX + base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")

    def seal(self, url: str, webhook_id: str) -> str:
        """``url`` as stored: ``sealed:v1:`` and base64url of a random nonce and the URL
        encrypted under it, bound to ``webhook_id``."""
        nonce = os.urandom(_NONCE)
        sealed = self._urls.encrypt(nonce, url.encode("utf-8"), webhook_id.encode("utf-8"))
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def opened(self, stored: str, webhook_id: str) -> str:
        """The URL ``stored`` holds (a URL stored before URLs were sealed, as it is);
        ``webhook_key_missing`` if it was sealed under another key or for another
        webhook, or changed since."""
        if not stored.startswith(SEALED_PREFIX):
            return stored
        try:
            raw = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :].encode("ascii"))
            url = self._urls.decrypt(raw[:_NONCE], raw[_NONCE:], webhook_id.encode("utf-8"))
            return url.decode("utf-8")
        except (ValueError, InvalidTag):
            raise Unavailable(
                f"webhook {webhook_id}'s URL cannot be opened with this server's key: it "
                "was sealed under another key, or changed in the store",
                code=ErrorCode.WEBHOOK_KEY_MISSING,
                help="remove the webhook and add it again with its URL",
            ) from None

    def digest(self, url: str) -> str:
        """A keyed digest of ``url`` (hex HMAC-SHA256): matches the same URL without
        letting a copy of the audit log test guesses of it."""
        return hmac.new(self._digests, url.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Charter-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    return timestamp, signatures


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    *,
    tolerance: timedelta = timedelta(minutes=5),
    clock: Clock = system_clock,
) -> bool:
    """True if ``header`` (the ``Charter-Signature`` value) signs exactly ``body`` (the
    raw request body, before any JSON parsing) with ``secret``, at a time within
    ``tolerance`` of ``clock()``. Anything else, including a replay of an old
    delivery, is False."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    timestamp, signatures = _parse(header)
    if timestamp is None or not signatures:
        return False
    now: datetime = clock()
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = sign(secret, timestamp, raw)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
