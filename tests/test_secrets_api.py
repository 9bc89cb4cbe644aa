"""The leaked-secret registry, the scan endpoint and what decisions do with secrets, through
the real ASGI app on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from charter import AsyncClient, Client, guard
from charter.errors import Unavailable
from charter.identity.humans import HumanRole
from charter.policy.model import Capability
from charter.service import SYSTEM, Services
from charter.service.decisions import Asked
from charter.storage.sql import SqlStore
from charter.storage.sql.schema import approvals
from tests.helpers import Admin, agent_token, bearer, charter_cli, people
from tests.servers import Served

# Fake, by the published formats.
STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dcQ2xPb9Lm"
PASSWORD = "Plum-Tree-Window-1987"
READ = {
    "capability": "request",
    "action": "scanner.finding.read",
    "resource": "scanner/findings/9",
}


def _decide(api: TestClient, headers: dict[str, str], **request: Any) -> dict[str, Any]:
    answer = api.post("/v1/decisions", json={**READ, **request}, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def scanner(services: Services) -> dict[str, str]:
    return bearer(agent_token(services, "secrets-scanner"))


@pytest.mark.usefixtures("pack")
def test_only_admins_report_leaks_and_auditors_read_them(
    api: TestClient, services: Services, admin: Admin, scanner: dict[str, str]
) -> None:
    headers = people(services, [("user:audrey", (), (HumanRole.AUDITOR,))])
    report = {"value": STRIPE, "note": "in a support chat", "source": "zendesk"}
    assert api.post("/v1/leaks", json=report, headers=scanner).status_code == 403
    assert api.post("/v1/leaks", json=report, headers=headers["user:audrey"]).status_code == 403
    made = api.post("/v1/leaks", json=report, headers=admin.headers)
    assert made.status_code == 201, made.text
    leak = made.json()
    assert (leak["type"], leak["source"], leak["created"]) == ("stripe_key", "zendesk", True)
    assert leak["fingerprint"].startswith("fp_")
    assert STRIPE not in made.text
    listed = api.get("/v1/leaks", headers=headers["user:audrey"])
    assert listed.status_code == 200
    assert [item["fingerprint"] for item in listed.json()["leaks"]] == [leak["fingerprint"]]
    assert api.get("/v1/leaks", headers=scanner).status_code == 403
    [record] = api.get(
        "/v1/audit", params={"type": "secret.leak_reported"}, headers=admin.headers
    ).json()["records"]
    assert record["subject"] == leak["fingerprint"]
    assert STRIPE not in json.dumps(record)


@pytest.mark.usefixtures("pack")
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"note": "neither"}, "leak_value_or_fingerprint"),
        ({"value": STRIPE, "fingerprint": "fp_" + "0" * 32, "note": "both"}, None),
        ({"fingerprint": "fp_XYZ", "note": "bad"}, "invalid_request"),
        ({"value": STRIPE}, "invalid_request"),
        ({"value": "   ", "note": "blank"}, "invalid_secret"),
    ],
)
def test_a_bad_leak_report_is_refused(
    api: TestClient, admin: Admin, body: dict[str, Any], code: str | None
) -> None:
    answer = api.post("/v1/leaks", json=body, headers=admin.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == (code or "leak_value_or_fingerprint")
    assert api.get("/v1/leaks", headers=admin.headers).json()["leaks"] == []


@pytest.mark.usefixtures("pack")
def test_a_leak_reported_by_fingerprint_denies_requests_carrying_it(
    api: TestClient, admin: Admin, scanner: dict[str, str]
) -> None:
    # The fingerprint a decision showed (as a SIEM would forward it), not the value.
    seen = _decide(api, scanner, input={"config": f"STRIPE_KEY={STRIPE}"})
    assert seen["decision"] == "allow"
    [finding] = seen["secrets"]
    assert (finding["type"], finding["path"], finding["leaked"]) == (
        "stripe_key",
        "$.input.config",
        False,
    )
    assert (finding["start"], finding["end"]) == (11, 11 + len(STRIPE))
    report = {"fingerprint": finding["fingerprint"], "note": "from the SIEM alert"}
    assert api.post("/v1/leaks", json=report, headers=admin.headers).status_code == 201
    # Anywhere in the request: the context too, and URL-encoded.
    denied = _decide(api, scanner, context={"note": STRIPE.replace("_", "%5F")})
    assert (denied["decision"], denied["code"]) == ("deny", "leaked_secret")
    assert denied["secrets"][0]["leaked"] is True
    assert denied["secrets"][0]["encoding"] == "url"


@pytest.mark.usefixtures("pack")
def test_a_leaked_password_is_found_as_a_word_and_masked_by_the_scan(
    api: TestClient, admin: Admin, scanner: dict[str, str]
) -> None:
    assert _decide(api, scanner, input={"note": f"try {PASSWORD}."})["decision"] == "allow"
    report = {"value": f"  {PASSWORD}\n", "note": "shared in a ticket"}
    made = api.post("/v1/leaks", json=report, headers=admin.headers).json()
    assert made["type"] is None  # no detector knows a password by its looks
    denied = _decide(api, scanner, input={"note": f"try {PASSWORD}."})
    assert denied["code"] == "leaked_secret"
    assert denied["secrets"] == [
        {
            "type": "leaked_secret",
            "path": "$.input.note",
            "start": 4,
            "end": 4 + len(PASSWORD),
            "confidence": 1.0,
            "fingerprint": made["fingerprint"],
            "encoding": None,
            "leaked": True,
        }
    ]
    # The scan masks only the leak with redact=false, every finding by default.
    content = {"out": f"login {PASSWORD} and key {STRIPE}"}
    only = api.post(
        "/v1/secrets/scan", json={"content": content, "redact": False}, headers=scanner
    ).json()
    assert only["content"] == {"out": f"login [REDACTED:leaked_secret] and key {STRIPE}"}
    every = api.post("/v1/secrets/scan", json={"content": content}, headers=scanner).json()
    assert every["content"] == {
        "out": "login [REDACTED:leaked_secret] and key [REDACTED:stripe_key]"
    }
    assert [f["type"] for f in every["findings"]] == ["leaked_secret", "stripe_key"]
    records = api.get(
        "/v1/audit", params={"type": "secret.leak_redacted"}, headers=admin.headers
    ).json()["records"]
    assert len(records) == 2
    assert records[0]["agent"] == "secrets-scanner"
    clean = api.post("/v1/secrets/scan", json={"content": "all quiet"}, headers=scanner)
    assert clean.json() == {"content": "all quiet", "findings": []}
    assert (
        len(
            api.get(
                "/v1/audit", params={"type": "secret.leak_redacted"}, headers=admin.headers
            ).json()["records"]
        )
        == 2
    )  # a scan that finds no leak is not recorded


@pytest.mark.usefixtures("pack")
def test_guardrails_see_the_findings(api: TestClient, scanner: dict[str, str]) -> None:
    ticket = {
        "capability": "do",
        "action": "ticket.create",
        "resource": "ticketing/queue/remediation",
    }
    plain = _decide(api, scanner, **ticket, input={"body": "rotate the payments key"})
    assert plain["decision"] == "allow"
    leaky = _decide(api, scanner, **ticket, input={"body": f"old key {STRIPE}"})
    assert (leaky["decision"], leaky["code"]) == ("deny", "guardrail")
    assert leaky["reasons"][0]["policy"] == "Guardrail/no-credentials-in-tool-arguments"


@pytest.mark.usefixtures("pack")
def test_an_approval_keeps_the_request_masked(
    api: TestClient, services: Services, store: SqlStore
) -> None:
    ops = bearer(agent_token(services, "identity-ops-agent"))

    def assign(key: str) -> dict[str, Any]:
        return _decide(
            api,
            ops,
            capability="do",
            action="rbac.assign",
            resource="iam/groups/payroll",
            context={"note": f"the old key was {STRIPE}"},
            input={"user": "u42", "api_key": key},
        )

    asked = assign(STRIPE)
    assert asked["decision"] == "approval_required"
    # bob owns identity-ops-agent (the pack added him) and sees its approvals
    bob = bearer(services.tokens.issue_for_human(SYSTEM, "user:bob").token)
    shown = api.get(f"/v1/approvals/{asked['approval']['id']}", headers=bob).json()
    request = shown["request"]
    assert request["context"] == {"note": "the old key was [REDACTED:stripe_key]"}
    assert request["input"] == {"user": "u42", "api_key": "[REDACTED:stripe_key]"}
    assert [s["path"] for s in request["secrets"]] == ["$.context.note", "$.input.api_key"]
    with store.engine.connect() as conn:
        rows = [repr(tuple(row)) for row in conn.execute(sa.select(approvals))]
    assert STRIPE not in "".join(rows)
    # The same request again finds the same approval; another secret is another request.
    assert assign(STRIPE)["approval"]["id"] == asked["approval"]["id"]
    other = assign(STRIPE[:-1] + "X")
    assert other["approval"]["id"] != asked["approval"]["id"]


@pytest.mark.usefixtures("pack")
def test_another_server_learns_of_a_leak_at_its_refresh(
    api: TestClient,
    services: Services,
    store: SqlStore,
    signing_key: Ed25519PrivateKey,
    admin: Admin,
    scanner: dict[str, str],
) -> None:
    # A second server on the same store, with the same key file.
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
        input={"k": STRIPE},
    )
    assert replica.decisions.decide(enforcer, [asked])[0].decision.code == "allowed"
    api.post("/v1/leaks", json={"value": STRIPE, "note": "x"}, headers=admin.headers)
    assert _decide(api, scanner, input={"k": STRIPE})["code"] == "leaked_secret"  # at once
    assert replica.secrets.refresh() is True  # the replica's sweep, within a second
    assert replica.decisions.decide(enforcer, [asked])[0].decision.code == "leaked_secret"


def test_a_server_without_its_key_refuses_leak_reports(
    store: SqlStore, services: Services, admin: Admin
) -> None:
    keyless = Services.build(store, clock=services.clock)
    principal = keyless.tokens.authenticate(admin.token, where="test")
    with pytest.raises(Unavailable) as refused:
        keyless.secrets.report(principal, value=STRIPE, note="x")
    assert refused.value.code == "fingerprint_key_missing"


def test_the_cli_reports_and_lists_leaks(served: Served, admin: Admin) -> None:
    server = ("--server", served.url, "--token", admin.token)
    code, out, err = charter_cli(
        "secrets", "report-leak", "--note", "in a chat", "--ticket", "INC-9", *server,
        input=f"{STRIPE}\n",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("registered: fp_")
    assert "(stripe_key)" in out
    fingerprint = out.split()[1]
    code, out, _ = charter_cli("secrets", "report-leak", "--note", "again", *server, input=STRIPE)
    assert out.startswith("already registered: ")
    code, out, _ = charter_cli("secrets", "leaks", "--json", *server)
    assert code == 0
    assert [(leak["fingerprint"], leak["ticket"]) for leak in json.loads(out)] == [
        (fingerprint, "INC-9")
    ]
    code, out, err = charter_cli(
        "secrets", "report-leak", "--note", "siem", "--fingerprint", "fp_" + "a" * 32, *server
    )
    assert code == 0, err
    code, _, err = charter_cli(
        "secrets", "report-leak", "--note", "x", "--fingerprint", "nope", *server
    )
    assert code == 1
    assert "invalid_request" in err


def test_cli_scan_needs_no_server(tmp_path: Any) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"boot ok\nSTRIPE_KEY={STRIPE}\n", encoding="utf-8")
    code, out, _ = charter_cli("secrets", "scan", str(log))
    assert code == 3
    assert "2:12" in out
    assert "stripe_key" in out
    assert STRIPE not in out
    code, out, _ = charter_cli("secrets", "scan", str(log), "--redact")
    assert out == "boot ok\nSTRIPE_KEY=[REDACTED:stripe_key]\n"
    code, out, _ = charter_cli("secrets", "scan", str(log), "--json")
    assert json.loads(out)[0]["type"] == "stripe_key"
    log.write_text("nothing here\n", encoding="utf-8")
    assert charter_cli("secrets", "scan", str(log))[0] == 0


def test_the_sdk_reports_lists_and_screens(
    served: Served, services: Services, admin: Admin
) -> None:
    with Client(served.url, admin.token) as client:
        leak = client.report_leak(value=PASSWORD, note="in a screenshot", source="slack")
        assert leak.created is True
        page = client.list_leaks(limit=1)
        assert [item.fingerprint for item in page.leaks] == [leak.fingerprint]
        assert [item.note for item in client.iter_leaks()] == ["in a screenshot"]
        screened = client.scan({"reply": f"use {PASSWORD} or {STRIPE}"}, redact=False)
    assert screened.content == {"reply": f"use [REDACTED:leaked_secret] or {STRIPE}"}
    assert [f["type"] for f in screened.findings] == ["leaked_secret", "stripe_key"]

    async def screen() -> Any:
        token = agent_token(services, "secrets-scanner")
        async with AsyncClient(served.url, token) as scanner:

            @guard(
                scanner,
                capability="request",
                action="scanner.finding.read",
                resource="scanner/findings/{number}",
                redact_output=True,
            )
            async def finding(number: str) -> str:
                return f"finding {number}: {STRIPE} near {PASSWORD}"

            return await finding("7")

    assert asyncio.run(screen()) == (
        "finding 7: [REDACTED:stripe_key] near [REDACTED:leaked_secret]"
    )
