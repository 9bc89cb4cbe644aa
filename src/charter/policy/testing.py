"""Policy tests (``kind: PolicyTest``): requests and the decisions they must get.

```yaml
apiVersion: charter/v1
kind: PolicyTest
metadata: {name: support-bot}
spec:
  now: 2026-06-01T00:00:00Z           # optional: when the cases are decided
  cases:
    - name: releases only approved fields
      request: {agent: support-bot, capability: request, action: crm.customer.read,
                resource: crm/customer/42, fields: [name, ssn],
                context: {purpose: account_recovery}}
      facts: {agentStatus: active, grants: [{role: break-glass, expiresAt: ...}],
              approved: false}         # optional
      expect: {decision: allow, code: allowed, releasedFields: [name],
               redactedFields: [ssn], policy: Role/support-reader}
```

Run them with ``charter policy test DIR`` or ``run_policy_tests`` (for pytest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import yaml

from charter.identity.agents import AgentStatus
from charter.policy.decision import AgentFacts, Decision, Effect, Facts, Grant, Request
from charter.policy.model import Capability, Source
from charter.policy.reader import NodeReader

if TYPE_CHECKING:
    from charter.policy.engine import Engine

__all__ = ["CaseResult", "Expectation", "PolicyTest", "TestCase", "read_policy_test", "run_case"]

_DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a case's decision must show; absent parts are not checked."""

    decision: Effect
    code: str | None = None
    released_fields: tuple[str, ...] | None = None
    redacted_fields: tuple[str, ...] | None = None
    policy: str | None = None


@dataclass(frozen=True, slots=True)
class TestCase:
    """One request, the facts around it, and the expected decision."""

    __test__ = False  # not a pytest class

    name: str
    request: Request
    expect: Expectation
    agent_status: AgentStatus | None = None
    grants: tuple[Grant, ...] = ()
    approved: bool = False
    source: Source = field(default_factory=lambda: Source("<memory>", 0, 0))


