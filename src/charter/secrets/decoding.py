"""Decoding what may hide a secret (base64, URL escapes), keeping where each character
came from so a finding in the decoded text points back into the original."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote

__all__ = ["decode_base64", "decode_percent"]

_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def decode_base64(run: str) -> str | None:
    """The text ``run`` is the base64 (or base64url) of, if it is printable text."""
    if _HEX.match(run):
        return None  # a hex digest, not base64 worth a look
    body = run.rstrip("=")
    if len(body) % 4 == 1:
        return None
    padded = body + "=" * (-len(body) % 4)
    try:
        if "-" in body or "_" in body:
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if not text or not text.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return None
    return text


def decode_percent(text: str) -> tuple[str, list[tuple[int, int]]] | None:
    """``text`` with its ``%XX`` escapes decoded, and for each decoded character the span
    of ``text`` it came from; None when there is nothing to decode."""
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    last = 0
    for found in _ESCAPES.finditer(text):
        start, end = found.span()
        escaped = found.group(0)
        if not _utf8(escaped):
            continue
        pieces.append(text[last:start])
        spans.extend((i, i + 1) for i in range(last, start))
        decoded = unquote(escaped)
        pieces.append(decoded)
        spans.extend([(start, end)] * len(decoded))  # the run as a whole
        last = end
    if not pieces:
        return None
    pieces.append(text[last:])
    spans.extend((i, i + 1) for i in range(last, len(text)))
    return "".join(pieces), spans


def _utf8(escaped: str) -> bool:
    try:
        bytes.fromhex(escaped.replace("%", "")).decode("utf-8")
    except ValueError:
        return False
    return True
