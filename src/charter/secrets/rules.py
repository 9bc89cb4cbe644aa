"""The detectors: one pattern for each secret format, and the rule for values assigned to
secret-like names.

Formats follow the issuers' published shapes (prefixes, alphabets, lengths, checksums).
All patterns are RE2 syntax: ``scan.py`` joins them into one automaton that reads a text
once, whatever the number of rules, so adding a rule costs almost nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from charter.secrets.filters import (
    DEFAULT_CREDENTIAL_CONFIDENCE,
    entropy,
    is_code_reference,
    is_default_credential,
    is_default_password,
    is_hash_name,
    is_hex,
    is_placeholder,
    is_sequential,
    is_stand_in,
    is_uuid,
    looks_like_path_or_url,
    not_secret_name,
)

__all__ = [
    "BASE64_MARKS",
    "FAMILIES",
    "PERCENT_ESCAPE",
    "RULES",
    "SECRET_NAME",
    "Family",
    "Rule",
    "assigned",
    "credential_confidence",
    "secret_span",
]

Check = Callable[[str], float | None]
"""A rule's second look at a match: the confidence, or None to drop it."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One secret format: its exact shape (a Python regular expression, matched where the
    family's prefix was found), how sure a match is, and a second look at it."""

    type: str
    pattern: str
    confidence: float
    check: Check | None = None
    priority: int = 3
    """Of two overlapping findings the higher priority stays (provider formats 3,
    headers and URLs 2, names 1)."""
    group: int | str = 0
    """The regular expression's group that is the secret itself (0: the whole match);
    ``check`` is given that group's text."""
    closer: str | None = None
    """For a block (a PEM key): ``pattern`` is its opening, and the match runs to the
    first place this closing expression matches within ``reach`` characters after the
    opening, as ``opening.{0,reach}?closer`` would. The scanner finds the closings once
    per text, not once per opening: a text of many openings and no closing costs one
    pass, not ``reach`` characters per opening."""
    reach: int = 0
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    closer_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern, re.DOTALL))
        closer = None if self.closer is None else re.compile(f"(?=({self.closer}))", re.DOTALL)
        object.__setattr__(self, "closer_regex", closer)


@dataclass(frozen=True, slots=True)
class Family:
    """Rules that share a prefix: the scanner's automaton looks for the prefix (RE2, no
    counted repetitions, so the automaton stays small); the rules are tried in order at
    each place it is found."""

    prefix: str
    rules: tuple[Rule, ...]
    lead: str | None = None
    """Characters that may come before the prefix as part of a match (a URL's scheme
    before ``://``): a Python regular expression ending in ``$``."""
    needs: str | None = None
    """Text every match holds within 256 characters of the prefix (a URL's ``@`` before
    its host): where it is missing, no rule is tried."""
    lead_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lead_regex", re.compile(self.lead) if self.lead else None)


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_B62[digit])
    return "".join(reversed(digits))


def _github(token: str) -> float | None:
    # Classic tokens end in the base62 CRC32 of the 30 characters after the prefix.
    body, checksum = token[4:-6], token[-6:]
    if is_stand_in(token, 4):
        return None  # ghp_XXXX..., as documentation writes one
    return 0.99 if _base62(zlib.crc32(body.encode()), 6) == checksum else 0.85


def _not_placeholder(confidence: float, body_start: int | None = None) -> Check:
    """``confidence`` unless the value is a stand-in keeping the prefix
    (``filters.is_stand_in``; its body starts at ``body_start``, by default after the
    prefix's lowercase words)."""

    def check(value: str) -> float | None:
        return None if is_stand_in(value, body_start) else confidence

    return check


def _b64url_json(part: str) -> dict[str, object] | None:
    try:
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(decoded)
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


# jwt.io's sample token, copied into countless tutorials: its claims, whatever the
# algorithm it is shown signed with (the HS256 one's key is "your-256-bit-secret").
_SAMPLE_CLAIMS = {"sub": "1234567890", "name": "John Doe"}


def _jwt(token: str) -> float | None:
    header, _, rest = token.partition(".")
    claims, _, signature = rest.partition(".")
    decoded = _b64url_json(header)
    body = _b64url_json(claims)
    if decoded is None or "alg" not in decoded or body is None:
        return None
    if all(body.get(claim) == value for claim, value in _SAMPLE_CLAIMS.items()):
        return None
    return 0.95 if len(signature) >= 16 else 0.6


