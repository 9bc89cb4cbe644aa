"""A secret anywhere in a decision request, in any usual wrapping, is found; what is
stored or sent of the request is masked. Through the real ASGI app and the service, on
SQLite and PostgreSQL; the database's tables are read whole to prove the raw value never
reached them (the audit log, approvals, webhook deliveries, advisories)."""

from __future__ import annotations

import base64
import html
import json
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from charter.errors import InvalidInput
from charter.identity.humans import HumanRole
from charter.policy.model import Capability
from charter.secrets.decoding import Budget, unwrapped
from charter.service import SYSTEM, Services
from charter.service.decisions import Asked
from charter.storage.sql import SqlStore
from charter.storage.sql.schema import metadata
from tests.helpers import Admin, agent_token, bearer, people

# A password no detector knows by its looks; lowercase with dashes, so that it is also a
# well-formed agent id (the wire accepts it there, and only the registry can catch it).
LEAK = "plum-tree-window-1987"
STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dcQ2xPb9Lm"  # fake, by the published format
READ = {"capability": "request", "action": "scanner.finding.read", "resource": "scanner/findings/9"}


def _dump(store: SqlStore) -> str:
    """Every row of every table, as text."""
    rows: list[str] = []
    # Each read on its own (autocommit): no transaction is left idle between the tables'
    # reads, which PostgreSQL ends after the store's bound on a machine slowed by load.
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in metadata.sorted_tables:
            rows.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    return "\n".join(rows)


def _register(api: TestClient, admin: Admin, value: str = LEAK) -> str:
    made = api.post("/v1/leaks", json={"value": value, "note": "pasted"}, headers=admin.headers)
    assert made.status_code == 201, made.text
    fingerprint: str = made.json()["fingerprint"]
    return fingerprint


def _webhook(api: TestClient, admin: Admin) -> None:
    # Deliveries are written when an event is published: their payloads are what is sent.
    hook = api.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/charter", "events": ["approval.created"]},
        headers=admin.headers,
    )
    assert hook.status_code == 201, hook.text


def _wrapped(
    request: dict[str, Any], **changes: Any
) -> dict[str, Any]:  # a decision request with some parts replaced
    return {**READ, **request, **changes}


PLACES: dict[str, dict[str, Any]] = {
    "context value": {"context": {"note": f"the password is {LEAK}"}},
    "context value, a path in quotes": {"context": {"note": f'kept at ("vault/{LEAK}")'}},
    "context value, JSON text": {"context": {"raw": f'{{"path": "db/{LEAK}"}}'}},
    "context key": {"context": {LEAK: "yes"}},
    "context key, nested": {"context": {"a": {"b": [{LEAK: 1}]}}},
    "input key, nested": {"input": {"args": [{"opts": {LEAK: True}}]}},
    "input key, a path": {"input": {"args": [{"opts": {f"x/{LEAK}": True}}]}},
    "input key as name=value": {"input": {f"password={LEAK}": None}},
    "resource id": {"resource": LEAK},
    "resource id segment": {"resource": f"vault/{LEAK}/db"},
    "resource attribute key": {"resource": {"id": "scanner/findings/9", "attributes": {LEAK: 1}}},
    "resource attribute value": {
        "resource": {"id": "scanner/findings/9", "attributes": {"owner": LEAK}}
    },
    "resource attribute nested": {
        "resource": {"id": "scanner/findings/9", "attributes": {"tags": [{"k": [LEAK]}]}}
    },
    "fields entry": {"fields": ["name", LEAK]},
    "action": {"action": LEAK},
    "action segment": {"action": f"scanner.{LEAK}.read"},
    "on_behalf_of": {"context": {"on_behalf_of": LEAK}},
    "on_behalf_of as a user id": {"context": {"on_behalf_of": f"user:{LEAK}"}},
}


@pytest.mark.usefixtures("pack")
@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_registered_leak_anywhere_in_a_request_is_denied_and_never_stored(
    api: TestClient, services: Services, store: SqlStore, admin: Admin, place: str
) -> None:
    fingerprint = _register(api, admin)
    scanner = bearer(agent_token(services, "secrets-scanner"))
    answer = api.post("/v1/decisions", json=_wrapped(PLACES[place]), headers=scanner)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["decision"], body["code"]) == ("deny", "leaked_secret")
    assert fingerprint in body["message"]
    assert any(finding["leaked"] for finding in body["secrets"])
    assert LEAK not in answer.text
    # Neither the audit record nor anything else holds the value.
    assert LEAK not in _dump(store)
    records = api.get("/v1/audit", params={"type": "decision"}, headers=admin.headers).json()
    [record] = records["records"]
    assert record["data"]["code"] == "leaked_secret"
    assert LEAK not in json.dumps(record)


