"""Checks across documents: names, references, globs, conditions, separation of duty.

Errors make a policy unusable; warnings (wildcards on high-risk agents, rules that can
never match, roles bound to no one) are reported and never block.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from charter.identity.agents import RiskTier
from charter.policy.canonical import FIELD
from charter.policy.cel import CelSyntaxError, compile_condition
from charter.policy.celcheck import check_types
from charter.policy.diagnostics import Diagnostic, Severity, did_you_mean
from charter.policy.globs import ACTION, RESOURCE, GlobError
from charter.policy.loader import LoadedDocuments
from charter.policy.model import (
    Activation,
    AgentSpec,
    Binding,
    GuardrailEffect,
    Policy,
    Role,
    Source,
)
from charter.policy.separation import covers

__all__ = ["Validated", "validate"]

_HIGH_RISK = (RiskTier.HIGH, RiskTier.CRITICAL)


@dataclass(frozen=True, slots=True)
class Validated:
    """The policy (when it has no errors) and every diagnostic, errors first."""

    policy: Policy | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The diagnostics that refuse the policy."""
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """The diagnostics that only advise."""
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)


class _Checks:
    def __init__(self) -> None:
        self.found: list[Diagnostic] = []

    def error(self, source: Source, code: str, message: str, help: str | None = None) -> None:
        self.found.append(Diagnostic(Severity.ERROR, code, message, source, help))

    def warning(self, source: Source, code: str, message: str, help: str | None = None) -> None:
        self.found.append(Diagnostic(Severity.WARNING, code, message, source, help))


def _unique(checks: _Checks, kind: str, items: Iterable[tuple[str, Source]]) -> None:
    seen: dict[str, Source] = {}
    for name, source in items:
        if name in seen:
            checks.error(
                source, "duplicate_name", f"{kind} {name!r} is also defined at {seen[name]}"
            )
        else:
            seen[name] = source


def _globs(
    checks: _Checks, source: Source, actions: Iterable[str], resources: Iterable[str]
) -> None:
    for syntax, patterns in ((ACTION, actions), (RESOURCE, resources)):
        for pattern in patterns:
            try:
                syntax.compile(pattern)
            except GlobError as error:
                checks.error(source, "invalid_glob", str(error))


def _fields(checks: _Checks, source: Source, where: str, fields: Iterable[str]) -> None:
    # Requests must spell fields canonically; a field only a non-canonical spelling
    # names could never be released.
    for name in fields:
        if FIELD.fullmatch(name) is None:
            checks.error(
                source,
                "invalid_field",
                f"{where}: field {name!r} is not canonical",
                f"field names are lowercase ASCII letters, digits, '_' and '-' in segments "
                f"joined by single dots (write {name.strip().lower()!r}?)",
            )


def _condition(checks: _Checks, source: Source, where: str, expression: str | None) -> None:
    if expression is None:
        return
    try:
        compile_condition(expression)
    except CelSyntaxError as error:
        checks.error(source, "cel_syntax", f"{where}: {error} (at {error.line}:{error.column})")
        return
    problem = check_types(expression)
    if problem is not None:
        checks.error(
            source,
            problem.code,
            f"{where}: {problem.message} (at {problem.line}:{problem.column})",
            "conditions may read agent, resource, request, context and now"
            if problem.code == "cel_unknown_variable"
            else None,
        )


def _separations(checks: _Checks, policy: Policy, roles: dict[str, Role]) -> None:
    labels = {agent.name: dict(agent.labels) for agent in policy.agents}
    held: dict[str, list[Binding]] = {}
    # Eligible bindings are held only once a grant activates them: a grant that would
    # break a separation of duty is refused when it would be issued.
    for binding in policy.bindings:
        if binding.activation is Activation.ELIGIBLE:
            continue
        agents = set(binding.agents)
        if binding.selector is not None:
            wanted = binding.selector.items()
            agents |= {name for name, have in labels.items() if wanted <= have.items()}
        agents -= set(binding.exclude_agents)
        for agent in agents:
            held.setdefault(agent, []).append(binding)
    for separation in policy.separations:
        for agent, bindings in sorted(held.items()):
            first = [
                b
                for b in bindings
                if b.role in roles
                and any(covers(p, separation.first) for p in roles[b.role].permissions)
            ]
            second = [
                b
                for b in bindings
                if b.role in roles
                and any(covers(p, separation.second) for p in roles[b.role].permissions)
            ]
            if first and second:
                checks.error(
                    first[0].source,
                    "separation_of_duty",
                    f"agent {agent!r} would hold both sides of SeparationOfDuty/"
                    f"{separation.name} (through Binding/{first[0].name} and "
                    f"Binding/{second[0].name})",
                    separation.message or None,
                )


