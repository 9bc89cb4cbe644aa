"""Codes are ``StrEnum`` members, but the wire and the audit log hold the bare strings.

A member must serialise exactly as its value did when codes were string literals: an
audit record's body (and so its hashes), an HTTP error body and an API answer are the
same bytes whichever spelling made them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from charter.audit.merkle import Frontier
from charter.audit.records import AuditEntry, body_of, seal
from charter.codes import DecisionCode, ErrorCode
from charter.errors import Conflict, PermissionDenied
from charter.server.errors import error_response
from charter.wire import DecisionOut

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _entry(code: str) -> AuditEntry:
    return AuditEntry(
        type="auth.refused",
        actor="user:alice",
        at=AT,
        data={"code": code, "codes": [code], code: "as a key too", "where": "GET /v1/agents"},
    )


@pytest.mark.parametrize("code", [ErrorCode.FORBIDDEN, DecisionCode.NO_PERMISSION])
def test_an_audit_record_body_holds_the_bare_string(code: ErrorCode | DecisionCode) -> None:
    plain = str(code)
    assert type(plain) is str
    body = body_of(_entry(code), 7)
    assert body == body_of(_entry(plain), 7)
    assert f'"code":"{plain}"' in body
    sealed, _ = seal(_entry(code), Frontier(0, ()))
    literal, _ = seal(_entry(plain), Frontier(0, ()))
    assert (sealed.body, sealed.leaf_hash, sealed.tree_root) == (
        literal.body,
        literal.leaf_hash,
        literal.tree_root,
    )
    assert type(sealed.data()["code"]) is str


def test_an_http_error_body_holds_the_bare_string() -> None:
    named = error_response(409, ErrorCode.LAST_ADMIN, "no", help="give another human admin")
    spelled = error_response(409, "last_admin", "no", help="give another human admin")
    assert bytes(named.body) == bytes(spelled.body)
    assert json.loads(bytes(named.body)) == {
        "error": {"code": "last_admin", "message": "no", "help": "give another human admin"}
    }


def test_an_error_keeps_its_code_as_a_string() -> None:
    error = Conflict("no", code=ErrorCode.LAST_ADMIN)
    assert error.code == "last_admin"
    assert repr(error) == "Conflict(code='last_admin', message='no')"
    assert json.dumps(error.to_dict()) == '{"code": "last_admin", "message": "no"}'
    assert PermissionDenied("no").code == "forbidden"
    assert json.dumps(PermissionDenied("no").to_dict()) == '{"code": "forbidden", "message": "no"}'


def test_an_api_answer_holds_the_bare_string() -> None:
    fields: dict[str, Any] = {
        "decision": "deny",
        "decision_id": "dec_1",
        "policy_revision": None,
        "reasons": [],
        "errors": [],
        "released_fields": [],
        "redacted_fields": [],
        "approval": None,
        "message": None,
    }
    named = DecisionOut(code=DecisionCode.NO_PERMISSION, **fields)
    spelled = DecisionOut(code="no_permission", **fields)
    assert named.model_dump_json() == spelled.model_dump_json()
    assert '"code":"no_permission"' in named.model_dump_json()
    assert json.dumps(named.model_dump()) == json.dumps(spelled.model_dump())


def test_the_two_kinds_are_plain_snake_case_and_distinct_within() -> None:
    for kind in (ErrorCode, DecisionCode):
        values = [code.value for code in kind]
        assert len(values) == len(set(values))
        assert all(value.replace("_", "").isalpha() and value.islower() for value in values)
