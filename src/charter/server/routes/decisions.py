"""``/v1/decisions``: what an agent may request, infer and do, decided and recorded."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from charter.clock import format_time
from charter.server.deps import Caller, Wired, bearer_token, where
from charter.service import Services
from charter.service.decisions import Asked, Decided
from charter.wire import DecisionBatchIn, DecisionBatchOut, DecisionIn, DecisionOut, ResourceIn
from charter.wire.decisions import DecisionApproval, ReachIn, ReachItem, ReachOut

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
        secrets=[finding.to_json() for finding in decided.secrets],
        approval=None
        if approval is None
        else DecisionApproval(
            id=approval.id,
            kind=approval.kind.value,
            status=approval.status.value,
            expires_at=format_time(approval.expires_at),
            policy=approval.policy,
            approvers=list(approval.approvers),
            quorum=approval.quorum,
        ),
    )


def _decided(request: Request, batch: list[Asked]) -> list[Decided]:
    services: Services = request.app.state.services
    return services.decisions.decide_as(
        bearer_token(request),
        batch,
        where=where(request),
        on_caller=lambda principal: setattr(request.state, "principal", principal),
    )


def _json(body: DecisionOut | DecisionBatchOut) -> Response:
    return Response(body.model_dump_json(), media_type="application/json")


# The hot path: the token is checked and the decision made in one transaction (shared
# with concurrent decisions by group commit) and one trip to the thread pool (FastAPI
# would take one for each dependency and one for the endpoint), and the answer is
# serialised once, without being validated again on the way out.


@router.post("", response_model=DecisionOut)
async def decide(request: Request, body: DecisionIn) -> Response:
    """Decide one request; the answer comes after its audit record is committed."""
    decided = await run_in_threadpool(_decided, request, [_asked(body)])
    return _json(_out(decided[0]))


@router.post("/batch", response_model=DecisionBatchOut)
async def decide_batch(request: Request, body: DecisionBatchIn) -> Response:
    """Decide up to 100 requests in order, recorded in one transaction."""
    decided = await run_in_threadpool(_decided, request, [_asked(item) for item in body.requests])
    return _json(DecisionBatchOut(decisions=[_out(item) for item in decided]))


@router.post("/reach")
def reach(services: Wired, caller: Caller, body: ReachIn) -> ReachOut:
    """Whether the agent could ever be allowed each capability and action, for some
    resource (an upper bound, to hide what it may never do); reads only, records nothing."""
    reached = services.decisions.reach(
        caller, body.agent, [(item.capability, item.action) for item in body.actions]
    )
    return ReachOut(
        agent=reached.agent,
        policy_revision=reached.revision,
        actions=[
            ReachItem(
                capability=item.capability.value,
                action=item.action,
                possible=item.possible,
                via=None if item.via is None else item.via.value,
            )
            for item in reached.reach
        ],
    )
