"""The ways a secret is written down: each form a value is given to a secret-like name in
(configuration, source code of several languages, Makefiles, markup, command lines,
headers, Terraform), with values of several shapes, and the code and prose around the
same names that must stay clean.

Values are made here from a seeded generator in each shape (random content, never a real
credential), so a form that only worked for one literal or one alphabet would fail.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import pytest

from charter.secrets import Finding, Scanner

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def _chars(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _mixed(make: Callable[[random.Random], str]) -> Callable[[random.Random], str]:
    """``make``'s values, drawn again until one has both letters and digits (a value an
    unquoted form after a space needs)."""

    def made(rng: random.Random) -> str:
        while True:
            value = make(rng)
            if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
                return value

    return made


SHAPES: dict[str, Callable[[random.Random], str]] = {
    "base62": _mixed(lambda r: _chars(r, ALNUM, 32)),
    "hex32": _mixed(lambda r: _chars(r, HEX, 32)),
    "hex40": _mixed(lambda r: _chars(r, HEX, 40)),
    "hex64": _mixed(lambda r: _chars(r, HEX, 64)),
    "base64": lambda r: (
        _chars(r, string.ascii_uppercase, 2)
        + _chars(r, ALNUM, 20)
        + "+"
        + _chars(r, ALNUM, 10)
        + "/"
        + _chars(r, ALNUM, 8)
        + "="
    ),
}

# (form, the text with {v} where the value goes)
FORMS: dict[str, str] = {
    # configuration
    "ini_quoted": 'twilioToken="{v}"',
    "ini_unquoted": "twilioToken = {v}",
    "env": "SENDGRID_API_KEY={v}\nLOG_LEVEL=info\n",
    "url_query": "https://api.internal/v1/messages?twilioToken={v}&fooBar=baz",
    "json": '{{\n    "twilio_token": "{v}"\n}}',
    "json_escaped_quotes": '{{\\"db_password\\": \\"{v}\\", \\"port\\": 5432}}',
    "json_holding_env": '{{"config.ini": "TWILIO_TOKEN={v}\\nBACKUP_ENABLED=true"}}',
    "yaml": "twilio_token: {v}\n",
    "yaml_quoted": "apiKey: '{v}'\n",
    "json_name_value_text": '{{\n    "name": "twilio_token",\n    "value": "{v}"\n}}',
    "postman_key_value_text": '{{"key": "X-Api-Key", "value": "{v}", "type": "text"}}',
    "kubernetes_env": "env:\n  - name: DB_PASSWORD\n    value: {v}\n",
    "yaml_literal_block": "api_token: |\n  {v}\n",
    "yaml_folded_block": "api_token: >-\n    {v}\nnext: 1\n",
    # XML
    "xml_element": "<dbPassword>{v}</dbPassword>",
    "xml_element_across_lines": "<apiToken>\n    {v}\n</apiToken>",
    "xml_add_key_value": '<appSettings>\n  <add key="ApiKey" value="{v}"/>\n</appSettings>',
    "xml_entry_name_value": '<entry name="apiToken" value="{v}" />',
    "xml_property_element": '<property name="password">{v}</property>',
    "xml_entry_value_element": '<entry>\n  <name="twilioToken" />\n  <value="{v}" />\n</entry>',
    # call arguments
    "java_set_property": 'System.setProperty("DB_PASSWORD", "{v}");',
    "python_environ_setdefault": 'os.environ.setdefault("API_KEY", "{v}")',
    "java_config_put": 'config.put("api.token", "{v}");',
    "js_env_set": "env.set('SECRET', '{v}');",
    "c_setenv": 'setenv("TOKEN", "{v}", 1);',
    "php_define": "define('API_TOKEN', '{v}');",
    # source code
    "csharp": 'string twilioToken = "{v}";',
    "go_var": 'var twilioToken string = "{v}"',
    "go_short": 'twilioToken := "{v}"',
    "go_backticks": "twilioToken := `{v}`",
    "java": 'String apiToken = "{v}";',
    "java_constant": 'private static final String API_TOKEN = "{v}";',
    "kotlin_typed": 'var apiToken: String = "{v}"',
    "kotlin": 'val twilioToken = "{v}"',
    "typescript_typed": 'const apiToken: string = "{v}";',
    "rust_typed": 'let api_token: &str = "{v}";',
    "php_concat": '$twilioToken .= "{v}";',
    "php_null_coalescing": '$apiToken ??= "{v}";',
    "python_single": "twilioToken = '{v}'",
    "ruby_frozen": "API_TOKEN = '{v}'.freeze",
    "logstash": '  "twilioToken" => "{v}"',
    # Makefile and shells
    "make_recursive": 'TWILIO_TOKEN = "{v}"',
    "make_simple": 'TWILIO_TOKEN := "{v}"',
    "make_shell": 'TWILIO_TOKEN ::= "{v}"',
    "make_evaluated_shell": 'TWILIO_TOKEN :::= "{v}"',
    "make_conditional": 'TWILIO_TOKEN ?= "{v}"',
    "make_append": 'TWILIO_TOKEN += "{v}"',
    "shell_export": "export SENDGRID_API_KEY={v}",
    "csh_setenv": "setenv API_TOKEN {v}",
    "fish_set": "set -x API_TOKEN {v}",
    # command lines
    "flag_space": "deployctl push --token {v} --region eu-west-1",
    "flag_equals": "deployctl push --token={v}",
    "flag_api_key": "sentry-cli --api-key {v} releases list",
    "flag_password_quoted": 'mysqldump --password "{v}" shop',
    "pgpassword": "PGPASSWORD={v} psql -h db.internal -U app",
    # Terraform
    "hcl_variable_default": 'variable "db_password" {{\n  type    = string\n  default = "{v}"\n}}',
    "hcl_provider_password": 'provider "postgresql" {{\n  host     = "db"\n  password = "{v}"\n}}',
    "hcl_token": 'provider "github" {{\n  token = "{v}"\n}}',
    # headers
    "go_header_set": 'req.Header.Set("X-Api-Key", "{v}")',
    "python_headers": 'requests.get(url, headers={{"X-Api-Key": "{v}"}})',
    "curl_header": "curl -H 'X-Api-Key: {v}' https://api.internal/v1/me",
    "raw_x_auth_token": "GET /v1/me HTTP/1.1\r\nHost: api\r\nX-Auth-Token: {v}\r\n\r\n",
    "raw_api_key": "Api-Key: {v}\n",
    "raw_x_api_token": "X-API-TOKEN: {v}\n",
    "raw_private_token": "Private-Token: {v}\n",
    "raw_x_vault_token": "X-Vault-Token: {v}\n",
    "nginx_api_key": 'proxy_set_header X-Api-Key "{v}";',
    "apache_request_header": 'RequestHeader set X-Api-Token "{v}"',
}

AUTHORIZATION_FORMS: dict[str, str] = {
    "curl_authorization": 'curl -H "Authorization: Bearer {v}" https://api.internal',
    "xhr_authorization": 'xhr.setRequestHeader("Authorization", "Bearer {v}");',
    "nginx_authorization": 'proxy_set_header Authorization "Bearer {v}";',
}

COMMAND_FORMS: dict[str, str] = {
    "mysql_attached": "mysql -h db.internal -u root -p{v} shop",
    "curl_user": "curl -u deploy:{v} https://repo.internal/upload",
    "curl_user_quoted": "curl -s --user 'ci-bot:{v}' https://repo.internal/upload",
    "curl_user_equals": "curl --user=ci-bot:{v} https://repo.internal/upload",
}


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(key=b"\x00" * 32)


def _the_value(scanner: Scanner, text: str, value: str) -> Finding:
    """The one finding of ``text``, which must be ``value`` exactly."""
    findings = scanner.scan(text)
    assert len(findings) == 1, (text, findings)
    finding = findings[0]
    start = text.index(value)
    assert (finding.start, finding.end) == (start, start + len(value)), text
    assert finding.fingerprint == scanner.fingerprint(value)
    return finding


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("form", FORMS)
def test_a_value_under_a_secret_like_name_is_found_in_each_form(
    scanner: Scanner, form: str, shape: str
) -> None:
    value = SHAPES[shape](random.Random(f"{form}-{shape}"))
    text = FORMS[form].format(v=value)
    finding = _the_value(scanner, text, value)
    # A provider named in the name may claim the value (twilioToken and 32 hex digits
    # is a Twilio auth token): the form's part is finding it, exactly.
    assert finding.type == "generic_secret" or finding.type.split("_")[0] in text.lower()


@pytest.mark.parametrize("form", AUTHORIZATION_FORMS)
def test_an_authorization_header_is_found_however_it_is_set(scanner: Scanner, form: str) -> None:
    value = SHAPES["base62"](random.Random(form))
    finding = _the_value(scanner, AUTHORIZATION_FORMS[form].format(v=value), value)
    assert finding.type == "authorization_header"


@pytest.mark.parametrize("shape", ["base62", "hex32"])
@pytest.mark.parametrize("form", COMMAND_FORMS)
def test_a_password_on_a_command_line_is_found(scanner: Scanner, form: str, shape: str) -> None:
    value = SHAPES[shape](random.Random(f"{form}-{shape}"))
    finding = _the_value(scanner, COMMAND_FORMS[form].format(v=value), value)
    assert finding.type == "generic_secret"


@pytest.mark.parametrize(
    "name", ["twilioToken", "SENDGRID_API_KEY", "db_password", "apiKey", "mailgun_api_token"]
)
@pytest.mark.parametrize(
    "template",
    [
        '{n} = "{v}"',
        "{n}: {v}",
        '"{n}" => "{v}"',
        "<{n}>{v}</{n}>",
        'System.setProperty("{n}", "{v}")',
        '{n} :::= "{v}"',
        'var {n}: String = "{v}"',
    ],
)
def test_each_kind_of_identifier_names_a_value(scanner: Scanner, name: str, template: str) -> None:
    value = SHAPES["base62"](random.Random(f"{name}-{template}"))
    _the_value(scanner, template.format(n=name, v=value), value)


def test_name_value_pairs_take_their_name_from_the_sibling_in_any_case(scanner: Scanner) -> None:
    rng = random.Random(3)
    value = SHAPES["base62"](rng)
    pairs = {
        "har": {"headers": [{"name": "X-Api-Key", "value": value}]},
        "postman": {"header": [{"key": "X-Api-Key", "value": value, "type": "text"}]},
        "aws_tags": {"Tags": [{"Key": "DB_PASSWORD", "Value": value}]},
        "cloudformation": {"Parameters": [{"ParameterKey": "DbPassword", "ParameterValue": value}]},
    }
    for form, pair in pairs.items():
        findings = scanner.scan(pair)
        assert [(f.type, f.fingerprint) for f in findings] == [
            ("generic_secret", scanner.fingerprint(value))
        ], form
    assert scanner.scan({"Tags": [{"Key": "Team", "Value": "payments-2026-q4"}]}) == []


def _aws_secret(rng: random.Random) -> str:
    while True:
        value = _chars(rng, ALNUM + "+/", 40)
        if (
            value[0] != "/"
            and any(c.isdigit() for c in value)
            and any(c.isupper() for c in value)
            and any(c.islower() for c in value)
        ):
            return value


@pytest.mark.parametrize(
    "template",
    [
        "aws_secret = {v}",
        'AWS_SECRET_ACCESS_KEY="{v}"',
        'secretAccessKey: "{v}"',
        "<SecretAccessKey>{v}</SecretAccessKey>",
        'aws.secretKey = "{v}"',
        'String awsSecretKey = "{v}";',
        'awsToken = "{v}"',
        "AWS_TOKEN := {v}",
        'System.setProperty("AWS_TOKEN", "{v}")',
        "[prod]\naws_access_key_id = AKIAQ3EGRT7WZK2MLN4P\nsecret_key = {v}\n",
    ],
)
def test_an_aws_shaped_value_under_an_aws_name_is_an_aws_secret_key(
    scanner: Scanner, template: str
) -> None:
    value = _aws_secret(random.Random(template))
    text = template.format(v=value)
    found = [f for f in scanner.scan(text) if f.type != "aws_access_key"]
    assert len(found) == 1, found
    assert (found[0].type, text[found[0].start : found[0].end]) == ("aws_secret_key", value)


def test_an_ampersand_ends_a_value_only_before_the_next_query_parameter(
    scanner: Scanner,
) -> None:
    password = "Uq4&Rt~9L%x_" + SHAPES["base62"](random.Random(5))[:12]
    _the_value(scanner, f"[database]\nuser = etl\npassword = {password}\n", password)


def test_a_secret_key_far_from_an_aws_key_id_is_not_called_aws(scanner: Scanner) -> None:
    value = _aws_secret(random.Random(4))
    finding = _the_value(scanner, f"secret_key = {value}", value)
    assert finding.type == "generic_secret"


# -- look-alikes: code, references and prose around the same names ---------------------

LOOK_ALIKES: dict[str, str] = {
    "call_on_the_right": "password = getpass()",
    "go_getenv": 'token := os.Getenv("API_TOKEN")',
    "java_getenv": 'String password = System.getenv("DB_PASSWORD");',
    "go_identifier": "var apiToken string = defaultToken",
    "kotlin_field": "val password: String = passwordField.text",
    "name_given_a_name": "password := newPassword",
    "method_call": "String password = readPassword();",
    "orm_field": "password = models.CharField(max_length=128)",
    "tokenizer": 'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    "prose_is": "the password is incorrect",
    "prose_was": "Your password was reset yesterday",
    "rename_call": 'rename("password", "user_password")',
    "list_of_names": 'fields = ["password", "password_confirmation"]',
    "argparse_help": 'parser.add_argument("--password", help="the password to use")',
    "argparse_dest": 'parser.add_argument("--api-key", dest="api_key")',
    "flag_in_prose": "use --token to pass the token",
    "flag_prompt": "run it with --password prompt",
    "flag_variable": 'deployctl push --token "${TOKEN}"',
    "password_stdin": "docker login --password-stdin < pw.txt",
    "mkdir_p": "mkdir -p /var/lib/mysql-data",
    "mysql_prompt": "mysql -u root -p -h db.internal",
    "curl_variables": 'curl -u "$USER:$PASS" https://repo.internal',
    "curl_placeholder": "curl -u username:password https://repo.internal",
    "docker_uid_gid": "docker run -u 1000:1000 image",
    "html_input": '<input type="password" name="password">',
    "html_label": '<label for="password">Password</label>',
    "xml_reference": "<password>${DB_PASSWORD}</password>",
    "xml_template": "<apiToken>{{ api_token }}</apiToken>",
    "xml_stand_in": '<add key="ApiKey" value="your-api-key-here"/>',
    "xml_secret_name": "<secretName>db-credentials</secretName>",
    "hcl_no_default": 'variable "db_password" {\n  type      = string\n  sensitive = true\n}',
    "hcl_reference": 'variable "db_password" {\n  default = var.other\n}',
    "yaml_block_reference": "api_token: |\n  ${API_TOKEN}\n",
    "yaml_block_template": "token: >-\n  {{ .Values.token }}\n",
    "set_property_call": 'System.setProperty("DB_PASSWORD", System.getenv("X"))',
    "setdefault_stand_in": 'os.environ.setdefault("API_KEY", "changeme")',
    "set_in_prose": "set password for user",
    "nginx_variable": "proxy_set_header X-Api-Key $http_x_api_key;",
    "header_set_variable": 'req.Header.Set("X-Api-Key", apiKey)',
    "typescript_env": "const apiToken: string = process.env.API_TOKEN;",
    "rust_env": 'let api_token: &str = &env::var("API_TOKEN").unwrap();',
    "constant_naming_a_field": 'private static final String PASSWORD_FIELD = "password";',
    "php_define_getenv": 'define("DB_PASSWORD", getenv("DB_PASSWORD"));',
    "php_concat_variable": "$password .= $suffix;",
    "make_shell_call": "TOKEN ?= $(shell cat token.txt)",
    "env_in_json_reference": '{"config.ini": "DB_PASSWORD=${DB_PASSWORD}\\nX=1"}',
    "escaped_placeholder": '\\"token\\": \\"<your-token>\\"',
    "comparison": 'if password != "":',
    "export_command": "export API_TOKEN=$(vault read -field=token secret/x)",
    "fish_command": "set -x API_TOKEN (cat ~/.token)",
    "kubernetes_value_from": "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef: {name: db}\n",
    "translation": 'getString(R.string.password, "Enter password")',
    # found on the Python standard library and its packages
    "tuple_of_words": 'passed = report.outcome in ("passed", "skipped")',
    "bypass_argument": 'MovedAttribute("proxy_bypass", "urllib", "urllib.request")',
    "namedtuple_fields": "class Token(namedtuple('Token', 'type string start end')):",
    "label_argument": '("aws_secret_access_key", "AWS Secret Access Key"),',
    "json_path_argument": 'assert found == [("generic_secret", "$.env[1].value")]',
    "append_identifier": "password_chars += required_characters",
    "flag_outfile": '--private-key-outfile "myCore.private.key"',
    "paging_flag": "aws dynamodb list-tables --starting-token abCDeFGhiJK1mnOPqrST3uv",
    "paging_key": '{"NextToken": "eyJPZmZzZXQiOjEwMH0xYTJiM2M0ZDVl", "Items": []}',
    "docstring_placeholder": "``mysql -pSECRET`` and ``curl -u user:SECRET``.",
}


@pytest.mark.parametrize("text", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_code_references_and_prose_are_not_values(scanner: Scanner, text: str) -> None:
    assert scanner.scan(text) == []
