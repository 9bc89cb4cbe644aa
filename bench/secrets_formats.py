"""Fake credentials in the providers' published formats, and the look-alikes around them.

Every value comes from the caller's seeded ``random.Random``, so the corpus built from
them (bench/secrets_corpus.py) is the same on every run. None of them is a real secret:
they have the shape (prefix, length, alphabet, checksum where the format has one) and
random content.
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from urllib.parse import quote

UPPER_DIGITS = string.ascii_uppercase + string.digits
BASE32 = string.ascii_uppercase + "234567"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BASE64 = string.ascii_letters + string.digits + "+/"
BASE64URL = string.ascii_letters + string.digits + "-_"
HEX = "0123456789abcdef"
PASSWORD = string.ascii_letters + string.digits + "!#$%&*+-=?@^_~"


def pick(rng: random.Random, alphabet: str, length: int) -> str:
    """``length`` characters drawn from ``alphabet``."""
    return "".join(rng.choice(alphabet) for _ in range(length))


def b64(text: str | bytes) -> str:
    """Standard base64 with padding, as ``base64`` and Kubernetes write it."""
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWTs carry their parts."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def url_encoded(text: str) -> str:
    """Percent-encoding with nothing left safe, as a query value or userinfo is written."""
    return quote(text, safe="")


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits.rjust(width, "0")


# -- credentials -------------------------------------------------------------------------


def aws_access_key(rng: random.Random) -> str:
    """An access key id: AKIA (long-term) or ASIA (session) and 16 base32 characters."""
    return rng.choice(["AKIA", "AKIA", "ASIA"]) + pick(rng, BASE32, 16)


def aws_secret_key(rng: random.Random) -> str:
    """A secret access key: 40 characters of base64's alphabet."""
    return pick(rng, BASE64, 40)


def github_token(rng: random.Random) -> str:
    """A classic token: a ghX_ prefix, 30 base62 characters and their CRC32 in base62."""
    if rng.random() < 0.15:
        return github_fine_grained(rng)
    body = pick(rng, BASE62, 30)
    prefix = rng.choice(["ghp_", "ghp_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"])
    return prefix + body + _base62(zlib.crc32(body.encode()), 6)


def github_fine_grained(rng: random.Random) -> str:
    """A fine-grained personal access token: github_pat_, 22 and 59 characters."""
    return "github_pat_" + pick(rng, BASE62, 22) + "_" + pick(rng, BASE62, 59)


def gitlab_token(rng: random.Random) -> str:
    """A personal, project or group access token: glpat- and 20 characters."""
    return "glpat-" + pick(rng, BASE64URL, 20)


def slack_token(rng: random.Random) -> str:
    """A bot (xoxb-) or user (xoxp-) token."""
    team, user = pick(rng, string.digits, 11), pick(rng, string.digits, 13)
    if rng.random() < 0.6:
        return f"xoxb-{team}-{user}-{pick(rng, BASE62, 24)}"
    return f"xoxp-{team}-{user}-{pick(rng, string.digits, 13)}-{pick(rng, HEX, 32)}"


def slack_webhook(rng: random.Random) -> str:
    """An incoming-webhook URL: workspace, channel and a 24-character secret."""
    workspace = "T" + pick(rng, UPPER_DIGITS, rng.choice([8, 10]))
    channel = "B" + pick(rng, UPPER_DIGITS, rng.choice([8, 10]))
    return f"https://hooks.slack.com/services/{workspace}/{channel}/{pick(rng, BASE62, 24)}"


def stripe_key(rng: random.Random) -> str:
    """A secret (sk_live_, sk_test_) or restricted (rk_live_) key."""
    prefix = rng.choice(["sk_live_", "sk_live_", "rk_live_", "sk_test_"])
    return prefix + pick(rng, BASE62, rng.choice([24, 99]))


