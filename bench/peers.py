"""The benchmark's workload for peer engines: Cedar (cedarpy), OPA/Rego (regorus via
opa-eval) and Casbin (pycasbin).

Each translator turns the workload's charter ``Policy`` and per-agent ``Facts`` into the
engine's own policy text or model, and each request into the engine's request, so that
`bench.policy` can check the peers agree with Charter and time them on the same requests.

The translation covers what the workload uses, exactly, and refuses anything else
(``Unsupported``) rather than approximate it:

- permissions: a capability, one or more actions, resource patterns (an exact path,
  ``prefix/*`` = exactly one more segment, ``prefix/**`` = the prefix or anything
  under it, or none = any resource), and an optional ``when``;
- standing bindings naming agents, and active grants, both as role assignments (a grant
  is a role activation: it is one more role for the agent);
- deny guardrails (capabilities, actions, resource patterns, optional ``when``);
- conditions: CEL conjunctions (``&&``) of ``has(context.NAME)`` and
  ``context.NAME <op> <integer>``.

What Charter decides before any rule (unknown, suspended or retired agents; ``charter.*``
actions), friction guardrails, eligible bindings, fields and approvals are not part of
the workload and are not translated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from charter.policy.decision import Facts, Request
from charter.policy.model import (
    Activation,
    Capability,
    Guardrail,
    GuardrailEffect,
    Match,
    Policy,
    Role,
)

__all__ = [
    "Peer",
    "Unsupported",
    "casbin_peer",
    "cedar_peer",
    "rego_peer",
    "role_assignments",
]


class Unsupported(ValueError):
    """A part of the policy the translator cannot express exactly."""


@dataclass
class Peer:
    """A loaded peer engine: its policy text, how long loading took, and a decide call.

    ``prepare`` turns a charter request into the engine's request (done before timing);
    ``decide`` takes a prepared request and returns True for allow.
    """

    name: str
    note: str
    setup_ms: float
    size: str
    prepare: Callable[[Request], Any]
    decide: Callable[[Any], bool]


# ---------------------------------------------------------------------------------------
# Shared pieces


def role_assignments(
    policy: Policy, facts: Mapping[str, Facts], now: datetime
) -> dict[str, list[str]]:
    """Each agent's roles: its standing, unexpired bindings plus its active grants."""
    roles: dict[str, list[str]] = {}
    for binding in policy.bindings:
        if binding.selector:
            raise Unsupported(f"binding {binding.name}: label selectors")
        if binding.activation is not Activation.STANDING:
            raise Unsupported(f"binding {binding.name}: eligible bindings")
        if binding.expires_at is not None and now >= binding.expires_at:
            continue
        for agent in binding.agents:
            held = roles.setdefault(agent, [])
            if binding.role not in held:
                held.append(binding.role)
    for agent, fact in facts.items():
        if fact.approval_id is not None:
            raise Unsupported(f"agent {agent}: approvals")
        for grant in fact.grants:
            if now < grant.expires_at:
                held = roles.setdefault(agent, [])
                if grant.role not in held:
                    held.append(grant.role)
    return roles


@dataclass(frozen=True)
class PathPattern:
    """A resource pattern as the peers need it.

    ``kind`` is ``exact`` (``prefix`` is the whole path), ``child`` (``prefix/*``: exactly
    one segment more), ``tree`` (``prefix/**``: the prefix itself or anything under it) or
    ``any`` (no pattern written).
    """

    kind: str
    prefix: str


def path_pattern(pattern: str | None) -> PathPattern:
    """Classify ``pattern``; other shapes raise ``Unsupported``."""
    if pattern is None or pattern == "**":
        return PathPattern("any", "")
    head, _, last = pattern.rpartition("/")
    if "*" in head:
        raise Unsupported(f"resource pattern {pattern!r}: a wildcard before the last segment")
    if last == "*" and head:
        return PathPattern("child", head)
    if last == "**" and head:
        return PathPattern("tree", head)
    if "*" in last:
        raise Unsupported(f"resource pattern {pattern!r}")
    return PathPattern("exact", pattern)


