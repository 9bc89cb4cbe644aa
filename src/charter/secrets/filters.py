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
    "DEFAULT_CREDENTIAL_CONFIDENCE",
    "entropy",
    "is_code_reference",
    "is_default_credential",
    "is_default_password",
    "is_hash_name",
    "is_hex",
    "is_placeholder",
    "is_published_example",
    "is_sequential",
    "is_stand_in",
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
    r"|(?:^|[_\-.])(?:public|publishable)(?:[_\-.]|$)"
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
# A call or an index may name its parts in any case a language names them in (System,
# getenv, GetEnvironmentVariable, from_pretrained), each part word-like: three or more
# characters, no digit, humps of two letters or more. A generated password with a
# bracket in it ("Xk9(q!") does not read as one. Plain patterns, checked part by part:
# one nested pattern for all of it backtracks without end on long random values.
_JOIN = r"(?:\.|->|::)"
_CODE_REFERENCE = re.compile(rf"^\$?{_CODE_PART}(?:{_JOIN}{_CODE_PART})+(?:[(\[].*)?$")
_CALL = re.compile(rf"^(?:new\s+|await\s+)?[$@]?(\w+(?:{_JOIN}\w+)*)[(\[]", re.ASCII)
_CALL_JOIN = re.compile(_JOIN)


def _word_like(part: str) -> bool:
    if len(part.strip("_")) < 3 or any(c.isdigit() for c in part):
        return False
    return all(len(piece) >= 2 for piece in _WORD_PIECE.findall(part))


# A name passed on, not a value: db_password, apiToken, SECRET_KEY_BASE (words only, one
# of them a secret's; a value made of digits and symbols is no identifier).
_SECRET_STEM = re.compile(r"(?i)pass|pwd|secret|token|key|cred|auth")
_IDENTIFIER_NAME = re.compile(r"^(?:[a-z]+(?:_[a-z]+)+|[a-z]+(?:[A-Z][a-z]+)+|[A-Z]+(?:_[A-Z]+)+)$")
_TYPE_NAMES = frozenset(
    {
        "str", "string", "bytes", "char[]", "byte[]", "secretstr", "secretbytes",
        "securestring", "secretstring", "sensitivestring", "secretkeyref", "secretref",
        "valuefrom", "configmapkeyref", "fieldref", "secretkeyselector", "charfield",
        "passwordfield", "passwordinput", "textfield", "varchar", "optional[str]",
    }
)  # fmt: skip
"""Types and Kubernetes reference keys written where a value would be: ``password: str``,
``password: SecretStr``, ``valueFrom``/``secretKeyRef`` (the value is fetched from a
Secret)."""
_FILE_NAME = re.compile(
    r"(?i)^[\w\-]+(?:\.[\w\-]+)*\.(?:json|ya?ml|toml|ini|cfg|conf|env|properties|xml|txt|"
    r"key|pem|crt|cer|der|csr|p12|pfx|jks|keystore|kdbx|gpg|asc|pub|ppk|enc|secret|token)$"
)


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
    if is_published_example(value) or (_PHRASE.match(value) and _is_phrase(value)):
        return True
    if _TEMPLATE_MARKS.isdisjoint(value) and not lowered.startswith(_REFERENCE_STARTS):
        return False
    return bool(_PLACEHOLDER.search(value))


# Letters only, words apart by one separator or a change of case: TOKEN_GOES_HERE,
# your-token, SlackBotToken, RANDOMSTRINGHERE.
_PHRASE = re.compile(
    r"^[A-Za-z]{2,}(?:[ _\-.][A-Za-z]+){0,12}$"
)  # one way to match: no backtracking


def _is_phrase(value: str) -> bool:
    """Vocabulary words end to end (two or more): what documentation writes for a value."""
    pieces = _WORD_PIECE.findall(value)
    if len(pieces) < 2 and len(value) < 8:
        return False
    return all(_is_words(piece.lower()) for piece in pieces)


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
    """An expression that reads the secret from elsewhere (``settings.SECRET_KEY``,
    ``getpass.getpass(``, ``System.getenv(``, ``$_ENV[``, ``new SecretKeySpec(``,
    ``models.CharField(``), a type written where a value would be (``str``,
    ``SecretStr``, ``secretKeyRef``), or a variable passed on (``db_password``)."""
    if value.lower() in _TYPE_NAMES:
        return True
    if _IDENTIFIER_NAME.match(value) and _SECRET_STEM.search(value):
        return True
    if _CODE_REFERENCE.match(value):
        return True
    call = _CALL.match(value)
    return call is not None and all(map(_word_like, _CALL_JOIN.split(call.group(1))))


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
    ``password_policy``, ``secretName``, ``has_password``, or declared public
    (``MAPBOX_PUBLIC_TOKEN``, ``stripePublishableKey``: meant to be shipped to clients)."""
    return bool(_NOT_SECRET_NAME.search(_CAMEL.sub("_", name)))


def looks_like_path_or_url(value: str) -> bool:
    """A URL, a file path, a file's name (``token.json``, ``deploy-key.pem``) or a secret
    manager's path: a reference to where a secret is, not the secret."""
    return bool(_PATH_OR_URL.match(value) or _SECRET_PATH.match(value) or _FILE_NAME.match(value))


