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
        # the format is not parsed: a body without OpenSSH's magic is still reported
        _pem("OPENSSH PRIVATE KEY", base64.b64encode(random.Random(3).randbytes(120)).decode()),
        _pem(
            "RSA PRIVATE KEY",
            "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
            + _chars("iv", "0123456789ABCDEF", 32)
            + "\n\n"
            + _lines(random.Random(8).randbytes(600)),
        ),
        _pem("PRIVATE KEY", _lines(random.Random(9).randbytes(48))).replace("\n", "\\n"),
    ],
    ids=["rsa", "openssh", "openssh_without_magic", "encrypted", "json_escaped_ed25519"],
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


# -- the look-alike classes of issue 12 ---------------------------------------------------

AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE = {
    "connection_string": "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;"
    f"AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
    "bare_connection": "DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;"
    f"AccountKey={AZURITE_KEY}",
    "json_setting": f'{{"AzureStorageKey": "{AZURITE_KEY}"}}',
    "env_key": f"AZURE_STORAGE_KEY={AZURITE_KEY}",
    "yaml_key": f"azure:\n  storage_account_key: '{AZURITE_KEY}'\n",
    "unpadded": f"azure_storage_key = {AZURITE_KEY.rstrip('=')}",
    "cli_flag": f"az storage blob list --account-name devstoreaccount1 --account-key {AZURITE_KEY}",
    "development_storage": '"AzureWebJobsStorage": "UseDevelopmentStorage=true"',
    "development_storage_env": "AZURE_STORAGE_CONNECTION_STRING=UseDevelopmentStorage=true",
    "development_storage_proxy": "StorageConnectionString=UseDevelopmentStorage=true;"
    "DevelopmentStorageProxyUri=http://myProxyUri",
}


@pytest.mark.parametrize("text", AZURITE.values(), ids=AZURITE.keys())
def test_the_azure_emulator_account_is_not_reported(scanner: Scanner, text: str) -> None:
    assert is_published_example(AZURITE_KEY)
    assert scanner.scan(text) == []


def test_a_real_azure_account_key_is_still_found(scanner: Scanner) -> None:
    key = base64.b64encode(random.Random(21).randbytes(64)).decode()
    text = f"DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey={key};"
    assert [f.type for f in scanner.scan(text)] == ["azure_storage_key"]


SAMPLE_KEYS = {
    "stripe_publishable_docs": "STRIPE_SECRET_KEY=pk_test_TYooMQauvdEDq54NiTphI7jx",
    "stripe_publishable_yaml": "stripeSecretKey: 'pk_test_TYooMQauvdEDq54NiTphI7jx'",
    "stripe_docs_hcl": 'variable "stripe_key" {\n  default = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"\n}',
    "stripe_docs_curl": "curl https://api.stripe.com/v1/charges "
    "-u sk_test_BQokikJOvBiI2HlWgH4olfQ2:",
    "stripe_xs": "STRIPE_API_KEY=sk_test_" + "x" * 24,
    "stripe_live_xs": "STRIPE_API_KEY=sk_live_" + "X" * 24,
    "firebase_counting": 'apiKey: "AIzaSyDOCAbC123dEf456GhI789jKl012-MnO"',
    "firebase_counting_env": "GOOGLE_API_KEY=AIzaSyDOCAbC123dEf456GhI789jKl012-MnO",
    "firebase_alphabet_xml": "<GoogleApiKey>AIzaSyAbCdEfGhIjKlMnOpQrStUvWxYz0123456</GoogleApiKey>",
    "firebase_alphabet_go": 'googleApiKey := "AIzaSyAbCdEfGhIjKlMnOpQrStUvWxYz0123456"',
    "firebase_as": "GOOGLE_API_KEY=AIzaSy" + "A" * 33,
    "maps_xs": "google_api_key: AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "mapbox_public": "MAPBOX_PUBLIC_TOKEN=pk.eyJ1IjoiYWNtZSIsImEiOiJjbHRlc3QifQ."
    + _chars("mb", ALNUM, 22),
    "next_public": "NEXT_PUBLIC_STRIPE_KEY=pk_live_" + _chars("pk", ALNUM, 24),
}


@pytest.mark.parametrize("text", SAMPLE_KEYS.values(), ids=SAMPLE_KEYS.keys())
def test_documentation_and_sdk_sample_keys_are_not_reported(scanner: Scanner, text: str) -> None:
    assert [f for f in scanner.scan(text) if f.confidence >= 0.5] == []


@pytest.mark.parametrize(
    "text",
    [
        "MINIO_ROOT_USER=minioadmin\nMINIO_ROOT_PASSWORD=minioadmin\n",
        "  POSTGRES_USER: postgres\n  POSTGRES_PASSWORD: postgres\n",
        'environment:\n  - RABBITMQ_DEFAULT_PASS="rabbitmq"\n',
        "NEO4J_PASSWORD=Neo4j",
        "spring.datasource.password=oracle",
        "mysql -u root -proot -h 127.0.0.1 test_db",
        "curl -u admin:admin http://localhost:8080/api/health",
        "The management UI logs in as guest:guest by default.",
        "mongodb://user:pass@localhost:27017/test",
    ],
)
def test_default_passwords_are_at_most_low(scanner: Scanner, text: str) -> None:
    found = scanner.scan(text)
    assert all(f.confidence <= DEFAULT_CREDENTIAL_CONFIDENCE for f in found), found


