"""Audit records as OCSF events, for a SIEM: a pure mapping, no SDK and no store.

``to_ocsf`` takes one record as ``GET /v1/audit`` and ``charter audit export`` show it
(the body's fields plus ``leaf_hash`` and ``tree_root``) and returns one OCSF event
(schema ``OCSF_VERSION``). Every record type maps to a class (``CLASS_OF`` says which);
a type this version does not know becomes a Base Event rather than being dropped. Each
event links back to its record (``metadata.uid`` is the leaf hash,
``metadata.sequence`` the sequence number, ``raw_data`` the canonical body), and holds
nothing the record does not: secrets stay digests and fingerprints. docs/ocsf.md has
the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from charter.audit.ocsf.activity import auth_forbidden, decision, leak_redacted
from charter.audit.ocsf.entities import fallback, managed
from charter.audit.ocsf.envelope import OCSF_VERSION, Record, millis_of
from charter.audit.ocsf.identity import account_change, authentication, grant
from charter.codes import ErrorCode
from charter.errors import InvalidInput

__all__ = ["CLASS_OF", "OCSF_VERSION", "to_ocsf"]


class _Mapper(Protocol):
    def __call__(self, record: Record, *, product_version: str) -> dict[str, Any]: ...


_MAPPERS: dict[str, _Mapper] = {
    "decision": decision,
    "auth.forbidden": auth_forbidden,
    "secret.leak_redacted": leak_redacted,
    **dict.fromkeys(
        (
            "agent.registered",
            "agent.updated",
            "agent.owner_changed",
            "agent.suspended",
            "agent.reinstated",
            "agent.retired",
            "human.added",
            "human.updated",
            "human.deactivated",
            "token.issued",
            "token.rotated",
            "token.revoked",
        ),
        account_change,
    ),
    **dict.fromkeys(
        ("auth.failed", "auth.failures_suppressed", "console.signed_in", "console.signed_out"),
        authentication,
    ),
    **dict.fromkeys(("grant.issued", "grant.revoked", "grant.expired", "grant.refused"), grant),
    **dict.fromkeys(
        (
            "approval.created",
            "approval.voted",
            "approval.approved",
            "approval.denied",
            "approval.expired",
            "approval.cancelled",
            "policy.applied",
            "policy.rolled_back",
            "review.started",
            "review.closed",
            "review.item_added",
            "review.proposed",
            "review.item_decided",
            "review.item_escalated",
            "review.item_reassigned",
            "review.item_due_soon",
            "review.item_overdue",
            "review.outcome_done",
            "webhook.added",
            "webhook.removed",
            "secret.leak_reported",
            "secret.leak_rotated",
            "audit.key_rotated",
        ),
        managed,
    ),
}

_CLASSES = {
    decision: 6003,
    auth_forbidden: 6003,
    leak_redacted: 6003,
    account_change: 3001,
    authentication: 3002,
    grant: 3003,
    managed: 3004,
}

CLASS_OF: Mapping[str, int] = {kind: _CLASSES[mapper] for kind, mapper in _MAPPERS.items()}
"""Each record type Charter writes, and the OCSF ``class_uid`` it is exported as."""

_ENVELOPE = ("v", "seq", "at", "type", "actor", "leaf_hash")


def to_ocsf(record: Mapping[str, Any], *, product_version: str) -> dict[str, Any]:
    """The OCSF event for one audit record; ``product_version`` is Charter's version.

    Raises ``InvalidInput`` for something that is not an audit record (a field of the
    body or its leaf hash missing), never a bare ``KeyError``.
    """
    missing = [name for name in _ENVELOPE if name not in record]
    if missing:
        raise InvalidInput(
            f"not an audit record: no {', '.join(missing)}", code=ErrorCode.INVALID_INPUT
        )
    seq, at = record["seq"], record["at"]
    if not isinstance(seq, int) or isinstance(seq, bool) or millis_of(at) is None:
        raise InvalidInput(
            f"not an audit record: seq {seq!r} at {at!r}", code=ErrorCode.INVALID_INPUT
        )
    mapper = _MAPPERS.get(str(record["type"]), fallback)
    return mapper(Record(record), product_version=product_version)
