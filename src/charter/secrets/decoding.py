"""Decoding what may hide a secret (base64, URL escapes), keeping where each character
came from so a finding in the decoded text points back into the original; and, for the
registered leaks, every wrapping a value may be in (hex, base64, ``%XX``, ``\\uXXXX``
and other backslash escapes, HTML character references), layer under layer, with the
work bounded."""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterator
from urllib.parse import unquote

from charter.codes import ErrorCode
from charter.errors import InvalidInput

__all__ = [
    "MAX_LAYERS",
    "MAX_WRAPPED",
    "Budget",
    "decode_base64",
    "decode_escapes",
    "decode_hex",
    "decode_percent",
    "unwrapped",
]

MAX_LAYERS = 4
"""Wrappings taken off one value at most (base64 of hex of a %-escaped secret is three)."""
MAX_WRAPPED = 65536
"""Longest string whose wrappings are taken off, in characters."""
_MIN_WRAPPED = 4

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


_HEX_RUN = re.compile(r"^(?:0[xX])?((?:[0-9a-fA-F]{2})+)$")
_BASE64_RUN = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_BASE64_LINES = re.compile(r"^[A-Za-z0-9+/]+(?:\s+[A-Za-z0-9+/]+)+={0,2}$")
"""Base64 broken into lines (MIME, PEM bodies)."""
_SEPARATED_HEX = re.compile(r"^[0-9a-fA-F]{2}(?:[ :,-][0-9a-fA-F]{2})+$")
"""Hex bytes with a separator between them: ``70:6c:75`` or ``70 6c 75``."""
_SEPARATORS = re.compile(r"[\s:,-]")
_BACKSLASH = re.compile(
    r"\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})"
    r"|([\\/\"'bfnrt]))"
)
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class Budget:
    """Characters that taking wrappings off may still produce for one scan: past it the
    value is refused (``input_too_complex``) rather than scanned in part."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, amount: int) -> None:
        """Take ``amount`` characters, or refuse the value when none are left."""
        self.left -= amount
        if self.left < 0:
            raise InvalidInput(
                "the value holds more layers of encoded text than a scan takes off",
                code=ErrorCode.INPUT_TOO_COMPLEX,
                help="send the text decoded, or fewer encoded strings in one request",
            )


def decode_hex(text: str) -> str | None:
    """The text ``text`` is the hex of (``0x`` allowed), if it is printable text."""
    found = _HEX_RUN.match(text)
    if found is None:
        return None
    try:
        decoded = bytes.fromhex(found.group(1)).decode("utf-8")
    except ValueError:
        return None
    return decoded if _printable(decoded) else None


def decode_escapes(text: str) -> str | None:
    """``text`` with its backslash escapes (JSON's ``\\uXXXX`` with surrogate pairs,
    ``\\xNN``, ``\\u{...}``, ``\\n``, ...) decoded; None when there are none."""
    if "\\" not in text:
        return None

    def one(found: re.Match[str]) -> str:
        code = found.group(1) or found.group(2) or found.group(3) or found.group(4)
        if code is not None:
            number = int(code, 16)
            return chr(number) if number <= 0x10FFFF else found.group(0)
        simple = found.group(5)
        return _SIMPLE.get(simple, simple)

    decoded = _BACKSLASH.sub(one, text)
    if decoded == text:
        return None
    # A pair of \uD8xx\uDCxx escapes is one character.
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _printable(text: str) -> bool:
    return bool(text) and text.replace("\n", "").replace("\r", "").replace("\t", "").isprintable()


def _layers(text: str) -> Iterator[tuple[str, str]]:
    """What ``text`` decodes to by one wrapping taken off, and that wrapping's name."""
    if len(text) < _MIN_WRAPPED or len(text) > MAX_WRAPPED:
        return
    if "%" in text:
        found = decode_percent(text)
        if found is not None and found[0] != text:
            yield found[0], "url"
    if "\\" in text:
        escaped = decode_escapes(text)
        if escaped is not None:
            yield escaped, "escape"
    if "&" in text and ";" in text:
        referenced = html.unescape(text)
        if referenced != text:
            yield referenced, "html"
    if _HEX_RUN.match(text):
        hexed = decode_hex(text)
        if hexed is not None:
            yield hexed, "hex"
    elif _SEPARATED_HEX.match(text):
        hexed = decode_hex(_SEPARATORS.sub("", text))
        if hexed is not None:
            yield hexed, "hex"
    elif _BASE64_LINES.match(text):
        lines = decode_base64("".join(text.split()))
        if lines is not None:
            yield lines, "base64"
    if _BASE64_RUN.match(text):
        based = decode_base64(text) if not _HEX_RUN.match(text) else _base64_of_hex(text)
        if based is not None:
            yield based, "base64"


def _base64_of_hex(text: str) -> str | None:
    # decode_base64 leaves hex-looking runs alone (digests); a wrapped leak may be both.
    body = text.rstrip("=")
    if len(body) % 4 == 1:
        return None
    try:
        decoded = base64.b64decode(body + "=" * (-len(body) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return decoded if _printable(decoded) else None


def unwrapped(text: str, budget: Budget) -> Iterator[tuple[str, str]]:
    """Every text ``text`` is a wrapping of, up to ``MAX_LAYERS`` wrappings deep (hex,
    base64, ``%XX``, backslash escapes, HTML references, in any order), each with the
    wrappings taken off (``base64+hex``); ``text`` itself is not among them."""
    seen = {text}
    frontier = [(text, "")]
    for _ in range(MAX_LAYERS):
        following = []
        for current, names in frontier:
            for decoded, name in _layers(current):
                stripped = decoded.strip()
                if not stripped or stripped in seen:
                    continue
                budget.spend(len(stripped))
                seen.add(stripped)
                chain = f"{names}+{name}" if names else name
                yield stripped, chain
                following.append((stripped, chain))
        if not following:
            return
        frontier = following
