"""The API's bodies for the audit log: pages, verification, checkpoints."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from charter.wire.base import InModel

__all__ = [
    "AuditEventsPage",
    "AuditFormat",
    "AuditPage",
    "AuditProblem",
    "AuditVerified",
    "CheckpointOut",
    "EvidenceIn",
]


class AuditPage(BaseModel):
    """A page of audit records (each as exported: body fields plus hashes)."""

    records: list[dict[str, Any]]
    next_cursor: str | None


class AuditFormat(StrEnum):
    """How ``GET /v1/audit`` answers: the records as stored, or as OCSF events."""

    RECORDS = "records"
    OCSF = "ocsf"


class AuditEventsPage(BaseModel):
    """A page of audit records as OCSF events (``GET /v1/audit?format=ocsf``), one per
    record, in the same order and with the same cursor as ``AuditPage``."""

    events: list[dict[str, Any]]
    next_cursor: str | None


class AuditProblem(BaseModel):
    """The first thing found wrong in the log: a stable code, the record, and why (on a
    sharded log also ``shard``: the shard, ``seq`` then being the place in it)."""

    model_config = ConfigDict(extra="allow")

    code: str
    seq: int | None
    message: str


class AuditVerified(BaseModel):
    """The outcome of verifying the whole log (on a sharded log also ``shards``, each
    shard's figures, and ``seals_verified``)."""

    model_config = ConfigDict(extra="allow")

    ok: bool
    records: int
    root: str
    checkpoints_verified: int
    last_checkpoint_size: int | None
    unsealed_records: int
    problem: AuditProblem | None
    notes: list[str]


class CheckpointOut(BaseModel):
    """A signed checkpoint as exported: the tree's size and root, when, and the
    signature (hex) by the key ``key_id``."""

    tree_size: int
    root: str
    at: str
    key_id: str
    signature: str


class EvidenceIn(InModel):
    """The audit records an evidence bundle should cite, by sequence number."""

    seqs: list[Annotated[StrictInt, Field(ge=0, le=2**62)]] = Field(min_length=1, max_length=1000)
