"""The policy changes that make review outcomes permanent (``charter reviews patch``).

A decided outcome (revoke, reduce, make eligible a binding for one agent) is applied by
the evaluator over the active revision until a revision reflects it (``reflected``).
``patch`` writes that revision's change: for each outcome not yet reflected,

- the agent leaves the binding: removed from its ``agents`` when named there (the whole
  binding removed when no agent is left and it has no selector), and added to its
  ``excludeAgents`` when the binding has a selector;
- reduce: a new Role ``<role>--<agent>-reduced`` with the narrower permissions and a new
  standing Binding ``<binding>--<agent>-reduced`` giving it to the agent;
- make eligible: a new eligible Binding ``<binding>--<agent>-jit`` of the same role,
  approved by the agent's owner, with the binding's ``maxDuration``;

the new documents in a new file, ``reviews/<campaign>.yaml``, each under a comment that
names the campaign and the item.

Existing files are edited as text, not re-dumped: each file is composed with PyYAML's
pure-Python loader, whose marks give every node's exact character offsets, and only the
spans that change are replaced (a list item's line, a flow list's brackets, one inserted
line, a removed document). Everything else, comments, quoting, key order and blank
lines, stays byte for byte. A YAML round-trip library (ruamel.yaml) would keep comments
too but re-indents and re-quotes what it writes back, and would be one more dependency.

Pure: no files are read or written here; the caller passes the policy directory's texts
and writes the ``Patch`` back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from charter.durations import format_duration
from charter.errors import InvalidInput
from charter.policy.decision import WithdrawalKind
from charter.policy.loader import NAME_PATTERN, load_texts
from charter.policy.model import Activation, Binding, Permission, Policy, Role
from charter.reviews.narrow import role_yaml

__all__ = ["Patch", "PatchOutcome", "new_names", "patch", "reflected"]

_NAME = re.compile(NAME_PATTERN)
_MAX_NAME = 63


@dataclass(frozen=True, slots=True)
class PatchOutcome:
    """One decided outcome to make permanent: what ``agent`` no longer holds through
    ``binding``."""

    agent: str
    binding: str
    kind: WithdrawalKind
    campaign: str
    item: str
    role: Role | None = None
    """REDUCE only: the narrower role (named like the binding's role)."""


@dataclass(frozen=True, slots=True)
class Patch:
    """The files a patch changes (relative path -> new text) and the files it adds."""

    changed: dict[str, str] = field(default_factory=dict)
    added: dict[str, str] = field(default_factory=dict)
    skipped: tuple[PatchOutcome, ...] = ()
    """Outcomes the policy already reflects: nothing written for them."""

    def apply(self, files: Mapping[str, str]) -> dict[str, str]:
        """``files`` with the patch applied."""
        return {**files, **self.changed, **self.added}


def _labels_of(policy: Policy, agent: str, labels: Mapping[str, str] | None) -> Mapping[str, str]:
    if labels is not None:
        return labels
    for spec in policy.agents:
        if spec.name == agent:
            return spec.labels
    return {}


def _same_permissions(first: Iterable[Permission], second: Iterable[Permission]) -> bool:
    def shape(permissions: Iterable[Permission]) -> list[tuple[Any, ...]]:
        return [
            (p.capability, p.actions, p.resources, p.fields, p.when, p.on_excess_fields)
            for p in permissions
        ]

    return shape(first) == shape(second)


def reflected(
    policy: Policy, outcome: PatchOutcome, labels: Mapping[str, str] | None = None
) -> bool:
    """True when ``policy`` already does what ``outcome`` does, so it is done:

    - revoke: the binding no longer gives the agent its role (gone, the agent neither
      named nor selected, or excluded);
    - reduce: the binding no longer gives the agent the original role (or that role, as
      written, is now the narrower one);
    - make eligible: the binding is not standing for the agent.

    ``labels`` are the agent's labels (for selectors); None: those the policy declares
    for it, if any. Expiry is not considered.
    """
    binding = next((b for b in policy.bindings if b.name == outcome.binding), None)
    if binding is None or not binding.gives_to(
        outcome.agent, _labels_of(policy, outcome.agent, labels)
    ):
        return True
    if outcome.kind is WithdrawalKind.REVOKE:
        return False
    if outcome.kind is WithdrawalKind.MAKE_ELIGIBLE:
        return binding.activation is Activation.ELIGIBLE
    narrower = outcome.role
    if narrower is None:
        return False  # nothing to compare with: not done
    if binding.role != narrower.name:
        return True  # it gives another role now
    role = next((r for r in policy.roles if r.name == binding.role), None)
    return role is not None and _same_permissions(role.permissions, narrower.permissions)


def _policy(files: Mapping[str, str]) -> Policy:
    loaded = load_texts(files)
    if not loaded.ok:
        problems = "; ".join(str(d) for d in loaded.diagnostics if d.severity.value == "error")
        raise InvalidInput(f"the policy to patch does not load: {problems}")
    return Policy(
        agents=tuple(loaded.agents),
        roles=tuple(loaded.roles),
        bindings=tuple(loaded.bindings),
        guardrails=tuple(loaded.guardrails),
        separations=tuple(loaded.separations),
    )


def _name(base: str, agent: str, suffix: str, taken: set[str]) -> str:
    """``<base>--<agent>-<suffix>``, shortened with a digest to stay a valid name, and
    numbered if it is taken."""
    full = f"{base}--{agent}-{suffix}"
    if len(full) > _MAX_NAME:
        digest = hashlib.sha256(full.encode()).hexdigest()[:8]
        keep = _MAX_NAME - len(suffix) - len(digest) - 2
        full = f"{full[:keep].rstrip('-')}-{digest}-{suffix}"
    name, number = full, 2
    while name in taken:
        tail = f"-{number}"
        name = full[: _MAX_NAME - len(tail)] + tail
        number += 1
    assert _NAME.fullmatch(name), name  # noqa: S101 - built from valid names
    taken.add(name)
    return name


def new_names(outcome: PatchOutcome, binding: Binding, taken: set[str]) -> tuple[str, str]:
    """The names of the role (reduce) and the binding a patch adds for ``outcome``."""
    if outcome.kind is WithdrawalKind.REDUCE:
        return (
            _name(binding.role, outcome.agent, "reduced", taken),
            _name(binding.name, outcome.agent, "reduced", taken),
        )
    return "", _name(binding.name, outcome.agent, "jit", taken)


# --- the text edits ----------------------------------------------------------------------


@dataclass(slots=True)
class _Place:
    """Where a binding document is, and what is to change in it."""

    file: str
    root: yaml.MappingNode
    spec: yaml.Node
    binding: Binding
    remove: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    why: list[PatchOutcome] = field(default_factory=list)


def _key(mapping: yaml.Node, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(mapping, yaml.MappingNode):
        return None
    for key, value in mapping.value:
        if isinstance(key, yaml.ScalarNode) and key.value == name:
            return key, value
    return None


def _bindings_in(files: Mapping[str, str]) -> dict[str, tuple[str, yaml.MappingNode, yaml.Node]]:
    """Each Binding document by name: its file, its root node and its spec node."""
    found: dict[str, tuple[str, yaml.MappingNode, yaml.Node]] = {}
    for file, text in files.items():
        for root in yaml.compose_all(text, Loader=yaml.SafeLoader):
            kind = _key(root, "kind") if root is not None else None
            if kind is None or kind[1].value != "Binding":
                continue
            metadata, spec = _key(root, "metadata"), _key(root, "spec")
            name = _key(metadata[1], "name") if metadata else None
            if name is not None and spec is not None and isinstance(root, yaml.MappingNode):
                found.setdefault(name[1].value, (file, root, spec[1]))
    return found


def _content_end(node: yaml.Node) -> int:
    """Where ``node``'s own text ends (a block collection's mark runs on past comments
    to the next token; its last child's does not)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return int(node.end_mark.index)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    """Just past the line break ending the line ``index`` is on (a block scalar's end
    mark is already there)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


Edit = tuple[int, int, str]


def _flow_list(text: str, items: list[yaml.Node], keep: list[str], add: list[str]) -> str:
    kept = [text[i.start_mark.index : i.end_mark.index] for i in items if i.value in keep]
    return "[" + ", ".join([*kept, *add]) + "]"


def _remove_agents(text: str, place: _Place, edits: list[Edit]) -> bool:
    """Edits that take ``place.remove`` out of ``agents``; False when none is left."""
    found = _key(place.spec, "agents")
    if found is None or not place.remove:
        return True
    key, value = found
    items = value.value if isinstance(value, yaml.SequenceNode) else [value]
    keep = [item.value for item in items if item.value not in place.remove]
    if not keep and place.binding.selector is None:
        return False
    if isinstance(value, yaml.SequenceNode) and not value.flow_style and keep:
        for item in items:
            if item.value in place.remove:
                start = _line_start(text, item.start_mark.index)
                edits.append((start, _line_end(text, _content_end(item)), ""))
    elif not keep:
        edits.append((key.end_mark.index, _content_end(value), ": []"))
    else:
        edits.append(
            (value.start_mark.index, _content_end(value), _flow_list(text, items, keep, []))
        )
    return True


def _add_exclusions(text: str, place: _Place, edits: list[Edit]) -> None:
    names = [
        name for name in dict.fromkeys(place.exclude) if name not in place.binding.exclude_agents
    ]
    if not names:
        return
    spec = place.spec
    found = _key(spec, "excludeAgents")
    if found is not None:
        _key_node, value = found
        if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
            last = value.value[-1]
            line = _line_start(text, last.start_mark.index)
            prefix = text[line : last.start_mark.index]
            at = _line_end(text, _content_end(last))
            edits.append((at, at, "".join(f"{prefix}{name}\n" for name in names)))
        else:
            items = value.value if isinstance(value, yaml.SequenceNode) else [value]
            kept = [item.value for item in items]
            edits.append(
                (value.start_mark.index, _content_end(value), _flow_list(text, items, kept, names))
            )
        return
    entry = f"excludeAgents: [{', '.join(names)}]"
    assert isinstance(spec, yaml.MappingNode)  # noqa: S101 - a loaded binding's spec
    last_value = spec.value[-1][1]
    if spec.flow_style:
        at = _content_end(last_value)
        edits.append((at, at, f", {entry}"))
        return
    first_key = spec.value[0][0]
    indent = " " * first_key.start_mark.column
    at = _line_end(text, _content_end(last_value))
    newline = "" if at == 0 or text[at - 1] == "\n" else "\n"
    edits.append((at, at, f"{newline}{indent}{entry}\n"))


def _remove_document(text: str, place: _Place, edits: list[Edit]) -> None:
    start = place.root.start_mark.index
    end = _line_end(text, _content_end(place.root))
    notes = "".join(
        f"# Binding/{place.binding.name} removed: review {o.campaign} item {o.item} "
        f"({o.kind.value}) took out its last agent, {o.agent}\n"
        for o in place.why
    )
    edits.append((start, end, notes))


def _edited(text: str, edits: list[Edit]) -> str:
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


# --- the new documents -------------------------------------------------------------------


def _dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(
        document, sort_keys=False, default_flow_style=None, width=10_000, allow_unicode=False
    )


def _header(outcome: PatchOutcome) -> str:
    return (
        f"# Review {outcome.campaign}, item {outcome.item}: {outcome.kind.value} of "
        f"Binding/{outcome.binding} for {outcome.agent}\n"
    )


def _binding_spec(binding: Binding, agent: str, role: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"role": role, "agents": [agent]}
    if binding.expires_at is not None:
        spec["expiresAt"] = binding.expires_at.isoformat().replace("+00:00", "Z")
    return spec


def _documents(outcome: PatchOutcome, binding: Binding, taken: set[str]) -> str:
    role_name, binding_name = new_names(outcome, binding, taken)
    parts = []
    if outcome.kind is WithdrawalKind.REDUCE:
        assert outcome.role is not None  # noqa: S101 - checked by patch
        parts.append(_header(outcome) + role_yaml(replace(outcome.role, name=role_name)))
        spec = _binding_spec(binding, outcome.agent, role_name)
        if binding.activation is Activation.ELIGIBLE:
            # Narrowed, but still just in time, approved as before.
            approval = binding.approval
            spec["activation"] = Activation.ELIGIBLE.value
            spec["maxDuration"] = format_duration(binding.max_duration)
            spec["approval"] = {
                "approvers": list(approval.approvers),
                "quorum": approval.quorum,
                "expiresIn": format_duration(approval.expires_in),
            }
    else:
        spec = _binding_spec(binding, outcome.agent, binding.role)
        spec["activation"] = Activation.ELIGIBLE.value
        spec["maxDuration"] = format_duration(binding.max_duration)
        spec["approval"] = {"approvers": ["owner"], "quorum": 1}
    document = {
        "apiVersion": "charter/v1",
        "kind": "Binding",
        "metadata": {"name": binding_name},
        "spec": spec,
    }
    parts.append(_header(outcome) + _dump(document))
    return "---\n".join(parts)


def patch(
    files: Mapping[str, str],
    outcomes: Iterable[PatchOutcome],
    *,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Patch:
    """The changes to the policy directory ``files`` (relative path -> YAML text) that
    make every outcome permanent; outcomes the policy already reflects are skipped.

    ``labels``: each agent's labels, by agent id, for ``reflected`` (None: those the
    policy declares). A policy that does not load, an outcome naming a binding no file
    holds as a document of its own, and a reduce without its narrower role (named like
    the binding's role) are refused (``InvalidInput``).
    """
    policy = _policy(files)
    bindings = {binding.name: binding for binding in policy.bindings}
    places = _bindings_in(files)
    taken = {r.name for r in policy.roles} | set(bindings)
    skipped: list[PatchOutcome] = []
    todo: list[PatchOutcome] = []
    by_binding: dict[str, _Place] = {}
    for outcome in outcomes:
        agent_labels = None if labels is None else labels.get(outcome.agent, {})
        if reflected(policy, outcome, agent_labels):
            skipped.append(outcome)
            continue
        binding = bindings[outcome.binding]  # reflected: it exists
        if outcome.kind is WithdrawalKind.REDUCE and (
            outcome.role is None or outcome.role.name != binding.role
        ):
            raise InvalidInput(
                f"a reduce of Binding/{binding.name} needs the narrower role, named "
                f"{binding.role!r}"
            )
        where = places.get(binding.name)
        if where is None:
            raise InvalidInput(f"Binding/{binding.name} is not found in the policy's files")
        place = by_binding.get(binding.name)
        if place is None:
            place = by_binding[binding.name] = _Place(where[0], where[1], where[2], binding)
        if outcome.agent in binding.agents:
            place.remove.append(outcome.agent)
        if binding.selector is not None:
            place.exclude.append(outcome.agent)
        place.why.append(outcome)
        todo.append(outcome)

    edits: dict[str, list[Edit]] = {}
    for place in by_binding.values():
        text = files[place.file]
        found = edits.setdefault(place.file, [])
        if _remove_agents(text, place, found):
            _add_exclusions(text, place, found)
        else:
            _remove_document(text, place, found)
    changed = {file: _edited(files[file], found) for file, found in edits.items() if found}

    added: dict[str, str] = {}
    for outcome in todo:
        if outcome.kind is WithdrawalKind.REVOKE:
            continue
        path = f"reviews/{outcome.campaign}.yaml"
        documents = _documents(outcome, bindings[outcome.binding], taken)
        if path in files or path in changed:
            base = changed.get(path, files.get(path, ""))
            joined = base + ("" if not base or base.endswith("\n") else "\n") + "---\n" + documents
            changed[path] = joined
        elif path in added:
            added[path] += "---\n" + documents
        else:
            added[path] = documents
    return Patch(changed=changed, added=added, skipped=tuple(skipped))