@pytest.mark.usefixtures("pack")
def test_a_key_that_is_a_secret_is_flagged_and_its_path_masked(
    api: TestClient, services: Services, admin: Admin
) -> None:
    _register(api, admin)
    scanner = bearer(agent_token(services, "secrets-scanner"))
    body = api.post(
        "/v1/decisions",
        json=_wrapped({"context": {LEAK: {"inner": STRIPE}}}),
        headers=scanner,
    ).json()
    assert body["code"] == "leaked_secret"
    key, value = body["secrets"]
    assert key["key"] is True
    assert key["path"] == '$.context["[REDACTED:leaked_secret]"]'
    assert "key" not in value
    assert value["path"] == '$.context["[REDACTED:leaked_secret]"].inner'
    assert value["type"] == "stripe_key"


@pytest.mark.usefixtures("pack")
def test_an_unknown_agent_carrying_a_leak_is_recorded_masked(
    api: TestClient, store: SqlStore, admin: Admin, enforcer: dict[str, str]
) -> None:
    # The leak is the agent id itself: denied for the leak (first), not as unknown.
    _register(api, admin)
    answer = api.post("/v1/decisions", json=_wrapped({}, agent=LEAK), headers=enforcer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["code"] == "leaked_secret"
    assert answer.json()["secrets"][0]["path"] == "$.agent"
    assert LEAK not in answer.text
    assert LEAK not in _dump(store)
    [record] = api.get("/v1/audit", params={"type": "decision"}, headers=admin.headers).json()[
        "records"
    ]
    assert record["agent"] == "[REDACTED:leaked_secret]"


@pytest.mark.usefixtures("pack")
def test_an_agent_naming_another_agent_with_a_leak_is_recorded_for_itself(
    api: TestClient, services: Services, store: SqlStore, admin: Admin
) -> None:
    # Without a leak this is 403 forbidden (nothing recorded); the leak comes first.
    _register(api, admin)
    scanner = bearer(agent_token(services, "secrets-scanner"))
    answer = api.post("/v1/decisions", json=_wrapped({}, agent=LEAK), headers=scanner)
    assert answer.status_code == 200, answer.text
    assert answer.json()["code"] == "leaked_secret"
    assert LEAK not in answer.text
    assert LEAK not in _dump(store)
    [record] = api.get("/v1/audit", params={"type": "decision"}, headers=admin.headers).json()[
        "records"
    ]
    assert record["agent"] == "secrets-scanner"
    other = api.post("/v1/decisions", json=_wrapped({}, agent="helpdesk-bot"), headers=scanner)
    assert other.status_code == 403


def _hex(text: str) -> str:
    return text.encode().hex()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _url(text: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode())


WRAPPINGS = {
    "hex": _hex(LEAK),
    "hex with 0x": "0x" + _hex(LEAK).upper(),
    "base64": _b64(LEAK),
    "base64 of base64": _b64(_b64(LEAK)),
    "base64 of base64 of base64": _b64(_b64(_b64(LEAK))),
    "base64url": base64.urlsafe_b64encode(LEAK.encode()).decode().rstrip("="),
    "json escapes": _escaped(LEAK),
    "json escapes, some": "plum-\\u0074ree-window-\\u00319\\u00387",
    "python escapes": "".join(f"\\x{ord(c):02x}" for c in LEAK),
    "url-encoded": _url(LEAK),
    "url-encoded, some": quote(LEAK, safe="").replace("t", "%74"),
    "html references": "".join(f"&#{ord(c)};" for c in LEAK),
    "base64 of hex": _b64(_hex(LEAK)),
    "hex of base64": _hex(_b64(LEAK)),
    "url of base64 of escapes": quote(_b64(_escaped(LEAK)), safe=""),
    "escapes of url": _escaped(_url(LEAK)),
    "base64 of an assignment": _b64(f"password={LEAK}"),
    "base64 of json": _b64(json.dumps({"password": LEAK})),
    "html-escaped hex": html.escape(_hex(LEAK)),
    "hex with colons": ":".join(f"{b:02x}" for b in LEAK.encode()),
    "base64 in lines": "\n".join(
        _b64(_b64(LEAK))[i : i + 16] for i in range(0, len(_b64(_b64(LEAK))), 16)
    ),
    "double url-encoded": _url(_url(LEAK)),
}


@pytest.mark.usefixtures("pack")
@pytest.mark.parametrize("wrapping", sorted(WRAPPINGS))
@pytest.mark.parametrize("where", ["input value", "context key", "resource id"])
def test_a_wrapped_leak_is_found(
    api: TestClient, services: Services, admin: Admin, wrapping: str, where: str
) -> None:
    wrapped = WRAPPINGS[wrapping]
    if where == "context key" and len(wrapped) > 200:
        pytest.skip("longer than a key may be (the request is refused as it is)")
    lines = any(c.isspace() for c in wrapped)
    if where == "resource id" and (lines or ":" in wrapped):
        pytest.skip("not one piece of a path")
    _register(api, admin)
    scanner = bearer(agent_token(services, "secrets-scanner"))
    placed: dict[str, dict[str, Any]] = {
        "input value": {"input": {"note": wrapped if lines else f"use {wrapped} today"}},
        "context key": {"context": {wrapped: 1}},
        "resource id": {"resource": f"scanner/findings/{wrapped}"},
    }
    request = placed[where]
    answer = api.post("/v1/decisions", json=_wrapped(request), headers=scanner)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["code"] == "leaked_secret", (wrapping, body)
    leaked = [finding for finding in body["secrets"] if finding["leaked"]]
    assert leaked
    assert wrapped not in answer.text


def test_taking_wrappings_off_is_bounded() -> None:
    # Ten layers of base64: four are taken off, then it stops.
    value = LEAK
    for _ in range(10):
        value = _b64(value)
    layers = list(unwrapped(value, Budget(1 << 20)))
    assert len(layers) == 4
    assert LEAK not in [text for text, _ in layers]
    # A value that would decode to more than the budget is refused, not scanned in part.
    with pytest.raises(InvalidInput) as refused:
        list(unwrapped(_b64(_b64("x" * 4000)), Budget(1000)))
    assert refused.value.code == "input_too_complex"


@pytest.mark.usefixtures("pack")
def test_a_benign_request_with_encoded_text_is_allowed(
    api: TestClient, services: Services, admin: Admin
) -> None:
    _register(api, admin)
    scanner = bearer(agent_token(services, "secrets-scanner"))
    benign = {"input": {"blob": _b64(_b64("nothing to see here, move along")), "h": _hex("ok")}}
    body = api.post("/v1/decisions", json=_wrapped(benign), headers=scanner).json()
    assert (body["decision"], body["secrets"]) == ("allow", [])


@pytest.mark.usefixtures("pack")
def test_an_approval_and_its_webhook_keep_secrets_masked_wherever_they_were(
    api: TestClient, services: Services, store: SqlStore, admin: Admin
) -> None:
    # Detector findings (not registered leaks) keep their semantics: the request opens
    # its approval; the snapshot approvers read and the webhook payload are masked.
    _webhook(api, admin)
    ops = bearer(agent_token(services, "identity-ops-agent"))
    request = {
        "capability": "do",
        "action": "rbac.assign",
        "resource": {"id": "iam/groups/payroll", "attributes": {"note": f"key {STRIPE}"}},
        "context": {f"STRIPE_KEY={STRIPE}": "from the wiki"},
        "input": {"user": "u42", "headers": {f"token={STRIPE}": [STRIPE]}},
    }
    answer = api.post("/v1/decisions", json=request, headers=ops)
    assert answer.status_code == 200, answer.text
    asked = answer.json()
    assert asked["decision"] == "approval_required"
    paths = [finding["path"] for finding in asked["secrets"]]
    assert paths == [
        "$.resource_attributes.note",
        '$.context["STRIPE_KEY=[REDACTED:stripe_key]"]',
        '$.input.headers["token=[REDACTED:stripe_key]"]',
        '$.input.headers["token=[REDACTED:stripe_key]"][0]',
    ]
    assert STRIPE not in answer.text
    bob = bearer(services.tokens.issue_for_human(SYSTEM, "user:bob").token)
    shown = api.get(f"/v1/approvals/{asked['approval']['id']}", headers=bob).json()["request"]
    assert shown["resource_attributes"] == {"note": "key [REDACTED:stripe_key]"}
    assert shown["context"] == {"STRIPE_KEY=[REDACTED:stripe_key]": "from the wiki"}
    assert shown["input"]["headers"] == {"token=[REDACTED:stripe_key]": ["[REDACTED:stripe_key]"]}
    dump = _dump(store)
    assert "approval.created" in dump  # the delivery was written
    assert STRIPE not in dump
    # The same request finds the same approval (the digest is of the masked request).
    again = api.post("/v1/decisions", json=request, headers=ops).json()
    assert again["approval"]["id"] == asked["approval"]["id"]


@pytest.mark.usefixtures("pack")
def test_detector_findings_cover_every_part_of_a_request(
    api: TestClient, services: Services, store: SqlStore
) -> None:
    scanner = bearer(agent_token(services, "secrets-scanner"))
    request = {
        **READ,
        "resource": {"id": f"scanner/findings/{STRIPE}", "attributes": {STRIPE: 1}},
        "fields": [f"x{STRIPE.lower()}"],
    }
    answer = api.post("/v1/decisions", json=request, headers=scanner)
    body = answer.json()
    assert {finding["path"] for finding in body["secrets"]} >= {
        "$.resource",
        '$.resource_attributes["[REDACTED:stripe_key]"]',
    }
    # The evaluator refused the non-canonical attribute key; its message is masked too.
    assert body["code"] == "invalid_request"
    assert STRIPE not in answer.text
    assert STRIPE not in _dump(store)


@pytest.mark.usefixtures("pack")
def test_a_leak_registered_on_another_server_counts_at_once(
    api: TestClient,
    services: Services,
    store: SqlStore,
    signing_key: Ed25519PrivateKey,
    admin: Admin,
) -> None:
    # A second server whose registry view is stale (no refresh ran): the decision's own
    # transaction sees the registry grew, and scans again.
    replica = Services.build(store, clock=services.clock, signing_key=signing_key)
    replica.policies.load_active()
    people(services, [("user:gw", (), (HumanRole.ENFORCER,))])
    enforcer = services.tokens.authenticate(
        services.tokens.issue_for_human(SYSTEM, "user:gw").token, where="test"
    )
    asked = Asked(
        capability=Capability.REQUEST,
        action=READ["action"],
        resource=READ["resource"],
        agent="secrets-scanner",
        context={LEAK: "x"},
    )
    assert replica.decisions.decide(enforcer, [asked])[0].decision.code == "allowed"
    _register(api, admin)
    [decided] = replica.decisions.decide(enforcer, [asked])
    assert decided.decision.code == "leaked_secret"
    assert decided.secrets[0].key is True
    [_, last] = api.get("/v1/audit", params={"type": "decision"}, headers=admin.headers).json()[
        "records"
    ]
    assert last["data"]["code"] == "leaked_secret"
    assert LEAK not in json.dumps(last)


@pytest.mark.usefixtures("pack")
def test_only_admins_and_auditors_learn_from_a_scan_which_values_are_leaks(
    api: TestClient, services: Services, admin: Admin, enforcer: dict[str, str]
) -> None:
    fingerprint = _register(api, admin)
    headers = people(
        services,
        [
            ("user:audrey", (), (HumanRole.AUDITOR,)),
            ("user:pam", (), (HumanRole.POLICY_ADMIN,)),
            ("user:olga", (), ()),
        ],
    )
    content = {"out": f"login {LEAK} and key {STRIPE}"}

    def scan(who: dict[str, str]) -> dict[str, Any]:
        answer = api.post("/v1/secrets/scan", json={"content": content}, headers=who)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    for who in (admin.headers, headers["user:audrey"]):
        findings = scan(who)["findings"]
        assert [(f["leaked"], f["fingerprint"] == fingerprint) for f in findings] == [
            (True, True),
            (False, False),
        ]
    others = [
        bearer(agent_token(services, "secrets-scanner")),
        enforcer,
        headers["user:pam"],
        headers["user:olga"],
    ]
    for who in others:
        body = scan(who)
        assert body["content"] == {
            "out": "login [REDACTED:leaked_secret] and key [REDACTED:stripe_key]"
        }
        for finding in body["findings"]:
            assert "leaked" not in finding
            assert "fingerprint" not in finding
        assert fingerprint not in json.dumps(body)
