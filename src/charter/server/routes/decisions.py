"""``/v1/decisions``: what an agent may request, infer and do, decided and recorded."""

from __future__ import annotations

from fastapi import APIRouter

from charter.audit.records import format_time
from charter.server.deps import Caller, Wired
from charter.service.decisions import Asked, Decided
from charter.wire import DecisionBatchIn, DecisionBatchOut, DecisionIn, DecisionOut, ResourceIn

__all__ = ["router"]

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])


def _asked(body: DecisionIn) -> Asked:
    resource = body.resource if isinstance(body.resource, ResourceIn) else None
    return Asked(
        capability=body.capability,
        action=body.action,
        resource=resource.id if resource is not None else str(body.resource),
        agent=body.agent,
        resource_attributes=dict(resource.attributes) if resource is not None else {},
        fields=tuple(body.fields),
        context=dict(body.context),
        input=body.input,
    )


def _out(decided: Decided) -> DecisionOut:
    approval = decided.approval
    return DecisionOut(
        **decided.decision.to_json(),
        decision_id=decided.decision_id,
        approval=None
        if approval is None
        else {
            "id": approval.id,
            "kind": approval.kind.value,
            "status": approval.status.value,
            "expires_at": format_time(approval.expires_at),
            "policy": approval.policy,
            "approvers": list(approval.approvers),
            "quorum": approval.quorum,
        },
    )


@router.post("")
def decide(services: Wired, caller: Caller, body: DecisionIn) -> DecisionOut:
    """Decide one request; the answer comes after its audit record is committed."""
    return _out(services.decisions.decide(caller, [_asked(body)])[0])


@router.post("/batch")
def decide_batch(services: Wired, caller: Caller, body: DecisionBatchIn) -> DecisionBatchOut:
    """Decide up to 100 requests in order, recorded in one transaction."""
    decided = services.decisions.decide(caller, [_asked(item) for item in body.requests])
    return DecisionBatchOut(decisions=[_out(item) for item in decided])
