"""The gateway's YAML configuration: which upstream MCP servers it fronts, and how each
of their tools becomes a Charter decision request.

Read like a policy (``charter.policy.reader``): every problem is collected with its
file, line and column, and a configuration with any error is refused whole, so a typo
never turns into a tool that is called without the decision it was meant to have.

```yaml
charter:
  url: http://127.0.0.1:8080
agent: desk-assistant            # the agent a stdio client is
upstreams:
  desk:
    command: [python, examples/mcp/desk_server.py]
    tools:
      read_secret:
        capability: request
        resource: vault/{env}/{name}
```
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.gateway.resources import ResourceTemplate, TemplateError
from charter.identity.names import AGENT_ID_PATTERN
from charter.policy.canonical import FIELD
from charter.policy.diagnostics import Diagnostic, Severity
from charter.policy.model import Capability, Source
from charter.policy.reader import NodeReader

__all__ = [
    "DEFAULT_TOKEN_ENV",
    "CharterLink",
    "ConfigError",
    "GatewayConfig",
    "Screening",
    "ToolRule",
    "Upstream",
    "load_config",
    "read_config",
]

DEFAULT_TOKEN_ENV = "CHARTER_GATEWAY_TOKEN"  # noqa: S105 - the variable's name, not a token
"""Where the gateway's enforcer token is read from, unless ``charter.token_env`` says."""

_UPSTREAM_NAME = r"[a-z0-9][a-z0-9_-]{0,62}"
_ACTION = r"[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)*"
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PREFIX = r"[A-Za-z0-9_.-]{0,32}"
_TOOL_PATTERN = r"[A-Za-z0-9_.*?\[\]!-]{1,128}"
_MAX_WAIT = 3600
_URL = re.compile(r"https?://[^\s/?#]+(?:/[^\s]*)?")


class Screening(StrEnum):
    """What is masked in a tool's result: registered leaks only, or every secret the
    server's detectors find."""

    LEAKS = "leaks"
    SECRETS = "secrets"


@dataclass(frozen=True, slots=True)
class ToolRule:
    """How calls to the tools matching ``pattern`` are decided."""

    pattern: str
    capability: Capability
    action: str | None
    """None: ``mcp.<upstream>.<tool>``."""
    resource: ResourceTemplate | None
    """None: ``mcp/<upstream>/<tool>``."""
    fields: tuple[str, ...]
    input: tuple[str, ...] | None
    """The arguments sent as the decision's ``input`` (scanned for secrets); None: all."""
    context: dict[str, str]
    source: Source

    def matches(self, tool: str) -> bool:
        """True when ``tool`` falls under this rule's name or glob."""
        return fnmatch.fnmatchcase(tool, self.pattern)


@dataclass(frozen=True, slots=True)
class Upstream:
    """One upstream MCP server: a command spoken to over stdio, or a Streamable HTTP URL."""

    name: str
    command: tuple[str, ...] | None
    url: str | None
    env: dict[str, str]
    cwd: str | None
    prefix: str
    timeout: float
    tools: tuple[ToolRule, ...]
    source: Source

    def rule_for(self, tool: str) -> ToolRule | None:
        """The first rule, in the order written, that matches ``tool``; None hides it."""
        return next((rule for rule in self.tools if rule.matches(tool)), None)


@dataclass(frozen=True, slots=True)
class CharterLink:
    """The Charter server the gateway asks, and how."""

    url: str
    console_url: str
    token_env: str
    timeout: float


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """A whole, valid configuration."""

    charter: CharterLink
    agent: str | None
    approval_wait: float
    screening: Screening
    upstreams: tuple[Upstream, ...]
    file: str = ""
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    def token(self) -> str:
        """The enforcer token, from the environment variable the configuration names."""
        token = os.environ.get(self.charter.token_env, "").strip()
        if not token:
            raise InvalidInput(
                f"no enforcer token: set {self.charter.token_env}",
                code=ErrorCode.INVALID_GATEWAY_CONFIG,
                help="give a human the enforcer role: charter tokens issue --human <id>",
            )
        return token


class ConfigError(InvalidInput):
    """A configuration with errors; ``diagnostics`` lists each, with its place."""

    default_code = ErrorCode.INVALID_GATEWAY_CONFIG

    def __init__(self, file: str, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.source.line, d.source.column))
        lines = "\n".join(str(d) for d in self.diagnostics)
        super().__init__(
            f"{file}: the gateway configuration has errors:\n{lines}",
            code=ErrorCode.INVALID_GATEWAY_CONFIG,
        )


