"""Loading policy documents from YAML: every document, every problem, with its place.

A file may hold several documents (``---``). Each is ``apiVersion: charter/v1``, a
``kind``, ``metadata.name`` and a ``spec``. Problems are collected, not raised: a load
returns whatever documents were well-formed and every diagnostic found on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from charter.identity.agents import RiskTier
from charter.identity.names import AGENT_ID_PATTERN, HUMAN_ID_PATTERN
from charter.policy.diagnostics import Diagnostic, Severity, did_you_mean
from charter.policy.model import (
    DEFAULT_MAX_DURATION,
    Activation,
    AgentSpec,
    ApprovalSpec,
    Binding,
    Capability,
    ExcessFields,
    Guardrail,
    GuardrailEffect,
    Match,
    Permission,
    Role,
    SeparationOfDuty,
    Source,
)
from charter.policy.reader import NodeReader
from charter.policy.testing import PolicyTest, read_policy_test

__all__ = [
    "API_VERSION",
    "KINDS",
    "LoadedDocuments",
    "load_directory",
    "load_texts",
    "read_files",
]

API_VERSION = "charter/v1"
NAME_PATTERN = r"[a-z0-9][a-z0-9-]{0,62}"
APPROVER_PATTERN = r"owner|user:[a-z0-9][a-z0-9._-]{0,62}|group:[a-z0-9][a-z0-9._-]{0,62}"
POLICY_SUFFIXES = (".yaml", ".yml")


@dataclass(slots=True)
class LoadedDocuments:
    """What a load found: the documents by kind, and every diagnostic."""

    agents: list[AgentSpec] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    guardrails: list[Guardrail] = field(default_factory=list)
    separations: list[SeparationOfDuty] = field(default_factory=list)
    tests: list[PolicyTest] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no diagnostic is an error."""
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


def _approval(reader: NodeReader, node: yaml.Node | None, what: str) -> ApprovalSpec:
    if node is None:
        return ApprovalSpec()
    keys = reader.mapping(node, what, ("approvers", "quorum", "expiresIn")) or {}
    spec = ApprovalSpec()
    approvers = spec.approvers
    if "approvers" in keys:
        found = reader.strings(keys["approvers"], f"{what}.approvers") or []
        valid = []
        for value, item in found:
            if reader.string(item, "an approver", pattern=APPROVER_PATTERN) is not None:
                valid.append(value)
        if not found:
            reader.error(keys["approvers"], "invalid_value", f"{what}.approvers is empty")
        approvers = tuple(valid) or approvers
    quorum = spec.quorum
    if "quorum" in keys:
        quorum = reader.integer(keys["quorum"], f"{what}.quorum", minimum=1) or quorum
    expires_in = spec.expires_in
    if "expiresIn" in keys:
        expires_in = reader.duration(keys["expiresIn"], f"{what}.expiresIn") or expires_in
    return ApprovalSpec(approvers, quorum, expires_in)


def _match(reader: NodeReader, node: yaml.Node, what: str) -> Match:
    keys = reader.mapping(node, what, ("capabilities", "actions", "resources")) or {}
    capabilities = []
    if "capabilities" in keys:
        for _value, item in reader.strings(keys["capabilities"], f"{what}.capabilities") or []:
            capability = reader.choice(item, "a capability", Capability)
            if capability is not None:
                capabilities.append(capability)
    return Match(
        capabilities=tuple(capabilities),
        actions=_patterns(reader, keys.get("actions"), f"{what}.actions"),
        resources=_patterns(reader, keys.get("resources"), f"{what}.resources"),
    )


def _patterns(reader: NodeReader, node: yaml.Node | None, what: str) -> tuple[str, ...]:
    if node is None:
        return ()
    return tuple(value for value, _item in reader.strings(node, what) or [])


def _condition(reader: NodeReader, node: yaml.Node | None, what: str) -> str | None:
    return None if node is None else reader.string(node, what)


def _agent(
    reader: NodeReader, docs: LoadedDocuments, name: str, labels: dict[str, str], spec: yaml.Node
) -> None:
    keys = reader.mapping(spec, "Agent spec", ("owner", "purpose", "riskTier"), ("owner",))
    if keys is None:
        return
    owner = (
        reader.string(keys["owner"], "owner", pattern=HUMAN_ID_PATTERN) if "owner" in keys else None
    )
    purpose = reader.string(keys["purpose"], "purpose") if "purpose" in keys else ""
    tier = reader.choice(keys["riskTier"], "riskTier", RiskTier) if "riskTier" in keys else None
    if owner is not None:
        docs.agents.append(
            AgentSpec(
                name=name,
                owner=owner,
                purpose=purpose or "",
                risk_tier=tier or RiskTier.MEDIUM,
                labels=labels,
                source=reader.source(spec),
            )
        )


