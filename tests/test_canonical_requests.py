"""One spelling per name: requests that are not canonical are refused, never matched as
given, on the embedded ``Engine`` and over HTTP; guardrails match resources whatever
their case; four eyes cannot be spelled around."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter import Capability, Engine, Request
from charter.policy.decision import Effect
from charter.service import SYSTEM, Services
from tests.helpers import agent_token, bearer

POLICY = """
apiVersion: charter/v1
kind: Agent
metadata: {name: janitor}
spec: {owner: user:alice, purpose: keeps things tidy, riskTier: low}
---
apiVersion: charter/v1
kind: Role
metadata: {name: everything}
spec:
  permissions:
    - {capability: do, actions: ["**"], resources: ["**"]}
    - {capability: request, actions: ["**"], resources: ["**"]}
---
apiVersion: charter/v1
kind: Role
metadata: {name: iam-reader}
spec:
  permissions:
    - {capability: request, actions: [iam.read], resources: ["iam/**"], fields: [name, email]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: janitor-everything}
spec: {role: everything, agents: [janitor]}
---
apiVersion: charter/v1
kind: Agent
metadata: {name: reader}
spec: {owner: user:alice, purpose: reads iam, riskTier: low}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: reader-iam}
spec: {role: iam-reader, agents: [reader]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-prod-rotation}
spec:
  effect: deny
  match: {capabilities: [do], actions: [secrets.rotate], resources: ["vault/prod/**"]}
  message: not in production
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-ssn-ever}
spec:
  effect: deny
  match: {capabilities: [request]}
  when: '"ssn" in request.fields'
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: no-restricted-data}
spec:
  effect: deny
  match: {capabilities: [request], actions: [data.read]}
  when: 'has(resource.attributes.data_class) && resource.attributes.data_class == "restricted"'
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: small-refunds-only}
spec:
  effect: deny
  match: {actions: [payments.refund]}
  when: 'has(context.amount) && !(context.amount <= 100.0)'
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_documents(POLICY)


def decide(engine: Engine, **asked: Any) -> Any:
    fields: dict[str, Any] = {
        "agent": "janitor",
        "capability": Capability.DO,
        "action": "secrets.rotate",
    }
    fields.update(asked)
    return engine.decide(Request(**fields))


PROD_SPELLINGS = [
    "vault/dev/../prod/db",
    "vault/./prod/db",
    "vault/prod/./db",
    "vault/prod/../prod/db",
    "./vault/prod/db",
    "vault//prod/db",
    "/vault/prod/db",
    "vault/prod/db/",
    "vault/%70rod/db",
    "vault%2Fprod%2Fdb",
    "vault/prod%2fdb",
    "vault/%2e%2e/vault/prod/db",
    "vault/dev/%2e%2e/prod/db",
    "vault/dev/%252e%252e/prod/db",
    "vault/\uff50rod/db",  # fullwidth p
    "\uff56ault/prod/db",  # fullwidth v
    "vault\uff0fprod\uff0fdb",  # fullwidth solidus
    "vault/prod\u200b/db",  # zero-width space
    "vault/p\u200drod/db",  # zero-width joiner
    "vault/\ufeffprod/db",  # byte-order mark
    "vault/prod\x00/db",
    "vault/prod\t/db",
    "vault/prod\n/db",
    "vault/prod\r/db",
    "vault/prod\x7f/db",
    " vault/prod/db",
    "vault/prod/db ",
    "vault/prod /db",
    "vault\\prod\\db",
    "vault/prod./db",
    "vault/prod../db",
    "vault/pro\u0064/db".replace("d", "\u0501"),  # Cyrillic komi de, looks like d
    "vault/\u0440rod/db",  # Cyrillic er, looks like p
    "vault/prod\u2024/db",  # one dot leader
    "vault/PROD/db",
    "Vault/Prod/db",
    "VAULT/PROD/DB",
    "vault/pRoD/db",
    "vault/prod/DB",
]


@pytest.mark.parametrize("resource", PROD_SPELLINGS)
def test_no_spelling_of_a_denied_resource_is_allowed(engine: Engine, resource: str) -> None:
    decision = decide(engine, resource=resource)
    assert decision.effect is Effect.DENY, (resource, decision)
    assert decision.code in {"invalid_request", "guardrail"}


