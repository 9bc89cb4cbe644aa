"""What every OCSF event Charter exports carries, whatever its class: the class and
activity numbers, the time, the metadata that links the event back to its audit record,
and the principals (humans, agents, Charter itself) in OCSF's objects.

The link back is what makes an exported event auditable: ``metadata.uid`` is the
record's leaf hash, ``metadata.sequence`` its place in the log and ``raw_data`` the
record's canonical body, so SHA-256(``0x00`` ‖ ``raw_data``) must equal
``metadata.uid``, and the leaf hash is what the signed checkpoints cover.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from charter.audit.records import canonical_json

__all__ = [
    "OCSF_VERSION",
    "OcsfClass",
    "Outcome",
    "Record",
    "agent_ref",
    "ai_agent",
    "count_of",
    "envelope",
    "millis",
    "millis_of",
    "principal",
    "whole",
]

OCSF_VERSION = "1.9.0-dev"
"""The OCSF schema version the events follow (the first with the ``ai_agent`` object)."""

_HASHES = ("leaf_hash", "tree_root")


@dataclass(frozen=True, slots=True)
class OcsfClass:
    """An OCSF event class: its number, name and category."""

    uid: int
    name: str
    category_uid: int
    category_name: str


API_ACTIVITY = OcsfClass(6003, "API Activity", 6, "Application Activity")
ACCOUNT_CHANGE = OcsfClass(3001, "Account Change", 3, "Identity & Access Management")
AUTHENTICATION = OcsfClass(3002, "Authentication", 3, "Identity & Access Management")
AUTHORIZE_SESSION = OcsfClass(3003, "Authorize Session", 3, "Identity & Access Management")
ENTITY_MANAGEMENT = OcsfClass(3004, "Entity Management", 3, "Identity & Access Management")
BASE_EVENT = OcsfClass(0, "Base Event", 0, "Uncategorized")

SEVERITIES = {1: "Informational", 2: "Low", 3: "Medium", 4: "High"}
STATUSES = {1: "Success", 2: "Failure", 99: "Other"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a record's change went: OCSF's status and severity."""

    status_id: int = 1
    severity_id: int = 1
    status: str | None = None
    """Only with ``status_id`` 99: the word for it."""
    detail: str | None = None
    """A Charter code (``token_expired``, ``no_permission``, ...)."""


@dataclass(frozen=True, slots=True)
class Record:
    """An audit record as ``GET /v1/audit`` and ``charter audit export`` show it: the
    body's fields plus ``leaf_hash`` and ``tree_root``."""

    fields: Mapping[str, Any]

    @property
    def type(self) -> str:
        return str(self.fields["type"])

    @property
    def actor(self) -> str:
        return str(self.fields["actor"])

    @property
    def agent(self) -> str | None:
        agent = self.fields.get("agent")
        return agent if isinstance(agent, str) else None

    @property
    def subject(self) -> str | None:
        subject = self.fields.get("subject")
        return subject if isinstance(subject, str) else None

    @property
    def data(self) -> Mapping[str, Any]:
        data = self.fields.get("data")
        return data if isinstance(data, Mapping) else {}

    def body(self) -> str:
        """The canonical body, byte for byte what the leaf hash covers."""
        return canonical_json({k: v for k, v in self.fields.items() if k not in _HASHES})


def millis(at: str) -> int:
    """An audit time (``YYYY-MM-DDTHH:MM:SS.ffffffZ``) as OCSF's epoch milliseconds;
    ``ValueError`` if it is not one."""
    moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def millis_of(value: Any) -> int | None:
    """A time from a record's data in epoch milliseconds, or None when it is not one:
    data written by another version may hold anything, and the event is still due."""
    if not isinstance(value, str):
        return None
    try:
        return millis(value)
    except ValueError:
        return None


def count_of(value: Any) -> int:
    """How many items a list in a record's data holds (0 when it is not a list)."""
    return len(value) if isinstance(value, list) else 0


def whole(value: Any) -> int:
    """An integer from a record's data (0 when it is not one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def principal(ref: str) -> dict[str, Any]:
    """A Charter principal (``user:x``, ``agent:x``, ``system``, ``anonymous``) as an
    OCSF user: humans are users, agents services, Charter itself the system."""
    kind, _, name = ref.partition(":")
    if kind == "user" and name:
        return {"uid": ref, "name": name, "type_id": 1, "type": "User"}
    if kind == "agent" and name:
        return {"uid": ref, "name": name, "type_id": 4, "type": "Service"}
    if kind == "system":
        return {"uid": ref, "name": ref, "type_id": 3, "type": "System"}
    return {"uid": ref, "name": ref, "type_id": 0, "type": "Unknown"}


def agent_ref(agent: str) -> str:
    """An agent id as a principal reference."""
    return f"agent:{agent}"


def ai_agent(agent: str) -> dict[str, Any]:
    """The AI-operation profile's ``ai_agent``: the governed agent the record concerns.
    Charter does not know the agent's framework or model, so neither is claimed."""
    return {"uid": agent, "name": agent, "type_id": 0, "type": "Unknown"}


def envelope(
    record: Record,
    ocsf_class: OcsfClass,
    activity_id: int,
    activity_name: str,
    outcome: Outcome,
    *,
    product_version: str,
) -> dict[str, Any]:
    """The fields every exported event has, before its class adds its own."""
    fields = record.fields
    body = record.body()
    event: dict[str, Any] = {
        "class_uid": ocsf_class.uid,
        "class_name": ocsf_class.name,
        "category_uid": ocsf_class.category_uid,
        "category_name": ocsf_class.category_name,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": ocsf_class.uid * 100 + activity_id,
        "type_name": f"{ocsf_class.name}: {activity_name}",
        "time": millis(str(fields["at"])),
        "severity_id": outcome.severity_id,
        "severity": SEVERITIES[outcome.severity_id],
        "status_id": outcome.status_id,
        "status": outcome.status or STATUSES[outcome.status_id],
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "Charter", "vendor_name": "Charter", "version": product_version},
            "log_name": "audit",
            "log_provider": "Charter",
            "event_code": record.type,
            "uid": str(fields["leaf_hash"]),
            "sequence": int(fields["seq"]),
            "original_time": str(fields["at"]),
            "profiles": [],
        },
        "raw_data": body,
        "raw_data_size": len(body.encode("utf-8")),
        "unmapped": {"tree_root": fields.get("tree_root"), "record_version": fields.get("v")},
        "actor": {"user": principal(record.actor)},
    }
    if outcome.detail:
        event["status_detail"] = outcome.detail
    if record.subject is not None:
        event["metadata"]["correlation_uid"] = record.subject
    if record.agent is not None:
        event["ai_agent"] = ai_agent(record.agent)
        event["metadata"]["profiles"].append("ai_operation")
    return event
