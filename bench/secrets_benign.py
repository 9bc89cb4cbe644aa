"""Samples with no secret in them: the look-alikes a secrets scanner must leave alone.

Each family is a function of the seeded ``random.Random`` returning ``(kind, text)``:
identifiers and digests in the places they are found, encoded data that is not a
credential, placeholders, references to secrets kept elsewhere, weak repeated values,
documentation examples and public halves of key pairs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from bench import secrets_formats as fmt

Family = Callable[[random.Random], tuple[str, str]]

PLACEHOLDERS = [
    "<token>",
    "<YOUR_API_KEY>",
    "${API_KEY}",
    "{{ secret }}",
    "{{ .Values.apiKey }}",
    "your-api-key-here",
    "xxxxxxxx",
    "XXXXXXXXXXXXXXXXXXXXXXXX",
    "changeme",
    "********",
    "REDACTED",
    "[REDACTED]",
    "<redacted>",
    "TODO",
    "null",
    "none",
    "sk-...",
    "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
    "AKIAXXXXXXXXXXXXXXXX",
    "xoxb-your-bot-token",
    "replace-me",
    "dummy",
    "password",
    "secret",
]
WEAK = [
    "abcdefghijklmnop",
    "1234567890",
    "12345678901234567890",
    "aaaaaaaaaaaaaaaa",
    "0000000000000000",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "qwertyuiopasdfgh",
    "1111111111111111",
    "abcabcabcabcabcabc",
]
SECRET_NAMES = ["password", "api_key", "secret", "token", "client_secret", "DB_PASSWORD"]
REFERENCES = [
    "${DB_PASSWORD}",
    "${{ secrets.GITHUB_TOKEN }}",
    "{{ .Values.db.password }}",
    "$(cat /run/secrets/db_password)",
    "vault:secret/data/payments#api_key",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf",
    "ref+awssm://prod/stripe#secret_key",
    "${env:OPENAI_API_KEY}",
    "%STRIPE_SECRET_KEY%",
    "$GITHUB_TOKEN",
    "os.environ['API_KEY']",
    "process.env.SLACK_BOT_TOKEN",
    "!secret db_password",
    "sm://projects/acme/secrets/db-password/versions/latest",
]


def _ts(rng: random.Random) -> str:
    return f"2026-12-0{rng.randint(1, 9)}T{rng.randint(10, 23)}:{rng.randint(10, 59)}:07Z"


def uuids(rng: random.Random) -> tuple[str, str]:
    value = {"request_id": fmt.uuid4(rng), "tenant": fmt.uuid4(rng), "status": "ok"}
    return "json", json.dumps(value)


def git_shas(rng: random.Random) -> tuple[str, str]:
    sha = fmt.hex_digest(rng, 40)
    line = rng.choice(
        [
            f"commit {sha}\nAuthor: Dana <dana@example.com>\n\n    Fix retry loop\n",
            f"{_ts(rng)} INFO deploy: rolled out api at {sha} ({sha[:7]}) to prod",
            json.dumps({"head_sha": sha, "base_ref": "main", "check": "lint", "conclusion": "ok"}),
            f"Merge pull request #{rng.randint(100, 9999)} from acme/fix-{sha[:8]}",
        ]
    )
    return "log", line


def checksums(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(["charter-0.1.0.tar.gz", "node-v22.9.0-linux-x64.tar.xz", "model.bin"])
    shape = rng.randrange(4)
    if shape == 0:
        return "log", f"{fmt.hex_digest(rng)}  {name}\n{fmt.hex_digest(rng)}  {name}.sig\n"
    if shape == 1:
        return "config", f"FROM python:3.11-slim@sha256:{fmt.hex_digest(rng)}\nRUN pip install -r x"
    if shape == 2:
        return "config", f"requests==2.32.3 \\\n    --hash=sha256:{fmt.hex_digest(rng)}\n"
    return "json", json.dumps({"artifact": name, "sha256": fmt.hex_digest(rng), "size": 48213})


def lockfiles(rng: random.Random) -> tuple[str, str]:
    package = rng.choice(["lodash", "react-dom", "@types/node", "esbuild"])
    if rng.random() < 0.6:
        entry = {
            f"node_modules/{package}": {
                "version": f"{rng.randint(1, 18)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
                "resolved": f"https://registry.npmjs.org/{package}/-/{package}-4.17.21.tgz",
                "integrity": fmt.sri_integrity(rng),
            }
        }
        return "json", json.dumps(entry, indent=2)
    return "config", (
        f'[[package]]\nname = "{package}"\nversion = "1.2.3"\n'
        f'files = [\n    {{file = "{package}-1.2.3.tar.gz", '
        f'hash = "sha256:{fmt.hex_digest(rng)}"}},\n]'
        f"\n\n# go.sum\ngithub.com/acme/x v1.4.0 h1:{fmt.b64(rng.randbytes(32))}\n"
    )


def images(rng: random.Random) -> tuple[str, str]:
    value = {"tool": "describe_image", "arguments": {"image": fmt.image_data_url(rng)}}
    return "json", json.dumps(value)


def base64_data(rng: random.Random) -> tuple[str, str]:
    cursor = fmt.b64(json.dumps({"page": rng.randint(2, 90), "after": fmt.uuid4(rng)}))
    shape = rng.randrange(3)
    if shape == 0:
        return "json", json.dumps({"items": [], "next_cursor": cursor})
    if shape == 1:
        blob = fmt.b64(rng.randbytes(rng.randint(40, 200)))
        return "json", json.dumps({"name": "report.pdf.part", "content_b64": blob})
    return "log", f"{_ts(rng)} DEBUG sqs: received message body={fmt.b64(rng.randbytes(60))}"


def plain_urls(rng: random.Random) -> tuple[str, str]:
    url = rng.choice(
        [
            f"https://api.example.com/v1/items?page={rng.randint(1, 9)}&per_page=50",
            "postgres://app@db.internal:5432/app",
            "redis://localhost:6379/0",
            "https://git@github.com/acme/api.git",
            "ssh://git@gitlab.com:22/acme/infra.git",
            f"https://cdn.example.com/assets/app.{fmt.hex_digest(rng, 20)}.js",
            "mysql://root@127.0.0.1:3306/test",
            "https://user@example.com/login?next=/dashboard",
            f"https://s3.eu-west-1.amazonaws.com/bucket/key?X-Amz-Date=20261201T000000Z"
            "&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
            f"&versionId={fmt.pick(rng, fmt.BASE62, 32)}",
        ]
    )
    return "config", f"DATABASE_HOST=db\nUPSTREAM_URL={url}\n"


def request_ids(rng: random.Random) -> tuple[str, str]:
    return "log", (
        f"{_ts(rng)} INFO http: POST /v1/charges 200 {rng.randint(12, 900)}ms "
        f"request_id={fmt.request_id(rng)} trace_id={fmt.hex_digest(rng, 32)} "
        f"span_id={fmt.hex_digest(rng, 16)} cf-ray={fmt.hex_digest(rng, 16)}-AMS"
    )


def placeholders(rng: random.Random) -> tuple[str, str]:
    name, value = rng.choice(SECRET_NAMES), rng.choice(PLACEHOLDERS)
    shape = rng.randrange(4)
    if shape == 0:
        return "config", f"{name.upper()}={value}\n"
    if shape == 1:
        return "json", json.dumps({"tool": "configure", "arguments": {name: value}})
    if shape == 2:
        return "config", f'auth:\n  {name}: "{value}"\n'
    return "chat", f"set {name} to {value} in your .env and restart"


def references(rng: random.Random) -> tuple[str, str]:
    name, value = rng.choice(SECRET_NAMES), rng.choice(REFERENCES)
    shape = rng.randrange(3)
    if shape == 0:
        return "config", f"database:\n  host: db\n  {name}: {value}\n"
    if shape == 1:
        return "config", f"{name.upper()}={value}\n"
    return "json", json.dumps({"env": {name.upper(): value}})


def weak_values(rng: random.Random) -> tuple[str, str]:
    name, value = rng.choice(SECRET_NAMES), rng.choice(WEAK)
    if rng.random() < 0.5:
        return "config", f"# local development only\n{name} = {value}\n"
    return "json", json.dumps({name: value, "env": "test"})


def code_references(rng: random.Random) -> tuple[str, str]:
    line = rng.choice(
        [
            'password = getpass.getpass("Password: ")',
            'api_key = os.environ["OPENAI_API_KEY"]',
            "const token = process.env.GITHUB_TOKEN ?? '';",
            "secret = settings.SECRET_KEY",
            "token = get_token(scope='read')",
            'client_secret = request.headers["X-Client-Secret"]',
            "password=self.config.db_password,",
            'stripe.api_key = os.getenv("STRIPE_SECRET_KEY")',
            'headers = {"Authorization": f"Bearer {token}"}',
        ]
    )
    return "code", f"def connect(self):\n    {line}\n    return self._open()\n"


def doc_examples(rng: random.Random) -> tuple[str, str]:
    shape = rng.randrange(3)
    if shape == 0:
        return "config", (
            "# From the AWS docs\n[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        )
    if shape == 1:
        return "chat", "the docs use AKIAIOSFODNN7EXAMPLE as the access key id, replace it"
    return "json", json.dumps({"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Example": True})


def public_keys(rng: random.Random) -> tuple[str, str]:
    body = fmt.b64(rng.randbytes(rng.choice([294, 91])))
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    shape = rng.randrange(3)
    if shape == 0:
        return "config", f"-----BEGIN PUBLIC KEY-----\n{lines}\n-----END PUBLIC KEY-----\n"
    if shape == 1:
        return "config", f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"
    key = "AAAAC3NzaC1lZDI1NTE5AAAAI" + fmt.pick(rng, fmt.BASE64, 43)
    return "config", f"ssh-ed25519 {key} dana@laptop\n"


def publishable_keys(rng: random.Random) -> tuple[str, str]:
    key = rng.choice(["pk_live_", "pk_test_"]) + fmt.pick(rng, fmt.BASE62, 24)
    return "code", f'<script>const stripe = Stripe("{key}");</script>'


def secret_like_names(rng: random.Random) -> tuple[str, str]:
    value = {
        "max_tokens": rng.choice([256, 1024, 4096]),
        "token_type": "Bearer",
        "password_min_length": 12,
        "secret_name": f"prod/{rng.choice(['db', 'stripe'])}/credentials",
        "tokenizer": "cl100k_base",
        "key_id": fmt.hex_digest(rng, 40),
        "api_key_last4": fmt.pick(rng, fmt.BASE62, 4),
        "token_count": rng.randint(10, 90_000),
    }
    keys = sorted(value)
    rng.shuffle(keys)
    return "json", json.dumps({k: value[k] for k in keys[:5]})


def masked_values(rng: random.Random) -> tuple[str, str]:
    return "chat", rng.choice(
        [
            f"your key sk_live_****{fmt.pick(rng, fmt.BASE62, 4)} was rolled",
            f"token ghp_****{fmt.pick(rng, fmt.BASE62, 4)} expires in 7 days",
            "card **** **** **** 4242 was charged",
            "[REDACTED:github_token] was found in the prompt and masked",
            "Authorization: Bearer ***",
        ]
    )


def natural_language(rng: random.Random) -> tuple[str, str]:
    return "chat", rng.choice(
        [
            "please rotate the GitHub token, it's in 1Password under 'ci-bot'",
            "the password policy needs 12 characters and a symbol",
            "I revoked the Stripe secret key and issued a new restricted one",
            "set OPENAI_API_KEY in your shell before running the notebook",
            "Use `Authorization: Bearer <token>` with a token from the console",
            "our API keys start with ak_ and are shown once at creation",
            "the JWT expired, log in again to get a new one",
        ]
    )


def http_benign(rng: random.Random) -> tuple[str, str]:
    return "http", (
        f"GET /v1/items?page={rng.randint(1, 9)} HTTP/1.1\r\nHost: api.example.com\r\n"
        f'If-None-Match: "{fmt.hex_digest(rng, 32)}"\r\nX-Request-Id: {fmt.uuid4(rng)}\r\n'
        f"Authorization: Bearer ${{TOKEN}}\r\nAccept: application/json\r\n\r\n"
    )


def misc_ids(rng: random.Random) -> tuple[str, str]:
    value = {
        "order_id": "ord_" + fmt.pick(rng, fmt.BASE62, 16),
        "customer": "cus_" + fmt.pick(rng, fmt.BASE62, 14),
        "idempotency_key": fmt.uuid4(rng),
        "etag": fmt.hex_digest(rng, 32),
        "sentry_event": fmt.hex_digest(rng, 32),
        "ulid": fmt.pick(rng, fmt.UPPER_DIGITS, 26),
        "instance": "i-" + fmt.hex_digest(rng, 17),
        "mac": ":".join(fmt.hex_digest(rng, 2) for _ in range(6)),
        "color": "#" + fmt.hex_digest(rng, 6),
    }
    keys = sorted(value)
    rng.shuffle(keys)
    return "json", json.dumps({k: value[k] for k in keys[:4]})


FAMILIES: dict[str, Family] = {
    "uuid": uuids,
    "git_sha": git_shas,
    "checksum": checksums,
    "lockfile_integrity": lockfiles,
    "base64_image": images,
    "base64_data": base64_data,
    "url_without_password": plain_urls,
    "request_id": request_ids,
    "placeholder": placeholders,
    "secret_reference": references,
    "weak_value": weak_values,
    "code_reference": code_references,
    "doc_example": doc_examples,
    "public_key": public_keys,
    "publishable_key": publishable_keys,
    "secret_like_name": secret_like_names,
    "masked_value": masked_values,
    "natural_language": natural_language,
    "http_without_credential": http_benign,
    "identifier": misc_ids,
}


def benign_samples(rng: random.Random, per_family: int = 60) -> list[tuple[str, str, str]]:
    """``(kind, family, text)``, ``per_family`` samples of each family."""
    samples: list[tuple[str, str, str]] = []
    for name, family in FAMILIES.items():
        for _ in range(per_family):
            kind, text = family(rng)
            samples.append((kind, name, text))
    return samples
