"""``/v1/decisions``: what an agent may request, infer and do, decided and recorded."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from charter.clock import format_time
from charter.server.deps import Caller, Wired, bearer_of, bearer_token, where
from charter.server.json_body import parsed_body
from charter.service import Services
from charter.service.decisions import Asked, Decided
from charter.wire import DecisionBatchIn, DecisionBatchOut, DecisionIn, DecisionOut, ResourceIn
from charter.wire.decisions import DecisionApproval, ReachIn, ReachItem, ReachOut

__all__ = ["FAST_ROUTE", "fast_route", "router"]

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


async def _decided(request: Request, batch: list[Asked]) -> list[Decided]:
    services: Services = request.app.state.services
    return await services.decisions.decide_as_async(
        bearer_token(request),
        batch,
        where=where(request),
        on_caller=lambda principal: setattr(request.state, "principal", principal),
    )


def _json(body: DecisionOut | DecisionBatchOut) -> Response:
    return Response(body.model_dump_json(), media_type="application/json")


# The hot path: the token is checked and the decision made in one transaction (shared
# with concurrent decisions by group commit, written by the committer's one thread while
# the request waits on the event loop, with no thread of its own; FastAPI would take a
# thread for each dependency and one for the endpoint), and the answer is serialised
# once, without being validated again on the way out.


@router.post("", response_model=DecisionOut)
async def decide(request: Request, body: DecisionIn) -> Response:
    """Decide one request; the answer comes after its audit record is committed."""
    decided = await _decided(request, [_asked(body)])
    return _json(_out(decided[0]))


# Faster still, for the common case: a well-formed decision request skips the framework.
# ``fast_route`` answers ``POST /v1/decisions`` ahead of every other route when the body is
# JSON (as ``Content-Type`` says) that ``FiniteJson`` already parsed and that validates as
# ``DecisionIn``: no route table scanned, no dependency resolved, the body parsed once.
# Anything else (another content type, a body it did not parse, one that does not
# validate) is handed to ``decide`` above, which answers it exactly as it always has; so
# do errors, which reach the app's error handlers as they would from ``decide``.

_PATH = "/v1/decisions"
FAST_ROUTE = "decide_fast"
"""The fast path's route name: a shortcut to ``decide``, which is the route documented."""
_DECIDED_FAST = "charter.decided_fast"


def fast_route(app: ASGIApp) -> Route:
    """The fast path for ``POST /v1/decisions``, to put first among ``app``'s routes;
    what it declines goes to ``app`` (the router) again, to the route it bypasses."""
    return _FastRoute(
        _PATH, _FastDecide(app), methods=["POST"], name=FAST_ROUTE, include_in_schema=False
    )


class _FastDecide:
    """The ASGI app behind ``fast_route``."""

    def __init__(self, router: ASGIApp) -> None:
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        says_json, authorization = _headers(scope)
        body = _well_formed(scope) if says_json else None
        if body is None:
            scope[_DECIDED_FAST] = False
            await self.router(scope, receive, send)
            return
        # What ``_decided`` reads through a ``Request``, read from the scope at once.
        services: Services = scope["app"].state.services
        state = scope.setdefault("state", {})  # a Request's ``state``
        decided = await services.decisions.decide_as_async(
            bearer_of(authorization),
            [_asked(body)],
            where=_where(scope),
            on_caller=lambda principal: state.__setitem__("principal", principal),
        )
        await Response(_answer(decided[0]), media_type="application/json")(scope, receive, send)


def _answer(decided: Decided) -> bytes:
    """``_out(decided).model_dump_json()``, the same bytes, without building and checking
    a ``DecisionOut`` first: its fields in their order, serialised by orjson (which writes
    what pydantic writes: compact, UTF-8, the same escapes and numbers)."""
    decision, approval = decided.decision, decided.approval
    return orjson.dumps(
        {
            "decision": decision.effect.value,
            "code": decision.code.value,
            "decision_id": decided.decision_id,
            "policy_revision": decision.policy_revision or None,
            "reasons": [reason.to_json() for reason in decision.reasons],
            "errors": list(decision.errors),
            "released_fields": list(decision.released_fields),
            "redacted_fields": list(decision.redacted_fields),
            "approval": None
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
            "message": decision.message or None,
            "secrets": [finding.to_json() for finding in decided.secrets],
        }
    )


class _FastRoute(Route):
    """Matches only ``POST`` requests it has not declined already."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("method") != "POST" or scope.get(_DECIDED_FAST) is False:
            return Match.NONE, {}
        match, child = super().matches(scope)
        if match is Match.FULL:
            child["route"] = self  # as FastAPI's routes say which they are (its path: metrics)
        return match, child


def _well_formed(scope: Scope) -> DecisionIn | None:
    value: Any = parsed_body(scope)
    if not isinstance(value, dict):
        return None
    try:
        return DecisionIn.model_validate(value)
    except ValidationError:
        return None  # ``decide`` words the refusal


def _headers(scope: Scope) -> tuple[bool, list[str]]:
    """Whether the first ``Content-Type`` says JSON, and every ``Authorization`` (decoded
    as Starlette decodes headers, Latin-1)."""
    says_json: bool | None = None
    authorization: list[str] = []
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"content-type" and says_json is None:
            says_json = value.split(b";", 1)[0].strip().lower() == b"application/json"
        elif name == b"authorization":
            authorization.append(value.decode("latin-1"))
    return bool(says_json), authorization


_UNSAFE = str.maketrans("", "", "\t\r\n")  # what ``urllib.parse.urlsplit`` drops


def _where(scope: Scope) -> str:
    """``deps.where`` from the scope: the path as a ``Request``'s URL gives it."""
    path = (
        scope["path"]
        .translate(_UNSAFE)
        .replace("?", "%3F")
        .replace("#", "%23")
        .replace("\\", "%5C")
    )
    shown = "".join(ch if ch.isprintable() else "?" for ch in path)
    return f"{scope['method']} {shown}"[:200]


@router.post("/batch", response_model=DecisionBatchOut)
async def decide_batch(request: Request, body: DecisionBatchIn) -> Response:
    """Decide up to 100 requests in order, recorded in one transaction."""
    decided = await _decided(request, [_asked(item) for item in body.requests])
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
