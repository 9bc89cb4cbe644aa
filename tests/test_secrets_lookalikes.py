"""Look-alikes the scanner must not report (published samples, stand-ins keeping a real
prefix, PEM blocks without a key, code read as a value), default credentials reported
low, and the random values beside them that must still be found.

Every stand-in here is typed for the test; every "real" value is drawn from a seeded
generator in the issuer's alphabet, so a filter that only knew one literal would fail.
"""

from __future__ import annotations

import base64
import random
import string

import pytest

from charter.secrets import Scanner
from charter.secrets.filters import (
    DEFAULT_CREDENTIAL_CONFIDENCE,
    is_code_reference,
    is_default_credential,
    is_published_example,
    is_stand_in,
)

ALNUM = string.ascii_letters + string.digits


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(key=b"\x00" * 32)


def _chars(seed: str, alphabet: str, length: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


# -- published examples -------------------------------------------------------------------

PUBLISHED = {
    "aws_access_doc": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_doc": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_any_example": "AWS_ACCESS_KEY_ID=AKIAZ7Q2EXAMPLE4XJ3Q",
    "firebase_sample": 'initializeApp({apiKey: "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs"})',
    "firebase_alphabet": 'const TEST_API_KEY = "AIzaSyabcdefghijklmnopqrstuvwxyz1234567";',
    "stripe_docs": "curl https://api.stripe.com/v1/charges -u sk_test_4eC39HqLyjWDarjtT1zdp7dc:",
    "stripe_old_docs": 'stripe.api_key = "sk_test_BQokikJOvBiI2HlWgH4olfQ2"',
    "jwt_io_sample": "Cookie: theme=dark; session="
    + base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    + "."
    + base64.urlsafe_b64encode(b'{"sub":"1234567890","name":"John Doe","iat":1516239022}')
    .decode()
    .rstrip("=")
    + "."
    + _chars("jwt-sig", ALNUM + "-_", 43),
}


@pytest.mark.parametrize("text", PUBLISHED.values(), ids=PUBLISHED.keys())
def test_published_examples_are_not_reported(scanner: Scanner, text: str) -> None:
    assert scanner.scan(text) == []


def test_only_the_published_stripe_test_keys_are_samples(scanner: Scanner) -> None:
    assert is_published_example("sk_test_4eC39HqLyjWDarjtT1zdp7dc")
    own = "sk_test_" + _chars("stripe-own", ALNUM, 24)
    assert not is_published_example(own)
    assert [f.type for f in scanner.scan(f"stripe.api_key = '{own}'")] == ["stripe_key"]


# -- stand-ins keeping a real prefix ------------------------------------------------------

STAND_INS = [
    "npm_TOKEN_GOES_HERE_000000000000000000000",
    "shpat_<access-token>",
    "github_pat_xxxxxxxxxxxxxxxxxxxxxx_" + "x" * 59,
    "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "gho_abcdefghijklmnopqrstuvwxyz0123456789",
    "xoxb-12345-abcd234",
    "xoxb-your-token",
    "xoxb-Slack_BOT_TOKEN",
    "xoxe.xoxp-1-RANDOMSTRINGHERE",
    "xoxp-DefaultAppAccessTokenHere",
    "sk-...",
    "sk-proj-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "hf_xxx",
    "AKIAXXXXXXXXXXXXXXXX",
    "glpat-xxxxxxxxxxxxxxxxxxxx",
    "glpat-TOKEN_GOES_HERE_12345678",
    "sk_live_YOUR_KEY_HERE_0000000000",
    "sk_live_000000000000000000000000",
    "npm_************************************",
    "AIzaSyAbCdEfGhIjKlMnOpQrStUvWxYz1234567",
    "dapi0123456789abcdef0123456789abcdef",
    "sgp_5555555dAAAAA7777777CcccCFaaaaaaaaaaaaaa",
    "ops_{{ONEPASSWORD_TOKEN}}",
]


@pytest.mark.parametrize("value", STAND_INS)
def test_a_prefix_with_a_word_or_low_variety_body_is_a_stand_in(value: str) -> None:
    assert is_stand_in(value)


@pytest.mark.parametrize("value", STAND_INS)
def test_stand_ins_are_not_reported_in_text(scanner: Scanner, value: str) -> None:
    assert scanner.scan(f"export TOOL_CREDENTIAL_FOR_CI={value}\n") == [] or all(
        f.type == "generic_secret" for f in scanner.scan(f"export X={value}")
    )
    assert [f for f in scanner.scan(f"see {value} in the docs") if f.confidence >= 0.9] == []


def _random_tokens() -> list[str]:
    digits = string.digits
    return [
        "ghp_" + _chars("g1", ALNUM, 36),
        "npm_" + _chars("n1", ALNUM, 36),
        "AKIA" + _chars("a1", string.ascii_uppercase + "234567", 16),
        "AIza" + _chars("z1", ALNUM + "-_", 35),
        "glpat-" + _chars("l1", ALNUM + "-_", 20),
        f"xoxb-{_chars('s1', digits, 11)}-{_chars('s2', digits, 13)}-{_chars('s3', ALNUM, 24)}",
        # a real value may hold a digit run or a short word by chance
        "sk_live_" + _chars("k1", ALNUM, 10) + "123456" + _chars("k2", ALNUM, 10),
        "npm_" + _chars("n2", ALNUM, 16) + "key" + _chars("n3", ALNUM, 17),
        "sk-proj-" + _chars("o1", ALNUM + "-_", 60),
    ]


@pytest.mark.parametrize("value", _random_tokens())
def test_random_bodies_are_not_stand_ins(scanner: Scanner, value: str) -> None:
    assert not is_stand_in(value)
    found = scanner.scan(f"token: {value}\n")
    assert len(found) == 1
    assert found[0].confidence >= 0.85


def test_many_random_bodies_stay_found() -> None:
    rng = random.Random(12)
    alphabets = [ALNUM, "0123456789abcdef", string.ascii_uppercase + "234567", ALNUM + "-_"]
    dropped = [
        body
        for _ in range(2000)
        for alphabet in alphabets
        if is_stand_in("tok_" + (body := "".join(rng.choice(alphabet) for _ in range(32))))
    ]
    assert len(dropped) <= 2, dropped


# -- PEM blocks without a key -------------------------------------------------------------


def _pem(kind: str, body: str) -> str:
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


NOT_KEYS = {
    "dots": _pem("RSA PRIVATE KEY", "..."),
    "your_key_here": _pem("RSA PRIVATE KEY", "<your key here>"),
    "truncated": _pem("PRIVATE KEY", "MII..."),
    "variable": _pem("PRIVATE KEY", "${PRIVATE_KEY}"),
    "xs": _pem("PRIVATE KEY", "x" * 64 + "\n" + "x" * 64),
    "documentation": _pem("EC PRIVATE KEY", "MHcCAQEEI...\n...(base64 of the key)...\n"),
    "empty_openssh": "-----BEGIN OPENSSH PRIVATE KEY----------END OPENSSH PRIVATE KEY-----",
    "openssh_not_openssh": _pem(
        "OPENSSH PRIVATE KEY", base64.b64encode(random.Random(3).randbytes(120)).decode()
    ),
    "certificate": _pem("CERTIFICATE", base64.b64encode(random.Random(4).randbytes(300)).decode()),
    "public_key": _pem("PUBLIC KEY", base64.b64encode(random.Random(5).randbytes(200)).decode()),
}


@pytest.mark.parametrize("text", NOT_KEYS.values(), ids=NOT_KEYS.keys())
def test_pem_blocks_without_a_key_are_not_reported(scanner: Scanner, text: str) -> None:
    assert scanner.scan(text) == []


def _lines(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64))


