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
    "is_code_reference",
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
    | ^\$\{[A-Za-z_]                         # ${VAR, its brace cut off by the value's end
    | ^\$\(                                  # $(command)
    | ^!(?:secret|vault|env|Ref|Sub|GetAtt|ImportValue)\b  # YAML tags that fetch a value
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
_NOT_REAL = re.compile(r"not[_\-]?a[_\-]?(?:real|secret)")
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
    r"|secrets?_?manager"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PATH_OR_URL = re.compile(r"(?i)^(?:[a-z][a-z0-9+.\-]*://|/|\./|\.\./|~/|[a-z]:\\)")
# A secret manager's path: prod/db-password, kv/data/payments (a lower-case word first).
_SECRET_PATH = re.compile(r"^[a-z]{2,}[a-z0-9_\-]*(?:/[A-Za-z0-9_.\-]+)+$")
# Rows people type a "random" value along; digits wrap round (1234567890), and rows run
# into the next (qwertyuiopasdf, abc...xyz0123...).
_KEYBOARD = (
    "qwertyuiopasdfghjklzxcvbnm",
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "012345678901234567890123456789",
)
_ROWS = (*_KEYBOARD, *(row[::-1] for row in _KEYBOARD))
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
# An identifier path (settings.SECRET_KEY, self.config.db_password) or a call or index
# (getpass.getpass(...), request.headers[...]): code that fetches the secret. Each part
# is in one case, as names are, so a mixed-case password with a dot is not taken for one.
_CODE_PART = r"(?:[a-z_][a-z0-9_]*|[A-Z_][A-Z0-9_]*)"
_CODE_REFERENCE = re.compile(rf"^{_CODE_PART}(?:\.{_CODE_PART})+(?:[(\[].*)?$|^{_CODE_PART}[(\[]")


def entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


_TEMPLATE_MARKS = frozenset("<${}%[!")
_REFERENCE_STARTS = ("process.env", "os.environ", "env.", "secrets.", "vault:", "ssm:", "arn:aws:")
_STAND_IN_PARTS = (
    "example", "sample", "dummy", "placeholder", "changeme", "change_me", "your_", "your-",
    "your ", "redacted", "fake", "insert_", "insert-", "insert ", "replaceme", "replace_me",
    "replace-me", "replace me", "todo", "xxxxx", "***", "...", "____", "####",
)  # fmt: skip
_STAND_IN_WORDS = frozenset(
    {
        "none",
        "null",
        "nil",
        "undefined",
        "true",
        "false",
        "empty",
        "password",
        "passwd",
        "secret",
        "token",
        "string",
        "value",
        "test",
        "testing",
        "admin",
        "default",
        "hidden",
        "masked",
        "required",
        "optional",
        "na",
        "n/a",
    }
)


def is_placeholder(value: str) -> bool:
    """A template, reference, redaction or an obvious stand-in word."""
    # The cheap tests first: the scanner asks this of every candidate it finds.
    lowered = value.lower()
    if lowered in _STAND_IN_WORDS or any(part in lowered for part in _STAND_IN_PARTS):
        return True
    if "not" in lowered and _NOT_REAL.search(lowered):
        return True  # not_a_real_secret and the like
    if _TEMPLATE_MARKS.isdisjoint(value) and not lowered.startswith(_REFERENCE_STARTS):
        return False
    return bool(_PLACEHOLDER.search(value))


def is_sequential(value: str) -> bool:
    """Runs of the alphabet, digits or keyboard rows, or mostly one repeated character."""
    lowered = value.lower()
    # One character more than half the time leaves at most half the value distinct:
    # the count is only taken then (the scanner asks this of every token it finds).
    if (
        len(value) >= 4
        and len(set(lowered)) <= len(value) // 2 + 1
        and Counter(lowered).most_common(1)[0][1] * 2 > len(value)
    ):
        return True
    stripped = _NOT_ALNUM.sub("", lowered)
    if len(stripped) >= 6:
        if any(stripped in row for row in _ROWS):
            return True
        # 1234..., abcd..., with a fixed step
        step = ord(stripped[1]) - ord(stripped[0])
        if step in (1, -1, 0) and all(
            ord(b) - ord(a) == step for a, b in itertools.pairwise(stripped)
        ):
            return True
    # A short unit repeated: abcabcabc, 121212
    for unit in range(1, min(5, len(value) // 3) + 1):
        if value == value[:unit] * (len(value) // unit) + value[: len(value) % unit]:
            return True
    return False


def is_code_reference(value: str) -> bool:
    """An expression that reads the secret from elsewhere: ``settings.SECRET_KEY``,
    ``getpass.getpass(``, ``request.headers[``."""
    return bool(_CODE_REFERENCE.match(value))


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
    """A URL, a file path or a secret manager's path: a reference to where a secret is,
    not the secret."""
    return bool(_PATH_OR_URL.match(value) or _SECRET_PATH.match(value))
