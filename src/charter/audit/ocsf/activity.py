"""Records of calls asked of Charter, as OCSF API Activity (6003): decisions (with the
AI-operation profile's ``ai_agent``, ``delegation`` when the agent acts for a human, and
the decision and policy in ``actor.authorizations``), refused calls and masked leaks.

A decision is about the call the agent wants to make: ``api.operation`` is its action,
``resources`` its resource, and the security-control profile's ``action_id`` and
``disposition_id`` say what Charter let happen. Charter records no network addresses, so
``src_endpoint`` names the principal that asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from charter.audit.ocsf.envelope import (
    API_ACTIVITY,
    Outcome,
    Record,
    agent_ref,
    envelope,
    principal,
)

__all__ = ["auth_forbidden", "decision", "leak_redacted"]

# decision -> (status_id, status word, action_id, action, disposition_id, disposition)
_VERDICTS: dict[str, tuple[int, str | None, int, str, int, str]] = {
    "allow": (1, None, 1, "Allowed", 1, "Allowed"),
    "deny": (2, None, 2, "Denied", 2, "Blocked"),
    "approval_required": (99, "Pending", 2, "Denied", 14, "Delayed"),
    "step_up_required": (99, "Pending", 2, "Denied", 23, "Challenge"),
}
_UNKNOWN_VERDICT = (0, "Unknown", 0, "Unknown", 0, "Unknown")


def _authorizations(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One OCSF authorization per reason: the decision, and the policy document and rule
    that gave it, at the revision that decided."""
    verdict = str(data.get("decision") or "unknown")
    revision = data.get("policy_revision") or "none"
    given = data.get("reasons")
    reasons = [r for r in given if isinstance(r, Mapping)] if isinstance(given, list) else []
    if not reasons:
        reasons = [{"policy": "charter", "rule": str(data.get("code") or verdict)}]
    found = []
    for reason in reasons:
        document, rule = str(reason.get("policy")), str(reason.get("rule"))
        policy: dict[str, Any] = {
            "uid": f"{document}#{rule}",
            "name": document,
            "version": str(revision),
            "is_applied": True,
            "data": {"rule": rule, "effect": reason.get("effect"), "code": data.get("code")},
        }
        if reason.get("message"):
            policy["desc"] = str(reason["message"])
        found.append({"decision": verdict, "policy": policy})
    return found


def _severity(data: Mapping[str, Any]) -> int:
    """Informational, but a deny is low, and one over a leaked secret high."""
    if data.get("code") == "leaked_secret":
        return 4
    return 2 if data.get("decision") == "deny" else 1


def decision(record: Record, *, product_version: str) -> dict[str, Any]:
    """A ``decision`` record: the agent's call, what Charter answered, and why."""
    data = record.data
    request = data.get("request")
    asked: Mapping[str, Any] = request if isinstance(request, Mapping) else {}
    verdict = str(data.get("decision"))
    status_id, status, action_id, action, disposition_id, disposition = _VERDICTS.get(
        verdict, _UNKNOWN_VERDICT
    )
    capability = str(asked.get("capability") or "decide")
    event = envelope(
        record,
        API_ACTIVITY,
        99,
        capability,
        Outcome(status_id, _severity(data), status, str(data.get("code") or "")),
        product_version=product_version,
    )
    event["action_id"], event["action"] = action_id, action
    event["disposition_id"], event["disposition"] = disposition_id, disposition
    event["metadata"]["profiles"].append("security_control")
    if data.get("message"):
        event["message"] = str(data["message"])
    agent = record.agent or str(asked.get("agent") or "")
    on_behalf_of = asked.get("on_behalf_of")
    actor: dict[str, Any] = {"authorizations": _authorizations(data)}
    if isinstance(on_behalf_of, str) and on_behalf_of:
        # The human is the principal, the agent its delegate (OCSF's delegation model).
        actor["user"] = principal(on_behalf_of)
        actor["invoked_by"] = record.actor
        event["delegation"] = {"uid": f"{on_behalf_of}/{agent_ref(agent)}", "issuer_uid": "charter"}
    else:
        actor["user"] = principal(record.actor)
    event["actor"] = actor
    event["src_endpoint"] = {"name": record.actor}
    event["api"] = {
        "operation": str(asked.get("action") or ""),
        "request": {
            # The decision id; OCSF requires one, so a record without names its leaf.
            "uid": record.subject or str(record.fields["leaf_hash"]),
            "data": {
                "capability": asked.get("capability"),
                "fields": asked.get("fields", []),
                "context_keys": asked.get("context_keys", []),
                "context_digest": asked.get("context_digest"),
                "input_digest": asked.get("input_digest"),
                "request_digest": data.get("request_digest"),
                "secrets": asked.get("secrets", []),
            },
        },
        "response": {
            "message": verdict,
            "data": {
                "code": data.get("code"),
                "approval": data.get("approval"),
                "released_fields": data.get("released_fields", []),
                "redacted_fields": data.get("redacted_fields", []),
                "errors": data.get("errors", []),
            },
        },
    }
    if asked.get("resource"):
        event["resources"] = [{"uid": str(asked["resource"]), "name": str(asked["resource"])}]
    return event


def auth_forbidden(record: Record, *, product_version: str) -> dict[str, Any]:
    """An ``auth.forbidden`` record: an authenticated caller refused a call (HTTP 403)."""
    data = record.data
    code = str(data.get("code") or "forbidden")
    event = envelope(
        record,
        API_ACTIVITY,
        99,
        "Refuse",
        Outcome(2, 2, None, code),
        product_version=product_version,
    )
    event["action_id"], event["action"] = 2, "Denied"
    event["disposition_id"], event["disposition"] = 26, "Unauthorized"
    event["metadata"]["profiles"].append("security_control")
    event["actor"]["authorizations"] = [{"decision": code}]
    if record.subject:
        event["actor"]["user"]["credential_uid"] = record.subject
    event["src_endpoint"] = {"name": record.actor}
    event["api"] = _called(data)
    return event


def leak_redacted(record: Record, *, product_version: str) -> dict[str, Any]:
    """A ``secret.leak_redacted`` record: a registered leak masked in text a caller had
    scanned (a tool's result, through ``guard``). The findings hold no values."""
    findings = record.data.get("findings")
    findings = findings if isinstance(findings, list) else []
    event = envelope(
        record,
        API_ACTIVITY,
        99,
        "Redact",
        Outcome(1, 4, None, "leaked_secret"),
        product_version=product_version,
    )
    event["action_id"], event["action"] = 4, "Modified"
    event["disposition_id"], event["disposition"] = 11, "Corrected"
    event["metadata"]["profiles"].append("security_control")
    event["message"] = f"{len(findings)} registered leaked secret(s) masked"
    event["src_endpoint"] = {"name": record.actor}
    event["api"] = {
        "operation": "POST /v1/secrets/scan",
        "response": {"message": "masked", "data": {"findings": findings}},
    }
    return event


def _called(data: Mapping[str, Any]) -> dict[str, Any]:
    """``where`` (``METHOD /path``) as the API call."""
    return {"operation": str(data.get("where") or "")}