def _patterns(resources: tuple[str, ...]) -> list[PathPattern]:
    return [path_pattern(r) for r in resources] if resources else [path_pattern(None)]


@cache
def charter_path_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression with Charter's glob semantics over ``/``-separated paths:
    ``*`` is exactly one (non-empty) segment, ``**`` any number of segments, none
    included. Matched against ``"/" + path``."""
    out = []
    for segment in pattern.split("/"):
        if segment == "**":
            out.append("(?:/[^/]+)*")
        elif segment == "*":
            out.append("/[^/]+")
        elif "*" in segment:
            raise Unsupported(f"resource pattern {pattern!r}")
        else:
            out.append("/" + re.escape(segment))
    return re.compile("".join(out))


def charter_path_match(path: str, pattern: str) -> bool:
    """Whether ``path`` matches the Charter resource ``pattern``."""
    return charter_path_regex(pattern).fullmatch("/" + path) is not None


_TERM = re.compile(r"^context\.([A-Za-z_]\w*)\s*(>=|<=|==|!=|>|<)\s*(-?\d+)$")
_HAS = re.compile(r"^has\(context\.([A-Za-z_]\w*)\)$")


@dataclass(frozen=True)
class Term:
    """One conjunct of a condition: ``has(context.key)`` (op ``has``) or a comparison."""

    key: str
    op: str
    value: int = 0


def condition_terms(expression: str) -> list[Term]:
    """Parse the CEL subset the workload uses: ``&&`` of ``has(context.k)`` and
    ``context.k <op> <int>``."""
    terms = []
    for part in expression.split("&&"):
        text = part.strip()
        if found := _HAS.match(text):
            terms.append(Term(found.group(1), "has"))
        elif found := _TERM.match(text):
            terms.append(Term(found.group(1), found.group(2), int(found.group(3))))
        else:
            raise Unsupported(f"condition {expression!r}: {text!r}")
    return terms


def _deny_guardrails(policy: Policy) -> list[Guardrail]:
    guards = []
    for guard in policy.guardrails:
        if guard.effect is not GuardrailEffect.DENY:
            raise Unsupported(f"guardrail {guard.name}: effect {guard.effect.value}")
        if guard.require is not None:
            raise Unsupported(f"guardrail {guard.name}: require")
        if any("*" in action for action in guard.match.actions):
            raise Unsupported(f"guardrail {guard.name}: action globs")
        guards.append(guard)
    return guards


def _capabilities(match: Match) -> tuple[Capability, ...]:
    return match.capabilities or tuple(Capability)


def _check_permission_actions(policy: Policy) -> None:
    for role in policy.roles:
        for permission in role.permissions:
            if any("*" in action for action in permission.actions):
                raise Unsupported(f"role {role.name}: action globs")
            if permission.fields is not None:
                raise Unsupported(f"role {role.name}: fields")


def _context(request: Request) -> dict[str, Any]:
    return dict(request.context)


# ---------------------------------------------------------------------------------------
# Cedar


def _cedar_cond(expression: str) -> str:
    parts = []
    for term in condition_terms(expression):
        if term.op == "has":
            parts.append(f"context has {term.key}")
        else:
            parts.append(f"context.{term.key} {term.op} {term.value}")
    return " && ".join(parts)


def _cedar_resource(pattern: PathPattern) -> tuple[str, str | None]:
    """The resource scope and an extra ``when`` for one pattern."""
    if pattern.kind == "any":
        return "resource", None
    if pattern.kind == "exact":
        return f"resource == Resource::{json.dumps(pattern.prefix)}", None
    if pattern.kind == "tree":  # `in` is reflexive: the prefix itself or anything under it
        return f"resource in Resource::{json.dumps(pattern.prefix)}", None
    # child: under the prefix, and its parent is the prefix (exactly one segment more)
    return (
        f"resource in Resource::{json.dumps(pattern.prefix)}",
        f"resource.parent == Resource::{json.dumps(pattern.prefix)}",
    )


def _cedar_action(capability: Capability, action: str) -> str:
    return f"Action::{json.dumps(f'{capability.value}:{action}')}"


def _cedar_guarded_cond(expression: str) -> str:
    """A condition inside a disjunction: ``has`` first, so a missing key is false there
    rather than an error that would skip the whole policy (Charter: not satisfied)."""
    parts = []
    for term in condition_terms(expression):
        parts.append(f"context has {term.key}")
        if term.op != "has":
            parts.append(f"context.{term.key} {term.op} {term.value}")
    return " && ".join(dict.fromkeys(parts))


def _cedar_role_policy(role: Role) -> str:
    """One ``permit`` for a whole role: a disjunction over its permissions."""
    alternatives = []
    for permission in role.permissions:
        actions = [_cedar_action(permission.capability, a) for a in permission.actions]
        action = (
            f"action == {actions[0]}" if len(actions) == 1 else f"action in [{', '.join(actions)}]"
        )
        for pattern in _patterns(permission.resources):
            scope, extra = _cedar_resource(pattern)
            parts = [action]
            if scope != "resource":
                parts.append(scope)
            if extra is not None:
                parts.append(f"resource has parent && {extra}")
            if permission.when is not None:
                parts.append(_cedar_guarded_cond(permission.when))
            alternatives.append("(" + " && ".join(parts) + ")")
    body = "\n    || ".join(alternatives) or "false"
    principal = f"principal in Role::{json.dumps(role.name)}"
    return f"permit({principal}, action, resource) when {{\n    {body}\n}};"


def cedar_policies(policy: Policy, *, per_role: bool = False) -> str:
    """The Cedar policy text: one ``permit`` per permission and resource pattern (or, with
    ``per_role``, one per role), one ``forbid`` per deny guardrail and resource pattern."""
    _check_permission_actions(policy)
    out = []
    for role in policy.roles:
        if per_role:
            out.append(_cedar_role_policy(role))
            continue
        principal = f"principal in Role::{json.dumps(role.name)}"
        for permission in role.permissions:
            actions = [_cedar_action(permission.capability, a) for a in permission.actions]
            action = (
                f"action == {actions[0]}"
                if len(actions) == 1
                else f"action in [{', '.join(actions)}]"
            )
            for pattern in _patterns(permission.resources):
                scope, extra = _cedar_resource(pattern)
                text = f"permit({principal}, {action}, {scope})"
                if extra is not None:
                    text += f" when {{ {extra} }}"
                if permission.when is not None:
                    text += f" when {{ {_cedar_cond(permission.when)} }}"
                out.append(text + ";")
    for guard in _deny_guardrails(policy):
        actions = [
            _cedar_action(capability, action)
            for capability in _capabilities(guard.match)
            for action in guard.match.actions
        ]
        action = f"action in [{', '.join(actions)}]" if actions else "action"
        for pattern in _patterns(guard.match.resources):
            scope, extra = _cedar_resource(pattern)
            text = f'@id("{guard.name}")\nforbid(principal, {action}, {scope})'
            if extra is not None:
                text += f" when {{ {extra} }}"
            if guard.when is not None:
                text += f" when {{ {_cedar_cond(guard.when)} }}"
            out.append(text + ";")
    return "\n".join(out) + "\n"


def _entity(kind: str, name: str) -> dict[str, str]:
    return {"type": kind, "id": name}


def cedar_entities(
    policy: Policy, facts: Mapping[str, Facts], now: datetime, resources: Iterable[str]
) -> list[dict[str, Any]]:
    """Agents (their roles as parents), roles, and the resource tree: every resource and
    its ancestors, each with its parent as the ``parent`` attribute and as a parent."""
    entities: list[dict[str, Any]] = []
    for agent, roles in role_assignments(policy, facts, now).items():
        entities.append(
            {
                "uid": _entity("Agent", agent),
                "attrs": {},
                "parents": [_entity("Role", role) for role in roles],
            }
        )
    for role in policy.roles:
        entities.append({"uid": _entity("Role", role.name), "attrs": {}, "parents": []})
    seen: set[str] = set()
    for resource in resources:
        path = resource
        while path and path not in seen:
            seen.add(path)
            parent = path.rpartition("/")[0]
            attrs: dict[str, Any] = {}
            parents = []
            if parent:
                attrs["parent"] = {"__entity": _entity("Resource", parent)}
                parents.append(_entity("Resource", parent))
            entities.append({"uid": _entity("Resource", path), "attrs": attrs, "parents": parents})
            path = parent
    return entities


def cedar_request(request: Request) -> dict[str, Any]:
    """A cedarpy request: principal, action (``capability:action``), resource, context."""
    return {
        "principal": _entity("Agent", request.agent),
        "action": _entity("Action", f"{request.capability.value}:{request.action}"),
        "resource": _entity("Resource", request.resource),
        "context": _context(request),
    }


def cedar_peer(
    policy: Policy,
    facts: Mapping[str, Facts],
    now: datetime,
    resources: Iterable[str],
    *,
    per_role: bool = False,
) -> Peer:
    """Translate, parse the policy set and the entities once, and return the peer."""
    import time

    import cedarpy

    text = cedar_policies(policy, per_role=per_role)
    entities_json = json.dumps(cedar_entities(policy, facts, now, resources))
    start = time.perf_counter()
    policies = cedarpy.PolicySet.from_str(text)
    entities = cedarpy.Entities.from_json_str(entities_json)
    setup_ms = (time.perf_counter() - start) * 1000
    is_authorized = cedarpy.is_authorized

    def decide(prepared: dict[str, Any]) -> bool:
        return bool(is_authorized(prepared, policies, entities).allowed)

    shape = "one permit per role" if per_role else "one permit per permission"
    return Peer(
        f"Cedar (cedarpy), {shape}",
        f"{shape}, one forbid per guardrail; roles as the agent's parents, resources as "
        "an entity tree",
        setup_ms,
        f"{text.count('permit('):,} permit and {text.count('forbid('):,} forbid policies",
        cedar_request,
        decide,
    )


# ---------------------------------------------------------------------------------------
# Rego (regorus through opa-eval)

_REGO_HEAD = """package authz

