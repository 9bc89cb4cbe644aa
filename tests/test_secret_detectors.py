"""Each finding type of `charter.secrets` in the surroundings it turns up in, its encoded
forms, and the look-alikes the filters must leave alone.

Test secrets are made here by each provider's format from a seeded generator (random
content, never a real credential), so a detector that only knew one literal would fail.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from charter.secrets import Finding, Scanner

ALNUM = string.ascii_letters + string.digits
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
URLSAFE = ALNUM + "-_"


def _chars(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _github(rng: random.Random) -> str:
    body = _chars(rng, ALNUM, 30)
    number, check = zlib.crc32(body.encode()), ""
    while number:
        number, digit = divmod(number, 62)
        check = BASE62[digit] + check
    return "ghp_" + body + check.rjust(6, "0")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(rng: random.Random) -> str:
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    claims = _b64url(
        json.dumps({"sub": f"user_{rng.randint(1, 9999)}", "exp": 1790000000}).encode()
    )
    return f"{header}.{claims}.{_b64url(rng.randbytes(32))}"


def _pem(rng: random.Random) -> str:
    body = base64.b64encode(rng.randbytes(600)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----"


Make = Callable[[random.Random], str]
# (type, how to make one, a text around it with {} where it goes)
POSITIVES: list[tuple[str, Make, str]] = [
    (
        "aws_access_key",
        lambda r: "AKIA" + _chars(r, string.ascii_uppercase + "234567", 16),
        "[default]\naws_access_key_id = {}\nregion = eu-west-1\n",
    ),
    (
        "aws_secret_key",
        lambda r: _chars(r, ALNUM + "+/", 40),
        "[default]\naws_secret_access_key = {}\n",
    ),
    (
        "charter_token",
        lambda r: (
            f"cht_{_chars(r, string.ascii_lowercase + '234567', 16)}_{_chars(r, URLSAFE, 43)}"
        ),
        '{{"tool": "post_comment", "arguments": {{"body": "try {} instead"}}}}',
    ),
    ("github_token", _github, '{{"tool": "git_push", "arguments": {{"token": "{}"}}}}'),
    (
        "gitlab_token",
        lambda r: "glpat-" + _chars(r, URLSAFE, 20),
        "git push https://oauth2:{}@gitlab.com/acme/infra.git main",
    ),
    (
        "slack_token",
        lambda r: (
            f"xoxb-{_chars(r, string.digits, 11)}-{_chars(r, string.digits, 13)}-"
            + _chars(r, ALNUM, 24)
        ),
        "client = WebClient(token='{}')",
    ),
    (
        "slack_webhook",
        lambda r: (
            "https://hooks.slack.com/services/T"
            + _chars(r, string.ascii_uppercase, 8)
            + "/B"
            + _chars(r, string.ascii_uppercase, 8)
            + "/"
            + _chars(r, ALNUM, 24)
        ),
        "2026-12-01T10:00:00Z INFO posting alert to {} (attempt 1)",
    ),
    (
        "stripe_key",
        lambda r: "sk_live_" + _chars(r, ALNUM, 24),
        "curl https://api.stripe.com/v1/charges -u {}: -d amount=2000",
    ),
    (
        "openai_key",
        lambda r: "sk-proj-" + _chars(r, URLSAFE, 74) + "T3BlbkFJ" + _chars(r, URLSAFE, 74),
        "OPENAI_API_KEY={}\nLOG_LEVEL=info\n",
    ),
    (
        "anthropic_key",
        lambda r: "sk-ant-api03-" + _chars(r, URLSAFE, 93) + "AA",
        "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: {}\r\n\r\n",
    ),
    (
        "google_api_key",
        lambda r: "AIza" + _chars(r, URLSAFE, 35),
        "GET https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key={} 200",
    ),
    (
        "npm_token",
        lambda r: "npm_" + _chars(r, ALNUM, 36),
        "//registry.npmjs.org/:_authToken={}\n",
    ),
    (
        "pypi_token",
        lambda r: "pypi-AgEIcHlwaS5vcmc" + _chars(r, URLSAFE, 100),
        "[pypi]\nusername = __token__\npassword = {}\n",
    ),
    ("jwt", _jwt, "Cookie: theme=dark; session={}; lang=en"),
    ("private_key", _pem, "here's the deploy key:\n```\n{}\n```\n"),
    (
        "url_password",
        lambda r: _chars(r, ALNUM, 18),
        "DATABASE_URL=postgresql://orders_app:{}@db.internal:5432/orders\n",
    ),
    (
        "url_password",
        lambda r: _chars(r, ALNUM, 22),
        "CACHE_URL=redis://:{}@cache:6379/0\n",
    ),
    (
        "aws_secret_key",
        lambda r: "/" + _chars(r, ALNUM, 20) + "+" + _chars(r, ALNUM, 18),
        "aws_secret_access_key = {}\n",
    ),
    (
        "aws_secret_key",
        lambda r: _chars(r, ALNUM, 25) + "/" + _chars(r, ALNUM, 14),
        '{{"tool": "set_env", "arguments": {{"name": "AWS_SECRET_ACCESS_KEY", "value": "{}"}}}}',
    ),
    (
        "authorization_header",
        lambda r: _chars(r, URLSAFE, 40),
        "GET /api/v2/reports HTTP/1.1\r\nHost: reports.internal\r\nAuthorization: Bearer {}\r\n",
    ),
    (
        "generic_secret",
        lambda r: _chars(r, ALNUM, 12) + "#!" + _chars(r, ALNUM, 8),
        '{{"tool": "create_user", "arguments": {{"username": "etl", "password": "{}"}}}}',
    ),
]


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(key=b"\x00" * 32)


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


@pytest.mark.parametrize(
    ("kind", "make", "template"), POSITIVES, ids=[f"{p[0]}-{n}" for n, p in enumerate(POSITIVES)]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_type_is_found_where_it_is(
    scanner: Scanner, kind: str, make: Make, template: str, seed: int
) -> None:
    secret = make(random.Random(f"{kind}-{seed}"))
    text = template.format(secret)
    finding = _only(scanner.scan(text))
    start = text.index(secret)
    assert (finding.type, finding.path, finding.encoding) == (kind, "$", None)
    assert (finding.start, finding.end) == (start, start + len(secret))
    assert 0 < finding.confidence <= 1


def test_aws_key_pair_in_a_credentials_file(scanner: Scanner) -> None:
    rng = random.Random(5)
    access = "AKIA" + _chars(rng, string.ascii_uppercase + "234567", 16)
    secret = _chars(rng, ALNUM + "+/", 40)
    text = f"[prod]\naws_access_key_id = {access}\naws_secret_access_key = {secret}\n"
    found = sorted((f.type, text[f.start : f.end]) for f in scanner.scan(text))
    assert found == [("aws_access_key", access), ("aws_secret_key", secret)]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "template",
    [
        # a Kubernetes Secret's data: the value base64-encoded under the AWS name
        "kind: Secret\ndata:\n  aws_secret_access_key: {encoded}\n",
        "kind: Secret\ndata:\n  AWS_SECRET_KEY: {encoded}\n",
        # a generic name in a section named for AWS
        '{{"aws": {{"enabled": true, "api_key": "{secret}"}}}}',
        "[aws]\nregion = eu-west-1\nsecret = {secret}\n",
        "aws:\n  credentials:\n    token: {secret}\n",
    ],
)
def test_an_aws_secret_key_is_named_for_aws(scanner: Scanner, template: str, seed: int) -> None:
    rng = random.Random(f"aws-{seed}")
    secret = _chars(rng, string.ascii_lowercase, 4) + "/" + _chars(rng, "ABCDEF0123", 4)
    secret += _chars(rng, ALNUM + "+/", 31)
    encoded = base64.b64encode(secret.encode()).decode()
    text = template.format(secret=secret, encoded=encoded)
    assert [f.type for f in scanner.scan(text)] == ["aws_secret_key"]


def test_a_generic_name_away_from_aws_stays_generic(scanner: Scanner) -> None:
    secret = "7xT+yl0ys/uScF/nG/C/FEVe7jpwxL29d5T7rfhw"
    for section in ("gcp", "laws", "drawsome"):
        text = f'{{"{section}": {{"api_key": "{secret}"}}}}'
        assert [f.type for f in scanner.scan(text)] == ["generic_secret"], section


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ('export CODECOV_TOKEN="{}"\n', "codecov_token"),
        ('codecovToken := "{}"\n', "codecov_token"),
        ("secrets:\n  heroku_api_key: |\n    {}\n  other: 1\n", "generic_secret"),
        ('{{"api_token": "{}"}}', "generic_secret"),
        ("DB_PASSWORD={}\n", "generic_secret"),
    ],
)
def test_a_uuid_under_a_secrets_name_is_one(scanner: Scanner, template: str, kind: str) -> None:
    value = str(uuid.UUID(int=random.Random(template).getrandbits(128), version=4))
    text = template.format(value)
    finding = _only(scanner.scan(text))
    assert (finding.type, text[finding.start : finding.end]) == (kind, value)
    assert finding.confidence >= 0.5


@pytest.mark.parametrize(
    "template",
    ['{{"request_id": "{}"}}', "trace = {}\n", '{{"sha256": "{}"}}', "token_id: {}\n"],
)
def test_a_uuid_under_other_names_is_not(scanner: Scanner, template: str) -> None:
    value = str(uuid.UUID(int=random.Random(template).getrandbits(128), version=4))
    assert scanner.scan(template.format(value)) == []


def test_a_secret_in_json_has_its_path(scanner: Scanner) -> None:
    token = _github(random.Random(6))
    value = {"tool": "http", "arguments": {"headers": [{"Authorization": f"token {token}"}]}}
    finding = _only(scanner.scan(value))
    assert finding.path == "$.arguments.headers[0].Authorization"
    assert f"token {token}"[finding.start : finding.end] == token
    assert finding.type == "github_token"


def test_a_name_value_pair_takes_its_name_from_the_sibling(scanner: Scanner) -> None:
    # Kubernetes env lists and AWS tags: the key is "value", the name is beside it.
    manifest = {
        "env": [
            {"name": "LOG_LEVEL", "value": "debug-verbose-2"},
            {"name": "DB_PASSWORD", "value": "Zq8!rT4pLm2x"},
        ],
        "tags": [{"Key": "Team", "Value": "payments"}, {"key": "api_token", "value": "abc"}],
    }
    found = scanner.scan(manifest)
    assert [(f.type, f.path) for f in found] == [("generic_secret", "$.env[1].value")]


def test_a_connection_string_password_is_a_url_password(scanner: Scanner) -> None:
    text = "Server=tcp:db.internal,1433;User ID=app;Password=gCetaNSNFlt94A8Mkt;Encrypt=True"
    finding = _only(scanner.scan(text))
    assert (finding.type, text[finding.start : finding.end]) == (
        "url_password",
        "gCetaNSNFlt94A8Mkt",
    )
    assert _only(scanner.scan("password=gCetaNSNFlt94A8Mkt")).type == "generic_secret"


def test_mask_replaces_the_secret_and_keeps_the_rest(scanner: Scanner) -> None:
    token = _github(random.Random(7))
    value: dict[str, Any] = {"repo": "acme/api", "env": {"GITHUB_TOKEN": token}, "retries": 3}
    masked, findings = scanner.mask(value)
    assert masked == {"repo": "acme/api", "env": {"GITHUB_TOKEN": "[REDACTED:github_token]"},
                      "retries": 3}  # fmt: skip
    assert [f.type for f in findings] == ["github_token"]
    assert value["env"]["GITHUB_TOKEN"] == token, "mask must not change its input"


def test_fingerprints_are_keyed(scanner: Scanner) -> None:
    token = _github(random.Random(8))
    keyed = _only(scanner.scan(token)).fingerprint
    other = _only(Scanner(key=b"\x01" * 32).scan(token)).fingerprint
    assert keyed
    assert other
    assert keyed != other
    assert token not in keyed
    assert _only(Scanner(key=None).scan(token)).fingerprint is None


# -- encoded forms ---------------------------------------------------------------------


def test_a_base64_encoded_token_in_a_kubernetes_secret(scanner: Scanner) -> None:
    token = _github(random.Random(9))
    encoded = base64.b64encode(token.encode()).decode()
    text = f"apiVersion: v1\nkind: Secret\ndata:\n  github_token: {encoded}\n"
    finding = _only(scanner.scan(text))
    assert (finding.type, finding.encoding) == ("github_token", "base64")
    start = text.index(encoded)
    assert start <= finding.start < finding.end <= start + len(encoded)


def test_a_base64_encoded_private_key(scanner: Scanner) -> None:
    encoded = base64.b64encode(_pem(random.Random(10)).encode()).decode()
    finding = _only(scanner.scan(json.dumps({"TLS_KEY_B64": encoded})))
    assert (finding.type, finding.encoding) == ("private_key", "base64")


def test_a_url_encoded_webhook_in_a_query(scanner: Scanner) -> None:
    rng = random.Random(11)
    webhook = (
        f"https://hooks.slack.com/services/T{_chars(rng, string.ascii_uppercase, 8)}"
        f"/B{_chars(rng, string.ascii_uppercase, 8)}/{_chars(rng, ALNUM, 24)}"
    )
    encoded = quote(webhook, safe="")
    text = f"GET /integrations/callback?state=x81&redirect={encoded} HTTP/1.1"
    finding = _only(scanner.scan(text))
    assert (finding.type, finding.encoding) == ("slack_webhook", "url")
    start = text.index(encoded)
    assert start <= finding.start < finding.end <= start + len(encoded)


def test_a_url_encoded_private_key_in_a_form_body(scanner: Scanner) -> None:
    encoded = quote(_pem(random.Random(12)), safe="")
    text = f"grant_type=jwt-bearer&client_id=reports&private_key={encoded}&scope=read"
    finding = _only(scanner.scan(text))
    assert (finding.type, finding.encoding) == ("private_key", "url")


def test_a_percent_encoded_password_in_a_connection_string(scanner: Scanner) -> None:
    password = "pA55#w0rd@" + _chars(random.Random(13), ALNUM, 12)
    encoded = quote(password, safe="")
    text = f"postgresql://app:{encoded}@db.internal:5432/app"
    finding = _only(scanner.scan(text))
    assert finding.type == "url_password"
    assert text[finding.start : finding.end] == encoded


# -- look-alikes -----------------------------------------------------------------------


def _hex(seed: int, length: int) -> str:
    return _chars(random.Random(seed), "0123456789abcdef", length)


BENIGN: dict[str, str] = {
    "uuid": '{"request_id": "1f0c7a52-8d4e-4b7a-9a61-3c2f0e9d8b17", "status": "ok"}',
    "git_sha": f"2026-12-01 INFO deploy: rolled out api at {_hex(1, 40)} to prod",
    "sha256_checksum": f"{_hex(2, 64)}  charter-0.1.0.tar.gz\n",
    "docker_digest": f"FROM python:3.11-slim@sha256:{_hex(3, 64)}\n",
    "pip_hash": f"requests==2.32.3 --hash=sha256:{_hex(4, 64)}\n",
    "lockfile_integrity": json.dumps(
        {"integrity": "sha512-" + base64.b64encode(random.Random(5).randbytes(64)).decode()}
    ),
    "base64_image": json.dumps(
        {
            "image": "data:image/png;base64,"
            + base64.b64encode(b"\x89PNG\r\n\x1a\n" + random.Random(6).randbytes(200)).decode()
        }
    ),
    "pagination_cursor": json.dumps(
        {"next_cursor": base64.b64encode(b'{"page": 7, "after": "a81c"}').decode()}
    ),
    "url_without_password": "UPSTREAM=postgres://app@db.internal:5432/app https://git@github.com/a/b",
    "request_ids": f"request_id=req_{_chars(random.Random(7), ALNUM, 14)} trace_id={_hex(8, 32)}",
    "angle_placeholder": "Authorization: Bearer <token>",
    "shell_placeholder": "OPENAI_API_KEY=${API_KEY}",
    "template_placeholder": "password: {{ secret }}",
    "helm_reference": "password: {{ .Values.db.password }}",
    "word_placeholder": '{"api_key": "your-api-key-here"}',
    "x_placeholder": "token = xxxxxxxxxxxxxxxx",
    "changeme": "DB_PASSWORD=changeme",
    "env_reference": "password: ${DB_PASSWORD}",
    "github_actions_reference": "token: ${{ secrets.GITHUB_TOKEN }}",
    "sequential": "secret = abcdefghijklmnop",
    "digits": "api_key=1234567890",
    "repeated": "password = aaaaaaaaaaaaaaaa",
    "code_reference": 'api_key = os.environ["OPENAI_API_KEY"]',
    "dotted_code_reference": "secret = settings.SECRET_KEY",
    "attribute_reference": "password=self.config.db_password,",
    "call_reference": 'password = getpass.getpass("Password: ")',
    "subscript_reference": 'client_secret = request.headers["X-Client-Secret"]',
    "cut_reference": "DB_PASSWORD=${DB_PASSWORD}",
    "command_substitution": "DB_PASSWORD=$(cat /run/secrets/db_password)",
    "yaml_secret_tag": "password: !secret db_password",
    "secrets_manager_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf",
    "secret_manager_path": "secret: prod/db-password",
    "keyboard_rows": "password = qwertyuiopasdfgh",
    "digits_wrapping": "api_key=12345678901234567890",
    "alphabet_then_digits": "secret: abcdefghijklmnopqrstuvwxyz0123456789",
    "hex_digest_near_aws_words": f"aws_secret_rotation_commit: {_hex(11, 40)}",
    "aws_doc_example": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_doc_secret_example": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "x_github_token": "GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "public_key": "-----BEGIN PUBLIC KEY-----\n"
    + base64.b64encode(random.Random(9).randbytes(90)).decode()
    + "\n-----END PUBLIC KEY-----\n",
    "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
    + _chars(random.Random(10), ALNUM, 43)
    + " dana@laptop",
    "secret_like_names": '{"max_tokens": 4096, "token_type": "Bearer", "password_min_length": 12}',
    "masked": "your key sk_live_****4242 was rolled",
    "natural_language": "please rotate the GitHub token, it's in 1Password under ci-bot",
}


@pytest.mark.parametrize("text", BENIGN.values(), ids=BENIGN.keys())
def test_look_alikes_are_not_reported(scanner: Scanner, text: str) -> None:
    assert scanner.scan(text) == []


def test_the_filters_do_not_hide_a_real_value_next_to_a_placeholder(scanner: Scanner) -> None:
    token = _github(random.Random(14))
    text = f"GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\nGITHUB_TOKEN={token}\n"
    finding = _only(scanner.scan(text))
    assert text[finding.start : finding.end] == token


def test_the_committed_corpus_is_what_its_generator_makes() -> None:
    """bench/data/secrets_corpus.jsonl is generated: an edit by hand, or a generator change
    without regenerating (`python -m bench.secrets_corpus`), fails here."""
    from bench import secrets_corpus

    made = secrets_corpus.dumps(secrets_corpus.build())
    assert secrets_corpus.CORPUS.read_text(encoding="utf-8") == made
