"""Random identifiers with a type prefix (``tok_…``, ``aud_…``)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

__all__ = ["IdFactory", "new_id"]

IdFactory = Callable[[str], str]
"""Makes a fresh identifier for a prefix such as ``"tok"``."""


def new_id(prefix: str) -> str:
    """Return ``prefix_`` followed by 80 random bits in lowercase base32."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
    return f"{prefix}_{raw}"