def test_the_canonical_spelling_is_the_one_that_is_decided(engine: Engine) -> None:
    assert decide(engine, resource="vault/prod/db").code == "guardrail"
    assert decide(engine, resource="vault/dev/db").effect is Effect.ALLOW
    # Case is kept for permissions (ids may be case-sensitive), a guardrail ignores it.
    assert decide(engine, resource="vault/Prod/db").code == "guardrail"
    assert decide(engine, resource="vault/dev/.env").effect is Effect.ALLOW


def test_a_non_canonical_request_says_why(engine: Engine) -> None:
    decision = decide(engine, resource="vault/dev/../prod/db")
    assert decision.code == "invalid_request"
    assert decision.reasons[0].policy == "invariant"
    assert decision.reasons[0].rule == "canonical_request"
    assert "vault/dev/../prod/db" in decision.message


@pytest.mark.parametrize(
    "resource",
    ["iam/../hr/salaries", "iam/./../hr/salaries", "iam/%2e%2e/hr/salaries", "iam/..%2fhr"],
)
def test_a_permission_cannot_be_escaped_by_dot_segments(engine: Engine, resource: str) -> None:
    decision = engine.decide(
        Request(agent="reader", capability=Capability.REQUEST, action="iam.read", resource=resource)
    )
    assert (decision.effect, decision.code) == (Effect.DENY, "invalid_request")


GOVERNANCE_SPELLINGS = [
    "Charter.policy.apply",
    "CHARTER.POLICY.APPLY",
    "charter.Policy.apply",
    "\uff43harter.policy.apply",  # fullwidth c
    " charter.policy.apply",
    "charter.policy.apply ",
    "charter.policy.apply\n",
    "charter..policy.apply",
    ".charter.policy.apply",
    "charter.policy.apply.",
    "charter\u200b.policy.apply",
    "charter\u2024policy.apply",  # one dot leader
    "charter\uff0epolicy.apply",  # fullwidth full stop
    "charter/policy/apply",
    "charter%2Epolicy.apply",
    "\u0441harter.policy.apply",  # Cyrillic es
    "charter.policy.apply\x00",
    "charter.policy.*",
    "charter.**",
    "",
]


@pytest.mark.parametrize("action", GOVERNANCE_SPELLINGS)
def test_no_spelling_of_a_governance_action_is_allowed(engine: Engine, action: str) -> None:
    decision = decide(engine, action=action, resource="charter/policy")
    assert decision.effect is Effect.DENY, (action, decision)
    assert decision.code in {"invalid_request", "agent_governance"}


@pytest.mark.parametrize("field", ["SSN", "Ssn", " ssn", "ssn ", "ssn\u200b", "\uff53sn", "ss n"])
def test_no_spelling_of_a_field_slips_past_a_guardrail(engine: Engine, field: str) -> None:
    decision = decide(
        engine, capability=Capability.REQUEST, action="crm.read", resource="crm/1", fields=(field,)
    )
    assert (decision.effect, decision.code) == (Effect.DENY, "invalid_request")


def test_fields_are_released_only_as_the_permission_spells_them(engine: Engine) -> None:
    decision = engine.decide(
        Request(
            agent="reader",
            capability=Capability.REQUEST,
            action="iam.read",
            resource="iam/users/1",
            fields=("name", "email", "phone"),
        )
    )
    assert decision.released_fields == ("name", "email")
    assert decision.redacted_fields == ("phone",)


@pytest.mark.parametrize(
    "key",
    [
        "Data_class",
        "DATA_CLASS",
        "data_class ",
        " data_class",
        "data-class",
        "data_class\u200b",
        "\uff44ata_class",
        "1data",
    ],
)
def test_attribute_keys_have_one_spelling(engine: Engine, key: str) -> None:
    decision = decide(
        engine,
        capability=Capability.REQUEST,
        action="data.read",
        resource="data/1",
        resource_attributes={key: "restricted"},
    )
    assert (decision.effect, decision.code) == (Effect.DENY, "invalid_request")
    restricted = decide(
        engine,
        capability=Capability.REQUEST,
        action="data.read",
        resource="data/1",
        resource_attributes={"data_class": "restricted"},
    )
    assert restricted.code == "guardrail"