@pytest.mark.parametrize(
    "text",
    [
        _pem("RSA PRIVATE KEY", _lines(random.Random(6).randbytes(600))),
        _pem("OPENSSH PRIVATE KEY", _lines(b"openssh-key-v1\0" + random.Random(7).randbytes(300))),
        _pem(
            "RSA PRIVATE KEY",
            "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
            + _chars("iv", "0123456789ABCDEF", 32)
            + "\n\n"
            + _lines(random.Random(8).randbytes(600)),
        ),
        _pem("PRIVATE KEY", _lines(random.Random(9).randbytes(48))).replace("\n", "\\n"),
    ],
    ids=["rsa", "openssh", "encrypted", "json_escaped_ed25519"],
)
def test_real_key_blocks_are_found(scanner: Scanner, text: str) -> None:
    assert [f.type for f in scanner.scan(text)] == ["private_key"]


# -- code and references read as values ---------------------------------------------------

CODE = {
    "java_getenv": 'String password = System.getenv("DB_PASSWORD");',
    "python_getenv": 'password = os.getenv("DB_PASSWORD")',
    "dotnet_env": 'var password = Environment.GetEnvironmentVariable("DB_PASSWORD");',
    "ruby_env": 'password = ENV["DB_PASSWORD"]',
    "ruby_fetch": 'password = ENV.fetch("DB_PASSWORD")',
    "go_getenv": 'password := getenv("DB_PASSWORD")',
    "php_env": "$password = $_ENV['DB_PASSWORD'];",
    "cfn_secretsmanager": "password: '{{resolve:secretsmanager:prod/db:SecretString:pw}}'",
    "cfn_ssm": "MasterUserPassword: '{{resolve:ssm-secure:/prod/db/password:1}}'",
    "actions": "token: ${{ secrets.DEPLOY_TOKEN }}",
    "docker_secret": "DB_PASSWORD=$(cat /run/secrets/db_password)",
    "django_model": "password = models.CharField(max_length=128)",
    "drf_serializer": "password = serializers.CharField(write_only=True)",
    "django_form": "password = forms.CharField(widget=forms.PasswordInput())",
    "hf_tokenizer": 'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    "hf_token_var": 'token = AutoTokenizer.from_pretrained("distilbert-base-cased")',
    "java_keyspec": 'SecretKeySpec secretKey = new SecretKeySpec(keyBytes, "HmacSHA256");',
    "new_string": "password = new String(passwordChars)",
    "subscript": 'password = config["password"]',
    "spring_value": '@Value("${db.password}") private String password;',
    "k8s_ref": "password: secretKeyRef",
    "type_string": "password = String",
    "type_secretstr": "password: SecretStr",
    "type_optional": "password: Optional[str] = None",
    "annotation": "def check_password(password: str) -> bool:",
    "method_call": "api_token = get_api_token()",
    "java_param": 'String password = request.getParameter("password");',
    "variable": "conn = connect(user=db_user, password=db_password)",
    "camel_variable": "client_secret: clientSecretValue",
    "file_json": 'credentials_path = "token.json"\ntoken = "token.json"',
    "file_key": "secret = secret.key",
    "file_pem": 'private_key = "deploy-key.pem"',
}