import rego.v1

default allow := false

allow if {
\tnot deny
\tpermitted
}

# The agent's roles (bindings and active grants) are data; each role's permissions are
# indexed by "capability:action".
permitted if {
\tsome role in data.roles[input.agent]
\tsome p in data.perms[role][input.key]
\tresource_matches(p)
\tholds(p.c)
}

resource_matches(p) if p.any
resource_matches(p) if p.eq == input.resource
resource_matches(p) if {
\tstartswith(input.resource, p.child)
\tsegment := substring(input.resource, count(p.child), -1)
\tsegment != ""
\tnot contains(segment, "/")
}
resource_matches(p) if p.tree == input.resource
resource_matches(p) if startswith(input.resource, p.under)

holds("") := true
"""


def _rego_cond(expression: str) -> str:
    parts = []
    for term in condition_terms(expression):
        if term.op == "has":
            parts.append(f'"{term.key}" in object.keys(input.context)')
        else:
            parts.append(f"input.context.{term.key} {term.op} {term.value}")
    return "; ".join(parts)


def _rego_pattern(pattern: PathPattern) -> list[dict[str, Any]]:
    """The data form of one pattern (``tree`` takes two entries: itself, and under)."""
    if pattern.kind == "any":
        return [{"any": True}]
    if pattern.kind == "exact":
        return [{"eq": pattern.prefix}]
    if pattern.kind == "child":
        return [{"child": pattern.prefix + "/"}]
    return [{"tree": pattern.prefix}, {"under": pattern.prefix + "/"}]


def _rego_resource_test(pattern: PathPattern) -> list[str]:
    """The rule-body tests for one guardrail pattern (``tree`` gives two alternatives)."""
    if pattern.kind == "any":
        return [""]
    if pattern.kind == "exact":
        return [f"input.resource == {json.dumps(pattern.prefix)}"]
    if pattern.kind == "child":
        return [f"resource_matches({{{json.dumps('child')}: {json.dumps(pattern.prefix + '/')}}})"]
    return [
        f"input.resource == {json.dumps(pattern.prefix)}",
        f"startswith(input.resource, {json.dumps(pattern.prefix + '/')})",
    ]


def rego_module(policy: Policy) -> tuple[str, dict[str, Any]]:
    """The Rego module (rules: deny guardrails, the permission lookup, one ``holds`` per
    distinct condition) and its data (role assignments are added by ``rego_data``)."""
    _check_permission_actions(policy)
    conditions: dict[str, str] = {}
    perms: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for role in policy.roles:
        table = perms.setdefault(role.name, {})
        for permission in role.permissions:
            cond = ""
            if permission.when is not None:
                cond = conditions.setdefault(permission.when, f"c{len(conditions) + 1}")
            for action in permission.actions:
                key = f"{permission.capability.value}:{action}"
                for pattern in _patterns(permission.resources):
                    for entry in _rego_pattern(pattern):
                        table.setdefault(key, []).append({**entry, "c": cond})
    lines = [_REGO_HEAD]
    for expression, name in conditions.items():
        lines.append(f'holds("{name}") if {{ {_rego_cond(expression)} }}  # {expression}')
    for guard in _deny_guardrails(policy):
        keys = sorted(
            f"{capability.value}:{action}"
            for capability in _capabilities(guard.match)
            for action in guard.match.actions
        )
        for pattern in _patterns(guard.match.resources):
            for test in _rego_resource_test(pattern):
                body = [f"# Guardrail/{guard.name}"]
                if keys:
                    body.append(f"input.key in {{{', '.join(json.dumps(k) for k in keys)}}}")
                elif guard.match.capabilities:
                    caps = ", ".join(json.dumps(c.value) for c in guard.match.capabilities)
                    body.append(f"input.capability in {{{caps}}}")
                if test:
                    body.append(test)
                if guard.when is not None:
                    body.append(_rego_cond(guard.when))
                if len(body) == 1:
                    body.append("true")
                lines.append("deny if {\n\t" + "\n\t".join(body) + "\n}")
    return "\n".join(lines) + "\n", {"perms": perms}


def rego_request(request: Request) -> str:
    """The JSON input document."""
    return json.dumps(
        {
            "agent": request.agent,
            "key": f"{request.capability.value}:{request.action}",
            "capability": request.capability.value,
            "action": request.action,
            "resource": request.resource,
            "context": _context(request),
        }
    )


def rego_peer(policy: Policy, facts: Mapping[str, Facts], now: datetime, directory: Path) -> Peer:
    """Translate, write ``authz.rego``, load it with its data once, and return the peer."""
    import time

    import opa_eval

    module, data = rego_module(policy)
    data["roles"] = role_assignments(policy, facts, now)
    path = directory / "authz.rego"
    path.write_text(module)
    data_json = json.dumps(data)
    start = time.perf_counter()
    engine = opa_eval.OpaEval(str(path), data_json=data_json, query="data.authz.allow")
    setup_ms = (time.perf_counter() - start) * 1000
    evaluate = engine.evaluate_parsed

    def decide(prepared: str) -> bool:
        return evaluate(prepared) is True

    return Peer(
        "OPA/Rego (regorus, opa-eval)",
        "data-driven RBAC: role assignments and permissions (indexed by capability:action) "
        "as data, guardrails and conditions as rules",
        setup_ms,
        f"{len(module.splitlines()):,} lines of Rego, {sum(map(len, data['perms'].values())):,} "
        "permission keys as data",
        rego_request,
        decide,
    )


# ---------------------------------------------------------------------------------------
# Casbin

_CASBIN_MODEL = """[request_definition]
r = sub, cap, act, obj, {context}