ON_BEHALF_OF_SPELLINGS: list[Any] = [
    "user:bob ",
    " user:bob",
    "USER:bob",
    "user:Bob",
    "user:bob\u200b",
    "user:\uff42ob",
    "bob",
    "user: bob",
    "user:bob\n",
    ["user:bob"],
    {"id": "user:bob"},
    ("user:bob",),
    None,
    42,
    True,
    "",
]


@pytest.mark.parametrize("who", ON_BEHALF_OF_SPELLINGS)
def test_on_behalf_of_is_one_canonical_human_id(engine: Engine, who: Any) -> None:
    decision = decide(engine, resource="vault/dev/db", context={"on_behalf_of": who})
    assert (decision.effect, decision.code) == (Effect.DENY, "invalid_request")
    # It says which form is expected, not that the human must be registered (an end
    # customer need not be).
    assert "context.on_behalf_of" in decision.message
    assert "'user:bob'" in decision.message
    assert "registered" not in decision.message
    fine = decide(engine, resource="vault/dev/db", context={"on_behalf_of": "user:bob"})
    assert fine.effect is Effect.ALLOW


ON_BEHALF_OF_KEYS = [
    "On_Behalf_Of",
    "ON_BEHALF_OF",
    "on_behalf_of ",
    " on_behalf_of",
    "on_behalf_of\u200b",
    "on_\u200dbehalf_of",
    "\u202eon_behalf_of",
    "on-behalf-of",
    "onBehalfOf",
    "on.behalf.of",
    "on behalf of",
    "on_behalf_\uff4ff",  # fullwidth o
    "\u043en_behalf_of",  # Cyrillic o
    "on_beh\u0430lf_of",  # Cyrillic a
    "on_behalf_of\t",
]


@pytest.mark.parametrize("key", ON_BEHALF_OF_KEYS)
def test_on_behalf_of_has_one_spelling_as_a_key_too(engine: Engine, key: str) -> None:
    # Read by nothing, such a key would walk around every rule on the human acted for.
    decision = decide(engine, resource="vault/dev/db", context={key: "user:bob"})
    assert (decision.effect, decision.code) == (Effect.DENY, "invalid_request"), key
    assert "context key" in decision.message


@pytest.mark.parametrize("key", ["level", "ticket", "on_behalf", "behalf_of_team", "ünïcode_ok"])
def test_other_context_keys_are_decided(engine: Engine, key: str) -> None:
    decision = decide(engine, resource="vault/dev/db", context={key: "x"})
    assert decision.effect is Effect.ALLOW, decision.message


NON_FINITE = [math.nan, -math.nan, math.inf, -math.inf, float("1e999")]


@pytest.mark.parametrize("number", NON_FINITE)
@pytest.mark.parametrize(
    "where",
    [
        lambda n: {"context": {"amount": n}},
        lambda n: {"context": {"amount": 5.0, "lines": [{"amount": n}]}},
        lambda n: {"resource_attributes": {"amount": n}},
    ],
)
def test_a_number_that_is_not_finite_is_refused(
    engine: Engine, number: float, where: Callable[[float], dict[str, Any]]
) -> None:
    # NaN compares false with everything: a guard written as "amount <= 100" must not be
    # the only thing that stands between it and an allow.
    decision = decide(engine, action="payments.refund", resource="payments/1", **where(number))
    assert decision.effect is Effect.DENY
    assert decision.code == "invalid_request"


def test_finite_numbers_are_decided(engine: Engine) -> None:
    small = decide(engine, action="payments.refund", resource="payments/1", context={"amount": 5.0})
    large = decide(engine, action="payments.refund", resource="payments/1", context={"amount": 1e9})
    assert small.effect is Effect.ALLOW
    assert (large.effect, large.code) == (Effect.DENY, "guardrail")


def test_policies_spell_fields_canonically() -> None:
    from charter.policy.engine import PolicyInvalid

    bad = POLICY.replace("fields: [name, email]", "fields: [Name, email]")
    with pytest.raises(PolicyInvalid) as raised:
        Engine.from_documents(bad)
    assert any(d.code == "invalid_field" for d in raised.value.diagnostics)