def _permission(reader: NodeReader, node: yaml.Node, what: str) -> Permission | None:
    keys = reader.mapping(
        node,
        what,
        ("capability", "actions", "resources", "fields", "when", "onExcessFields"),
        ("capability", "actions"),
    )
    if keys is None or "capability" not in keys or "actions" not in keys:
        return None
    capability = reader.choice(keys["capability"], f"{what}.capability", Capability)
    actions = _patterns(reader, keys["actions"], f"{what}.actions")
    resources = _patterns(reader, keys.get("resources"), f"{what}.resources")
    fields = None
    if "fields" in keys:
        fields = tuple(value for value, _ in reader.strings(keys["fields"], f"{what}.fields") or [])
    excess = ExcessFields.REDACT
    if "onExcessFields" in keys:
        excess = (
            reader.choice(keys["onExcessFields"], f"{what}.onExcessFields", ExcessFields) or excess
        )
    when = _condition(reader, keys.get("when"), f"{what}.when")
    if capability is None or not actions:
        if not actions:
            reader.error(keys["actions"], "invalid_value", f"{what}.actions is empty")
        return None
    return Permission(
        capability=capability,
        actions=actions,
        resources=resources,
        fields=fields,
        when=when,
        on_excess_fields=excess,
        source=reader.source(node),
    )


def _role(reader: NodeReader, docs: LoadedDocuments, name: str, spec: yaml.Node) -> None:
    keys = reader.mapping(spec, "Role spec", ("permissions",), ("permissions",))
    if keys is None or "permissions" not in keys:
        return
    node = keys["permissions"]
    if not isinstance(node, yaml.SequenceNode):
        reader.error(node, "expected_list", "permissions must be a list")
        return
    permissions = []
    for number, item in enumerate(node.value):
        permission = _permission(reader, item, f"permissions[{number}]")
        if permission is not None:
            permissions.append(permission)
    docs.roles.append(Role(name, tuple(permissions), reader.source(spec)))


def _binding(reader: NodeReader, docs: LoadedDocuments, name: str, spec: yaml.Node) -> None:
    keys = reader.mapping(
        spec,
        "Binding spec",
        (
            "role",
            "agents",
            "selector",
            "excludeAgents",
            "activation",
            "expiresAt",
            "maxDuration",
            "approval",
        ),
        ("role",),
    )
    if keys is None or "role" not in keys:
        return
    role = reader.string(keys["role"], "role", pattern=NAME_PATTERN)
    agents = []
    if "agents" in keys:
        for value, item in reader.strings(keys["agents"], "agents") or []:
            if reader.string(item, "an agent id", pattern=AGENT_ID_PATTERN[1:-1]) is not None:
                agents.append(value)
    excluded = []
    if "excludeAgents" in keys:
        for value, item in reader.strings(keys["excludeAgents"], "excludeAgents") or []:
            if reader.string(item, "an agent id", pattern=AGENT_ID_PATTERN[1:-1]) is not None:
                excluded.append(value)
    selector = None
    if "selector" in keys:
        selected = reader.mapping(keys["selector"], "selector", ("labels",), ("labels",)) or {}
        if "labels" in selected:
            selector = reader.string_map(selected["labels"], "selector.labels")
    if not agents and selector is None:
        reader.error(spec, "binding_without_agents", "a binding needs agents or a selector")
    activation = Activation.STANDING
    if "activation" in keys:
        activation = reader.choice(keys["activation"], "activation", Activation) or activation
    expires_at = reader.timestamp(keys["expiresAt"], "expiresAt") if "expiresAt" in keys else None
    max_duration = DEFAULT_MAX_DURATION
    if "maxDuration" in keys:
        max_duration = reader.duration(keys["maxDuration"], "maxDuration") or max_duration
    approval = _approval(reader, keys.get("approval"), "approval")
    if role is not None:
        docs.bindings.append(
            Binding(
                name=name,
                role=role,
                agents=tuple(agents),
                selector=selector,
                activation=activation,
                expires_at=expires_at,
                max_duration=max_duration,
                approval=approval,
                source=reader.source(spec),
                exclude_agents=tuple(dict.fromkeys(excluded)),
            )
        )


def _guardrail(reader: NodeReader, docs: LoadedDocuments, name: str, spec: yaml.Node) -> None:
    keys = reader.mapping(
        spec,
        "Guardrail spec",
        ("effect", "match", "when", "require", "message", "approval"),
        ("effect", "match"),
    )
    if keys is None or "effect" not in keys or "match" not in keys:
        return
    effect = reader.choice(keys["effect"], "effect", GuardrailEffect)
    if effect is GuardrailEffect.DENY and "require" in keys:
        reader.error(
            keys["require"],
            "require_on_deny",
            "a deny guardrail denies whenever it matches; it takes no 'require'",
            "put the condition in 'when', or use require_approval / require_step_up",
        )
    message = reader.string(keys["message"], "message") if "message" in keys else ""
    # Read every part even when the effect is wrong, so one load reports every problem.
    match = _match(reader, keys["match"], "match")
    when = _condition(reader, keys.get("when"), "when")
    require = _condition(reader, keys.get("require"), "require")
    approval = _approval(reader, keys.get("approval"), "approval")
    if effect is not None:
        docs.guardrails.append(
            Guardrail(
                name=name,
                effect=effect,
                match=match,
                when=when,
                require=require,
                message=message or "",
                approval=approval,
                source=reader.source(spec),
            )
        )