def _seconds(reader: NodeReader, node: yaml.Node | None, what: str, default: float) -> float:
    if node is None:
        return default
    duration = reader.duration(node, what)
    if duration is None:
        return default
    if duration.total_seconds() > _MAX_WAIT:
        reader.error(node, "invalid_value", f"{what} must be at most 1h")
    return duration.total_seconds()


def _charter(
    reader: NodeReader, node: yaml.Node | None, root: yaml.Node, server: str | None
) -> CharterLink | None:
    keys = (
        reader.mapping(node, "charter", ("url", "console_url", "token_env", "timeout"))
        if node is not None
        else {}
    )
    if keys is None:
        return None
    if "url" in keys:
        url = _url(reader, keys["url"], "charter.url")
    elif server is not None and _URL.fullmatch(server) is not None:
        url = server
    else:
        reader.error(
            node if node is not None else root,
            "missing_key",
            "no Charter server: set charter.url, or pass --server (CHARTER_SERVER)",
        )
        return None
    console = (
        _url(reader, keys["console_url"], "charter.console_url") if "console_url" in keys else url
    )
    token_env = (
        reader.string(keys["token_env"], "charter.token_env", pattern=_ENV_NAME)
        if "token_env" in keys
        else DEFAULT_TOKEN_ENV
    )
    timeout = _seconds(reader, keys.get("timeout"), "charter.timeout", 5.0)
    if url is None or console is None or token_env is None:
        return None
    return CharterLink(url.rstrip("/"), console.rstrip("/"), token_env, timeout)


def _url(reader: NodeReader, node: yaml.Node, what: str) -> str | None:
    value = reader.string(node, what)
    if value is not None and _URL.fullmatch(value) is None:
        reader.error(node, "invalid_value", f"{what} {value!r} is not an http(s) URL")
        return None
    return value


def _tool(reader: NodeReader, pattern: str, node: yaml.Node, key: yaml.Node) -> ToolRule | None:
    what = f"tool {pattern!r}"
    keys = reader.mapping(
        node,
        what,
        ("capability", "action", "resource", "fields", "input", "context"),
        required=("capability",),
    )
    if keys is None:
        return None
    capability = (
        reader.choice(keys["capability"], f"{what} capability", Capability)
        if "capability" in keys
        else None
    )
    action = None
    if "action" in keys:
        action = reader.string(keys["action"], f"{what} action")
        if action is not None and re.fullmatch(_ACTION, action) is None:
            reader.error(
                keys["action"],
                "invalid_value",
                f"{what} action {action!r} is not canonical",
                "lowercase ASCII letters, digits, '_' and '-' in segments joined by dots",
            )
            action = None
    resource = None
    if "resource" in keys:
        text = reader.string(keys["resource"], f"{what} resource")
        if text is not None:
            try:
                resource = ResourceTemplate.parse(text)
            except TemplateError as error:
                reader.error(keys["resource"], "invalid_template", str(error))
    fields: list[str] = []
    listed = reader.strings(keys["fields"], f"{what} fields") if "fields" in keys else None
    for name, item in listed or []:
        if FIELD.fullmatch(name) is None:
            reader.error(item, "invalid_value", f"{what} field {name!r} is not canonical")
        else:
            fields.append(name)
    inputs = None
    if "input" in keys:
        inputs = tuple(name for name, _ in reader.strings(keys["input"], f"{what} input") or [])
    context = reader.string_map(keys["context"], f"{what} context") if "context" in keys else {}
    if capability is None or context is None:
        return None
    return ToolRule(
        pattern,
        capability,
        action,
        resource,
        tuple(fields),
        inputs,
        context,
        reader.source(key),
    )


