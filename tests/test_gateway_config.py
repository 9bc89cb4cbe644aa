"""The gateway's configuration: refused whole, with every problem at its file:line, and
resource templates that cannot be steered by an argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.gateway.config import ConfigError, Screening, load_config, read_config
from charter.gateway.resources import ResourceTemplate, TemplateError
from charter.policy.model import Capability
from tests.helpers import charter_cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mcp" / "gateway.yaml"

BAD = """\
charter:
  url: ftp://charter
agent: Not_An_Agent
upstreams:
  Desk:
    command: [python, desk.py]
    tools: {a: {capability: request}}
  crm:
    url: http://127.0.0.1:9000/mcp
    command: [also]
    tools:
      read:
        capability: write
        resource: "crm/{id}{other}"
        colour: blue
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        read_config(text, "gw.yaml")
    assert refused.value.code == ErrorCode.INVALID_GATEWAY_CONFIG
    return [f"{d.source.line}:{d.source.column} {d.code}" for d in refused.value.diagnostics]


def test_the_example_configuration_is_valid() -> None:
    with pytest.raises(ConfigError, match="no Charter server"):
        load_config(EXAMPLE)
    config = load_config(EXAMPLE, server="http://127.0.0.1:8080")
    assert config.charter.url == config.charter.console_url == "http://127.0.0.1:8080"
    assert config.agent == "desk-assistant"
    assert config.screening is Screening.LEAKS
    (desk,) = config.upstreams
    assert desk.command == ("python", "examples/mcp/desk_server.py")
    rule = desk.rule_for("read_secret")
    assert rule is not None
    assert rule.capability is Capability.REQUEST
    assert rule.input == ("env", "name")
    assert desk.rule_for("no_such_tool") is None


def test_every_problem_is_reported_at_its_line() -> None:
    assert _problems(BAD) == [
        "2:8 invalid_value",  # not an http(s) URL
        "3:8 invalid_value",  # not an agent id
        "5:3 invalid_value",  # upstream names are lowercase
        "9:5 missing_key",  # both url and command
        "13:21 invalid_value",  # no such capability
        "14:19 invalid_template",  # two arguments in one segment
        "15:9 unknown_key",
    ]


def test_yaml_that_does_not_parse_names_its_line() -> None:
    assert _problems("charter:\n  url: [unclosed\nupstreams: {}\n") == ["3:10 yaml_syntax"]


def test_missing_parts_are_reported() -> None:
    assert _problems("agent: desk-assistant\n") == ["1:1 missing_key", "1:1 missing_key"]
    assert _problems("charter: {url: 'http://x'}\nupstreams: {}\n") == ["2:12 expected_mapping"]


def test_the_command_prints_file_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(BAD, encoding="utf-8")
    code, _, stderr = charter_cli("gateway", "mcp", "--config", str(path))
    assert code == 3
    assert f"{path}:2:8: error[invalid_value]: charter.url 'ftp://charter'" in stderr
    assert f"{path}:15:9: error[unknown_key]: unknown key 'colour'" in stderr
    code, _, stderr = charter_cli(
        "gateway", "mcp", "--config", str(EXAMPLE), "--check", "--server", "http://127.0.0.1:8080"
    )
    assert code == 0
    assert "valid" in stderr


@pytest.mark.parametrize(
    "template",
    [
        "vault/{a}{b}",
        "vault/{a}x",
        "vault/x{a}",
        "vault//{a}",
        "vault/{0}",
        "vault/{a!r}",
        "vault/{a:>3}",
        "vault/../{a}",
        "/vault/{a}",
        "vault/{a}/",
        "vault/{",
    ],
)
def test_templates_whose_argument_would_not_fill_one_segment_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        ResourceTemplate.parse(template)


@pytest.mark.parametrize(
    "value",
    [
        "..",
        ".",
        "",
        "../prod",
        "a/b",
        "%2e%2e",
        "%2f",
        "a\\b",
        "\uff0e\uff0e",
        "\uff50rod",
        "a\x00",
        "a\n",
        "a b",
        "db.",
        "\u200bprod",
        "prod\u2215db",
        "x" * 201,
        1.5,
        None,
        True,
        ["a"],
        {"a": 1},
    ],
)
def test_arguments_outside_one_canonical_segment_are_refused(value: object) -> None:
    template = ResourceTemplate.parse("vault/{env}/{name}")
    with pytest.raises(InvalidInput) as refused:
        template.render({"env": "dev", "name": value})
    assert refused.value.code == ErrorCode.UNSAFE_RESOURCE_ARGUMENT


def test_a_missing_argument_is_refused_and_good_ones_fill_their_segment() -> None:
    template = ResourceTemplate.parse("vault/{env}/{name}")
    with pytest.raises(InvalidInput):
        template.render({"env": "dev"})
    assert template.render({"env": "dev", "name": "db-password"}) == "vault/dev/db-password"
    assert template.render({"env": "dev", "name": 42}) == "vault/dev/42"
    assert template.arguments == ("env", "name")
