"""False-positive filters: values that look like secrets but are not.

Placeholders and references (``<token>``, ``${VAR}``, ``{{ secret }}``, ``changeme``),
documentation examples, sequential or repeated characters, UUIDs and hashes where a
hash is expected. Each is a plain function of the candidate value (and, for names, the
name it is assigned to), so the detectors and the tests share them.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

__all__ = [
    "entropy",
    "is_hash_name",
    "is_hex",
    "is_placeholder",
    "is_sequential",
    "is_uuid",
    "looks_like_path_or_url",
    "not_secret_name",
]

_PLACEHOLDER = re.compile(
    r"""
    ^<[^<>]*>$                              # <token>
    | \$\{[^}]*\}                           # ${VAR}
    | ^\$[A-Za-z_][A-Za-z0-9_]*$            # $VAR
    | \{\{.*\}\}                            # {{ secret }}
    | \{%.*%\}                              # {% ... %}
    | %\([A-Za-z_]+\)s                      # %(name)s
    | ^%[A-Za-z_][A-Za-z0-9_]*%$            # %VAR%
    | ^\{[A-Za-z_][A-Za-z0-9_]*\}$          # {name}
    | ^\[REDACTED(?::[a-z_]+)?\]$           # Charter's own placeholder
    | (?i:^(?:process\.env|os\.environ|env\.|secrets\.|vault:|ssm:|arn:aws:))
    """,
    re.VERBOSE,
)
_PLACEHOLDER_WORDS = re.compile(
    r"(?i)example|sample|dummy|placeholder|changeme|change_me|your[_\- ]|redacted|"
    r"fake|not[_\-]?a[_\-]?(?:real|secret)|insert[_\- ]|replace[_\- ]?me|todo|"
    r"x{5,}|\*{3,}|\.{3,}|_{4,}|#{4,}|^(?:none|null|nil|undefined|true|false|empty|"
    r"password|passwd|secret|token|string|value|test|testing|admin|default|hidden|"
    r"masked|required|optional|n/?a)$"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_NAME = re.compile(
    r"(?i)sha|md5|hash|digest|checksum|integrity|commit|etag|revision|fingerprint|nonce|"
    r"salt|signature|sum$"
)
_NOT_SECRET_NAME = re.compile(
    r"(?i)(?:(?:^|[_\-.])(?:id|ids|name|names|type|types|url|uri|path|file|dir|length|len|"
    r"count|policy|hash|digest|salt|expires?|expiry|expiration|ttl|age|version|format|"
    r"header|prefix|suffix|hint|label|mode|enabled|required|field|endpoint|host|user|"
    r"username|reset|rotation|strength|provider|scope|scopes|status|kind|description|"
    r"created|updated|at|limit|max|min|timeout|placeholder|count|arn|ref|env|var|"
    r"manager|store|backend|lookup|location|region|algorithm|alg|usage|key_id|keyid)$)"
    r"|^(?:has|is|use|no|allow|require|show)[_\-]"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PATH_OR_URL = re.compile(r"(?i)^(?:[a-z][a-z0-9+.\-]*://|/|\./|\.\./|~/|[a-z]:\\)")
_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz", "0123456789")


def entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


def is_placeholder(value: str) -> bool:
    """A template, reference, redaction or an obvious stand-in word."""
    return bool(_PLACEHOLDER.search(value) or _PLACEHOLDER_WORDS.search(value))


def is_sequential(value: str) -> bool:
    """Runs of the alphabet, digits or keyboard rows, or mostly one repeated character."""
    lowered = value.lower()
    if len(value) >= 4 and Counter(lowered).most_common(1)[0][1] * 2 > len(value):
        return True
    stripped = re.sub(r"[^a-z0-9]", "", lowered)
    if len(stripped) >= 6:
        for row in _KEYBOARD:
            if stripped in row or stripped in row[::-1]:
                return True
        # 1234..., abcd..., with a fixed step
        steps = {ord(b) - ord(a) for a, b in itertools.pairwise(stripped)}
        if len(steps) == 1 and steps <= {1, -1, 0}:
            return True
    # A short unit repeated: abcabcabc, 121212
    for unit in range(1, min(5, len(value) // 3) + 1):
        if value == value[:unit] * (len(value) // unit) + value[: len(value) % unit]:
            return True
    return False


def is_uuid(value: str) -> bool:
    """An RFC 4122 style UUID."""
    return bool(_UUID.match(value))


def is_hex(value: str) -> bool:
    """Only hexadecimal digits."""
    return bool(_HEX.match(value))


def is_hash_name(name: str) -> bool:
    """A name under which a hex digest is expected (``sha256``, ``commit``, ``etag``)."""
    return bool(_HASH_NAME.search(name))


def not_secret_name(name: str) -> bool:
    """A secret-like word qualified into something else: ``token_type``,
    ``password_policy``, ``secretName``, ``has_password``."""
    return bool(_NOT_SECRET_NAME.search(_CAMEL.sub("_", name)))


def looks_like_path_or_url(value: str) -> bool:
    """A URL or a file path: a reference to where a secret is, not the secret."""
    return bool(_PATH_OR_URL.match(value))