# -- published examples ------------------------------------------------------------------

_PUBLISHED_EXAMPLES = frozenset(
    {
        # Stripe's API reference: test-mode keys of Stripe's own public demo account, printed
        # in every curl example for years (a test key a user copies from their dashboard is
        # still reported: only these are public).
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
        # The Firebase Android SDK's sample and test configurations (firebase-android-sdk):
        # copied into apps' example configs and tutorials, restricted to no project.
        "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
        "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
        "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
        "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
        "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
        "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
        "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
        "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
        "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
        "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
        "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
        "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
        "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
        "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
        "AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE",
        "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
        # Stripe's API reference: the publishable key of the same demo account.
        "pk_test_TYooMQauvdEDq54NiTphI7jx",
        # Azurite and the Azure storage emulator: the one account key of their fixed
        # development account (devstoreaccount1), printed in Microsoft's docs and built
        # into the emulators; it opens nothing but a local emulator.
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    }
)
"""Keys that look real but were published by their issuer as documentation samples. AWS's
documented pairs (``AKIAIOSFODNN7EXAMPLE``, ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``)
need no entry: every value with ``EXAMPLE`` in it is a stand-in (``is_placeholder``)."""


_PUBLISHED_BODIES = frozenset(example.rstrip("=") for example in _PUBLISHED_EXAMPLES)
_QUOTES = "\"'` \t"


def is_published_example(value: str) -> bool:
    """A key its issuer published in documentation or an SDK's samples (Stripe's API
    reference, the Firebase SDK, the Azure storage emulator's account key): public, so
    not a leak. Quotes around it and base64 padding do not matter."""
    return value in _PUBLISHED_EXAMPLES or value.strip(_QUOTES).rstrip("=") in _PUBLISHED_BODIES


# -- stand-ins that keep a real prefix ---------------------------------------------------

# The words documentation fills a token's place with (TOKEN_GOES_HERE, your-api-key,
# SlackAppConfigurationAccessTokenHere, RANDOMSTRINGHERE): instructions, the names of
# credentials and of their issuers. Typed here rather than taken from a dictionary
# package: the scanner has no dependency beyond RE2, and a general dictionary would find
# words in random text far more often (every three-letter word is a chance hit).
_VOCABULARY = frozenset(
    """
    a an the this that these my our your their its his her me we you it is are be was
    to of for in on at by as or and not no with from into here there goes go put paste
    insert enter add set replace fill use get copy own new old real actual valid invalid
    some any all only full very more random string strings text value values data item
    key keys token tokens secret secrets password passwords passwd pass pwd passphrase
    credential credentials cred creds auth oauth bearer access refresh session sessions
    api apis apikey app apps application client server service services user users
    username account accounts admin root guest bot bots org organization organisation
    team workspace project personal private public id ident identifier name names
    example examples sample samples dummy fake mock test tests testing demo placeholder
    redacted masked hidden changeme change todo fixme foo bar baz qux quux xyz abc
    lorem ipsum dolor sit amet default generated generate create created live prod
    production dev develop development staging stage local localhost sandbox webhook
    webhooks hook hooks url uri endpoint signing signature encryption encrypt master
    main deploy deployment build read write scope scoped upload download integration
    install installation instance environment env config configuration setting
    settings uppercase lowercase character characters long short char chars number
    numbers digit digits letters letter please need must should will can do see docs
    doc documentation tbd null none nil empty undefined true false super secure
    security strong one two three first second something thing stuff code cert
    certificate ssh rsa pem gpg pgp hmac jwt ssl tls http https www com net io initial
    temp temporary tmp version internal external global store file path hello world
    welcome provided obtained look like looks
    github gitlab slack stripe openai anthropic google gcp firebase aws amazon azure
    microsoft npm pypi docker heroku twilio sendgrid mailgun mailchimp shopify discord
    telegram twitter facebook hugging face huggingface databricks digitalocean
    atlassian jira confluence datadog okta cloudflare vault hashicorp terraform doppler
    postman pulumi linear newrelic grafana sentry square notion sonar snyk bitbucket
    dropbox openshift kubernetes
    """.split()  # noqa: SIM905 (a paragraph of words reads better than a list)
)
_LONGEST_WORD = max(map(len, _VOCABULARY))
# A word as it is written in an identifier: TOKEN, Token, token (camel case split apart).
_WORD_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z]+|[a-z]+")
_PART = re.compile(r"[A-Za-z0-9]+")
# Where a token's body starts: after its issuer's prefix of short lowercase words and
# separators (ghp_, sk-proj-, xoxe.xoxp-, sha256~, glpat-).
_TOKEN_PREFIX = re.compile(r"^(?:[a-z][a-z0-9]{0,9}[_\-.~])+")
_STAND_IN_SHARE = 0.5
"""A body more than half made of words, runs and repeats is no random value."""
_MIN_RANDOM = 6