@dataclass(frozen=True, slots=True)
class PolicyTest:
    """A named set of cases decided at one time."""

    __test__ = False

    name: str
    now: datetime
    cases: tuple[TestCase, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class CaseResult:
    """How one case went."""

    test: str
    case: TestCase
    decision: Decision
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.failures


def _plain(node: yaml.Node) -> Any:
    """A node as plain data (for request context and attributes)."""
    return yaml.safe_load(yaml.serialize(node))


def _request(reader: NodeReader, node: yaml.Node, what: str) -> Request | None:
    keys = reader.mapping(
        node,
        what,
        ("agent", "capability", "action", "resource", "resourceAttributes", "fields", "context"),
        ("agent", "capability", "action", "resource"),
    )
    if keys is None or not {"agent", "capability", "action", "resource"} <= keys.keys():
        return None
    agent = reader.string(keys["agent"], f"{what}.agent")
    capability = reader.choice(keys["capability"], f"{what}.capability", Capability)
    action = reader.string(keys["action"], f"{what}.action")
    resource = reader.string(keys["resource"], f"{what}.resource")
    fields = (
        tuple(v for v, _ in reader.strings(keys["fields"], f"{what}.fields") or [])
        if ("fields" in keys)
        else ()
    )
    context: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for name, target in (("context", context), ("resourceAttributes", attributes)):
        if name in keys:
            if isinstance(keys[name], yaml.MappingNode):
                target.update(_plain(keys[name]))
            else:
                reader.error(keys[name], "expected_mapping", f"{what}.{name} must be a mapping")
    if agent is None or capability is None or action is None or resource is None:
        return None
    return Request(agent, capability, action, resource, attributes, fields, context)


def _expectation(reader: NodeReader, node: yaml.Node, what: str) -> Expectation | None:
    keys = reader.mapping(
        node,
        what,
        ("decision", "code", "releasedFields", "redactedFields", "policy"),
        ("decision",),
    )
    if keys is None or "decision" not in keys:
        return None
    decision = reader.choice(keys["decision"], f"{what}.decision", Effect)
    if decision is None:
        return None

    def names(key: str) -> tuple[str, ...] | None:
        if key not in keys:
            return None
        return tuple(v for v, _ in reader.strings(keys[key], f"{what}.{key}") or [])

    return Expectation(
        decision=decision,
        code=reader.string(keys["code"], f"{what}.code") if "code" in keys else None,
        released_fields=names("releasedFields"),
        redacted_fields=names("redactedFields"),
        policy=reader.string(keys["policy"], f"{what}.policy") if "policy" in keys else None,
    )


def _facts(
    reader: NodeReader, node: yaml.Node | None, what: str
) -> tuple[AgentStatus | None, tuple[Grant, ...], bool]:
    if node is None:
        return None, (), False
    keys = reader.mapping(node, what, ("agentStatus", "grants", "approved")) or {}
    status = (
        reader.choice(keys["agentStatus"], f"{what}.agentStatus", AgentStatus)
        if "agentStatus" in keys
        else None
    )
    grants = []
    if "grants" in keys:
        if not isinstance(keys["grants"], yaml.SequenceNode):
            reader.error(keys["grants"], "expected_list", f"{what}.grants must be a list")
        else:
            for number, item in enumerate(keys["grants"].value):
                grant = (
                    reader.mapping(
                        item,
                        f"{what}.grants[{number}]",
                        ("role", "expiresAt"),
                        ("role", "expiresAt"),
                    )
                    or {}
                )
                role = reader.string(grant["role"], "role") if "role" in grant else None
                expires = (
                    reader.timestamp(grant["expiresAt"], "expiresAt")
                    if "expiresAt" in grant
                    else None
                )
                if role is not None and expires is not None:
                    grants.append(Grant(f"test-grant-{number}", role, expires))
    approved = False
    if "approved" in keys:
        value = keys["approved"]
        if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:bool":
            approved = value.value.lower() == "true"
        else:
            reader.error(value, "expected_boolean", f"{what}.approved must be true or false")
    return status, tuple(grants), approved


def read_policy_test(reader: NodeReader, name: str, spec: yaml.Node) -> PolicyTest | None:
    """Read a ``PolicyTest`` spec, reporting problems to ``reader``."""
    keys = reader.mapping(spec, "PolicyTest spec", ("now", "cases"), ("cases",))
    if keys is None or "cases" not in keys:
        return None
    now = _DEFAULT_NOW
    if "now" in keys:
        now = reader.timestamp(keys["now"], "now") or now
    node = keys["cases"]
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        reader.error(node, "expected_list", "cases must be a non-empty list")
        return None
    cases = []
    for number, item in enumerate(node.value):
        what = f"cases[{number}]"
        case = reader.mapping(
            item, what, ("name", "request", "facts", "expect"), ("name", "request", "expect")
        )
        if case is None or not {"name", "request", "expect"} <= case.keys():
            continue
        title = reader.string(case["name"], f"{what}.name")
        request = _request(reader, case["request"], f"{what}.request")
        expect = _expectation(reader, case["expect"], f"{what}.expect")
        status, grants, approved = _facts(reader, case.get("facts"), f"{what}.facts")
        if title is not None and request is not None and expect is not None:
            cases.append(
                TestCase(title, request, expect, status, grants, approved, reader.source(item))
            )
    return PolicyTest(name, now, tuple(cases), reader.source(spec))


def run_case(engine: Engine, test: PolicyTest, case: TestCase) -> CaseResult:
    """Decide one case with ``engine`` (a ``charter.Engine``) and compare."""
    facts = engine.facts_for(case.request.agent)
    if facts.agent is not None and case.agent_status is not None:
        agent = facts.agent
        facts = Facts(
            AgentFacts(agent.id, agent.owner, case.agent_status, agent.risk_tier, agent.labels)
        )
    facts = Facts(facts.agent, case.grants, "test-approval" if case.approved else None)
    decision = engine.decide(case.request, facts=facts, now=test.now)
    expect = case.expect
    failures = []
    if decision.effect is not expect.decision:
        failures.append(
            f"decision: expected {expect.decision.value}, got {decision.effect.value}"
            f" ({decision.code})"
        )
    if expect.code is not None and decision.code != expect.code:
        failures.append(f"code: expected {expect.code}, got {decision.code}")
    if expect.released_fields is not None and decision.released_fields != expect.released_fields:
        failures.append(
            f"released fields: expected {list(expect.released_fields)}, "
            f"got {list(decision.released_fields)}"
        )
    if expect.redacted_fields is not None and decision.redacted_fields != expect.redacted_fields:
        failures.append(
            f"redacted fields: expected {list(expect.redacted_fields)}, "
            f"got {list(decision.redacted_fields)}"
        )
    if expect.policy is not None and expect.policy not in {r.policy for r in decision.reasons}:
        failures.append(
            f"policy: expected {expect.policy}, got "
            f"{', '.join(r.policy for r in decision.reasons) or 'none'}"
        )
    return CaseResult(test.name, case, decision, tuple(failures))