def _separation(reader: NodeReader, docs: LoadedDocuments, name: str, spec: yaml.Node) -> None:
    keys = reader.mapping(
        spec, "SeparationOfDuty spec", ("conflicting", "message"), ("conflicting",)
    )
    if keys is None or "conflicting" not in keys:
        return
    node = keys["conflicting"]
    if not isinstance(node, yaml.SequenceNode) or len(node.value) != 2:
        reader.error(node, "invalid_value", "conflicting must list exactly two matches")
        return
    first = _match(reader, node.value[0], "conflicting[0]")
    second = _match(reader, node.value[1], "conflicting[1]")
    message = reader.string(keys["message"], "message") if "message" in keys else ""
    docs.separations.append(
        SeparationOfDuty(name, first, second, message or "", reader.source(spec))
    )


_KIND_READERS: dict[str, Callable[[NodeReader, LoadedDocuments, str, yaml.Node], None]] = {
    "Role": _role,
    "Binding": _binding,
    "Guardrail": _guardrail,
    "SeparationOfDuty": _separation,
}
KINDS = ("Agent", *_KIND_READERS, "PolicyTest")


def _document(reader: NodeReader, docs: LoadedDocuments, node: yaml.Node) -> None:
    keys = reader.mapping(
        node,
        "a document",
        ("apiVersion", "kind", "metadata", "spec"),
        ("apiVersion", "kind", "metadata"),
    )
    if keys is None or "kind" not in keys:
        return
    if "apiVersion" in keys:
        version = reader.string(keys["apiVersion"], "apiVersion")
        if version is not None and version != API_VERSION:
            reader.error(
                keys["apiVersion"],
                "unknown_api_version",
                f"apiVersion {version!r} is not supported",
                f"use {API_VERSION!r}",
            )
    kind = reader.string(keys["kind"], "kind")
    if kind is None:
        return
    if kind not in KINDS:
        reader.error(
            keys["kind"],
            "unknown_kind",
            f"unknown kind {kind!r}",
            did_you_mean(kind, KINDS) or f"kinds: {', '.join(KINDS)}",
        )
        return
    if "metadata" not in keys:
        return
    metadata = (
        reader.mapping(keys["metadata"], "metadata", ("name", "labels", "description"), ("name",))
        or {}
    )
    pattern = AGENT_ID_PATTERN[1:-1] if kind == "Agent" else NAME_PATTERN
    name = (
        reader.string(metadata["name"], "metadata.name", pattern=pattern)
        if "name" in metadata
        else None
    )
    labels = (
        reader.string_map(metadata["labels"], "metadata.labels") if "labels" in metadata else {}
    )
    if "spec" not in keys:
        reader.error(node, "missing_key", f"a {kind} document needs 'spec'")
        return
    if name is None:
        return
    if kind == "Agent":
        _agent(reader, docs, name, labels or {}, keys["spec"])
    elif kind == "PolicyTest":
        test = read_policy_test(reader, name, keys["spec"])
        if test is not None:
            docs.tests.append(test)
    else:
        _KIND_READERS[kind](reader, docs, name, keys["spec"])


def _empty(node: yaml.Node) -> bool:
    """An empty document, as between two ``---`` or after a trailing one."""
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:null"
        and not node.value
    )


def load_texts(texts: Mapping[str, str]) -> LoadedDocuments:
    """Load documents from ``{file name: YAML text}``."""
    loaded = LoadedDocuments()
    for file, text in texts.items():
        reader = NodeReader(file)
        try:
            for node in yaml.compose_all(
                text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            ):
                if node is not None and not _empty(node):
                    _document(reader, loaded, node)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            reader.diagnostics.append(
                Diagnostic(
                    Severity.ERROR,
                    "yaml_syntax",
                    str(error.problem or error),
                    Source(file, line, column),
                )
            )
        loaded.diagnostics.extend(reader.diagnostics)
    return loaded


def read_files(directory: Path) -> dict[str, str]:
    """Every ``*.yaml`` / ``*.yml`` file under ``directory``: ``{relative path: text}``."""
    files = sorted(
        path for path in directory.rglob("*") if path.suffix in POLICY_SUFFIXES and path.is_file()
    )
    return {path.relative_to(directory).as_posix(): path.read_text("utf-8") for path in files}


def load_directory(directory: Path) -> LoadedDocuments:
    """Load every policy file under ``directory``, in path order."""
    return load_texts(read_files(directory))
