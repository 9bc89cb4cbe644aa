"""Two scenarios from the product's aims (docs/secrets.md), end to end over HTTP against a
live server with the example pack: an agent never surfaces or reuses an exposed secret,
and an inference never silently becomes action."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from charter import Client, guard
from charter.clock import ManualClock
from charter.service import Services
from charter.storage.sql import SqlStore
from charter.storage.sql.schema import metadata
from tests.scenes import Charter

# Fake, by the published format: ghp_ + 30 base62 + their base62 CRC32.
LEAKED_TOKEN = "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"
# A leaked password no detector can recognise: only its fingerprint finds it.
LEAKED_PASSWORD = "correct-Horse-battery-st4ple"


def _stored_text(store: SqlStore, database_url: str) -> bytes:
    """Everything the store holds: the SQLite files as bytes, or every PostgreSQL row."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return b"".join(p.read_bytes() for p in files if p.exists())
    rows = []
    # Each read on its own: no transaction left idle between them (PostgreSQL ends one).
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in conn.execute(sa.select(table))]
    return "\n".join(rows).encode()


def test_a_leaked_secret_is_never_used_nor_surfaced(
    charter: Charter,
    store: SqlStore,
    database_url: str,
    live_server: str,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fetch = {
        "capability": "request",
        "action": "scanner.finding.read",
        "resource": "scanner/findings/77",
        "context": {"purpose": "incident INC-4411"},
        "input": {"evidence": {"line": f"export GITHUB_TOKEN={LEAKED_TOKEN}"}},
    }
    # Before anyone reports it, the token is a finding like any other.
    before = charter.decide("secrets-scanner", fetch)
    assert before["decision"] == "allow"
    assert [(f["type"], f["path"], f["leaked"]) for f in before["secrets"]] == [
        ("github_token", "$.input.evidence.line", False)
    ]

    # The incident responder reports both secrets: the token and a password.
    reported = charter.post(
        "/v1/leaks",
        "user:sam",
        {"value": LEAKED_TOKEN, "note": "pasted in #general", "ticket": "INC-4411"},
    )
    assert reported.status_code == 201, reported.text
    token_leak = reported.json()
    assert token_leak["type"] == "github_token"
    assert token_leak["fingerprint"] == before["secrets"][0]["fingerprint"]
    password = charter.post(
        "/v1/leaks", "user:sam", {"value": LEAKED_PASSWORD, "note": "in a screenshot"}
    )
    assert password.status_code == 201, password.text
    again = charter.post("/v1/leaks", "user:sam", {"value": LEAKED_TOKEN, "note": "twice"})
    assert again.status_code == 200
    assert again.json()["created"] is False

    # Now fetching it is denied by invariant, plainly or encoded, and so is reusing the
    # password anywhere in a request.
    denied = charter.decide("secrets-scanner", fetch)
    assert denied["decision"] == "deny"
    assert denied["code"] == "leaked_secret"
    assert token_leak["fingerprint"] in denied["message"]
    encoded = base64.b64encode(LEAKED_TOKEN.encode()).decode()
    hidden = {**fetch, "input": {"evidence": {"blob": encoded}}}
    assert charter.decide("secrets-scanner", hidden)["code"] == "leaked_secret"
    reuse = {
        "capability": "do",
        "action": "ticket.create",
        "resource": "ticketing/queue/remediation",
        "input": {"body": f"rotated; the old one was {LEAKED_PASSWORD} fyi"},
    }
    assert charter.decide("secrets-scanner", reuse)["code"] == "leaked_secret"
    clean = {**reuse, "input": {"body": "rotated the exposed credential"}}
    assert charter.decide("secrets-scanner", clean)["decision"] == "allow"

    # The SDK's guard removes the leaks from what the tool returns to the agent.
    with Client(live_server, charter.headers["secrets-scanner"]["Authorization"][7:]) as client:

        @guard(client, capability="do", action="ticket.create", resource="ticketing/queue/{queue}")
        def show_ticket(queue: str) -> dict[str, str]:
            return {
                "summary": f"found {LEAKED_TOKEN} in the deploy log",
                "note": f"the login was {LEAKED_PASSWORD} until today",
                "owner": "dave",
            }

        shown = show_ticket("remediation")
    assert shown == {
        "summary": "found [REDACTED:github_token] in the deploy log",
        "note": "the login was [REDACTED:leaked_secret] until today",
        "owner": "dave",
    }

    # The audit log holds fingerprints only; the values appear nowhere at all.
    records = charter.get("/v1/audit", "user:audrey", limit=500)["records"]
    decisions = [r for r in records if r["type"] == "decision"]
    leaked = [r for r in decisions if r["data"]["code"] == "leaked_secret"]
    assert len(leaked) == 3
    assert leaked[0]["data"]["request"]["secrets"][0]["fingerprint"] == token_leak["fingerprint"]
    assert {r["type"] for r in records} >= {"secret.leak_reported", "secret.leak_redacted"}
    services.audit.checkpoint()
    stored = _stored_text(store, database_url)
    logged = caplog.text
    for value in (LEAKED_TOKEN, LEAKED_PASSWORD, encoded):
        assert value.encode() not in stored
        assert value not in logged
        assert value not in str(records)


def test_a_charter_token_in_a_request_is_found_and_never_stored(
    charter: Charter,
    store: SqlStore,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Charter's own tokens are secrets like any other: an agent that passes one on (its
    # own, or a human's it was given) has it found, fingerprinted and masked.
    caplog.set_level(logging.DEBUG)
    tokens = [charter.headers[who]["Authorization"][7:] for who in ("user:sam", "support-bot")]
    ticket = {
        "capability": "do",
        "action": "ticket.create",
        "resource": "ticketing/queue/remediation",
        "input": {"body": f"use {tokens[0]} for the admin call", "auth": [tokens[1]]},
    }
    answer = charter.decide("secrets-scanner", ticket)
    assert sorted((f["type"], f["path"]) for f in answer["secrets"]) == [
        ("charter_token", "$.input.auth[0]"),
        ("charter_token", "$.input.body"),
    ]
    records = charter.get("/v1/audit", "user:audrey", type="decision", limit=50)["records"]
    stored = _stored_text(store, database_url)
    for token in tokens:
        secret = token.split("_", 2)[2]
        assert secret.encode() not in stored
        assert secret not in caplog.text
        assert secret not in str(records)


def test_an_inference_becomes_action_only_with_a_human(
    charter: Charter,
    clock: ManualClock,
    live_server: str,
) -> None:
    score = charter.decide(
        "identity-ops-agent",
        {"capability": "infer", "action": "identity.confidence_score", "resource": "idp/users/u42"},
    )
    assert score["decision"] == "allow"
    change = {"capability": "do", "action": "rbac.assign", "resource": "iam/groups/payroll"}

    # Citing its own, recent score: the change needs an identity-ops human's approval.
    derived = charter.decide(
        "identity-ops-agent", {**change, "context": {"derived_from": score["decision_id"]}}
    )
    assert derived["decision"] == "approval_required"
    assert derived["reasons"][0]["policy"] == "Guardrail/inferred-privilege-changes-need-approval"
    assert derived["approval"]["approvers"] == ["group:identity-ops"]
    # Without the citation the owner's sign-off is the friction (another guardrail).
    plain = charter.decide("identity-ops-agent", change)
    assert plain["reasons"][0]["policy"] == "Guardrail/rbac-changes-need-sign-off"

    # The SDK carries the provenance from the inference to the action.
    token = charter.headers["identity-ops-agent"]["Authorization"][7:]
    with Client(live_server, token) as client:
        scored = client.decide("infer", "identity.confidence_score", resource="idp/users/u43")
        built = client.decide("do", "rbac.assign", resource="iam/groups/hr", derived_from=scored)
    assert built.decision == "approval_required"
    assert built.reasons[0]["policy"] == "Guardrail/inferred-privilege-changes-need-approval"

    # Refused: another agent's inference, a decision that is not an inference, an id
    # nobody issued, and (later) an inference past its age.
    theirs = charter.decide(
        "compliance-copilot",
        {"capability": "infer", "action": "access.recommend", "resource": "iam/groups/payroll"},
    )
    assert theirs["decision"] == "allow"
    for cited, why in (
        (theirs["decision_id"], "another agent's inference"),
        (plain["decision_id"], "not an allowed inference"),
        ("dec_aaaaaaaaaaaaaaaa", "not an allowed inference"),
        ([score["decision_id"], theirs["decision_id"]], "another agent's inference"),
        (42, "must be a decision id"),
    ):
        refused = charter.decide(
            "identity-ops-agent", {**change, "context": {"derived_from": cited}}
        )
        assert refused["decision"] == "deny", cited
        assert refused["code"] == "invalid_provenance"
        assert why in refused["message"]
    clock.advance(timedelta(hours=2))
    stale = charter.decide(
        "identity-ops-agent", {**change, "context": {"derived_from": score["decision_id"]}}
    )
    assert stale["code"] == "invalid_provenance"
    assert "older than" in stale["message"]
