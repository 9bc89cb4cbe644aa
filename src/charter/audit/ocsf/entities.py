"""Records about the things Charter governs with, as OCSF Entity Management (3004):
approvals and their votes, policy revisions, access reviews, webhooks, reported leaks
and the audit log's signing keys. OCSF has no class of its own for these; Entity
Management ("create, read, update, delete on a managed entity") fits each, with the
entity's Charter type and id in ``entity`` and the record's details in ``entity.data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from charter.audit.ocsf.envelope import (
    BASE_EVENT,
    ENTITY_MANAGEMENT,
    Outcome,
    Record,
    agent_ref,
    envelope,
)

__all__ = ["fallback", "managed"]

# record type -> (entity type, activity_id, activity_name, severity_id)
_ENTITIES: dict[str, tuple[str, int, str, int]] = {
    "approval.created": ("approval", 1, "Create", 1),
    "approval.voted": ("approval", 99, "Vote", 1),
    "approval.approved": ("approval", 99, "Approve", 1),
    "approval.denied": ("approval", 99, "Deny", 1),
    "approval.expired": ("approval", 99, "Expire", 1),
    "approval.cancelled": ("approval", 99, "Cancel", 1),
    "policy.applied": ("policy_revision", 10, "Activate", 2),
    "policy.rolled_back": ("policy_revision", 10, "Activate", 2),
    "review.started": ("review_campaign", 1, "Create", 1),
    "review.closed": ("review_campaign", 99, "Close", 1),
    "review.item_added": ("review_item", 1, "Create", 1),
    "review.proposed": ("review_proposal", 1, "Create", 1),
    "review.item_decided": ("review_item", 99, "Decide", 1),
    "review.item_escalated": ("review_item", 99, "Escalate", 1),
    "review.item_reassigned": ("review_item", 5, "Move", 1),
    "review.item_due_soon": ("review_item", 99, "Due Soon", 1),
    "review.item_overdue": ("review_item", 99, "Overdue", 2),
    "review.outcome_done": ("review_item", 3, "Update", 1),
    "webhook.added": ("webhook", 1, "Create", 2),
    "webhook.removed": ("webhook", 4, "Delete", 2),
    "secret.leak_reported": ("leaked_secret", 1, "Create", 4),
    "secret.leak_rotated": ("leaked_secret", 3, "Update", 1),
    "audit.key_rotated": ("audit_signing_key", 99, "Rotate", 2),
}

_VOTES = {"approval.approved": "approve", "approval.denied": "deny"}


def _policy_created(record: Record) -> tuple[int, str]:
    """A policy applied but not activated (it never is, today) is only created."""
    if record.type == "policy.applied" and record.data.get("activated") is False:
        return 1, "Create"
    return 10, "Activate"


def _entity(record: Record, kind: str) -> dict[str, Any]:
    data = dict(record.data)
    entity: dict[str, Any] = {"type": kind, "uid": record.subject or "", "data": data}
    approval = data.get("approval")
    if kind == "approval" and isinstance(approval, Mapping):
        entity["name"] = " ".join(
            str(approval.get(key)) for key in ("capability", "action", "resource")
        )
    elif kind == "policy_revision":
        entity["type_id"], entity["type"] = 5, "Policy"
        entity["name"] = "Charter policy"
        entity["version"] = str(data.get("revision") or record.subject or "")
        entity["uid"] = str(data.get("revision") or record.subject or "")
    elif kind.startswith("review_"):
        entity["name"] = str(data.get("name") or data.get("source") or record.subject or "")
    elif kind == "webhook":
        entity["name"] = str(data.get("url_origin") or "")
    elif kind == "leaked_secret":
        entity["name"] = str(data.get("type") or "secret")
    elif kind == "audit_signing_key":
        entity["name"] = "audit signing key"
        entity["uid"] = str(data.get("key_id") or record.subject or "")
    if not entity.get("name"):
        entity["name"] = record.subject or kind
    return entity


def managed(record: Record, *, product_version: str) -> dict[str, Any]:
    """An approval, policy revision, review, webhook or reported leak created or changed."""
    kind, activity_id, activity_name, severity = _ENTITIES[record.type]
    if kind == "policy_revision":
        activity_id, activity_name = _policy_created(record)
    event = envelope(
        record,
        ENTITY_MANAGEMENT,
        activity_id,
        activity_name,
        Outcome(severity_id=severity),
        product_version=product_version,
    )
    event["entity"] = _entity(record, kind)
    approval = record.data.get("approval")
    if isinstance(approval, Mapping):
        _approval(event, record, approval)
    return event


def _approval(event: dict[str, Any], record: Record, approval: Mapping[str, Any]) -> None:
    """What an approval's record adds: the vote as an authorization, and the human a
    step-up confirmation is for as the delegating principal."""
    vote = record.data.get("vote") or _VOTES.get(record.type)
    if vote:
        event["actor"]["authorizations"] = [
            {
                "decision": str(vote),
                "policy": {
                    "uid": str(approval.get("policy") or ""),
                    "name": str(approval.get("policy") or ""),
                    "is_applied": True,
                },
            }
        ]
    if record.data.get("reason"):
        event["comment"] = str(record.data["reason"])
    on_behalf_of = approval.get("on_behalf_of")
    agent = approval.get("agent") or record.agent
    if isinstance(on_behalf_of, str) and on_behalf_of and agent:
        event["delegation"] = {
            "uid": f"{on_behalf_of}/{agent_ref(str(agent))}",
            "issuer_uid": "charter",
        }


def fallback(record: Record, *, product_version: str) -> dict[str, Any]:
    """A record type this version does not know (written by a newer server): exported as
    an OCSF Base Event named by its type, so nothing in the log is silently dropped. A
    Base Event has no ``actor`` (but for the host profile): who did it is in ``raw_data``."""
    event = envelope(
        record, BASE_EVENT, 99, record.type, Outcome(), product_version=product_version
    )
    del event["actor"]
    if event.pop("ai_agent", None) is not None:  # nor the AI-operation profile
        event["metadata"]["profiles"].remove("ai_operation")
    return event
