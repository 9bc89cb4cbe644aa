# ruff: noqa: E501 - templates read best one to a line
"""The ways people write a secret down: one function per form, each a list of parts.

A form takes the seeded ``random.Random``, the `Names` of the value (built from its
provider's words: ``TWILIO_AUTH_TOKEN``, ``twilioAuthToken``, ``twilio-auth-token``...),
the host of its provider's API, and the value itself (a labelled `Secret`, or a plain
string when a look-alike is written the same way), and returns ``(kind, parts)``. Forms
after gitleaks' list of the ways a secret is written in its rule tests
(``GenerateSampleSecrets``: INI, JSON, YAML, XML, C#, Go, Java, Kotlin, PHP, Python,
Makefile, ``System.setProperty``, logstash...) and the ones the issue adds (command-line
flags, headers set in code or config, HCL, HAR lists, connection strings). The texts and
their surroundings are this project's own.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from bench import secrets_formats as fmt
from bench.secrets_text import Joined, Part, Secret, json_parts

Value = Secret | str


@dataclass(frozen=True, slots=True)
class Names:
    """The identifiers a value goes by, all from the same words."""

    words: tuple[str, ...]

    @property
    def upper(self) -> str:
        """``TWILIO_AUTH_TOKEN``"""
        return "_".join(self.words).upper()

    @property
    def snake(self) -> str:
        """``twilio_auth_token``"""
        return "_".join(self.words)

    @property
    def camel(self) -> str:
        """``twilioAuthToken``"""
        return self.words[0] + "".join(w.capitalize() for w in self.words[1:])

    @property
    def pascal(self) -> str:
        """``TwilioAuthToken``"""
        return "".join(w.capitalize() for w in self.words)

    @property
    def kebab(self) -> str:
        """``twilio-auth-token``"""
        return "-".join(self.words)

    @property
    def dotted(self) -> str:
        """``twilio.auth.token``"""
        return ".".join(self.words)

    @property
    def header(self) -> str:
        """``X-Twilio-Auth-Token``"""
        return "X-" + "-".join(w.capitalize() for w in self.words)

    def any(self, rng: random.Random) -> str:
        """One of the spellings, as a config key would use it."""
        return rng.choice([self.upper, self.snake, self.camel, self.kebab, self.dotted])


Form = Callable[[random.Random, Names, str, Value], tuple[str, list[Part]]]


def _text(value: Value) -> str:
    return value.text if isinstance(value, Secret) else value


def _filler(rng: random.Random) -> tuple[str, str]:
    """Another setting of the same file, harmless."""
    return rng.choice(
        [
            ("LOG_LEVEL", "info"),
            ("PORT", str(rng.randint(3000, 9000))),
            ("REGION", rng.choice(["eu-west-1", "us-east-1", "ap-south-1"])),
            ("TIMEOUT_SECONDS", str(rng.choice([5, 10, 30, 60]))),
            ("FEATURE_EXPORT", rng.choice(["true", "false"])),
            ("REQUEST_ID", fmt.uuid4(rng)),
        ]
    )


# -- config files -------------------------------------------------------------------------


def env_unquoted(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    k1, v1 = _filler(rng)
    return "config", [f"# .env\n{k1}={v1}\n{n.upper}=", v, f"\nAPI_HOST={host}\n"]


def env_double(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    k1, v1 = _filler(rng)
    return "config", [f'{k1}="{v1}"\n{n.upper}="', v, '"\n']


def env_single(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "config", [f"{n.upper} = '", v, "'\n"]


def ini(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    section = n.words[0]
    key = "_".join(n.words[1:]) or "secret"
    quote = rng.choice(["", '"'])
    return "config", [f"[{section}]\nendpoint = https://{host}\n{key} = {quote}", v, f"{quote}\n"]


def java_properties(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    sep = rng.choice(["=", " = ", ": "])
    return "config", [f"app.{n.dotted}.url=https://{host}\napp.{n.dotted}{sep}", v, "\n"]


def toml(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "config", [f'[{n.words[0]}]\nbase_url = "https://{host}"\n{n.snake} = "', v, '"\n']


def json_config(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    key = rng.choice([n.camel, n.snake, n.upper])
    value = {"service": n.words[0], "endpoint": f"https://{host}", key: v, "retries": 3}
    return "json", json_parts(value, indent=rng.choice([None, 2]))


def json_env_string(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    k1, v1 = _filler(rng)
    value = {"files": {".env": Joined((f"{k1}={v1}\n{n.upper}=", v, "\nDEBUG=false\n"))}}
    return "json", json_parts(value)


def yaml_plain(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "config", [f"{n.words[0]}:\n  endpoint: https://{host}\n  {n.snake}: ", v, "\n"]


def yaml_quoted(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    q = rng.choice(['"', "'"])
    return "config", [f"{n.camel}: {q}", v, f"{q}\nenabled: true\n"]


def yaml_block(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    text = _text(v)
    if "\n" in text and isinstance(v, Secret):
        lines = text.split("\n")
        parts: list[Part] = [f"{n.snake}: |\n"]
        # A block scalar indents every line: the label covers the first line's value.
        parts += ["    ", Secret(v.type, lines[0], v.encoding)]
        parts += ["\n" + "".join(f"    {line}\n" for line in lines[1:])]
        return "config", parts
    return "config", [f"secrets:\n  {n.snake}: |\n    ", v, "\n  other: x\n"]


def env_double_escaped(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    if isinstance(v, Secret):
        v = Secret(v.type, v.text.replace("\n", "\\n"), v.encoding)
    else:
        v = v.replace("\n", "\\n")
    return "config", [f'{n.upper}="', v, '"\n']


# -- XML ------------------------------------------------------------------------------------


def xml_element(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    tag = rng.choice([n.camel, n.pascal])
    return "config", [f"<configuration>\n  <{tag}>", v, f"</{tag}>\n</configuration>\n"]


def xml_multiline(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    tag = n.camel
    return "config", [f"<settings>\n  <{tag}>\n    ", v, f"\n  </{tag}>\n</settings>\n"]


def xml_attribute(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    if rng.random() < 0.5:
        return "config", [
            f'<appSettings>\n  <add key="{n.pascal}" value="',
            v,
            '" />\n</appSettings>\n',
        ]
    return "config", [f'<{n.words[0]} url="https://{host}" {n.camel}="', v, '" />\n']


# -- source code ----------------------------------------------------------------------------


def csharp(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    decl = rng.choice(["string", "var", "private const string", "public static readonly string"])
    return "code", [f'{decl} {n.pascal} = "', v, '";\n']


def go_var(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f'var {n.camel} string = "', v, '"\n']


def go_short(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f'\t{n.camel} := "', v, '"\n']


def go_backtick(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f"\t{n.camel} := `", v, "`\n"]


def java(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    if rng.random() < 0.5:
        return "code", [f'private static final String {n.upper} = "', v, '";\n']
    return "code", [f'String {n.camel} = "', v, '";\n']


def kotlin(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    decl = rng.choice(["val", "var", "const val", "private val"])
    return "code", [f'{decl} {n.camel} = "', v, '"\n']


def php_concat(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f'<?php\n${n.camel} = "";\n${n.camel} .= "', v, '";\n']


def php_coalesce(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f"${n.camel} ??= '", v, "';\n"]


def php_define(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f"define('{n.upper}', '", v, "');\n"]


def python(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    q = rng.choice(['"', "'"])
    name = rng.choice([n.snake, n.upper])
    return "code", [f"{name} = {q}", v, f"{q}\n"]


def python_kwarg(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f'client = {n.pascal}Client(base_url="https://{host}", {n.snake}="', v, '")\n']


def ruby(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    if rng.random() < 0.5:
        return "code", [f"{n.upper} = '", v, "'\n"]
    return "code", [f'config.{n.snake} = "', v, '"\n']


def javascript(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    decl = rng.choice(["const", "let", "export const", "var"])
    q = rng.choice(['"', "'", "`"])
    return "code", [f"{decl} {n.camel} = {q}", v, f"{q};\n"]


def typescript(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [
        f"const config = {{\n  baseUrl: 'https://{host}',\n  {n.camel}: '",
        v,
        "',\n};\n",
    ]


def shell_export(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    q = rng.choice(["", '"', "'"])
    return "shell", [f"export {n.upper}={q}", v, f"{q}\n"]


def _makefile(op: str) -> Form:
    def form(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
        return "config", [f"{n.upper} {op} ", v, f"\n\ndeploy:\n\t./deploy.sh --host {host}\n"]

    form.__name__ = "makefile"
    return form


# -- call arguments -------------------------------------------------------------------------


def set_property(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f'System.setProperty("{n.upper}", "', v, '");\n']


def environ_setdefault(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "code", [f'os.environ.setdefault("{n.upper}", "', v, '")\n']


def config_put(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    call = rng.choice(["config.put", "props.setProperty", "settings.set", "conf.set"])
    return "code", [f'{call}("{n.dotted}", "', v, '");\n']


def logstash(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "config", [
        f'output {{\n  http {{\n    url => "https://{host}"\n    "{n.snake}" => "',
        v,
        '"\n  }\n}\n',
    ]


# -- command lines ------------------------------------------------------------------------


def cli_flag_space(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    flag = rng.choice(["--token", "--api-key", f"--{n.kebab}"])
    return "shell", [f"$ {n.words[0]}-cli login --host {host} {flag} ", v, "\n"]


def cli_flag_equals(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    flag = rng.choice(["--password", "--secret", f"--{n.kebab}"])
    return "shell", [f"{n.words[0]} deploy --endpoint=https://{host} {flag}=", v, " --yes\n"]


def cli_mysql(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "shell", [f"mysql -h db.internal -u {n.words[0]} -p", v, " app_production\n"]


def curl_user(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    user = rng.choice(["api", n.words[0], "admin", "ci-bot"])
    return "shell", [f"curl -s -u {user}:", v, f" https://{host}/v1/status\n"]


def curl_bearer(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "shell", [f'curl -sS https://{host}/v2/me -H "Authorization: Bearer ', v, '"\n']


def curl_api_key(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    header = rng.choice(["X-Api-Key", "X-API-KEY", n.header])
    return "shell", [
        f"curl https://{host}/api/items \\\n  -H 'Accept: application/json' \\\n  -H '{header}: ",
        v,
        "'\n",
    ]


# -- Terraform -----------------------------------------------------------------------------


def hcl_variable(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "config", [
        f'variable "{n.snake}" {{\n  type      = string\n  sensitive = true\n  default   = "',
        v,
        '"\n}\n',
    ]


def hcl_provider(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    attr = "_".join(n.words[1:]) or "token"
    return "config", [f'provider "{n.words[0]}" {{\n  {attr} = "', v, '"\n}\n']


# -- headers -------------------------------------------------------------------------------


def header_go(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    if rng.random() < 0.6:
        return "code", [
            f'req, _ := http.NewRequest("GET", "https://{host}/v1/me", nil)\nreq.Header.Set("Authorization", "Bearer ',
            v,
            '")\n',
        ]
    return "code", [f'req.Header.Add("{n.header}", "', v, '")\n']


def header_python(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    if rng.random() < 0.5:
        return "code", [
            f'requests.get("https://{host}/v1/items", headers={{"X-Api-Key": "',
            v,
            '"}})\n',
        ]
    return "code", [
        f'headers = {{"Authorization": f"Bearer {{TOKEN}}"}}\nresp = session.post("https://{host}", headers={{"Authorization": "Bearer ',
        v,
        '"}})\n',
    ]


def nginx_header(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    if rng.random() < 0.6:
        return "config", [
            f'location /api/ {{\n    proxy_pass https://{host};\n    proxy_set_header Authorization "Bearer ',
            v,
            '";\n}\n',
        ]
    return "config", [f"    proxy_set_header {n.header} ", v, ";\n"]


def har_header(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    bearer = rng.random() < 0.5
    header = {
        "name": "Authorization" if bearer else n.header,
        "value": Joined(("Bearer ", v)) if bearer else v,
    }
    value = {
        "request": {
            "method": "GET",
            "url": f"https://{host}/v1/me",
            "headers": [{"name": "Accept", "value": "*/*"}, header],
        }
    }
    return "json", json_parts(value, indent=2)


def http_dump(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "http", [
        f"GET /v1/me HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer ",
        v,
        "\r\nAccept: */*\r\n\r\n",
    ]


# -- deployment ---------------------------------------------------------------------------


def docker_env(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "config", [
        f"services:\n  app:\n    image: acme/app:1.4\n    environment:\n      - {n.upper}=",
        v,
        "\n",
    ]


def k8s_env(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "config", [f'        env:\n        - name: {n.upper}\n          value: "', v, '"\n']


def k8s_secret_data(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    encoded: Value = (
        Secret(v.type, fmt.b64(v.text), "base64") if isinstance(v, Secret) else fmt.b64(v)
    )
    return "config", [
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {n.kebab}\ntype: Opaque\ndata:\n  {n.snake}: ",
        encoded,
        "\n",
    ]


# -- URLs and connection strings ------------------------------------------------------------


def url_userinfo(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    scheme, port = rng.choice(
        [("postgres", 5432), ("mysql", 3306), ("redis", 6379), ("amqp", 5672), ("https", 443)]
    )
    where = rng.choice(["DATABASE_URL=", "url: ", "connecting to "])
    return "config", [f"{where}{scheme}://app_user:", v, f"@db.internal:{port}/main\n"]


def jdbc(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "config", [
        "spring.datasource.url=jdbc:postgresql://db:5432/app?user=app&password=",
        v,
        "&ssl=true\n",
    ]


def azure_connection(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    account = "acme" + fmt.pick(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 8)
    return "config", [
        f'"StorageConnection": "DefaultEndpointsProtocol=https;AccountName={account};AccountKey=',
        v,
        ';EndpointSuffix=core.windows.net"\n',
    ]


# -- prose and logs -------------------------------------------------------------------------


def log_line(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    stamp = f"2026-11-{rng.randint(10, 28)}T{rng.randint(10, 23)}:{rng.randint(10, 59)}:07Z"
    return "log", [
        f"{stamp} DEBUG client init host={host} {n.snake}=",
        v,
        f" request_id={fmt.uuid4(rng)}\n",
    ]


def chat(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    who = " ".join(n.words)
    return "chat", [
        f"hey, the {who} for staging is ",
        v,
        f" - can you check why the calls to {host} fail?",
    ]


def markdown(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "chat", [f"## Setup\n\nPut this in your `.env`:\n\n```\n{n.upper}=", v, "\n```\n"]


def prose_bare(rng: random.Random, n: Names, host: str, v: Value) -> tuple[str, list[Part]]:
    return "chat", [
        rng.choice(["I rotated ", "Found ", "Revoke "]),
        v,
        rng.choice(
            [
                " after the incident.",
                " in the build log yesterday",
                ", it was committed by mistake.",
            ]
        ),
    ]


MAKEFILE_OPERATORS = {
    "makefile_eq": "=",
    "makefile_colon_eq": ":=",
    "makefile_double_colon_eq": "::=",
    "makefile_triple_colon_eq": ":::=",
    "makefile_query_eq": "?=",
    "makefile_plus_eq": "+=",
}

FORMS: dict[str, Form] = {
    "env_unquoted": env_unquoted,
    "env_double": env_double,
    "env_single": env_single,
    "env_double_escaped": env_double_escaped,
    "ini": ini,
    "java_properties": java_properties,
    "toml": toml,
    "json": json_config,
    "json_env_string": json_env_string,
    "yaml_plain": yaml_plain,
    "yaml_quoted": yaml_quoted,
    "yaml_block": yaml_block,
    "xml_element": xml_element,
    "xml_multiline": xml_multiline,
    "xml_attribute": xml_attribute,
    "csharp": csharp,
    "go_var": go_var,
    "go_short": go_short,
    "go_backtick": go_backtick,
    "java": java,
    "kotlin": kotlin,
    "php_concat": php_concat,
    "php_coalesce": php_coalesce,
    "php_define": php_define,
    "python": python,
    "python_kwarg": python_kwarg,
    "ruby": ruby,
    "javascript": javascript,
    "typescript": typescript,
    "shell_export": shell_export,
    **{name: _makefile(op) for name, op in MAKEFILE_OPERATORS.items()},
    "set_property": set_property,
    "environ_setdefault": environ_setdefault,
    "config_put": config_put,
    "logstash": logstash,
    "cli_flag_space": cli_flag_space,
    "cli_flag_equals": cli_flag_equals,
    "cli_mysql": cli_mysql,
    "curl_user": curl_user,
    "curl_bearer": curl_bearer,
    "curl_api_key": curl_api_key,
    "hcl_variable": hcl_variable,
    "hcl_provider": hcl_provider,
    "header_go": header_go,
    "header_python": header_python,
    "nginx_header": nginx_header,
    "har_header": har_header,
    "http_dump": http_dump,
    "docker_env": docker_env,
    "k8s_env": k8s_env,
    "k8s_secret_data": k8s_secret_data,
    "url_userinfo": url_userinfo,
    "jdbc": jdbc,
    "azure_connection": azure_connection,
    "log_line": log_line,
    "chat": chat,
    "markdown": markdown,
    "prose_bare": prose_bare,
}
"""Every form by name, the name the per-form tables use."""

MULTILINE_FORMS = (
    "json",
    "json_env_string",
    "yaml_block",
    "env_double_escaped",
    "chat",
    "markdown",
)
"""The forms a value spanning lines (a PEM block) can be written in."""

BARE_FORMS = ("prose_bare",)
"""Forms that do not name the provider: only for values whose prefix names it."""

URL_FORMS = ("url_userinfo", "jdbc", "curl_user")
"""Forms that put the value in a URL or userinfo: only for values needing no escaping."""