[policy_definition]
p = sub, cap, act, obj, cond, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.cap == p.cap && r.act == p.act && (p.sub == "*" || g(r.sub, p.sub)) \
&& charterPath(r.obj, p.obj) && ({conditions})
"""


def _casbin_cond(expression: str) -> str:
    parts = []
    for term in condition_terms(expression):
        if term.op != "has":  # the request carries every key conditions read: see below
            parts.append(f"r.{term.key} {term.op} {term.value}")
    return " && ".join(parts) or "true"


@dataclass(frozen=True)
class CasbinPolicy:
    """The model text, the policy CSV, and the context keys the request carries."""

    model: str
    csv: str
    context_keys: tuple[str, ...]


def casbin_policy(policy: Policy, facts: Mapping[str, Facts], now: datetime) -> CasbinPolicy:
    """One ``p`` line per permission, action and resource pattern (effect allow), one per
    guardrail, capability, action and pattern (effect deny, subject ``*``), one ``g`` line
    per role assignment. Conditions become named alternatives in the matcher
    (``p.cond == "c1" && r.level >= 2``); resource patterns go through a custom matcher
    function, ``charterPath``, with Charter's glob semantics."""
    _check_permission_actions(policy)
    conditions: dict[str, str] = {}
    keys: list[str] = []

    def cond_name(expression: str | None) -> str:
        if expression is None:
            return "none"
        for term in condition_terms(expression):
            if term.key not in keys:
                keys.append(term.key)
        return conditions.setdefault(expression, f"c{len(conditions) + 1}")

    rows = []
    for role in policy.roles:
        for permission in role.permissions:
            cond = cond_name(permission.when)
            for action in permission.actions:
                for resource in permission.resources or ("**",):
                    path_pattern(resource)
                    rows.append(
                        f"p, {role.name}, {permission.capability.value}, {action}, {resource}, "
                        f"{cond}, allow"
                    )
    for guard in _deny_guardrails(policy):
        if not guard.match.actions:
            raise Unsupported(f"guardrail {guard.name}: no actions (the index needs one)")
        cond = cond_name(guard.when)
        for capability in _capabilities(guard.match):
            for action in guard.match.actions:
                for resource in guard.match.resources or ("**",):
                    path_pattern(resource)
                    rows.append(f"p, *, {capability.value}, {action}, {resource}, {cond}, deny")
    for agent, roles in role_assignments(policy, facts, now).items():
        rows.extend(f"g, {agent}, {role}" for role in roles)
    matcher = " || ".join(
        ['p.cond == "none"']
        + [f'(p.cond == "{name}" && {_casbin_cond(e)})' for e, name in conditions.items()]
    )
    model = _CASBIN_MODEL.format(context=", ".join(keys) or "unused", conditions=matcher)
    return CasbinPolicy(model, "\n".join(rows) + "\n", tuple(keys))