def _basic(credential: str) -> float | None:
    try:
        decoded = base64.b64decode(credential + "=" * (-len(credential) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    _, colon, password = text.partition(":")
    if not colon or not password or not text.isprintable() or is_placeholder(password):
        return None
    return 0.95


def _bearer(credential: str) -> float | None:
    if len(credential) < 8 or is_placeholder(credential) or is_sequential(credential):
        return None
    return 0.9 if entropy(credential) >= 3.0 else None


_AUTH_VALUE = re.compile(r"(?i)(basic|bearer|token|digest)\s+([A-Za-z0-9._~+/\-]+=*)")


def _authorization(header: str) -> float | None:
    found = _AUTH_VALUE.search(header)
    if found is None:
        return None
    return credential_confidence(found.group(1), found.group(2))


def credential_confidence(scheme: str, credential: str) -> float | None:
    """How sure an ``Authorization: <scheme> <credential>`` value is a secret, or None:
    Basic only when it decodes to ``user:password``, the others when random enough."""
    return _basic(credential) if scheme.lower() == "basic" else _bearer(credential)


# The user may be empty: redis://:password@host is how Redis URLs carry one.
_URL_PASSWORD = re.compile(r"://([^\s:/@\"'<>]*):([^\s@/\"'<>]+)@")


def _url_password(url: str) -> float | None:
    found = _URL_PASSWORD.search(url)
    if found is None:
        return None
    user, password = found.group(1), found.group(2)
    if is_default_credential(user, password):
        return DEFAULT_CREDENTIAL_CONFIDENCE  # guest:guest, postgres:postgres
    if is_placeholder(password) or password.lower() in {"pass", "pwd", "passw0rd", "x"}:
        return None
    return 0.9


_AWS_SECRET_LENGTH = 40


def _aws_secret(match: str) -> float | None:
    # No prefix of its own: 40 characters of base64's alphabet soon after the words "AWS
    # secret", in mixed case with digits (a hex digest or a word is not one).
    value = match[-_AWS_SECRET_LENGTH:]
    if is_placeholder(value) or is_sequential(value) or is_hex(value):
        return None
    if not (_mixed(value) and any(c.isupper() for c in value) and any(c.islower() for c in value)):
        return None
    return 0.85


def _mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def secret_span(rule_type: str, match: str) -> tuple[int, int]:
    """Where, inside a rule's match, the secret itself is (the whole match for most)."""
    if rule_type == "aws_secret_key":
        return max(0, len(match) - _AWS_SECRET_LENGTH), len(match)
    if rule_type == "url_password":
        found = _URL_PASSWORD.search(match)
        if found is not None:
            return found.span(2)
    elif rule_type == "authorization_header":
        found = _AUTH_VALUE.search(match)
        if found is not None:
            return found.span(2)
    return 0, len(match)


_PEM = r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
_PEM_ARMOUR = re.compile(r"-----(?:BEGIN|END)[ A-Z0-9]*-----")
_PEM_HEADER = re.compile(r"^[A-Za-z\-]+: .*$", re.MULTILINE)  # Proc-Type:, DEK-Info:
_PEM_SPACE = re.compile(r"\s|\\[nr]|\\")
_BASE64_BODY = re.compile(r"^[A-Za-z0-9+/]+=*$")
_KEY_BODY_MIN = 64
"""A real key's base64 is longer than this (the smallest, Ed25519 in PKCS#8, is 64)."""


def _private_key(confidence: float) -> Check:
    """``confidence`` when the block holds key material: base64 of at least 64
    characters, not a placeholder, a run or a repeat. The key's format is not parsed: a
    mangled or fake key is reported like a real one. Documentation's ``...``, ``<your
    key here>``, ``${PRIVATE_KEY}`` or a body of ``x`` are not keys."""

    def check(block: str) -> float | None:
        body = _PEM_SPACE.sub("", _PEM_HEADER.sub("", _PEM_ARMOUR.sub("", block)))
        if len(body) < _KEY_BODY_MIN or not _BASE64_BODY.match(body):
            return None
        if is_sequential(body) or entropy(body) < 4.0:
            return None
        return confidence

    return check


FAMILIES: tuple[Family, ...] = (
    Family(
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY",
        (
            Rule(
                "private_key",
                _PEM,
                0.99,
                _private_key(0.99),
                closer=r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
                reach=16384,
            ),
            Rule(
                "private_key", _PEM + r"[A-Za-z0-9+/=\s\\]{40,}", 0.9, _private_key(0.9)
            ),  # cut short
        ),
    ),
    Family(
        r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z2-7]",
        (
            Rule(
                "aws_access_key",
                r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z2-7]{16}\b",
                0.95,
                _not_placeholder(0.95, 4),
            ),
        ),
    ),
    Family(
        r"[Aa][Ww][Ss][_ \-]?[Ss][Ee][Cc][Rr][Ee][Tt]",
        (
            Rule(
                "aws_secret_key",
                r"[Aa][Ww][Ss][_ \-]?[Ss][Ee][Cc][Rr][Ee][Tt][^\n]{0,60}?"
                r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
                0.85,
                _aws_secret,
            ),
        ),
    ),
    Family(
        r"cht_",
        (
            Rule(
                # Charter's own: cht_<public id, 16 base32>_<secret, 43 base64url>.
                "charter_token",
                r"(?<![A-Za-z0-9_-])cht_[a-z2-7]{16}_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])",
                0.99,
                _not_placeholder(0.99, 21),
            ),
        ),
    ),
    Family(r"gh[pousr]_", (Rule("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36}\b", 0.9, _github),)),
    Family(
        r"github_pat_",
        (
            Rule(
                "github_token",
                r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b",
                0.97,
                _not_placeholder(0.97),
            ),
        ),
    ),
    Family(
        r"gl(?:pat|dt|rt|ptt|soat|cbt|ft|imt|oas)-|GR1348941",
        (
            Rule(
                "gitlab_token",
                r"\b(?:gl(?:pat|dt|rt|ptt|soat|cbt|ft|imt|oas)-|GR1348941)[A-Za-z0-9_\-]{20,}",
                0.95,
                _not_placeholder(0.95),
            ),
        ),
    ),
    Family(
        r"https://hooks\.slack\.com/",
        (
            Rule(
                "slack_webhook",
                r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{20,}",
                0.95,
            ),
        ),
    ),
    Family(
        r"xox[abposr]-|xapp-",
        (
            Rule("slack_token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", 0.95, _not_placeholder(0.95)),
            Rule("slack_token", r"\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+", 0.95),
        ),
    ),
    Family(
        r"[sr]k_(?:live|test)_",
        (
            Rule(
                "stripe_key",
                r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,247}\b",
                0.95,
                _not_placeholder(0.95),
            ),
        ),
    ),
    Family(
        r"sk-",
        (
            Rule("anthropic_key", r"\bsk-ant-(?:api|admin|oat|sid)\d{2}-[A-Za-z0-9_\-]{80,}", 0.97),
            Rule(
                "openai_key",
                r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}",
                0.95,
                _not_placeholder(0.95),
            ),
            Rule("openai_key", r"\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b", 0.97),
            Rule("openai_key", r"\bsk-[A-Za-z0-9]{48}\b", 0.85, _not_placeholder(0.85)),
        ),
    ),
    Family(
        r"AIza",
        (Rule("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}", 0.95, _not_placeholder(0.95, 4)),),
    ),
    Family(r"npm_", (Rule("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", 0.95, _not_placeholder(0.95)),)),
    Family(r"pypi-AgE", (Rule("pypi_token", r"\bpypi-AgE[IN][A-Za-z0-9_\-]{50,}", 0.97),)),
    Family(
        r"eyJ",
        (
            Rule(
                "jwt",
                r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
                0.9,
                _jwt,
            ),
        ),
    ),
    Family(
        r"://",
        (
            Rule(
                "url_password",
                r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\"'<>]*:[^\s@/\"'<>]+@",
                0.9,
                _url_password,
                priority=2,
            ),
        ),
        lead=r"[A-Za-z][A-Za-z0-9+.\-]{0,30}$",
        needs="@",
    ),
    Family(
        r"(?i:authorization)",
        (
            Rule(
                "authorization_header",
                r"(?i:authorization)[\"']?\s*[:=]\s*[\"']?(?i:basic|bearer|token|digest)\s+"
                r"[A-Za-z0-9._~+/\-]+=*",
                0.9,
                _authorization,
                priority=2,
            ),
        ),
    ),
    Family(
        r"(?i:bearer)\s",
        (
            Rule(
                "authorization_header",
                r"\b(?i:bearer)\s+[A-Za-z0-9._~+/\-]{16,}=*",
                0.75,
                _authorization,
                priority=2,
            ),
        ),
    ),
)
RULES: tuple[Rule, ...] = tuple(rule for family in FAMILIES for rule in family.rules)


