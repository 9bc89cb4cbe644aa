"""``/v1/decisions``: what an agent may request, infer and do, decided and recorded."""

from __future__ import annotations

from fastapi import APIRouter, Request

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
    decision = decided.decision
    approval = decision.approval
    return DecisionOut(
        **decision.to_json(),
        decision_id=decided.decision_id,
        # Approvals are created by runtime enforcement, still to come: until then this
        # says who would approve, without an approval id.
        approval=None
        if approval is None
        else {
            "id": None,
            "status": "not_created",
            "policy": approval.policy,
            "approvers": list(approval.spec.approvers),
            "quorum": approval.spec.quorum,
        },
    )


@router.post("")
def decide(request: Request, services: Wired, caller: Caller, body: DecisionIn) -> DecisionOut:
    """Decide one request; the answer comes after its audit record is committed."""
    engine = request.app.state.policy
    return _out(services.decisions.decide(caller, engine, [_asked(body)])[0])


@router.post("/batch")
def decide_batch(
    request: Request, services: Wired, caller: Caller, body: DecisionBatchIn
) -> DecisionBatchOut:
    """Decide up to 100 requests in order, recorded in one transaction."""
    engine = request.app.state.policy
    decided = services.decisions.decide(caller, engine, [_asked(item) for item in body.requests])
    return DecisionBatchOut(decisions=[_out(item) for item in decided])
