# ruff: noqa: E501 - templates read best one to a line
"""Harmless texts that look like secrets: published examples, placeholders, references.

Each family is a function of the seeded ``random.Random`` returning ``(kind, form,
provider, text)``: ``provider`` is the slug of the provider it imitates (None when it
imitates none), ``form`` how it is written (a form of bench/secrets_wild_forms.py when
the look-alike stands where a value would, else the family's own layout). None of
these texts holds a secret: a finding in one is a false alarm. The families follow the
false positives the issue lists and the ``fps`` of gitleaks' rule tests (facts only:
the texts are this project's own, except documentation samples quoted as published,
such as AWS's ``AKIAIOSFODNN7EXAMPLE`` and Azurite's development storage key).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from bench import secrets_formats as fmt
from bench.secrets_text import render
from bench.secrets_wild_forms import FORMS, Names

LookAlike = tuple[str, str, str | None, str]
Family = Callable[[random.Random], LookAlike]

VALUE_FORMS = (
    "env_unquoted",
    "env_double",
    "json",
    "yaml_plain",
    "yaml_quoted",
    "python",
    "java",
    "go_short",
    "javascript",
    "xml_element",
    "shell_export",
    "cli_flag_space",
    "hcl_variable",
    "set_property",
    "log_line",
    "chat",
    "k8s_env",
    "docker_env",
    "makefile_colon_eq",
    "php_concat",
)
"""Forms a value-shaped look-alike is written in, as a real value would be."""

WORDS = {
    "aws": ("aws", "access", "key", "id"),
    "github": ("github", "token"),
    "stripe": ("stripe", "secret", "key"),
    "google": ("google", "api", "key"),
    "npm": ("npm", "token"),
    "shopify": ("shopify", "access", "token"),
    "slack": ("slack", "bot", "token"),
    "openai": ("openai", "api", "key"),
    "huggingface": ("hf", "token"),
    "gitlab": ("gitlab", "token"),
    "digitalocean": ("digitalocean", "token"),
    "sendgrid": ("sendgrid", "api", "key"),
    "mailgun": ("mailgun", "api", "key"),
    "databricks": ("databricks", "token"),
    "hashicorp": ("vault", "token"),
    "twilio": ("twilio", "auth", "token"),
    None: ("api", "key"),
}


def _in_form(rng: random.Random, provider: str | None, value: str) -> LookAlike:
    """``value`` written where a secret would be, in one of `VALUE_FORMS`."""
    form = rng.choice(VALUE_FORMS)
    words = WORDS.get(provider, WORDS[None])
    kind, parts = FORMS[form](rng, Names(words), f"api.{provider or 'example'}.com", value)
    return kind, form, provider, render(parts)[0]


def _own(kind: str, form: str, provider: str | None, text: str) -> LookAlike:
    return kind, form, provider, text


# -- published examples ------------------------------------------------------------------

AWS_EXAMPLES = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "ASIAIOSFODNN7EXAMPLE",
    "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
)


def aws_example(rng: random.Random) -> LookAlike:
    value = rng.choice(AWS_EXAMPLES)
    if rng.random() < 0.3:
        return _own(
            "chat",
            "docs",
            "aws",
            "In the AWS docs the credentials file looks like:\n\n[default]\n"
            f"aws_access_key_id = {AWS_EXAMPLES[0]}\naws_secret_access_key = {AWS_EXAMPLES[1]}\n",
        )
    return _in_form(rng, "aws", value)


def _docs_google_key(rng: random.Random) -> str:
    """A key in the shape the Firebase and Maps docs print: visibly a counting pattern."""
    return rng.choice(
        [
            "AIzaSyDOCAbC123dEf456GhI789jKl012-MnO",
            "AIzaSyAbCdEfGhIjKlMnOpQrStUvWxYz0123456",
            "AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "AIzaSy" + "A" * 33,
        ]
    )


def sdk_sample_key(rng: random.Random) -> LookAlike:
    project = rng.choice(["my-app", "demo-project", "your-project-id", "example-123"])
    text = (
        "// Your web app's Firebase configuration (from the docs)\nconst firebaseConfig = {\n"
        f'  apiKey: "{_docs_google_key(rng)}",\n  authDomain: "{project}.firebaseapp.com",\n'
        f'  projectId: "{project}",\n  storageBucket: "{project}.appspot.com",\n'
        '  messagingSenderId: "123456789012",\n  appId: "1:123456789012:web:abcdef123456"\n};\n'
    )
    if rng.random() < 0.4:
        return _in_form(rng, "google", _docs_google_key(rng))
    return _own("code", "javascript", "google", text)


STRIPE_DOCS = (
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "pk_test_TYooMQauvdEDq54NiTphI7jx",
    "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    "sk_test_" + "x" * 24,
    "sk_live_" + "X" * 24,
)


def stripe_docs_key(rng: random.Random) -> LookAlike:
    value = rng.choice(STRIPE_DOCS)
    if rng.random() < 0.4:
        return _own(
            "shell",
            "curl_user",
            "stripe",
            f"# from the Stripe API reference\ncurl https://api.stripe.com/v1/charges \\\n  -u {value}: \\\n  -d amount=2000\n",
        )
    return _in_form(rng, "stripe", value)


AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azure_dev_storage(rng: random.Random) -> LookAlike:
    if rng.random() < 0.3:
        return _own(
            "config",
            "azure_connection",
            "azure",
            '"AzureWebJobsStorage": "UseDevelopmentStorage=true"\n',
        )
    return _own(
        "config",
        "azure_connection",
        "azure",
        "# Azurite, the local emulator's well-known account\n"
        "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;\n",
    )


# -- placeholders -------------------------------------------------------------------------


def _prefixed_placeholders(rng: random.Random) -> list[tuple[str, str]]:
    return [
        ("npm", "npm_TOKEN_GOES_HERE"),
        ("npm", "npm_" + "x" * 36),
        ("shopify", "shpat_<access-token>"),
        ("shopify", "shpat_" + "0" * 32),
        ("github", "github_pat_" + "x" * rng.choice([22, 40, 82])),
        ("github", "ghp_" + "X" * 36),
        ("github", "ghp_your_token_here"),
        ("slack", "xoxb-12345-abcd234"),
        ("slack", "xoxb-your-bot-token"),
        ("slack", "xoxp-000000000000-000000000000-000000000000-" + "0" * 32),
        ("openai", "sk-..."),
        ("openai", "sk-proj-XXXXXXXXXXXXXXXXXXXXXXXX"),
        ("openai", "sk-<your-openai-key>"),
        ("huggingface", "hf_***"),
        ("huggingface", "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ("gitlab", "glpat-XXXXXXXXXXXXXXXXXXXX"),
        ("gitlab", "glpat-<your_token>"),
        ("digitalocean", "dop_v1_<token>"),
        ("digitalocean", "dop_v1_" + "x" * 64),
        ("sendgrid", "SG.xxxxxxxxxxxxxxxxxxxxxx.yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"),
        ("sendgrid", "SG.your-api-key"),
        ("mailgun", "key-<your-mailgun-key>"),
        ("mailgun", "key-" + "0" * 32),
        ("databricks", "dapi<personal-access-token>"),
        ("databricks", "dapi" + "X" * 32),
        ("hashicorp", "hvs.<vault-token>"),
        ("hashicorp", "hvs.XXXXXXXXXXXXXXXXXXXXXXXX"),
        ("aws", "AKIAXXXXXXXXXXXXXXXX"),
        ("aws", "AKIA" + "0" * 16),
        ("stripe", "sk_live_..."),
        ("stripe", "sk_test_YOUR_SECRET_KEY"),
        ("google", "AIza<your-api-key>"),
        ("twilio", "SKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ]


def prefix_placeholder(rng: random.Random) -> LookAlike:
    provider, value = rng.choice(_prefixed_placeholders(rng))
    return _in_form(rng, provider, value)


GENERIC_PLACEHOLDERS = (
    "<your-api-key>",
    "YOUR_API_KEY",
    "YOUR_API_KEY_HERE",
    "changeme",
    "${API_KEY}",
    "{{ api_key }}",
    "%API_KEY%",
    "REPLACE_ME",
    "<redacted>",
    "your-secret-here",
    "TODO",
    "$(API_KEY)",
    "<%= ENV['API_KEY'] %>",
    "{{ .Values.apiKey }}",
)


def generic_placeholder(rng: random.Random) -> LookAlike:
    provider = rng.choice([None, "twilio", "sendgrid", "stripe", "github"])
    return _in_form(rng, provider, rng.choice(GENERIC_PLACEHOLDERS))


def masked_value(rng: random.Random) -> LookAlike:
    value = rng.choice(
        [
            "sk_live_" + "*" * 24,
            "ghp_" + "*" * 32 + fmt.pick(rng, fmt.BASE62, 4),
            "AKIA" + "*" * 12 + "MPLE",
            "********",
            "[REDACTED]",
            "xoxb-****-****",
            "hf_" + "•" * 10,
            "SG.****.****",
            "•" * 16,
            "sk-…" + fmt.pick(rng, fmt.BASE62, 4),
        ]
    )
    return _in_form(rng, rng.choice([None, "github", "stripe", "slack"]), value)


def short_test_value(rng: random.Random) -> LookAlike:
    value = rng.choice(
        ["test", "abc123", "dev", "1234", "secret", "password", "foo", "s3cr3t", "token"]
    )
    return _in_form(rng, rng.choice([None, "twilio", "github"]), value)


# -- PEM blocks that are not keys ---------------------------------------------------------


def pem_not_key(rng: random.Random) -> LookAlike:
    label = rng.choice(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    choice = rng.randrange(6)
    if choice == 0:
        body = "..."
    elif choice == 1:
        body = "<your key here>"
    elif choice == 2:
        body = "{{ private_key }}"
    elif choice == 3:
        body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\n...\n(truncated)"
    elif choice == 4:
        body = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n" * 3
        body = body.rstrip("\n")
    else:
        body = "$PRIVATE_KEY_CONTENT"
    text = f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"
    if rng.random() < 0.5:
        return _own("chat", "pem", None, f"The key file must look like this:\n\n{text}\n")
    return _own("config", "pem", None, "tls:\n  key: |\n    " + text.replace("\n", "\n    ") + "\n")


def public_block(rng: random.Random) -> LookAlike:
    label = rng.choice(["CERTIFICATE", "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE REQUEST"])
    body = fmt.b64(rng.randbytes(rng.choice([270, 294, 600])))
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    block = f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"
    if rng.random() < 0.3:
        ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + fmt.pick(rng, fmt.BASE64, 43)
        return _own("config", "ssh_public", None, f"{ssh} deploy@ci\n")
    if rng.random() < 0.2:
        recipient = "age1" + fmt.pick(rng, "qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58)
        return _own(
            "config",
            "age_recipient",
            "age",
            f"# .sops.yaml\ncreation_rules:\n  - age: {recipient}\n",
        )
    return _own("config", "pem", None, block)


# -- references, read as values ------------------------------------------------------------


def reference(rng: random.Random) -> LookAlike:
    name = rng.choice(
        ["STRIPE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "DB_PASSWORD", "SENDGRID_API_KEY", "HF_TOKEN"]
    )
    lower = name.lower()
    camel = lower.split("_")[0] + "".join(w.capitalize() for w in lower.split("_")[1:])
    texts = [
        ("code", "java", f'String {camel} = System.getenv("{name}");\n'),
        ("code", "python", f'{lower} = os.getenv("{name}")\n'),
        ("code", "python", f'{lower} = os.environ["{name}"]\n'),
        ("code", "javascript", f"const {camel} = process.env.{name};\n"),
        ("code", "ruby", f"{name} = ENV.fetch('{name}')\n"),
        ("code", "go_short", f'{camel} := os.Getenv("{name}")\n'),
        ("code", "csharp", f'var {camel} = Environment.GetEnvironmentVariable("{name}");\n'),
        ("config", "yaml_plain", f"env:\n  {name}: ${{{{ secrets.{name} }}}}\n"),
        (
            "config",
            "json",
            f'{{"{camel}": "{{{{resolve:secretsmanager:prod/{lower}:SecretString:value}}}}"}}\n',
        ),
        ("config", "yaml_plain", f"{lower}: vault:secret/data/prod/{lower}#value\n"),
        ("config", "env_unquoted", f"{name}=${{{name}}}\n"),
        (
            "config",
            "k8s_env",
            f"- name: {name}\n  valueFrom:\n    secretKeyRef:\n      name: app-secrets\n      key: {lower}\n",
        ),
        ("config", "hcl_variable", f"{lower} = var.{lower}\n"),
        (
            "config",
            "hcl_provider",
            f"password = data.aws_secretsmanager_secret_version.{lower}.secret_string\n",
        ),
        (
            "config",
            "yaml_plain",
            f"{lower}: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/{lower}-AbCdEf\n",
        ),
        ("shell", "shell_export", f"export {name}=$(cat /run/secrets/{lower})\n"),
        ("shell", "cli_flag_space", f'mytool --token "${name}" --verbose\n'),
        ("code", "php_concat", f"${camel} = getenv('{name}');\n"),
        ("config", "makefile_colon_eq", f"{name} := $(shell pass show ci/{lower})\n"),
        ("code", "header_go", f'req.Header.Set("Authorization", "Bearer "+os.Getenv("{name}"))\n'),
    ]
    kind, form, text = rng.choice(texts)
    return _own(kind, form, None, text)


def code_as_value(rng: random.Random) -> LookAlike:
    texts = [
        ("code", "python", "password = models.CharField(max_length=128)\n"),
        ("code", "python", 'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")\n'),
        (
            "code",
            "python",
            'token = AutoTokenizer.from_pretrained("meta-llama/Llama-3.1-8B-Instruct")\n',
        ),
        ("code", "python", "def login(username: str, password: str) -> Session:\n"),
        ("code", "python", 'password = request.form["password"]\n'),
        ("code", "python", "self.api_key = api_key\n"),
        (
            "code",
            "python",
            'secret = client.get_secret_value(SecretId="prod/api")["SecretString"]\n',
        ),
        ("code", "python", "password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt())\n"),
        (
            "code",
            "java",
            "private String password;\npublic void setPassword(String password) { this.password = password; }\n",
        ),
        ("code", "javascript", "const token = await getAccessToken({ scopes: ['repo'] });\n"),
        ("code", "go_short", "token, err := oauthConfig.Exchange(ctx, code)\n"),
        ("code", "typescript", "function authenticate(apiKey: string): Promise<User> {\n"),
        ("code", "csharp", "public string ClientSecret { get; set; }\n"),
        ("code", "kotlin", "val apiKey: String = BuildConfig.API_KEY\n"),
        ("code", "python", 'API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)\n'),
        ("code", "python", "token = secrets.token_urlsafe(32)\n"),
        ("code", "ruby", "has_secure_password\nvalidates :password, length: { minimum: 12 }\n"),
        (
            "code",
            "php_concat",
            "$password = password_hash($_POST['password'], PASSWORD_DEFAULT);\n",
        ),
    ]
    kind, form, text = rng.choice(texts)
    return _own(kind, form, None, text)


def default_credentials(rng: random.Random) -> LookAlike:
    texts = [
        ("config", "url_userinfo", "RABBITMQ_URL=amqp://guest:guest@localhost:5672/\n"),
        ("chat", "docs", "The management UI logs in as guest:guest by default.\n"),
        (
            "config",
            "url_userinfo",
            "DATABASE_URL=postgres://postgres:postgres@localhost:5432/app_test\n",
        ),
        ("chat", "docs", "Default login is admin:admin; change it on first start.\n"),
        ("shell", "cli_mysql", "mysql -u root -proot -h 127.0.0.1 test_db\n"),
        ("config", "yaml_plain", "  POSTGRES_USER: postgres\n  POSTGRES_PASSWORD: postgres\n"),
        ("shell", "curl_user", "curl -u admin:admin http://localhost:8080/api/health\n"),
        (
            "config",
            "jdbc",
            "spring.datasource.url=jdbc:h2:mem:testdb\nspring.datasource.username=sa\nspring.datasource.password=\n",
        ),
        ("config", "url_userinfo", "REDIS_URL=redis://default:password@localhost:6379/0\n"),
        ("config", "env_unquoted", "MINIO_ROOT_USER=minioadmin\nMINIO_ROOT_PASSWORD=minioadmin\n"),
        ("config", "url_userinfo", "mongodb://user:pass@localhost:27017/test\n"),
    ]
    kind, form, text = rng.choice(texts)
    return _own(kind, form, None, text)


# -- identifiers that are not secrets -----------------------------------------------------


def provider_identifier(rng: random.Random) -> LookAlike:
    """Public ids of the providers, written next to their names: account SIDs, client
    ids, app ids, publishable keys, public tokens."""
    sid = "AC" + fmt.pick(rng, fmt.HEX, 32)
    texts = [
        ("twilio", f"TWILIO_ACCOUNT_SID={sid}\n"),
        ("twilio", f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json\n"),
        ("azure", f"AZURE_TENANT_ID={fmt.uuid4(rng)}\nAZURE_CLIENT_ID={fmt.uuid4(rng)}\n"),
        ("heroku", f"HEROKU_APP_ID={fmt.uuid4(rng)}\n"),
        (
            "algolia",
            f"ALGOLIA_APP_ID={fmt.pick(rng, string.ascii_uppercase + string.digits, 10)}\n",
        ),
        ("okta", f"OKTA_CLIENT_ID=0oa{fmt.pick(rng, fmt.BASE62, 17)}\n"),
        (
            "google",
            f'"client_id": "{rng.randint(10**11, 10**12 - 1)}-{fmt.pick(rng, string.ascii_lowercase + string.digits, 32)}.apps.googleusercontent.com"\n',
        ),
        ("stripe", f"STRIPE_PUBLISHABLE_KEY=pk_live_{fmt.pick(rng, fmt.BASE62, 24)}\n"),
        (
            "sentry",
            f"SENTRY_DSN=https://{fmt.pick(rng, fmt.HEX, 32)}@o{rng.randint(10**5, 10**6)}.ingest.sentry.io/{rng.randint(10**6, 10**7)}\n",
        ),
        (
            "datadog",
            f"DD_SITE=datadoghq.eu\nDD_SERVICE=checkout\nDD_ENV=prod\nDD_VERSION={fmt.pick(rng, fmt.HEX, 7)}\n",
        ),
        (
            "shopify",
            f"SHOPIFY_SHOP=acme-{fmt.pick(rng, string.ascii_lowercase, 6)}.myshopify.com\n",
        ),
        (
            "cloudflare",
            f"CLOUDFLARE_ZONE_ID={fmt.pick(rng, fmt.HEX, 32)}\nCLOUDFLARE_ACCOUNT_ID={fmt.pick(rng, fmt.HEX, 32)}\n",
        ),
        (
            "discord",
            f"DISCORD_CLIENT_ID={rng.randint(10**17, 10**18)}\nDISCORD_GUILD_ID={rng.randint(10**17, 10**18)}\n",
        ),
        ("facebook", f"FACEBOOK_APP_ID={rng.randint(10**14, 10**15)}\n"),
        ("launchdarkly", f"LD_CLIENT_SIDE_ID={fmt.pick(rng, fmt.HEX, 24)}\n"),
        (
            "github",
            f"GITHUB_APP_ID={rng.randint(10**5, 10**6)}\nGITHUB_CLIENT_ID=Iv1.{fmt.pick(rng, fmt.HEX, 16)}\n",
        ),
        (
            "mapbox",
            "MAPBOX_PUBLIC_TOKEN=pk."
            + fmt.b64(
                '{"u":"acme","a":"' + fmt.pick(rng, string.ascii_lowercase, 25) + '"}'
            ).rstrip("=")
            + "."
            + fmt.pick(rng, fmt.BASE64URL, 22)
            + "\n",
        ),
        (
            "databricks",
            f"DATABRICKS_HOST=https://adb-{rng.randint(10**15, 10**16)}.{rng.randint(1, 19)}.azuredatabricks.net\n",
        ),
    ]
    provider, text = rng.choice(texts)
    return _own("config", "env_unquoted", provider, text)


def hash_digest(rng: random.Random) -> LookAlike:
    texts = [
        f"sha256sum: {fmt.hex_digest(rng, 64)}  app-1.4.2.tar.gz\n",
        f'"checksum": "md5:{fmt.hex_digest(rng, 32)}"\n',
        f'ETag: "{fmt.hex_digest(rng, 32)}"\n',
        f"FROM python:3.11-slim@sha256:{fmt.hex_digest(rng, 64)}\n",
        f'"integrity": "{fmt.sri_integrity(rng)}"\n',
        f'token_hash = "{fmt.hex_digest(rng, 64)}"  # sha256 of the token, not the token\n',
        f"content_md5={fmt.hex_digest(rng, 32)}\n",
    ]
    return _own("config", "checksum", None, rng.choice(texts))


def uuid_value(rng: random.Random) -> LookAlike:
    u = fmt.uuid4(rng)
    texts = [
        f'{{"request_id": "{u}", "status": 200}}\n',
        f"tenant_id: {u}\n",
        f"2026-11-20T10:11:12Z INFO job {u} finished in 412ms\n",
        f'subscription = "{u}"\n',
        f"correlationId={u}\n",
    ]
    return _own("log", "uuid", None, rng.choice(texts))


def git_sha(rng: random.Random) -> LookAlike:
    sha = fmt.hex_digest(rng, 40)
    texts = [
        f"commit {sha}\nAuthor: Dana <dana@example.com>\n",
        f"uses: actions/checkout@{sha}  # v4.2.2\n",
        f'"resolved": "git+https://github.com/acme/lib.git#{sha}"\n',
        f"GIT_COMMIT={sha}\n",
        f"Merge {sha[:12]} into main\n",
    ]
    return _own("log", "git", None, rng.choice(texts))


def base64_image(rng: random.Random) -> LookAlike:
    return _own("json", "json", None, f'{{"avatar": "{fmt.image_data_url(rng)}"}}\n')


def secret_like_name(rng: random.Random) -> LookAlike:
    texts = [
        "token_expiry_seconds = 3600\n",
        "PASSWORD_MIN_LENGTH=12\n",
        'api_key_header = "X-Api-Key"\n',
        "secret_name: prod/db/password\n",
        "TOKEN_URL=https://oauth2.googleapis.com/token\n",
        "AUTH_TOKEN_TTL=15m\n",
        '"secretRef": "payments-api-credentials"\n',
        'twilio_auth_token_env_var = "TWILIO_AUTH_TOKEN"\n',
        "SENDGRID_API_KEY_FILE=/run/secrets/sendgrid_api_key\n",
        "password_reset_token_lifetime: 86400\n",
        '<add key="ApiKeyHeaderName" value="X-Api-Key" />\n',
        "HF_HUB_ENABLE_HF_TRANSFER=1\n",
        "export GITHUB_TOKEN_PERMISSIONS=read\n",
        "--password-file /etc/app/password.txt\n",
    ]
    return _own("config", "identifier", None, rng.choice(texts))


def prose(rng: random.Random) -> LookAlike:
    texts = [
        "The token expired, so the job failed with 401.",
        "Rotate your API key every 90 days and never commit it.",
        "Set GITHUB_TOKEN in the repository settings, then re-run the workflow.",
        "Use the Twilio auth token from the console, not the account SID.",
        "Your Stripe secret key starts with sk_live_; keep it on the server side.",
        "Create a Hugging Face token (hf_...) with read access.",
        "Shopify admin tokens begin with shpat_ and are shown only once.",
        "The password must be at least 12 characters long.",
        "I reset the Datadog API key; the agents pick it up on restart.",
        "Store the Azure storage account key in Key Vault, not in app settings.",
    ]
    return _own("chat", "prose", None, rng.choice(texts))


def random_identifier(rng: random.Random) -> LookAlike:
    texts = [
        f"pod/checkout-{fmt.pick(rng, 'bcdfghjklmnpqrstvwxz2456789', 10)}-{fmt.pick(rng, 'bcdfghjklmnpqrstvwxz2456789', 5)} Running\n",
        f"trace_id={fmt.hex_digest(rng, 32)} span_id={fmt.hex_digest(rng, 16)}\n",
        f"X-Request-Id: {fmt.request_id(rng)}\n",
        f"session_id: {fmt.pick(rng, fmt.BASE62, 26)}\n",
        f"order #{fmt.pick(rng, string.ascii_uppercase + string.digits, 12)} shipped\n",
        f"idempotency_key={fmt.uuid4(rng)}\n",
        f"build: {fmt.pick(rng, fmt.HEX, 12)}-{rng.randint(100, 999)}\n",
    ]
    return _own("log", "identifier", None, rng.choice(texts))


def url_without_password(rng: random.Random) -> LookAlike:
    texts = [
        "postgres://app@db.internal:5432/main\n",
        "https://hooks.slack.com/services/\n",
        "https://discord.com/api/webhooks/\n",
        "git clone git@github.com:acme/app.git\n",
        "DATABASE_URL=postgres://localhost/app_dev\n",
        "https://user@example.com/path?next=/login\n",
        "redis://cache.internal:6379/0\n",
    ]
    return _own("config", "url_userinfo", None, rng.choice(texts))


FAMILIES: dict[str, Family] = {
    "aws_example": aws_example,
    "sdk_sample_key": sdk_sample_key,
    "stripe_docs_key": stripe_docs_key,
    "azure_dev_storage": azure_dev_storage,
    "prefix_placeholder": prefix_placeholder,
    "generic_placeholder": generic_placeholder,
    "masked_value": masked_value,
    "short_test_value": short_test_value,
    "pem_not_key": pem_not_key,
    "public_block": public_block,
    "reference": reference,
    "code_as_value": code_as_value,
    "default_credentials": default_credentials,
    "provider_identifier": provider_identifier,
    "hash_digest": hash_digest,
    "uuid_value": uuid_value,
    "git_sha": git_sha,
    "base64_image": base64_image,
    "secret_like_name": secret_like_name,
    "prose": prose,
    "random_identifier": random_identifier,
    "url_without_password": url_without_password,
}
"""Every look-alike family by name, the name the false-alarm table uses."""
