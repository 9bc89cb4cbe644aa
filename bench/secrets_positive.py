"""Samples that hold secrets: each finding type in the surroundings it turns up in.

Every template takes the seeded ``random.Random`` and returns ``(kind, family, parts)``
(bench/secrets_text.py); `positive_samples` runs each type's templates in turn. Plain
look-alikes (request ids, commit SHAs, UUIDs) sit around the secrets, as they do in
real logs and configs, so a scanner's precision is tested inside these samples too.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from bench import secrets_formats as fmt
from bench.secrets_text import Joined, Part, Secret, json_parts

Sample = tuple[str, str, list[Part]]


@dataclass(frozen=True, slots=True)
class Provider:
    """A credential with a provider format, and how people keep and send it."""

    type: str
    make: Callable[[random.Random], str]
    env: tuple[str, ...]
    what: str
    host: str
    header: str | None
    code: str


PROVIDERS = [
    Provider(
        "aws_access_key",
        fmt.aws_access_key,
        ("AWS_ACCESS_KEY_ID",),
        "access key id",
        "sts.amazonaws.com",
        None,
        'boto3.client("s3", aws_access_key_id="{}")',
    ),
    Provider(
        "aws_secret_key",
        fmt.aws_secret_key,
        ("AWS_SECRET_ACCESS_KEY",),
        "aws secret",
        "s3.amazonaws.com",
        None,
        'session = Session(aws_secret_access_key="{}")',
    ),
    Provider(
        "github_token",
        fmt.github_token,
        ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_PAT"),
        "github token",
        "api.github.com",
        "Authorization: token",
        'gh = Github("{}")',
    ),
    Provider(
        "gitlab_token",
        fmt.gitlab_token,
        ("GITLAB_TOKEN", "CI_JOB_TOKEN_OVERRIDE"),
        "gitlab PAT",
        "gitlab.com",
        "PRIVATE-TOKEN:",
        'gl = gitlab.Gitlab("https://gitlab.com", private_token="{}")',
    ),
    Provider(
        "slack_token",
        fmt.slack_token,
        ("SLACK_BOT_TOKEN", "SLACK_TOKEN"),
        "slack bot token",
        "slack.com",
        "Authorization: Bearer",
        'client = WebClient(token="{}")',
    ),
    Provider(
        "stripe_key",
        fmt.stripe_key,
        ("STRIPE_SECRET_KEY", "STRIPE_API_KEY"),
        "stripe key",
        "api.stripe.com",
        "Authorization: Bearer",
        'stripe.api_key = "{}"',
    ),
    Provider(
        "openai_key",
        fmt.openai_key,
        ("OPENAI_API_KEY",),
        "openai key",
        "api.openai.com",
        "Authorization: Bearer",
        'client = OpenAI(api_key="{}")',
    ),
    Provider(
        "anthropic_key",
        fmt.anthropic_key,
        ("ANTHROPIC_API_KEY",),
        "anthropic key",
        "api.anthropic.com",
        "x-api-key:",
        'client = anthropic.Anthropic(api_key="{}")',
    ),
    Provider(
        "google_api_key",
        fmt.google_api_key,
        ("GOOGLE_API_KEY", "GOOGLE_MAPS_KEY"),
        "maps api key",
        "maps.googleapis.com",
        "X-Goog-Api-Key:",
        'genai.configure(api_key="{}")',
    ),
    Provider(
        "npm_token",
        fmt.npm_token,
        ("NPM_TOKEN", "NODE_AUTH_TOKEN"),
        "npm token",
        "registry.npmjs.org",
        "Authorization: Bearer",
        'const npmToken = "{}";',
    ),
    Provider(
        "pypi_token",
        fmt.pypi_token,
        ("PYPI_TOKEN", "TWINE_PASSWORD"),
        "pypi token",
        "upload.pypi.org",
        None,
        'subprocess.run(["twine", "upload", "-p", "{}", "dist/*"])',
    ),
    Provider(
        "jwt",
        fmt.jwt,
        ("ID_TOKEN", "SESSION_JWT", "AUTH_TOKEN"),
        "jwt",
        "api.internal.example.com",
        "Authorization: Bearer",
        'headers = {{"Authorization": "Bearer {}"}}',
    ),
]

TIMES = ["2026-11-30T08:14:07Z", "2026-12-01T23:02:51.418Z", "2026-10-17 14:22:09,114"]


def _ts(rng: random.Random) -> str:
    return rng.choice(TIMES)


def _noise_env(rng: random.Random) -> list[str]:
    lines = [
        "APP_ENV=production",
        f"LOG_LEVEL={rng.choice(['info', 'debug', 'warn'])}",
        f"PORT={rng.choice([3000, 8000, 8080])}",
        f"BUILD_SHA={fmt.hex_digest(rng, 40)}",
        f"DEPLOY_ID={fmt.uuid4(rng)}",
        "FEATURE_FLAGS=search,beta-billing",
        "DB_PASSWORD=${DB_PASSWORD}",
    ]
    rng.shuffle(lines)
    return lines[: rng.randint(2, 4)]


def _env_file(rng: random.Random, p: Provider, s: Secret) -> Sample:
    before, after = _noise_env(rng), _noise_env(rng)
    parts: list[Part] = ["\n".join(before) + "\n", f"{rng.choice(p.env)}=", s, "\n"]
    return "config", "dotenv", [*parts, "\n".join(after) + "\n"]


def _tool_set_secret(rng: random.Random, p: Provider, s: Secret) -> Sample:
    value = {
        "tool": rng.choice(["set_secret", "configure_integration", "update_env"]),
        "arguments": {"name": rng.choice(p.env), "value": s, "environment": "staging"},
        "call_id": "call_" + fmt.pick(rng, fmt.BASE62, 24),
    }
    return "json", "tool_arguments", json_parts(value)


def _chat(rng: random.Random, p: Provider, s: Secret) -> Sample:
    lead = rng.choice(
        [
            f"here's the {p.what} for the staging deploy: ",
            f"ok I rotated it, new {p.what} is ",
            f"can you check why this {p.what} gets a 401? ",
            "use `",
        ]
    )
    tail = "` for now, I'll move it to the vault later" if lead == "use `" else " — thanks!"
    return "chat", "chat", [f"@{rng.choice(['dana', 'ops-bot', 'li'])} {lead}", s, tail]


def _log_env(rng: random.Random, p: Provider, s: Secret) -> Sample:
    pid = rng.randint(100, 9999)
    return (
        "log",
        "log_env_dump",
        [
            f"{_ts(rng)} DEBUG worker[{pid}] request_id={fmt.uuid4(rng)} starting with environment "
            f"HOME=/app PATH=/usr/local/bin:/usr/bin {rng.choice(p.env)}=",
            s,
            f" TZ=UTC\n{_ts(rng)} INFO worker[{pid}] ready in {rng.randint(80, 900)}ms\n",
        ],
    )


def _code(rng: random.Random, p: Provider, s: Secret) -> Sample:
    before, after = p.code.split("{}")
    before = before.replace("{{", "{").replace("}}", "}")
    after = after.replace("{{", "{").replace("}}", "}")
    return (
        "code",
        "source_code",
        [
            "import os\n\n# TODO: read this from the environment before merging\n",
            before,
            s,
            after + "\n",
        ],
    )


def _compose(rng: random.Random, p: Provider, s: Secret) -> Sample:
    return (
        "config",
        "docker_compose",
        [
            "services:\n  api:\n    image: ghcr.io/acme/api@sha256:",
            fmt.hex_digest(rng),
            "\n    environment:\n      - NODE_ENV=production\n      - ",
            f"{rng.choice(p.env)}=",
            s,
            '\n    ports:\n      - "8080:8080"\n',
        ],
    )


def _http(rng: random.Random, p: Provider, s: Secret) -> Sample:
    header = p.header or "Authorization: Bearer"
    return (
        "http",
        "http_request",
        [
            f"POST /v1/{rng.choice(['messages', 'charges', 'items', 'events'])} HTTP/1.1\r\n"
            f"Host: {p.host}\r\nUser-Agent: agent-runtime/2.3\r\n{header} ",
            s,
            f"\r\nX-Request-Id: {fmt.request_id(rng)}\r\nContent-Type: application/json\r\n\r\n"
            '{"limit": 10}',
        ],
    )


def _shell(rng: random.Random, p: Provider, s: Secret) -> Sample:
    if p.header and rng.random() < 0.5:
        return (
            "shell",
            "curl",
            [f'$ curl -sS -H "{p.header} ', s, f'" https://{p.host}/v1/ping\n{{"ok": true}}\n'],
        )
    return "shell", "shell_export", [f"export {rng.choice(p.env)}='", s, "'\n./deploy.sh --prod\n"]


def _json_config(rng: random.Random, p: Provider, s: Secret) -> Sample:
    name = p.type.split("_")[0]
    value = {
        "integrations": {name: {"enabled": True, "api_key": s, "timeout_s": 30}},
        "telemetry": {"trace_id": fmt.hex_digest(rng, 32), "sample_rate": 0.1},
    }
    return "json", "json_config", json_parts(value, indent=2)


PROVIDER_TEMPLATES = [
    _env_file,
    _tool_set_secret,
    _chat,
    _log_env,
    _code,
    _compose,
    _http,
    _shell,
    _json_config,
]


# -- types with surroundings of their own ---------------------------------------------


def _aws_credentials(rng: random.Random) -> Sample:
    access = Secret("aws_access_key", fmt.aws_access_key(rng))
    secret = Secret("aws_secret_key", fmt.aws_secret_key(rng))
    profile = rng.choice(["default", "prod", "ci-deployer"])
    if rng.random() < 0.5:
        return (
            "config",
            "aws_credentials",
            [
                f"[{profile}]\naws_access_key_id = ",
                access,
                "\naws_secret_access_key = ",
                secret,
                "\nregion = eu-west-1\n",
            ],
        )
    content = Joined(
        ("[default]\naws_access_key_id = ", access, "\naws_secret_access_key = ", secret, "\n")
    )
    value = {"tool": "write_file", "arguments": {"path": "~/.aws/credentials", "content": content}}
    return "json", "tool_arguments", json_parts(value)


def _webhook(rng: random.Random) -> Sample:
    s = Secret("slack_webhook", fmt.slack_webhook(rng))
    shape = rng.randrange(5)
    if shape == 0:
        value = {"tool": "notify", "arguments": {"webhook_url": s, "text": "Deploy finished"}}
        return "json", "tool_arguments", json_parts(value)
    if shape == 1:
        return "config", "dotenv", ["APP_ENV=production\nSLACK_WEBHOOK_URL=", s, "\n"]
    if shape == 2:
        return (
            "shell",
            "curl",
            [
                "curl -X POST -H 'Content-type: application/json' "
                '--data \'{"text":"build green"}\' ',
                s,
                "\n",
            ],
        )
    if shape == 3:
        return (
            "log",
            "log_line",
            [
                f"{_ts(rng)} INFO alerts: posting 3 alerts to ",
                s,
                f" (attempt 1, trace {fmt.hex_digest(rng, 32)})\n",
            ],
        )
    return "chat", "chat", ["the #deploys channel webhook is ", s, " if you need it"]


def _pem(rng: random.Random) -> Sample:
    key = fmt.private_key(rng)
    shape = rng.randrange(5)
    if shape == 0:
        return "config", "key_file", [Secret("private_key", key), "\n"]
    if shape == 1:
        value = {
            "type": "service_account",
            "project_id": f"acme-{rng.randint(100, 999)}",
            "private_key_id": fmt.hex_digest(rng, 40),
            "private_key": Secret("private_key", key + "\n"),
            "client_email": "deployer@acme.iam.gserviceaccount.com",
            "client_id": str(rng.randint(10**20, 10**21)),
        }
        return "json", "service_account", json_parts(value, indent=2)
    if shape == 2:
        indented = key.replace("\n", "\n    ")
        return (
            "config",
            "k8s_tls_secret",
            [
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ingress-tls\n"
                "type: kubernetes.io/tls\n"
                "stringData:\n  tls.key: |\n    ",
                Secret("private_key", indented),
                "\n",
            ],
        )
    if shape == 3:
        return (
            "chat",
            "chat",
            [
                "can someone check if this deploy key is still valid?\n```\n",
                Secret("private_key", key),
                "\n```",
            ],
        )
    escaped = key.replace("\n", "\\n")
    return "config", "dotenv", ['JWT_SIGNING_KEY="', Secret("private_key", escaped), '"\n']


def _db_url(rng: random.Random, pw: Secret) -> list[Part]:
    scheme, port = rng.choice(
        [
            ("postgresql", 5432),
            ("postgres", 5432),
            ("mysql", 3306),
            ("mongodb", 27017),
            ("amqp", 5672),
            ("redis", 6379),
            ("smtp", 587),
        ]
    )
    user = "" if scheme == "redis" else rng.choice(["app", "svc_orders", "admin", "root"])
    host = rng.choice(["db.internal", "10.0.3.12", "cluster0.ab12c.example.net", "cache"])
    return [f"{scheme}://{user}:", pw, f"@{host}:{port}/{rng.choice(['app', 'orders', '0'])}"]


def _url_password(rng: random.Random) -> Sample:
    raw = fmt.password(rng) if rng.random() < 0.3 else fmt.url_safe_password(rng)
    text = fmt.url_encoded(raw)
    pw = Secret("url_password", text, "url" if text != raw else None)
    shape = rng.randrange(7)
    if shape == 0:
        return "config", "dotenv", ["APP_ENV=production\nDATABASE_URL=", *_db_url(rng, pw), "\n"]
    if shape == 1:
        value = {
            "tool": "db_query",
            "arguments": {
                "dsn": Joined(tuple(_db_url(rng, pw))),
                "sql": "select count(*) from orders",
            },
        }
        return "json", "tool_arguments", json_parts(value)
    if shape == 2:
        return (
            "log",
            "log_line",
            [
                f"{_ts(rng)} WARN pool: reconnecting to ",
                *_db_url(rng, pw),
                " after timeout (30s)\n",
            ],
        )
    if shape == 3:
        plain = Secret("url_password", fmt.url_safe_password(rng))
        return (
            "config",
            "appsettings",
            [
                '{\n  "ConnectionStrings": {\n    "Default": "Server=tcp:acme.database.windows.net,'
                "1433;Initial Catalog=orders;User ID=orders_app;Password=",
                plain,
                ';Encrypt=True;"\n  }\n}\n',
            ],
        )
    if shape == 4:
        return (
            "config",
            "pip_conf",
            ["[global]\nindex-url = https://ci:", pw, "@pypi.internal.example.com/simple\n"],
        )
    if shape == 5:
        return (
            "shell",
            "git_remote",
            [
                "$ git remote -v\norigin\thttps://deploy:",
                pw,
                "@git.example.com/acme/api.git (fetch)\n",
            ],
        )
    plain = Secret("url_password", fmt.url_safe_password(rng))
    return (
        "config",
        "jdbc",
        [
            "spring.datasource.url=jdbc:postgresql://db:5432/app?user=app&password=",
            plain,
            "&ssl=true\n",
        ],
    )


def _auth_header(rng: random.Random) -> Sample:
    if rng.random() < 0.5:
        user = rng.choice(["admin", "ci", "svc-reporting", "alice@example.com"])
        scheme, value = "Basic", fmt.b64(f"{user}:{fmt.password(rng)}")
    else:
        scheme, value = "Bearer", fmt.opaque_token(rng)
    s = Secret("authorization_header", value)
    shape = rng.randrange(4)
    if shape == 0:
        return (
            "http",
            "http_request",
            [
                "GET /api/v2/reports HTTP/1.1\r\nHost: reports.internal\r\n"
                f"Authorization: {scheme} ",
                s,
                f"\r\nAccept: */*\r\nX-Request-Id: {fmt.request_id(rng)}\r\n\r\n",
            ],
        )
    if shape == 1:
        value_json = {
            "method": "GET",
            "url": "https://reports.internal/api/v2/reports",
            "headers": {"Authorization": Joined((f"{scheme} ", s)), "Accept": "application/json"},
        }
        return (
            "json",
            "tool_arguments",
            json_parts({"tool": "http_request", "arguments": value_json}),
        )
    if shape == 2:
        return (
            "shell",
            "curl",
            [
                f"curl -H 'Authorization: {scheme} ",
                s,
                "' https://reports.internal/api/v2/reports | jq .\n",
            ],
        )
    return (
        "log",
        "log_line",
        [
            f"{_ts(rng)} DEBUG httpx: > Authorization: {scheme} ",
            s,
            "\n> Accept: application/json\n",
        ],
    )


def _generic(rng: random.Random) -> Sample:
    value = fmt.password(rng) if rng.random() < 0.5 else fmt.opaque_token(rng)
    s = Secret("generic_secret", value)
    shape = rng.randrange(8)
    if shape == 0:
        return "config", "dotenv", ["APP_ENV=production\nDB_PASSWORD=", s, "\nDB_HOST=db\n"]
    if shape == 1:
        value_json = {
            "tool": "create_user",
            "arguments": {"username": "svc-etl", "password": s, "groups": ["etl"]},
        }
        return "json", "tool_arguments", json_parts(value_json)
    if shape == 2:
        return (
            "code",
            "source_code",
            ["# settings.py\nDEBUG = False\nSECRET_KEY = '", s, "'\nALLOWED_HOSTS = ['*']\n"],
        )
    if shape == 3:
        return (
            "config",
            "yaml",
            [
                "oauth:\n  client_id: reporting-app\n  client_secret: ",
                s,
                "\n  redirect_uri: https://app.example.com/cb\n",
            ],
        )
    if shape == 4:
        return "config", "ini", ["[database]\nhost = db.internal\nuser = etl\npassword = ", s, "\n"]
    if shape == 5:
        return (
            "json",
            "json_config",
            json_parts(
                {"webhook": {"url": "https://x.example.com/h", "signing_secret": s}}, indent=2
            ),
        )
    if shape == 6:
        return (
            "log",
            "log_line",
            [
                f"{_ts(rng)} INFO cli: running migrate --db-user etl --db-password=",
                s,
                " --dry-run\n",
            ],
        )
    return "chat", "chat", ["the admin password for the grafana box is ", s, " (please rotate)"]


# -- encoded variants ---------------------------------------------------------------


def _base64_variant(rng: random.Random, p: Provider) -> Sample:
    raw = p.make(rng)
    shape = rng.randrange(3)
    if shape == 0:
        s = Secret(p.type, fmt.b64(raw), "base64")
        key = rng.choice(p.env).lower()
        return (
            "config",
            "k8s_secret",
            [
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: "
                "api-credentials\ntype: Opaque\ndata:\n  ",
                f"{key}: ",
                s,
                "\n",
            ],
        )
    if shape == 1:
        s = Secret(p.type, fmt.b64(raw), "base64")
        return "chat", "chat", ["pasting it base64'd so the chat doesn't mangle it: ", s]
    blob = fmt.b64(f"{rng.choice(p.env)}={raw}\n")
    value = {
        "tool": "deploy",
        "arguments": {"service": "api", "env_file_b64": Secret(p.type, blob, "base64")},
    }
    return "json", "tool_arguments", json_parts(value)


def _docker_auth(rng: random.Random) -> Sample:
    if rng.random() < 0.5:
        kind, registry, raw = "github_token", "ghcr.io", fmt.github_token(rng)
    else:
        kind, registry, raw = "gitlab_token", "registry.gitlab.com", fmt.gitlab_token(rng)
    s = Secret(kind, fmt.b64(f"deploy-bot:{raw}"), "base64")
    return "json", "docker_config", json_parts({"auths": {registry: {"auth": s}}}, indent=2)


def _url_variant(rng: random.Random) -> Sample:
    kind = rng.choice(["aws_secret_key", "private_key", "slack_webhook", "generic_secret"])
    raw = {
        "aws_secret_key": fmt.aws_secret_key,
        "private_key": fmt.private_key,
        "slack_webhook": fmt.slack_webhook,
        "generic_secret": fmt.password,
    }[kind](rng)
    while kind == "aws_secret_key" and fmt.url_encoded(raw) == raw:
        raw = fmt.aws_secret_key(rng)
    s = Secret(kind, fmt.url_encoded(raw), "url")
    name = {
        "aws_secret_key": "aws_secret_access_key",
        "private_key": "private_key",
        "slack_webhook": "redirect",
        "generic_secret": "client_secret",
    }[kind]
    if rng.random() < 0.5:
        return (
            "log",
            "access_log",
            [
                f"10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - "
                f"[01/Dec/2026:10:{rng.randint(10, 59)}:07 +0000] "
                f"[01/Dec/2026:10:{rng.randint(10, 59)}:07 +0000] "
                f'"GET /integrations/callback?state={fmt.pick(rng, fmt.BASE62, 12)}&{name}=',
                s,
                ' HTTP/1.1" 302 0 "-" "python-requests/2.32"\n',
            ],
        )
    return (
        "http",
        "form_body",
        [
            "POST /oauth/token HTTP/1.1\r\nHost: auth.example.com\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            f"grant_type=client_credentials&client_id=reporting&{name}=",
            s,
            "&scope=read",
        ],
    )


def positive_samples(rng: random.Random, per_type: int = 26) -> list[Sample]:
    """Every type ``per_type`` times or so, then base64- and URL-encoded variants."""
    samples: list[Sample] = []
    for provider in PROVIDERS:
        for index in range(per_type - (6 if provider.type.startswith("aws") else 0)):
            template = PROVIDER_TEMPLATES[index % len(PROVIDER_TEMPLATES)]
            samples.append(template(rng, provider, Secret(provider.type, provider.make(rng))))
    samples.extend(_aws_credentials(rng) for _ in range(8))
    for make in (_webhook, _pem, _url_password, _auth_header, _generic):
        samples.extend(make(rng) for _ in range(per_type + (8 if make is _generic else 4)))
    samples.extend(_base64_variant(rng, p) for p in PROVIDERS for _ in range(2))
    samples.extend(_docker_auth(rng) for _ in range(6))
    samples.extend(_url_variant(rng) for _ in range(20))
    return samples
