"""``/v1/audit``: query, verify, checkpoints, evidence bundles and the public key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from charter.audit.keychain import chain_to_json
from charter.audit.ocsf import to_ocsf
from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.identity.names import AGENT_ID_PATTERN
from charter.server.deps import Caller, Wired
from charter.service.audit import MAX_PAGE
from charter.storage.keyfile import public_key_pem
from charter.storage.ports import AuditQuery
from charter.version import __version__
from charter.wire import UtcDateTime
from charter.wire.audit import (
    AuditEventsPage,
    AuditFormat,
    AuditPage,
    AuditVerified,
    CheckpointOut,
    EvidenceIn,
)
from charter.wire.pagination import bad_cursor, decode_cursor, next_cursor

__all__ = ["router"]

router = APIRouter(prefix="/v1/audit", tags=["audit"])

RecordType = Annotated[str, Query(max_length=64, pattern=r"^[a-z0-9_.]+$")]


def _after_seq(cursor: str | None) -> int:
    value = decode_cursor(cursor)
    if value is None:
        return -1
    if not value.isdigit() or len(value) > 18:
        raise bad_cursor()
    return int(value)


@router.get("")
def query_audit(
    services: Wired,
    caller: Caller,
    agent: Annotated[str | None, Query(pattern=AGENT_ID_PATTERN, max_length=63)] = None,
    type: Annotated[list[RecordType] | None, Query(max_length=20)] = None,
    since: UtcDateTime | None = None,
    until: UtcDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    after: Annotated[int | None, Query(ge=-1, le=2**62)] = None,
    format: AuditFormat = AuditFormat.RECORDS,
) -> AuditPage | AuditEventsPage:
    """Records in sequence order, filtered by agent, type and time range [since, until).

    ``cursor`` continues a listing; ``after`` starts after a known sequence number (for
    following the log), and the two cannot be combined. ``format=ocsf`` answers each
    record as an OCSF event instead (docs/ocsf.md).
    """
    if cursor is not None and after is not None:
        raise InvalidInput("give either cursor or after, not both", code=ErrorCode.CURSOR_AND_AFTER)
    records = services.audit.query(
        caller,
        AuditQuery(
            agent=agent,
            types=tuple(type or ()),
            since=since,
            until=until,
            after_seq=after if after is not None else _after_seq(cursor),
            limit=limit,
        ),
    )
    cursor_out = next_cursor(records, limit, lambda record: str(record.seq))
    if format is AuditFormat.OCSF:
        return AuditEventsPage(
            events=[to_ocsf(record.to_json(), product_version=__version__) for record in records],
            next_cursor=cursor_out,
        )
    return AuditPage(records=[record.to_json() for record in records], next_cursor=cursor_out)


@router.get("/verify")
def verify_audit(services: Wired, caller: Caller) -> AuditVerified:
    """Verify the whole log; ``ok`` is false and ``problem`` names the first bad record."""
    return AuditVerified.model_validate(services.audit.verify(caller).to_json())


@router.get("/checkpoints")
def list_checkpoints(services: Wired, caller: Caller) -> list[CheckpointOut]:
    """Every signed checkpoint, oldest first."""
    return [
        CheckpointOut.model_validate(checkpoint.to_json())
        for checkpoint in services.audit.checkpoints(caller)
    ]


@router.get("/seals")
def list_seals(services: Wired, caller: Caller) -> list[dict[str, Any]]:
    """Every seal over the log's shards, oldest first (empty on a log never sharded)."""
    return [seal.to_json() for seal in services.audit.seals(caller)]


@router.post("/checkpoints", status_code=201)
def sign_checkpoint(services: Wired, caller: Caller) -> CheckpointOut | None:
    """Sign a checkpoint now (admins); null when nothing was added since the last one."""
    checkpoint = services.audit.sign_as(caller)
    return None if checkpoint is None else CheckpointOut.model_validate(checkpoint.to_json())


@router.post("/evidence")
def audit_evidence(services: Wired, caller: Caller, body: EvidenceIn) -> dict[str, Any]:
    """An evidence bundle citing ``seqs`` with inclusion proofs against the newest signed
    checkpoint covering them (auditors and admins; one is signed if none covers them)."""
    return services.evidence.bundle_as(caller, body.seqs).to_json()


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(services: Wired, caller: Caller) -> str:
    """The PEM public key that verifies checkpoint signatures."""
    return public_key_pem(services.audit.public_key_for(caller))


@router.get("/keys")
def key_chain(services: Wired, caller: Caller) -> dict[str, Any]:
    """The chain of signing keys: each rotation's link, signed by the key it retires
    (auditors and admins); verify it from the root public key."""
    links = services.audit.key_chain_for(caller)
    return {
        **chain_to_json(links),
        "current_key_id": links[-1].key_id if links else None,
    }
