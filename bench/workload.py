"""A deterministic policy workload: agents, roles, permissions, guardrails and requests.

The shape follows the policy-engine issue: 200 roles, about 2,500 role permissions over
about 50 actions and 500 resources, about 10% of them with a CEL condition, a few deny
guardrails, about 5% of agents holding a JIT grant, and requests of which about half
are allowed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from charter.identity.agents import AgentStatus
from charter.policy.decision import AgentFacts, Facts, Grant, Request
from charter.policy.model import (
    Binding,
    Capability,
    Guardrail,
    GuardrailEffect,
    Match,
    Permission,
    Policy,
    Role,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ACTIONS = [
    f"svc{s}.{verb}" for s in range(10) for verb in ("read", "list", "write", "delete", "run")
]
RESOURCES = [f"res/{group}/{item}" for group in range(50) for item in range(10)]


@dataclass(frozen=True)
class Workload:
    """A policy, the facts per agent, and a request mix."""

    policy: Policy
    facts: dict[str, Facts]
    requests: list[Request]
    conditional_requests: list[Request]
    novel_conditional_requests: list[Request]
    """Conditional requests whose ``context.level`` (what the conditions read) is new each
    time, so no condition outcome is remembered: each condition runs in CEL."""
    guarded_requests: list[Request]
    """Requests aimed at the guardrails and at failing conditions (agreement checks)."""


def build(
    agents: int,
    *,
    seed: int = 7,
    requests: int = 20_000,
    grant_share: float = 0.05,
    fresh_context: bool = False,
) -> Workload:
    """Generate the workload for ``agents`` agents.

    ``grant_share``: the share of agents holding a JIT grant. ``fresh_context``: every
    request of every set carries a ``context.level`` drawn at random and never repeated
    (from -1,000,000 to 1,000,000, so conditions hold or fail either way), instead of the
    few small values the default workload repeats: no condition outcome is ever
    remembered.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    roles = []
    for number in range(200):
        permissions = []
        for _ in range(12 + rng.randrange(2)):  # ~2,500 permissions in all
            action = rng.choice(ACTIONS)
            group = rng.randrange(50)
            resource = f"res/{group}/*" if rng.random() < 0.3 else rng.choice(RESOURCES)
            when = "context.level >= 2" if rng.random() < 0.1 else None
            capability = (
                Capability.REQUEST if action.endswith((".read", ".list")) else Capability.DO
            )
            permissions.append(Permission(capability, (action,), (resource,), when=when))
        roles.append(Role(f"role-{number}", tuple(permissions)))
    names = [f"agent-{number}" for number in range(agents)]
    bindings = []
    for number, name in enumerate(names):
        for role in rng.sample(range(200), 3):
            bindings.append(Binding(f"b-{number}-{role}", f"role-{role}", agents=(name,)))
    guardrails = (
        Guardrail(
            "no-delete-in-group-0",
            GuardrailEffect.DENY,
            Match((Capability.DO,), ("svc0.delete", "svc1.delete"), ("res/0/**",)),
        ),
        Guardrail(
            "no-run-in-group-1", GuardrailEffect.DENY, Match((), ("svc9.run",), ("res/1/**",))
        ),
        Guardrail(
            "deny-high-level-writes",
            GuardrailEffect.DENY,
            Match((Capability.DO,), ("svc5.write",)),
            when="has(context.level) && context.level > 8",
        ),
    )
    policy = Policy(roles=tuple(roles), bindings=tuple(bindings), guardrails=guardrails)
    facts = {}
    for name in names:
        grants: tuple[Grant, ...] = ()
        if rng.random() < grant_share:
            grants = (
                Grant(f"grant-{name}", f"role-{rng.randrange(200)}", NOW + timedelta(hours=1)),
            )
        facts[name] = Facts(AgentFacts(name, "user:owner", AgentStatus.ACTIVE), grants)
    by_role = {role.name: role for role in roles}
    bound: dict[str, list[Role]] = {}
    for binding in bindings:
        bound.setdefault(binding.agents[0], []).append(by_role[binding.role])

    def allowed_request(conditional: bool) -> Request:
        while True:
            agent = rng.choice(names)
            permission = rng.choice(rng.choice(bound[agent]).permissions)
            if (permission.when is not None) == conditional:
                break
        resource = permission.resources[0].replace("*", str(rng.randrange(10)))
        return Request(
            agent, permission.capability, permission.actions[0], resource, context={"level": 3}
        )

    def random_request() -> Request:
        action = rng.choice(ACTIONS)
        capability = Capability.REQUEST if action.endswith((".read", ".list")) else Capability.DO
        return Request(
            rng.choice(names),
            capability,
            action,
            rng.choice(RESOURCES),
            context={"level": rng.randrange(10)},
        )

    mix = [allowed_request(False) if n % 2 == 0 else random_request() for n in range(requests)]
    conditional = [allowed_request(True) for _ in range(requests // 4)]
    novel = [
        replace(allowed_request(True), context={"level": 3 + number})
        for number in range(3 * (requests // 4))
    ]
    guarded = _guarded(names, bound, rng)
    if fresh_context:
        sets = (mix, conditional, novel, guarded)
        draw = random.Random(seed + 1)  # noqa: S311 - as above
        levels = iter(draw.sample(range(-1_000_000, 1_000_000), sum(map(len, sets))))
        mix, conditional, novel, guarded = (
            [replace(request, context={"level": next(levels)}) for request in items]
            for items in sets
        )
    return Workload(policy, facts, mix, conditional, novel, guarded)


OUTSIDE_CHECK = {"agents": 10_000, "grant_share": 0.25, "fresh_context": True, "seed": 11}
"""The shape of the independent check of embedded speed: 10,000 agents, 200 roles, about
2,500 role permissions (a tenth with a condition) and about 2,500 JIT grants (a quarter
of the agents), conditions meeting random context values never seen before."""


def _guarded(names: list[str], bound: dict[str, list[Role]], rng: random.Random) -> list[Request]:
    """Requests a permission covers but a guardrail or a failing condition should stop."""
    found: list[Request] = []
    for agent in names:
        for role in bound[agent]:
            for permission in role.permissions:
                action, pattern = permission.actions[0], permission.resources[0]
                resource = pattern.replace("*", str(rng.randrange(10)))
                group = resource.split("/")[1]
                level = None
                if action == "svc5.write":
                    level = 9  # the deny guardrail's condition holds
                elif (action in ("svc0.delete", "svc1.delete") and group == "0") or (
                    action == "svc9.run" and group == "1"
                ):
                    level = 3  # inside a blanket deny guardrail
                elif permission.when is not None:
                    level = 1  # the permission's condition fails
                if level is not None:
                    found.append(
                        Request(
                            agent, permission.capability, action, resource, context={"level": level}
                        )
                    )
        if len(found) >= 1_000:
            break
    return found