def test_a_real_password_beside_a_default_user_stays_sure(scanner: Scanner) -> None:
    password = _chars("pg-real", ALNUM, 16)
    found = scanner.scan(f"POSTGRES_USER: postgres\nPOSTGRES_PASSWORD: {password}\n")
    assert [f.type for f in found] == ["generic_secret"]
    assert found[0].confidence >= 0.7


REFERENCES = {
    "cfn_resolve_json": '{"stripeSecretKey": '
    '"{{resolve:secretsmanager:prod/stripe_secret_key:SecretString:value}}"}',
    "cfn_resolve_token": 'hfToken: "{{resolve:secretsmanager:prod/hf_token:SecretString:value}}"',
    "cfn_resolve_ssm": "ApiToken: '{{resolve:ssm-secure:/prod/api_token:1}}'",
    "actions_expression": "env:\n  DEPLOY_TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n",
    "shell_default": "export API_TOKEN=${API_TOKEN:-}",
    "vault_ref": "db_password: vault:secret/data/prod/db_password#value",
    "vault_template": 'password = "${vault:secret/prod/db_password}"',
    "java_getenv": 'String sendgridApiKey = System.getenv("SENDGRID_API_KEY");',
    "python_environ": 'twilio_auth_token = os.environ["TWILIO_AUTH_TOKEN"]',
    "python_environ_get": 'api_token = os.environ.get("API_TOKEN", "")',
    "node_env": "const stripeSecretKey = process.env.STRIPE_SECRET_KEY;",
    "go_getenv": 'hfToken := os.Getenv("HF_TOKEN")',
    "csharp_env": 'var apiToken = Environment.GetEnvironmentVariable("API_TOKEN");',
    "django_field": "api_secret = models.CharField(max_length=64, blank=True)",
    "tokenizer": 'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased", token=hf_token)',
    "hcl_var": "db_password = var.db_password",
    "k8s_secret_ref": "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n"
    "      name: app\n      key: db_password\n",
}


@pytest.mark.parametrize("text", REFERENCES.values(), ids=REFERENCES.keys())
def test_references_read_as_values_are_not_reported(scanner: Scanner, text: str) -> None:
    assert scanner.scan(text) == []


PREFIXED_STAND_INS = {
    "slack_runs": "SLACK_TOKEN=xoxb-12345-abcd234",
    "slack_bot_runs": "SLACK_BOT_TOKEN := xoxb-12345-abcd234",
    "npm_words": "NPM_TOKEN=npm_TOKEN_GOES_HERE",
    "npm_words_yaml": "npm_token: 'npm_YOUR_NPM_TOKEN'",
    "github_xs": "GITHUB_TOKEN=github_pat_" + "x" * 22 + "_" + "x" * 59,
    "github_ellipsis": "GITHUB_TOKEN=github_pat_xxxxxxxx…",
    "shopify_angle": "SHOPIFY_TOKEN=shpat_<access-token>",
    "shopify_hcl": 'default   = "shpat_<access-token>"\nSHOPIFY_ACCESS_TOKEN = "shpat_<token>"',
    "digitalocean_angle": '- name: DIGITALOCEAN_TOKEN\n  value: "dop_v1_<token>"',
    "kubeadm_docs": "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef",
    "gitlab_words": "CI_TOKEN=glpat-your_token_here",
    "huggingface_short": "HF_TOKEN=hf_xxx",
}


@pytest.mark.parametrize("text", PREFIXED_STAND_INS.values(), ids=PREFIXED_STAND_INS.keys())
def test_prefixed_stand_ins_under_secret_names_are_not_reported(
    scanner: Scanner, text: str
) -> None:
    assert scanner.scan(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "SLACK_TOKEN=xoxb-" + _chars("sl1", string.digits, 11) + "-" + _chars("sl2", ALNUM, 24),
        "NPM_TOKEN=npm_" + _chars("np", ALNUM, 36),
        "SHOPIFY_TOKEN=shpat_" + _chars("sh", "0123456789abcdef", 32),
        "API_TOKEN=tok_" + _chars("tk", ALNUM, 28),
    ],
)
def test_random_prefixed_values_under_secret_names_are_found(scanner: Scanner, text: str) -> None:
    assert [f for f in scanner.scan(text) if f.confidence >= 0.7] != []


NOT_VALUES = {
    "annotation": "def sign(private_key: Ed25519PrivateKey, tree_size: int) -> None:",
    "annotation_optional": "        signing_key: Ed25519PrivateKey | None = None,",
    "annotation_default": "    api_token: SecretToken = field(default=None)",
    "error_message": 'raise TypeError("pwd: expected bytes, got %s" % type(pwd).__name__)',
    "comment": "        # First pass: determine maximum length of long option names",
    "log_prose": "token: missing or expired, asking the user again",
    "nested_pair": "DB_CONNECTION=Server=db;Database=app;Trusted_Connection=True;",
}


@pytest.mark.parametrize("text", NOT_VALUES.values(), ids=NOT_VALUES.keys())
def test_prose_annotations_and_nested_pairs_are_not_values(scanner: Scanner, text: str) -> None:
    assert scanner.scan(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "password: " + _chars("yaml-pw", ALNUM, 14) + "\n",
        "password: Xk9qLm2Zp7 and the user is bob",
        "api_token: " + _chars("yaml-tok", ALNUM, 24) + ", user: bob",
        "secret=SUXamr=II1Qrakv6lZdtYo",
    ],
)
def test_values_near_those_shapes_stay_found(scanner: Scanner, text: str) -> None:
    assert [f.type for f in scanner.scan(text)] == ["generic_secret"]