def casbin_peer(policy: Policy, facts: Mapping[str, Facts], now: datetime, directory: Path) -> Peer:
    """Translate, write ``model.conf`` and ``policy.csv``, load a ``FastEnforcer``
    indexed on (capability, action), and return the peer."""
    import logging
    import time

    import casbin

    translated = casbin_policy(policy, facts, now)
    model_path, csv_path = directory / "model.conf", directory / "policy.csv"
    model_path.write_text(translated.model)
    csv_path.write_text(translated.csv)
    keys = translated.context_keys
    start = time.perf_counter()
    enforcer = casbin.FastEnforcer(str(model_path), str(csv_path), cache_key_order=[1, 2])
    enforcer.add_function("charterPath", charter_path_match)
    setup_ms = (time.perf_counter() - start) * 1000
    logging.getLogger("casbin").setLevel(logging.ERROR)
    enforcer.logger.setLevel(logging.ERROR)
    enforce = enforcer.enforce

    def prepare(request: Request) -> tuple[Any, ...]:
        missing = [key for key in keys if key not in request.context]
        if missing:  # has(context.k) is always true for a Casbin request: refuse instead
            raise Unsupported(f"a Casbin request needs context keys {missing}")
        context = [request.context[key] for key in keys] or [0]
        return (request.agent, request.capability.value, request.action, request.resource, *context)

    def decide(prepared: tuple[Any, ...]) -> bool:
        return bool(enforce(*prepared))

    return Peer(
        "Casbin (pycasbin FastEnforcer)",
        "RBAC with deny effect; p lines indexed by (capability, action); conditions as "
        "named matcher alternatives; resource globs by a custom matcher function",
        setup_ms,
        f"{translated.csv.count(chr(10) + 'p,') + translated.csv.startswith('p,'):,} p lines, "
        f"{translated.csv.count(chr(10) + 'g,'):,} g lines",
        prepare,
        decide,
    )