def _is_words(letters: str) -> bool:
    """Whether ``letters`` (lowercase) is made of vocabulary words end to end."""
    ends = [True] + [False] * len(letters)
    for end in range(1, len(letters) + 1):
        for start in range(max(0, end - _LONGEST_WORD), end):
            if ends[start] and letters[start:end] in _VOCABULARY:
                ends[end] = True
                break
    return ends[-1]


def _run_marks(part: str, covered: list[bool], base: int) -> None:
    """Mark the runs of ``part`` that no generator makes: a character repeated three times
    or more (xxx, 000), or three or more stepping by one (abc, 12345, 4321), in any case:
    documentation's counting keys (``AbC123dEf456``) are runs end to end, a random body
    has one by chance at most."""
    lowered = part.lower()
    start = 0
    while start < len(lowered):
        end = start + 1
        step = None
        while end < len(lowered):
            diff = ord(lowered[end]) - ord(lowered[end - 1])
            if diff not in (-1, 0, 1) or (step is not None and diff != step):
                break
            step = diff
            end += 1
        if end - start >= 3:
            for position in range(base + start, base + end):
                covered[position] = True
            start = end
        else:
            start += 1


def _non_random_share(body: str) -> float:
    """The share of ``body``'s letters and digits that are vocabulary words, repeats or
    runs (1.0 for a body with none)."""
    covered = [False] * len(body)
    total = 0
    for part in _PART.finditer(body):
        text, base = part.group(), part.start()
        total += len(text)
        _run_marks(text, covered, base)
        for piece in _WORD_PIECE.finditer(text):
            word = piece.group()
            # Two letters count as a word only standing alone (my-bot-token): a random
            # value has two-letter words in it by chance.
            if (len(word) >= 3 or len(word) == len(text)) and _is_words(word.lower()):
                for position in range(base + piece.start(), base + piece.end()):
                    covered[position] = True
    if total == 0:
        return 1.0
    alnum = sum(1 for position, flag in enumerate(covered) if flag and body[position].isalnum())
    return alnum / total


def is_stand_in(value: str, body_start: int | None = None) -> bool:
    """A token that keeps its issuer's prefix but whose body is no random value: a
    placeholder (``shpat_<access-token>``, ``sk-...``), a published example, words
    (``npm_TOKEN_GOES_HERE``, ``xoxb-your-token``), runs and repeats (``ghp_XXXX…``,
    ``xoxb-12345-abcd234``, ``AKIAXXXXXXXXXXXXXXXX``), or too short to be random.

    ``body_start`` is where the issuer's prefix ends; by default, after the leading
    lowercase words and their separators (``github_pat_``, ``sk-proj-``). A random body
    of the issuer's alphabet keeps most of its characters out of words and runs, so more
    than half in them marks a stand-in; several character classes, entropy and no long
    word are what a real one shows."""
    if is_placeholder(value) or is_published_example(value):
        return True
    if body_start is None:
        prefix = _TOKEN_PREFIX.match(value)
        body_start = prefix.end() if prefix else 0
    body = value[body_start:]
    if sum(c.isalnum() for c in body) < _MIN_RANDOM or is_sequential(body):
        return True
    return _non_random_share(body) > _STAND_IN_SHARE


# -- default credentials -----------------------------------------------------------------

_DEFAULT_CREDENTIALS = frozenset(
    {
        ("guest", "guest"), ("admin", "admin"), ("root", "root"), ("postgres", "postgres"),
        ("user", "password"), ("admin", "password"), ("root", "password"), ("sa", ""),
        ("root", ""), ("user", "user"), ("test", "test"), ("demo", "demo"),
        ("admin", "admin123"), ("root", "toor"), ("elastic", "changeme"),
        ("neo4j", "neo4j"), ("minioadmin", "minioadmin"), ("rabbitmq", "rabbitmq"),
        ("mysql", "mysql"), ("oracle", "oracle"), ("tomcat", "tomcat"),
        ("admin", "secret"), ("user", "pass"), ("admin", "pass"),
    }
)  # fmt: skip
DEFAULT_CREDENTIAL_CONFIDENCE = 0.3
"""How sure a default credential (``guest:guest``) is a secret: reported, so a policy can
see it, but under the ``>= 0.9`` an example guardrail asks for."""


_DEFAULT_PASSWORDS = frozenset(
    password for user, password in _DEFAULT_CREDENTIALS if password and password == user
) | {"toor", "admin123"}
"""Passwords that are their product's default user name (``postgres``, ``minioadmin``) or
a well-known default of their own: what a compose file or quick-start writes for a
local service."""


def is_default_password(password: str) -> bool:
    """A product's default password, seen without its user (a compose file's postgres
    password left as "postgres", MinIO's root password as "minioadmin"): reported as low
    as a default pair."""
    return password.lower() in _DEFAULT_PASSWORDS


def is_default_credential(user: str, password: str) -> bool:
    """A product's shipped or conventional default (``guest:guest`` of RabbitMQ,
    ``postgres:postgres``, ``sa`` with no password): no one's secret, but a system still
    open with it is worth a look."""
    return (user.lower(), password.lower()) in _DEFAULT_CREDENTIALS
