"""The OCSF mapping alone: records sealed by the audit core, mapped, validated against the
committed OCSF schemas, and their fields checked one by one."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.audit.merkle import Frontier
from charter.audit.ocsf import CLASS_OF, OCSF_VERSION, to_ocsf
from charter.audit.records import AuditEntry, seal
from charter.errors import InvalidInput
from tests.ocsf_schemas import problems

AT = datetime(2026, 12, 6, 12, 30, 15, 123456, tzinfo=UTC)
DOCS = Path(__file__).resolve().parent.parent / "docs"


def sealed(type_: str, actor: str, agent: str | None, subject: str | None, **data: Any) -> Any:
    """A record as ``GET /v1/audit`` answers it, sealed at position 0."""
    entry = AuditEntry(type=type_, actor=actor, at=AT, agent=agent, subject=subject, data=data)
    record, _ = seal(entry, Frontier.empty())
    return record.to_json()


def mapped(record: dict[str, Any]) -> dict[str, Any]:
    event = to_ocsf(record, product_version="9.9.9")
    assert problems(event) == []
    return event


DECISION = {
    "request": {
        "agent": "ops-bot",
        "capability": "do",
        "action": "account.close",
        "resource": "accounts/7",
        "fields": [],
        "context_keys": ["on_behalf_of"],
        "context_digest": "sha256:" + "ab" * 32,
        "input_digest": None,
        "secrets": [],
        "on_behalf_of": "user:opal",
    },
    "request_digest": "cd" * 32,
    "approval": "apr_1",
    "decision": "step_up_required",
    "code": "step_up_required",
    "reasons": [
        {"policy": "Role/deployer", "rule": "permissions[3]", "effect": "allow"},
        {
            "policy": "Guardrail/confirm-closing",
            "rule": "effect",
            "effect": "step_up_required",
            "message": "closing needs the customer's say-so",
        },
    ],
    "errors": [],
    "released_fields": [],
    "redacted_fields": [],
    "policy_revision": "rev_0123456789abcdef",
    "message": "closing needs the customer's say-so",
}


def test_every_event_links_back_to_its_record_and_its_leaf_hash() -> None:
    record = sealed("agent.registered", "user:rita", "ops-bot", "agent:ops-bot", owner="user:olga")
    event = mapped(record)
    metadata = event["metadata"]
    assert metadata["uid"] == record["leaf_hash"]
    assert metadata["sequence"] == record["seq"] == 0
    assert metadata["event_code"] == "agent.registered"
    assert metadata["version"] == OCSF_VERSION == "1.9.0-dev"
    assert metadata["product"] == {"name": "Charter", "vendor_name": "Charter", "version": "9.9.9"}
    assert metadata["original_time"] == "2026-12-06T12:30:15.123456Z"
    assert event["time"] == 1796560215123
    # raw_data is the canonical body: hashing it as a leaf gives the record's leaf hash.
    leaf = hashlib.sha256(b"\x00" + event["raw_data"].encode("utf-8")).hexdigest()
    assert leaf == record["leaf_hash"]
    assert event["unmapped"]["tree_root"] == record["tree_root"]


def test_a_decision_is_api_activity_with_the_agent_its_delegation_and_the_policy() -> None:
    event = mapped(sealed("decision", "agent:ops-bot", "ops-bot", "dec_1", **DECISION))
    assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (6003, 99, 600399)
    assert event["activity_name"] == "do"
    assert event["ai_agent"] == {
        "uid": "ops-bot",
        "name": "ops-bot",
        "type_id": 0,
        "type": "Unknown",
    }
    # The human is the principal, the agent the delegate (the step-up is theirs to confirm).
    assert event["actor"]["user"]["uid"] == "user:opal"
    assert event["actor"]["invoked_by"] == "agent:ops-bot"
    assert event["delegation"] == {"uid": "user:opal/agent:ops-bot", "issuer_uid": "charter"}
    first, second = event["actor"]["authorizations"]
    assert first["decision"] == second["decision"] == "step_up_required"
    assert first["policy"]["uid"] == "Role/deployer#permissions[3]"
    assert second["policy"] == {
        "uid": "Guardrail/confirm-closing#effect",
        "name": "Guardrail/confirm-closing",
        "version": "rev_0123456789abcdef",
        "is_applied": True,
        "desc": "closing needs the customer's say-so",
        "data": {"rule": "effect", "effect": "step_up_required", "code": "step_up_required"},
    }
    assert (event["action"], event["disposition"]) == ("Denied", "Challenge")
    assert (event["status_id"], event["status"]) == (99, "Pending")
    assert event["api"]["operation"] == "account.close"
    assert event["api"]["request"]["uid"] == "dec_1"
    assert event["api"]["request"]["data"]["context_digest"] == "sha256:" + "ab" * 32
    assert event["resources"] == [{"uid": "accounts/7", "name": "accounts/7"}]
    assert event["metadata"]["profiles"] == ["ai_operation", "security_control"]


@pytest.mark.parametrize(
    ("verdict", "code", "status", "action", "disposition", "severity"),
    [
        ("allow", "allowed", 1, "Allowed", "Allowed", 1),
        ("deny", "no_permission", 2, "Denied", "Blocked", 2),
        ("deny", "leaked_secret", 2, "Denied", "Blocked", 4),
        ("approval_required", "approval_required", 99, "Denied", "Delayed", 1),
    ],
)
def test_a_decisions_outcome_is_its_status_action_and_disposition(
    verdict: str, code: str, status: int, action: str, disposition: str, severity: int
) -> None:
    asked = {**DECISION["request"], "on_behalf_of": None}  # type: ignore[dict-item]
    data = {**DECISION, "request": asked, "decision": verdict, "code": code}
    event = mapped(sealed("decision", "user:gate", "ops-bot", "dec_2", **data))
    assert (event["status_id"], event["action"], event["disposition"]) == (
        status,
        action,
        disposition,
    )
    assert event["severity_id"] == severity
    assert event["status_detail"] == code
    # Without a human to act for, the principal that asked is the actor.
    assert event["actor"]["user"] == {
        "uid": "user:gate",
        "name": "gate",
        "type_id": 1,
        "type": "User",
    }
    assert "delegation" not in event


def test_the_kill_switch_is_an_account_disabled() -> None:
    data = {
        "from": "active",
        "to": "suspended",
        "reason": "incident 7",
        "revoked_tokens": [],
        "cancelled_approvals": ["apr_1", "apr_2"],
        "revoked_grants": ["grt_1"],
    }
    event = mapped(sealed("agent.suspended", "user:olga", "ops-bot", "agent:ops-bot", **data))
    assert (event["class_uid"], event["activity_id"], event["activity_name"]) == (
        3001,
        5,
        "Disable",
    )
    assert event["user"] == {
        "uid": "agent:ops-bot",
        "name": "ops-bot",
        "type_id": 4,
        "type": "Service",
    }
    assert event["ai_agent"]["uid"] == "ops-bot"
    assert event["severity_id"] == 3
    assert event["message"] == (
        "active -> suspended: incident 7; 0 token(s) revoked, 2 approval(s) cancelled, "
        "1 grant(s) revoked"
    )


def test_a_jit_grant_is_an_authorize_session_bounded_in_time() -> None:
    grant = {
        "id": "grt_1",
        "agent": "ops-bot",
        "role": "restarter",
        "policy": "Binding/restarter-eligible",
        "approval": "apr_3",
        "issued_at": "2026-12-06T12:30:15.123456Z",
        "expires_at": "2026-12-06T13:00:15.123456Z",
        "status": "active",
    }
    event = mapped(sealed("grant.issued", "user:opal", "ops-bot", "grt_1", grant=grant))
    assert (event["class_uid"], event["activity_id"]) == (3003, 3)
    assert event["privileges"] == ["restarter"]
    assert event["session"]["uid"] == "grt_1"
    assert event["session"]["expiration_time"] - event["session"]["created_time"] == 30 * 60_000
    assert event["user"]["uid"] == "agent:ops-bot"
    refused = mapped(
        sealed(
            "grant.refused",
            "user:opal",
            "ops-bot",
            "apr_4",
            approval={"id": "apr_4", "agent": "ops-bot", "role": "reviewer", "policy": "B/x"},
            code="separation_of_duty",
        )
    )
    assert (refused["status_id"], refused["status_detail"]) == (2, "separation_of_duty")
    assert refused["privileges"] == ["reviewer"]


def test_a_refused_token_is_a_failed_logon() -> None:
    event = mapped(
        sealed("auth.failed", "anonymous", None, None, code="token_expired", where="GET /v1/x")
    )
    assert (event["class_uid"], event["activity_name"], event["status_id"]) == (3002, "Logon", 2)
    assert event["status_detail"] == "token_expired"
    assert "ai_agent" not in event


def test_a_type_this_version_does_not_know_is_a_base_event_not_dropped() -> None:
    event = mapped(sealed("future.thing", "system", "ops-bot", None, x=1))
    assert (event["class_uid"], event["activity_id"], event["activity_name"]) == (
        0,
        99,
        "future.thing",
    )
    assert event["metadata"]["event_code"] == "future.thing"
    assert '"agent":"ops-bot"' in event["raw_data"]


def test_something_that_is_not_a_record_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="not an audit record: no seq, leaf_hash"):
        to_ocsf({"v": 1, "at": "x", "type": "decision", "actor": "system"}, product_version="1")
    record = sealed("decision", "system", None, None)
    for field, value in (("seq", "7"), ("seq", True), ("at", "yesterday"), ("at", None)):
        with pytest.raises(InvalidInput, match="not an audit record: seq"):
            to_ocsf({**record, field: value}, product_version="1")


def test_every_documented_record_type_has_a_class() -> None:
    table = (DOCS / "audit-log.md").read_text(encoding="utf-8").split("## The record format")[0]
    documented = set()
    for row in table.splitlines():
        first = row.split("|")[1] if row.startswith("|") else ""
        documented.update(re.findall(r"`([a-z_]+(?:\.[a-z_]+)?)`", first))
    documented -= {"type"}
    assert documented == set(CLASS_OF)
    assert set(CLASS_OF.values()) == {3001, 3002, 3003, 3004, 6003}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = [
    "request",
    "decision",
    "code",
    "reasons",
    "approval",
    "grant",
    "changes",
    "reason",
    "from",
    "to",
    "count",
    "since",
    "expires_at",
    "credential",
    "principal",
    "principal_kind",
    "findings",
    "vote",
    "revision",
    "activated",
    "name",
    "where",
]


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([*sorted(CLASS_OF), "future.thing"]),
    agent=st.none() | st.sampled_from(["ops-bot", "copilot"]),
    subject=st.none() | st.text(min_size=1, max_size=10),
    data=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6),
)
def test_any_data_under_any_type_maps_without_crashing(
    kind: str, agent: str | None, subject: str | None, data: dict[str, Any]
) -> None:
    """Records written by another version (or edited) have data of any shape: the mapping
    still answers an event that keeps the link to its record, never an exception."""
    record = sealed(kind, "system", agent, subject, **data)
    event = to_ocsf(record, product_version="1")
    assert event["metadata"]["uid"] == record["leaf_hash"]
    assert event["class_uid"] == CLASS_OF.get(kind, 0)
    assert problems(event) == []
