"""Records about identities, as OCSF's IAM classes: agents' and humans' lifecycle and
their tokens as Account Change (3001; the kill switch is ``Disable``), failed
authentications and console sign-ins as Authentication (3002), and JIT grants as
Authorize Session (3003: a grant is a role held for a bounded time, like a session).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from charter.audit.ocsf.envelope import (
    ACCOUNT_CHANGE,
    AUTHENTICATION,
    AUTHORIZE_SESSION,
    Outcome,
    Record,
    agent_ref,
    count_of,
    envelope,
    millis_of,
    principal,
    whole,
)

__all__ = ["account_change", "authentication", "grant"]

# record type -> (activity_id, activity_name, severity_id)
_ACCOUNT: dict[str, tuple[int, str, int]] = {
    "agent.registered": (1, "Create", 1),
    "agent.updated": (99, "Update", 1),
    "agent.owner_changed": (99, "Change Owner", 2),
    "agent.suspended": (5, "Disable", 3),
    "agent.reinstated": (2, "Enable", 2),
    "agent.retired": (6, "Delete", 3),
    "human.added": (1, "Create", 1),
    "human.updated": (99, "Update", 1),
    "human.deactivated": (5, "Disable", 2),
    "token.issued": (99, "Issue Token", 1),
    "token.rotated": (99, "Rotate Token", 1),
    "token.revoked": (99, "Revoke Token", 1),
}


def _account(record: Record) -> dict[str, Any]:
    """The account the record changed: the agent, the human, or a token's holder."""
    if record.type.startswith("token."):
        holder = record.data.get("principal")
        kind = record.data.get("principal_kind")
        ref = str(holder) if kind != "agent" else agent_ref(str(holder))
        user = principal(ref)
        if record.subject:
            user["credential_uid"] = record.subject
        return user
    if record.type.startswith("agent.") and record.agent:
        return principal(agent_ref(record.agent))
    return principal(record.subject or "")


def _summary(record: Record) -> str | None:
    data = record.data
    if record.type in ("agent.suspended", "agent.reinstated", "agent.retired"):
        return (
            f"{data.get('from')} -> {data.get('to')}: {data.get('reason')}; "
            f"{count_of(data.get('revoked_tokens'))} token(s) revoked, "
            f"{count_of(data.get('cancelled_approvals'))} approval(s) cancelled, "
            f"{count_of(data.get('revoked_grants'))} grant(s) revoked"
        )
    if record.type == "agent.owner_changed":
        return f"owner {data.get('from')} -> {data.get('to')}"
    changes = data.get("changes")
    if isinstance(changes, Mapping):
        return "changed: " + ", ".join(sorted(changes))
    if record.type == "human.deactivated":
        return str(data.get("reason") or "") or None
    if record.type == "token.revoked":
        return str(data.get("reason") or "") or None
    return None


def account_change(record: Record, *, product_version: str) -> dict[str, Any]:
    """An agent's or human's lifecycle, or a token issued, rotated or revoked."""
    activity_id, activity_name, severity = _ACCOUNT[record.type]
    event = envelope(
        record,
        ACCOUNT_CHANGE,
        activity_id,
        activity_name,
        Outcome(severity_id=severity),
        product_version=product_version,
    )
    event["user"] = _account(record)
    message = _summary(record)
    if message:
        event["message"] = message
    return event


def authentication(record: Record, *, product_version: str) -> dict[str, Any]:
    """A refused token, a flood of them counted, or a console sign-in or sign-out."""
    data = record.data
    service = {"name": "Charter"}
    if record.type == "console.signed_in" or record.type == "console.signed_out":
        signed_in = record.type == "console.signed_in"
        event = envelope(
            record,
            AUTHENTICATION,
            1 if signed_in else 2,
            "Logon" if signed_in else "Logoff",
            Outcome(),
            product_version=product_version,
        )
        event["user"] = principal(record.actor)
        session: dict[str, Any] = {"uid": record.subject or "", "issuer": "Charter"}
        if signed_in:
            session["created_time"] = event["time"]
            _put(session, "expiration_time", millis_of(data.get("expires_at")))
            if data.get("credential"):
                session["credential_uid"] = str(data["credential"])
        event["session"] = session
        event["service"] = service
        return event
    code = str(data.get("code") or "auth_failed")
    event = envelope(
        record,
        AUTHENTICATION,
        1,
        "Logon",
        Outcome(2, 2, None, code),
        product_version=product_version,
    )
    event["service"] = service
    if record.type == "auth.failures_suppressed":
        event["user"] = principal(record.actor)
        event["count"] = whole(data.get("count"))
        _put(event, "start_time", millis_of(data.get("since")))
        event["message"] = f"{event['count']} failed authentication(s) counted, not recorded"
        event["status_detail"] = "failures_suppressed"
        return event
    user = principal(agent_ref(record.agent) if record.agent else record.actor)
    if record.subject:
        user["credential_uid"] = record.subject
    event["user"] = user
    event["message"] = f"{code} at {data.get('where')}"
    return event


# record type -> (activity_id, activity_name, status_id, severity_id)
_GRANT: dict[str, tuple[int, str, int, int]] = {
    "grant.issued": (3, "Assign Roles", 1, 2),
    "grant.revoked": (99, "Revoke Roles", 1, 1),
    "grant.expired": (99, "Expire Roles", 1, 1),
    "grant.refused": (99, "Refuse Roles", 2, 2),
}


def grant(record: Record, *, product_version: str) -> dict[str, Any]:
    """A JIT grant issued, revoked, expired, or refused at its last check."""
    data = record.data
    activity_id, activity_name, status_id, severity = _GRANT[record.type]
    held = data.get("grant") if isinstance(data.get("grant"), Mapping) else None
    approval = data.get("approval") if isinstance(data.get("approval"), Mapping) else None
    source: Mapping[str, Any] = held or approval or {}
    code = str(data.get("code") or "") or None
    event = envelope(
        record,
        AUTHORIZE_SESSION,
        activity_id,
        activity_name,
        Outcome(status_id, severity, None, code),
        product_version=product_version,
    )
    role = str(source.get("role") or "")
    event["privileges"] = [role]
    event["user"] = principal(agent_ref(str(source.get("agent") or record.agent or "")))
    if held is not None:
        session: dict[str, Any] = {"uid": str(held.get("id")), "issuer": "Charter"}
        _put(session, "created_time", millis_of(held.get("issued_at")))
        _put(session, "expiration_time", millis_of(held.get("expires_at")))
        event["session"] = session
    policy = source.get("policy")
    approval_id = held.get("approval") if held is not None else source.get("id")
    event["message"] = f"role {role} (binding {policy}, approval {approval_id})"
    if data.get("reason"):
        event["message"] += f": {data['reason']}"
    return event


def _put(target: dict[str, Any], key: str, value: int | None) -> None:
    if value is not None:
        target[key] = value