def openai_key(rng: random.Random) -> str:
    """A project key (sk-proj-) or a legacy user key, both carrying T3BlbkFJ."""
    if rng.random() < 0.65:
        return "sk-proj-" + pick(rng, BASE64URL, 74) + "T3BlbkFJ" + pick(rng, BASE64URL, 74)
    return "sk-" + pick(rng, BASE62, 20) + "T3BlbkFJ" + pick(rng, BASE62, 20)


def anthropic_key(rng: random.Random) -> str:
    """An API key: sk-ant-api03-, 93 characters, AA."""
    return "sk-ant-api03-" + pick(rng, BASE64URL, 93) + "AA"


def google_api_key(rng: random.Random) -> str:
    """An API key: AIza and 35 characters."""
    return "AIza" + pick(rng, BASE64URL, 35)


def npm_token(rng: random.Random) -> str:
    """An access token: npm_ and 36 base62 characters."""
    return "npm_" + pick(rng, BASE62, 36)


def pypi_token(rng: random.Random) -> str:
    """An API token: a macaroon for pypi.org, base64url after pypi-AgEIcHlwaS5vcmc."""
    return "pypi-AgEIcHlwaS5vcmc" + pick(rng, BASE64URL, rng.randint(60, 150))


def jwt(rng: random.Random) -> str:
    """A signed JWT: base64url header, claims and signature."""
    alg = rng.choice(["HS256", "RS256", "ES256"])
    header = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        header["kid"] = pick(rng, BASE64URL, 16)
    claims = {
        "sub": f"user_{rng.randint(1000, 99999)}",
        "iss": rng.choice(["https://auth.example.com", "https://login.acme.io/", "charter"]),
        "iat": 1_760_000_000 + rng.randint(0, 9_000_000),
        "exp": 1_770_000_000 + rng.randint(0, 9_000_000),
        "scope": rng.choice(["read write", "openid profile email", "admin"]),
    }
    signature = rng.randbytes(64 if alg != "HS256" else 32)
    compact = (",", ":")
    parts = (
        json.dumps(header, separators=compact).encode(),
        json.dumps(claims, separators=compact).encode(),
        signature,
    )
    return ".".join(b64url(part) for part in parts)


def private_key(rng: random.Random) -> str:
    """A PEM private key block with a random body, 64 characters a line."""
    label = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    size = {"EC PRIVATE KEY": 121, "OPENSSH PRIVATE KEY": 399}.get(label, rng.choice([1190, 1218]))
    body = b64(rng.randbytes(size))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def password(rng: random.Random, length: int | None = None) -> str:
    """A generated password: letters, digits and a few symbols."""
    size = length or rng.randint(14, 28)
    while True:
        value = pick(rng, PASSWORD, size)
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def url_safe_password(rng: random.Random) -> str:
    """A password that needs no percent-encoding in a URL."""
    return pick(rng, string.ascii_letters + string.digits, rng.randint(14, 26))


def opaque_token(rng: random.Random) -> str:
    """A bearer token with no provider prefix."""
    return pick(rng, BASE64URL, rng.choice([32, 40, 43, 64]))


# -- look-alikes -------------------------------------------------------------------------


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID."""
    h = pick(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


def hex_digest(rng: random.Random, length: int = 64) -> str:
    """A hex digest: 40 for a git SHA, 64 for sha256."""
    return pick(rng, HEX, length)


def sri_integrity(rng: random.Random) -> str:
    """A subresource-integrity value, as lockfiles carry them."""
    return "sha512-" + b64(rng.randbytes(64))


def image_data_url(rng: random.Random) -> str:
    """A small base64 PNG as a data: URL."""
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(rng.randint(90, 300))
    return "data:image/png;base64," + b64(png)


def request_id(rng: random.Random) -> str:
    """A random request id in one of the shapes services log."""
    shape = rng.randrange(4)
    if shape == 0:
        return "req_" + pick(rng, BASE62, 14)
    if shape == 1:
        return pick(rng, HEX, 32)
    if shape == 2:
        return f"Root=1-{pick(rng, HEX, 8)}-{pick(rng, HEX, 24)}"
    return pick(rng, UPPER_DIGITS, 26)