@pytest.mark.parametrize("pattern", ["vault/../prod/**", "vault/./**", "vault/prod./**"])
def test_policies_spell_resources_canonically(pattern: str) -> None:
    from charter.policy.engine import PolicyInvalid

    with pytest.raises(PolicyInvalid) as raised:
        Engine.from_documents(POLICY.replace('"vault/prod/**"', f'"{pattern}"'))
    assert any(d.code == "invalid_glob" for d in raised.value.diagnostics)


# Over HTTP, against the example pack: the same refusals, audited, on both backends.


def _ask(api: TestClient, token: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = api.post("/v1/decisions", json=body, headers=bearer(token))
    assert answer.status_code in {200, 422}, answer.text
    if answer.status_code == 422:
        return {"decision": "refused", "code": answer.json()["error"]["code"]}
    found: dict[str, Any] = answer.json()
    return found


@pytest.mark.usefixtures("pack")
@pytest.mark.parametrize("resource", PROD_SPELLINGS)
def test_http_no_spelling_of_a_denied_resource_is_allowed(
    api: TestClient, services: Services, resource: str
) -> None:
    token = agent_token(services, "secrets-scanner")
    body = {"capability": "do", "action": "secrets.rotate", "resource": resource}
    assert _ask(api, token, body)["decision"] != "allow"


@pytest.mark.usefixtures("pack")
@pytest.mark.parametrize("action", GOVERNANCE_SPELLINGS)
def test_http_no_spelling_of_a_governance_action_is_allowed(
    api: TestClient, services: Services, action: str
) -> None:
    token = agent_token(services, "identity-ops-agent")
    body = {"capability": "do", "action": action, "resource": "charter/policies"}
    assert _ask(api, token, body)["decision"] != "allow"


@pytest.mark.usefixtures("pack")
def test_http_refusals_are_audited_with_their_reason(
    api: TestClient, services: Services, admin: Any
) -> None:
    token = agent_token(services, "secrets-scanner")
    body = {"capability": "do", "action": "secrets.rotate", "resource": "vault/dev/../prod/x"}
    answer = _ask(api, token, body)
    assert (answer["decision"], answer["code"]) == ("deny", "invalid_request")
    records = api.get("/v1/audit", params={"type": "decision"}, headers=admin.headers)
    [record] = records.json()["records"]
    assert record["data"]["code"] == "invalid_request"


RBAC = {"capability": "do", "action": "rbac.assign", "resource": "iam/groups/payroll"}


@pytest.mark.usefixtures("pack")
@pytest.mark.parametrize(
    "context",
    [{"on_behalf_of": who} for who in ON_BEHALF_OF_SPELLINGS]
    + [{key: "user:bob"} for key in ON_BEHALF_OF_KEYS],
)
def test_http_four_eyes_cannot_be_spelled_around(
    api: TestClient, services: Services, context: dict[str, Any]
) -> None:
    # identity-ops-agent's RBAC changes need its owner's sign-off: user:bob.
    token = agent_token(services, "identity-ops-agent")
    answer = _ask(api, token, {**RBAC, "context": context})
    assert answer["decision"] in {"deny", "refused"}, answer
    assert answer.get("approval") is None
    bob = bearer(services.tokens.issue_for_human(SYSTEM, "user:bob").token)
    pending = api.get("/v1/approvals", params={"status": "pending"}, headers=bob).json()
    assert pending["approvals"] == []


@pytest.mark.usefixtures("pack")
def test_http_the_requester_never_approves_their_own_request(
    api: TestClient, services: Services
) -> None:
    token = agent_token(services, "identity-ops-agent")
    answer = _ask(api, token, {**RBAC, "context": {"on_behalf_of": "user:bob"}})
    assert answer["decision"] == "approval_required"
    bob = bearer(services.tokens.issue_for_human(SYSTEM, "user:bob").token)
    vote = api.post(
        f"/v1/approvals/{answer['approval']['id']}/approve", json={"reason": "me"}, headers=bob
    )
    assert vote.status_code == 403
    assert vote.json()["error"]["code"] == "four_eyes"