def _any_case(pattern: str) -> str:
    """``pattern`` with each letter as a class of both cases: ``[Kk][Ee][Yy]``."""
    return re.sub(r"[A-Za-z]", lambda m: f"[{m.group().upper()}{m.group().lower()}]", pattern)


# Grouped by first letter and spelt in both cases rather than with (?i): Python's re tries
# every alternative of a case-insensitive group at every character, which made this one
# pattern most of a scan's time; a class as each branch's first item lets it skip the
# branches that cannot start there. The words are those of
# pass(word|wd|phrase)?, pwd, secret, token, api_?key, apikey, access_?key, private_?key,
# auth_?key, credentials?, signing_?key, client_?secret, conn(ection)?_?str(ing)?.
SECRET_NAME = _any_case(
    r"(?:p(?:ass(?:word|wd|phrase)?|wd|rivate[_\-]?key)|s(?:ecret|igning[_\-]?key)|token|"
    r"a(?:pi[_\-]?key|ccess[_\-]?key|uth[_\-]?key)|"
    r"c(?:redentials?|lient[_\-]?secret|onn(?:ection)?[_\-]?str(?:ing)?))"
)
"""A word that makes the value assigned to a name a candidate secret."""
_ENCODED_WORDS = (
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "hooks.slack.com",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "sk-proj-",
    "sk-ant-",
    "sk-",
    "AIza",
    "npm_",
    "pypi-",
    # The providers' own prefixes (providers.py) of four characters or more: shorter
    # ones leave no base64 shape of their own.
    "dop_v1_",
    "ATATT3",
    "shpat_",
    "dapi",
    "GOCSPX-",
    "hvs.",
    "glsa_",
    "xoxe",
    "AccountKey=",
    "SharedAccessKey=",
    "whsec_",
    "lin_api_",
    "sntrys_",
    "PMAK-",
    "dp.pt.",
    "eyJ",
    "-----BEGIN",
    "://",
    "password",
    "Password",
    "PASSWORD",
    "passwd",
    "secret",
    "Secret",
    "SECRET",
    "token",
    "Token",
    "TOKEN",
    "api_key",
    "API_KEY",
    "apikey",
    "ApiKey",
    "Bearer ",
    "Basic ",
)


