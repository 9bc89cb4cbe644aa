"""Paging through a listing: opaque cursors, and the cursor after a page.

Every listing answers ``{"<items>": [...], "next_cursor": ...}``. A page as long as the
limit asked may have a successor, so it carries a cursor made from its last item's key;
a shorter page is the last and carries ``null``. A cursor is the key in unpadded
URL-safe base64: opaque to clients, and refused with ``invalid_cursor`` when it is not
one this server could have issued.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from charter.codes import ErrorCode
from charter.errors import InvalidInput

__all__ = ["bad_cursor", "decode_cursor", "encode_cursor", "next_cursor"]

_Item = TypeVar("_Item")


def encode_cursor(value: str) -> str:
    """An opaque page cursor."""
    return base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")


def bad_cursor() -> InvalidInput:
    """The error for a cursor this server did not issue (raise it)."""
    return InvalidInput("the cursor is not one this server issued", code=ErrorCode.INVALID_CURSOR)


def decode_cursor(cursor: str | None) -> str | None:
    """The value inside a page cursor, or ``InvalidInput``."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise bad_cursor() from None
    if not value or not value.isprintable():
        raise bad_cursor()
    return value


def next_cursor(page: Sequence[_Item], limit: int, key: Callable[[_Item], str]) -> str | None:
    """The cursor after ``page`` when it is full (``limit`` items), else None: a short
    page is the last one."""
    if not page or len(page) != limit:
        return None
    return encode_cursor(key(page[-1]))