@pytest.mark.parametrize("text", CODE.values(), ids=CODE.keys())
def test_code_and_references_are_not_reported(scanner: Scanner, text: str) -> None:
    assert scanner.scan(text) == []


@pytest.mark.parametrize(
    "value", ["Xk9(q!vB2mZ", "p[4Lw#9zQe", "Tr0ub4dor&3", "hunter2.Q9x", "q9X.Lm2(Zp"]
)
def test_generated_passwords_with_brackets_are_not_code(scanner: Scanner, value: str) -> None:
    assert not is_code_reference(value)
    assert [f.type for f in scanner.scan(f"password = '{value}'")] == ["generic_secret"]


# -- default credentials ------------------------------------------------------------------

DEFAULTS = {
    "rabbitmq": "amqp://guest:guest@localhost:5672/",
    "postgres": "DATABASE_URL=postgres://postgres:postgres@localhost:5432/app",
    "mysql": "mysql://root:root@127.0.0.1/app",
    "admin": "https://admin:admin@grafana.internal/",
    "user_password": "HTTP_PROXY=http://user:password@proxy:3128",
}


@pytest.mark.parametrize("text", DEFAULTS.values(), ids=DEFAULTS.keys())
def test_default_credentials_are_reported_low(scanner: Scanner, text: str) -> None:
    found = scanner.scan(text)
    assert [f.type for f in found] == ["url_password"]
    assert found[0].confidence == DEFAULT_CREDENTIAL_CONFIDENCE <= 0.4


def test_default_credentials_are_known_pairs_only() -> None:
    assert is_default_credential("sa", "")
    assert is_default_credential("Guest", "guest")
    assert not is_default_credential("guest", "admin")
    assert not is_default_credential("postgres", _chars("pg", ALNUM, 16))


def test_a_real_password_in_a_url_stays_sure(scanner: Scanner) -> None:
    password = _chars("url", ALNUM, 18)
    found = scanner.scan(f"postgres://postgres:{password}@db.internal:5432/app")
    assert [(f.type, f.confidence) for f in found] == [("url_password", 0.9)]