def _base64_of(word: str) -> set[str]:
    """The base64 text ``word`` always turns into, whatever its offset in the encoded
    bytes (three alignments; the characters the neighbours also shape are left out)."""
    shapes = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + word.encode()).decode()
        first, last = (shift * 8 + 5) // 6, ((shift + len(word)) * 8) // 6
        if last - first >= 4:
            shapes.add(encoded[first:last])
            shapes.add(encoded[first:last].replace("+", "-").replace("/", "_"))
    return shapes


BASE64_MARKS = "|".join(
    sorted({re.escape(shape) for word in _ENCODED_WORDS for shape in _base64_of(word)})
)
"""What the base64 (or base64url) of a known prefix or a secret-like name looks like:
where one is found, the run around it is decoded and scanned again."""
PERCENT_ESCAPE = r"%[0-9A-Fa-f]{2}"
"""A sign of URL encoding."""

_PASSWORD_NAME = re.compile(r"(?i)pass(?:word|wd|phrase)?$|pwd$|^pass|password")
_AWS_SECRET_NAME = re.compile(r"(?i)aws.*secret|secret.?access.?key")
"""A name only an AWS secret key goes under: any other value there is none."""
_AWS_NAME = re.compile(r"(?<![A-Za-z])(?:aws|Aws|AWS)|(?<=[a-z0-9])Aws|(?i:secret.?key)")
"""A name an AWS secret key may go under (``awsToken``, ``AWS_KEY``, ``secretKey``): there
a value of its shape is one, and other values are judged as usual."""
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z2-7]{16}\b")
_AWS_SECRET = re.compile(r"^[A-Za-z0-9/+]{40}$")
_AWS_SECRET_BASE64 = re.compile(r"^[A-Za-z0-9+/]{54}==$")
"""The base64 of 40 characters, as a Kubernetes Secret's ``data`` holds a value."""
_AWS_WORD = re.compile(r"(?<![A-Za-z])(?:aws|Aws|AWS)(?![a-z])")
"""AWS named near a value (``"aws": {"api_key": ...}``, ``[aws]``)."""
_UUID_CONFIDENCE = 0.6
"""A UUID under a secret's name: a key of a service that issues UUIDs, or an id."""
_PAGING_NAME = re.compile(
    r"(?i)(?:next|start(?:ing)?|page|change|sequence|continuation|pagination|cursor|"
    r"idempotency|sync)[_\-.]?token"
)
"""``NextToken``, ``--starting-token``: where a list goes on from, not a credential."""