def validate(
    loaded: LoadedDocuments, *, known_agents: Collection[str] = (), accepted: bool = False
) -> Validated:
    """Check ``loaded`` as a whole; ``known_agents`` are agents registered elsewhere.
    ``accepted``: a revision accepted before, whose bindings naming no known agent are
    warnings whatever the registry holds now (they give no one anything)."""
    checks = _Checks()
    policy = Policy(
        agents=tuple(loaded.agents),
        roles=tuple(loaded.roles),
        bindings=tuple(loaded.bindings),
        guardrails=tuple(loaded.guardrails),
        separations=tuple(loaded.separations),
    )
    for kind, items in (
        ("Agent", policy.agents),
        ("Role", policy.roles),
        ("Binding", policy.bindings),
        ("Guardrail", policy.guardrails),
        ("SeparationOfDuty", policy.separations),
    ):
        _unique(checks, kind, ((item.name, item.source) for item in items))
    roles = {role.name: role for role in policy.roles}
    agents = {agent.name: agent for agent in policy.agents}
    everyone = set(agents) | set(known_agents)
    strict = bool(everyone) and not accepted

    for role in policy.roles:
        for number, permission in enumerate(role.permissions):
            where = f"Role/{role.name} permissions[{number}]"
            _globs(checks, permission.source, permission.actions, permission.resources)
            _fields(checks, permission.source, where, permission.fields or ())
            _condition(checks, permission.source, f"{where}.when", permission.when)
    for guardrail in policy.guardrails:
        where = f"Guardrail/{guardrail.name}"
        _globs(checks, guardrail.source, guardrail.match.actions, guardrail.match.resources)
        _condition(checks, guardrail.source, f"{where}.when", guardrail.when)
        _condition(checks, guardrail.source, f"{where}.require", guardrail.require)
    for separation in policy.separations:
        for side in (separation.first, separation.second):
            _globs(checks, separation.source, side.actions, side.resources)

    bound: set[str] = set()
    for binding in policy.bindings:
        if binding.role not in roles:
            checks.error(
                binding.source,
                "unknown_role",
                f"Binding/{binding.name} names unknown role {binding.role!r}",
                did_you_mean(binding.role, roles),
            )
            continue
        bound.add(binding.role)
        for agent in binding.agents:
            if agent not in everyone:
                report: Callable[..., None] = checks.error if strict else checks.warning
                report(
                    binding.source,
                    "unknown_agent",
                    f"Binding/{binding.name} names unknown agent {agent!r}",
                    did_you_mean(agent, everyone),
                )
        for agent in binding.exclude_agents:
            # Only a warning: excluding an agent that is gone (or not yet registered)
            # gives no one anything.
            if agent not in everyone:
                checks.warning(
                    binding.source,
                    "unknown_agent",
                    f"Binding/{binding.name} excludes unknown agent {agent!r}",
                    did_you_mean(agent, everyone),
                )
        _wildcards_on_high_risk(checks, binding, roles[binding.role], agents)
    for role in policy.roles:
        if role.name not in bound:
            checks.warning(role.source, "unbound_role", f"Role/{role.name} is bound to no one")
    if not any(d.code == "invalid_glob" for d in checks.found):
        # Both compare globs, so they need every glob to be well-formed.
        _never_matching(checks, policy)
        _separations(checks, policy, roles)

    errors = any(d.severity is Severity.ERROR for d in [*loaded.diagnostics, *checks.found])
    ordered = sorted(
        [*loaded.diagnostics, *checks.found],
        key=lambda d: (
            d.severity is not Severity.ERROR,
            d.source.file,
            d.source.line,
            d.source.column,
        ),
    )
    return Validated(None if errors else policy, tuple(ordered))


def _wildcards_on_high_risk(
    checks: _Checks, binding: Binding, role: Role, agents: dict[str, AgentSpec]
) -> None:
    risky = [
        a
        for a in binding.agents
        if a in agents and agents[a].risk_tier in _HIGH_RISK and a not in binding.exclude_agents
    ]
    if not risky:
        return
    for number, permission in enumerate(role.permissions):
        if any(p in ("*", "**") for p in (*permission.actions, *permission.resources)):
            checks.warning(
                permission.source,
                "wildcard_on_high_risk",
                f"Role/{role.name} permissions[{number}] grants every action or resource, and "
                f"Binding/{binding.name} gives it to high-risk agent(s) {', '.join(risky)}",
            )


def _never_matching(checks: _Checks, policy: Policy) -> None:
    blanket = [
        g
        for g in policy.guardrails
        if g.effect is GuardrailEffect.DENY and g.when is None and not g.match.resources
    ]
    for role in policy.roles:
        for number, permission in enumerate(role.permissions):
            for guardrail in blanket:
                match = guardrail.match
                if match.capabilities and permission.capability not in match.capabilities:
                    continue
                globs = [ACTION.compile(p) for p in match.actions] if match.actions else None
                literal = all("*" not in action for action in permission.actions)
                if literal and (
                    globs is None
                    or all(any(g.matches(action) for g in globs) for action in permission.actions)
                ):
                    checks.warning(
                        permission.source,
                        "never_matches",
                        f"Role/{role.name} permissions[{number}] can never allow: "
                        f"Guardrail/{guardrail.name} always denies it",
                    )
                    break
