"""What the evaluator does with inference provenance and with the secrets found in a
request: the facts the server gathers, given here by hand to the embedded engine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from charter import Capability, Engine, Facts, Request
from charter.inference import Advisory
from charter.secrets import Finding

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
POLICY = """
apiVersion: charter/v1
kind: Agent
metadata: {name: ops}
spec: {owner: "user:bob"}
---
apiVersion: charter/v1
kind: Agent
metadata: {name: other}
spec: {owner: "user:bob"}
---
apiVersion: charter/v1
kind: Role
metadata: {name: operator}
spec:
  permissions:
    - {capability: infer, actions: [access.recommend]}
    - {capability: do, actions: [rbac.assign]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: ops-operates}
spec: {role: operator, agents: [ops]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: recommended-changes-need-a-human}
spec:
  effect: require_approval
  match: {capabilities: [do], actions: [rbac.assign]}
  when: request.derived_from_inference && "access.recommend" in request.inference_actions
  approval: {approvers: [owner]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-private-keys}
spec:
  effect: deny
  match: {capabilities: [do], actions: [rbac.assign]}
  when: request.secrets.exists(s, s.type == "private_key" && s.confidence > 0.5)
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_documents(POLICY)


def _assign(**context: object) -> Request:
    return Request(
        agent="ops",
        capability=Capability.DO,
        action="rbac.assign",
        resource="iam/groups/payroll",
        context=context,
    )


def _facts(engine: Engine, *advisories: Advisory, **changes: object) -> Facts:
    return replace(engine.facts_for("ops"), advisories=advisories, **changes)  # type: ignore[arg-type]


RECOMMENDED = Advisory("dec_recommended", "ops", "access.recommend", NOW - timedelta(minutes=5))


def test_a_cited_inference_is_what_policy_sees(engine: Engine) -> None:
    facts = _facts(engine, RECOMMENDED)
    cited = engine.decide(_assign(derived_from="dec_recommended"), facts=facts, now=NOW)
    assert cited.effect.value == "approval_required"
    assert cited.reasons[0].policy == "Guardrail/recommended-changes-need-a-human"
    listed = engine.decide(_assign(derived_from=["dec_recommended"]), facts=facts, now=NOW)
    assert listed.effect.value == "approval_required"
    plain = engine.decide(_assign(), facts=facts, now=NOW)
    assert plain.code == "allowed"


@pytest.mark.parametrize(
    ("cited", "advisory", "why"),
    [
        ("dec_unknown", RECOMMENDED, "not an allowed inference"),
        ("dec_recommended", replace(RECOMMENDED, agent="other"), "another agent's"),
        (
            "dec_recommended",
            replace(RECOMMENDED, decided_at=NOW - timedelta(hours=2)),
            "older than 1:00:00",
        ),
        (["dec_recommended", 7], RECOMMENDED, "must be a decision id"),
        (["dec_x"] * 21, RECOMMENDED, "at most 20"),
        ({"id": "dec_recommended"}, RECOMMENDED, "must be a decision id"),
    ],
)
def test_a_citation_that_does_not_hold_is_refused(
    engine: Engine, cited: object, advisory: Advisory, why: str
) -> None:
    decision = engine.decide(_assign(derived_from=cited), facts=_facts(engine, advisory), now=NOW)
    assert (decision.effect.value, decision.code) == ("deny", "invalid_provenance")
    assert why in decision.message


def test_the_embedded_engine_knows_no_inference_by_itself(engine: Engine) -> None:
    # Without facts naming it, a citation cannot be checked: refused, never trusted.
    decision = engine.decide(_assign(derived_from="dec_recommended"), now=NOW)
    assert decision.code == "invalid_provenance"


def test_the_age_limit_comes_with_the_facts(engine: Engine) -> None:
    old = replace(RECOMMENDED, decided_at=NOW - timedelta(hours=5))
    facts = _facts(engine, old, advisory_max_age=timedelta(days=1))
    decision = engine.decide(_assign(derived_from="dec_recommended"), facts=facts, now=NOW)
    assert decision.effect.value == "approval_required"


def test_a_leak_among_the_facts_is_denied_before_any_policy(engine: Engine) -> None:
    facts = _facts(engine, leaked=("fp_" + "1" * 32,))
    decision = engine.decide(_assign(), facts=facts, now=NOW)
    assert (decision.code, decision.reasons[0].rule) == ("leaked_secret", "no_leaked_secrets")
    assert "fp_1111" in decision.message


def test_findings_reach_conditions_as_request_secrets(engine: Engine) -> None:
    key = Finding("private_key", "$.input.pem", 0, 100, 0.99, "fp_" + "2" * 32)
    token = Finding("github_token", "$.input.t", 0, 40, 0.99, "fp_" + "3" * 32)
    with_key = replace(_assign(), secrets=(token, key))
    assert engine.decide(with_key, now=NOW).code == "guardrail"
    with_token = replace(_assign(), secrets=(token,))
    assert engine.decide(with_token, now=NOW).code == "allowed"