def _upstream(reader: NodeReader, name: str, node: yaml.Node, key: yaml.Node) -> Upstream | None:
    what = f"upstream {name!r}"
    if re.fullmatch(_UPSTREAM_NAME, name) is None:
        reader.error(
            key,
            "invalid_value",
            f"{what}: names are lowercase letters, digits, '_' and '-' (they become "
            "part of the action, mcp.<upstream>.<tool>)",
        )
        return None
    keys = reader.mapping(
        node, what, ("command", "url", "env", "cwd", "prefix", "timeout", "tools"), ("tools",)
    )
    if keys is None:
        return None
    command = url = None
    if ("command" in keys) == ("url" in keys):
        reader.error(node, "missing_key", f"{what} needs exactly one of 'command' and 'url'")
    elif "command" in keys:
        found = reader.strings(keys["command"], f"{what} command") or []
        command = tuple(value for value, _ in found) or None
        if not command:
            reader.error(keys["command"], "invalid_value", f"{what} command is empty")
    else:
        url = _url(reader, keys["url"], f"{what} url")
    env = reader.string_map(keys["env"], f"{what} env") if "env" in keys else {}
    cwd = reader.string(keys["cwd"], f"{what} cwd") if "cwd" in keys else None
    prefix = (
        reader.string(keys["prefix"], f"{what} prefix", pattern=_PREFIX) if "prefix" in keys else ""
    )
    timeout = _seconds(reader, keys.get("timeout"), f"{what} timeout", 30.0)
    rules: list[ToolRule] = []
    tools = keys.get("tools")
    if tools is not None:
        if not isinstance(tools, yaml.MappingNode) or not tools.value:
            reader.error(tools, "expected_mapping", f"{what} tools must map tool names to rules")
        else:
            seen: set[str] = set()
            for tool_key, tool_node in tools.value:
                pattern = reader.string(tool_key, f"a tool name of {what}", pattern=_TOOL_PATTERN)
                if pattern is None:
                    continue
                if pattern in seen:
                    reader.error(tool_key, "duplicate_key", f"tool {pattern!r} appears twice")
                    continue
                seen.add(pattern)
                rule = _tool(reader, pattern, tool_node, tool_key)
                if rule is not None:
                    rules.append(rule)
    if (command is None and url is None) or env is None or prefix is None:
        return None
    return Upstream(name, command, url, env, cwd, prefix, timeout, tuple(rules), reader.source(key))


def read_config(text: str, file: str, *, server: str | None = None) -> GatewayConfig:
    """Read a configuration from ``text`` (named ``file`` in errors), or raise
    ``ConfigError`` listing every problem found. ``server`` is Charter's URL when the
    file names none (``charter.url`` wins)."""
    reader = NodeReader(file)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            file, [Diagnostic(Severity.ERROR, "yaml_syntax", problem, Source(file, line, column))]
        ) from None
    if root is None:
        raise ConfigError(
            file,
            [Diagnostic(Severity.ERROR, "empty_file", "the file is empty", Source(file, 1, 1))],
        )
    keys = reader.mapping(
        root,
        "the configuration",
        ("charter", "agent", "approvals", "results", "upstreams"),
        required=("upstreams",),
    )
    if keys is None:
        raise ConfigError(file, reader.diagnostics)
    charter = _charter(reader, keys.get("charter"), root, server)
    agent = (
        reader.string(keys["agent"], "agent", pattern=AGENT_ID_PATTERN.strip("^$"))
        if "agent" in keys
        else None
    )
    wait = 60.0
    if "approvals" in keys:
        approvals = reader.mapping(keys["approvals"], "approvals", ("wait",)) or {}
        wait = _seconds(reader, approvals.get("wait"), "approvals.wait", wait)
    screening = Screening.LEAKS
    if "results" in keys:
        results = reader.mapping(keys["results"], "results", ("mask",)) or {}
        if "mask" in results:
            screening = reader.choice(results["mask"], "results.mask", Screening) or screening
    upstreams: list[Upstream] = []
    node = keys.get("upstreams")
    if node is not None:
        if not isinstance(node, yaml.MappingNode) or not node.value:
            reader.error(node, "expected_mapping", "upstreams must map names to servers")
        else:
            for key, value in node.value:
                name = reader.string(key, "an upstream name")
                if name is None:
                    continue
                if any(upstream.name == name for upstream in upstreams):
                    reader.error(key, "duplicate_key", f"upstream {name!r} appears twice")
                    continue
                upstream = _upstream(reader, name, value, key)
                if upstream is not None:
                    upstreams.append(upstream)
    errors = [d for d in reader.diagnostics if d.severity is Severity.ERROR]
    if errors or charter is None:
        raise ConfigError(file, errors or reader.diagnostics)
    return GatewayConfig(
        charter,
        agent,
        wait,
        screening,
        tuple(upstreams),
        file,
        tuple(reader.diagnostics),
    )


def load_config(path: str | Path, *, server: str | None = None) -> GatewayConfig:
    """Read the configuration file at ``path`` (``ConfigError`` when it cannot be read
    or holds errors)."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            where,
            [Diagnostic(Severity.ERROR, "unreadable", str(error), Source(where, 1, 1))],
        ) from None
    return read_config(text, where, server=server)