_UPPER_PREFIXES = ("AKIA", "ASIA", "AIza", "ATATT3", "GOCSPX-", "PMAK-")
"""Issuers' prefixes that start upper-case: their bodies start after them."""
_LOWER_PREFIX = re.compile(r"[a-z][a-z0-9]{0,9}[_\-.~]")
"""An issuer's prefix of lower-case words (``xoxb-``, ``npm_``, ``github_pat_``)."""
_PUBLIC_PREFIXES = ("pk_live_", "pk_test_", "pk.eyJ")
"""Keys their issuers make to be shipped to browsers and apps (Stripe's publishable
keys, Mapbox's public tokens): no secret under whatever name."""


def _prefixed_stand_in(value: str, password: bool) -> bool:
    """A value that keeps an issuer's prefix (``xoxb-``, ``AIza``) but whose body is no
    random value (``filters.is_stand_in``): ``xoxb-12345-abcd234``,
    ``shpat_<access-token>``, ``AIzaSyAbCdEf...``. Under a password's name only the
    upper-case prefixes count: a person's password may start with a short word and a
    dash."""
    for prefix in _UPPER_PREFIXES:
        if value.startswith(prefix):
            return is_stand_in(value, len(prefix))
    return not password and _LOWER_PREFIX.match(value) is not None and is_stand_in(value)


def assigned(name: str, value: str, *, near: str = "") -> tuple[str, float] | None:
    """The type and confidence of a secret ``value`` assigned to ``name`` (a secret-like
    name), or None when the value is a placeholder, a reference or not secret-like.
    ``near`` is the text around the assignment: an AWS key id there makes a
    ``secret_key`` of the right shape an AWS secret key."""
    if not_secret_name(name) or is_placeholder(value) or _PAGING_NAME.search(name):
        return None
    password = _PASSWORD_NAME.search(name) is not None
    if value.startswith(_PUBLIC_PREFIXES) or _prefixed_stand_in(value, password):
        return None
    # Before the path test: an AWS secret key may begin with a slash.
    if _AWS_SECRET.match(value):
        strict = _AWS_SECRET_NAME.search(name) is not None
        shaped = _aws_secret(value) is not None
        if shaped and (strict or _aws_name(name, near) or _AWS_WORD.search(near)):
            return "aws_secret_key", 0.9
        if strict:
            return None  # under an AWS name, but a hex digest or a word is no secret key
    if _aws_secret_encoded(name, value, near):
        return "aws_secret_key", 0.9
    if looks_like_path_or_url(value) or is_code_reference(value):
        return None
    if is_sequential(value):
        return None
    if is_uuid(value):
        # Some services' keys are UUIDs (Heroku, Snyk, Codecov): under a secret's name
        # one is taken as a secret, less surely than a random value.
        return None if is_hash_name(name) else ("generic_secret", _UUID_CONFIDENCE)
    if password:
        # People's passwords are short and far from random; what is left after the
        # placeholders is taken as a password.
        if len(value) < 6 or entropy(value) < 2.0:
            return None
        if is_default_password(value):
            # a compose file's postgres password left as "postgres": reported low
            return "generic_secret", DEFAULT_CREDENTIAL_CONFIDENCE
        return "generic_secret", 0.7 if entropy(value) < 3.0 else 0.8
    if len(value) < 12:
        return None
    score = entropy(value)
    if is_hex(value):
        # Hex is at most 4 bits a character; under a hash-like name it is a digest.
        if is_hash_name(name) or len(value) < 20 or score < 3.0:
            return None
        return "generic_secret", 0.7
    if score < 3.0:
        return None
    return "generic_secret", 0.85 if score >= 4.0 else 0.7


def _aws_secret_encoded(name: str, value: str, near: str) -> bool:
    """An AWS secret key base64-encoded under an AWS name (a Kubernetes Secret's data)."""
    if _AWS_SECRET_BASE64.match(value) is None:
        return False
    if _AWS_SECRET_NAME.search(name) is None and not _aws_name(name, near):
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return False
    return _AWS_SECRET.match(decoded) is not None and _aws_secret(decoded) is not None


def _aws_name(name: str, near: str) -> bool:
    """``awsToken``, ``AWS_KEY``; a ``secret_key`` only with an AWS key id near it."""
    found = _AWS_NAME.search(name)
    if found is None:
        return False
    return found.group(0)[0] in "aA" or _AWS_KEY_ID.search(near) is not None
