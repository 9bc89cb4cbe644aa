"""Agents: the filterable list, an agent's page, its tokens and the kill switch."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from charter.codes import ErrorCode
from charter.errors import InvalidInput, NotFound
from charter.identity.agents import AgentStatus, LifecycleAction, RiskTier
from charter.identity.credentials import PrincipalKind
from charter.identity.names import AGENT_ID_PATTERN, check_labels
from charter.server.console.web import Visiting, check_form, render, services_of
from charter.service.agent_views import AgentFilter
from charter.wire.base import Printable, masked_within

__all__ = ["router"]

router = APIRouter()

AgentId = Annotated[str, Path(pattern=AGENT_ID_PATTERN, max_length=63)]
TokenId = Annotated[str, Path(pattern=r"^tok_[a-z2-7]{16}$")]
Csrf = Annotated[str, Form(max_length=100)]
Reason = Annotated[str, Form(max_length=500), Printable, masked_within(500)]
Filter = Annotated[str, Query(max_length=100)]
Understood = Annotated[str, Form(max_length=10)]

_SECONDS = re.compile(r"[0-9]{1,12}")
_LIFETIMES = (
    ("", "The server's default"),
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
    ("7776000", "90 days"),
)
_MOVED = {
    LifecycleAction.SUSPEND: "suspended",
    LifecycleAction.REINSTATE: "reinstated",
    LifecycleAction.RETIRE: "retired",
}
_DONE = {
    "suspended": "The agent is suspended: its tokens are refused from the next request on.",
    "reinstated": "The agent is active again.",
    "retired": "The agent is retired. This cannot be undone.",
    "revoked": "The token was revoked: it is refused from the next request on.",
}


_Choice = TypeVar("_Choice", AgentStatus, RiskTier)


def _choice(kind: type[_Choice], value: str, what: str) -> _Choice | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a {what}", code=ErrorCode.INVALID_INPUT) from None


def _label(value: str) -> dict[str, str]:
    value = value.strip()
    if not value:
        return {}
    key, equals, wanted = value.partition("=")
    if not equals:
        raise InvalidInput(
            f"the label filter {value!r} is not key=value", code=ErrorCode.INVALID_LABELS
        )
    return check_labels({key.strip(): wanted.strip()})


@router.get("/agents")
def agents(
    request: Request,
    visitor: Visiting,
    q: Filter = "",
    status: Filter = "",
    risk: Filter = "",
    owner: Filter = "",
    label: Filter = "",
) -> HTMLResponse:
    """The registry as the visitor may list it, narrowed by the filter form."""
    wanted = AgentFilter(
        contains=q.strip(),
        status=_choice(AgentStatus, status, "status"),
        risk_tier=_choice(RiskTier, risk, "risk tier"),
        owner=owner.strip() or None,
        labels=_label(label),
    )
    listing = services_of(request).agent_views.find(visitor.principal, wanted)
    return render(
        request,
        "agents.html",
        visitor,
        area="agents",
        listing=listing,
        form={"q": q, "status": status, "risk": risk, "owner": owner, "label": label},
        statuses=[s.value for s in AgentStatus],
        tiers=[t.value for t in RiskTier],
    )


@router.get("/agents/{agent_id}")
def agent(
    request: Request, visitor: Visiting, agent_id: AgentId, done: Filter = ""
) -> HTMLResponse:
    """One agent in full: lifecycle, bindings, grants, tokens and recent decisions."""
    profile = services_of(request).agent_views.profile(visitor.principal, agent_id)
    return render(
        request,
        "agent.html",
        visitor,
        area="agents",
        profile=profile,
        a=profile.agent,
        done=_DONE.get(done),
        lifetimes=_LIFETIMES,
    )


@router.post("/agents/{agent_id}/tokens", response_model=None)
async def issue_token(
    request: Request,
    visitor: Visiting,
    agent_id: AgentId,
    ttl: Annotated[str, Form(max_length=12)] = "",
    description: Annotated[
        str, Form(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"), masked_within(200)
    ] = "",
    csrf: Csrf = "",
) -> Response:
    """Issue a token and show its clear text, this once."""
    check_form(request, visitor, csrf)
    if ttl and not _SECONDS.fullmatch(ttl):
        raise InvalidInput(
            "the token lifetime must be a number of seconds", code=ErrorCode.INVALID_TTL
        )
    services = services_of(request)
    issued = await run_in_threadpool(
        lambda: services.tokens.issue_for_agent(
            visitor.principal,
            agent_id,
            ttl=timedelta(seconds=int(ttl)) if ttl else None,
            description=description.strip(),
        )
    )
    return render(
        request,
        "agent_token.html",
        visitor,
        status=201,
        area="agents",
        agent_id=agent_id,
        issued=issued,
    )


@router.post("/agents/{agent_id}/tokens/{token_id}/revoke", response_model=None)
async def revoke_token(
    request: Request,
    visitor: Visiting,
    agent_id: AgentId,
    token_id: TokenId,
    csrf: Csrf = "",
) -> Response:
    """Revoke one of the agent's tokens."""
    check_form(request, visitor, csrf)
    services = services_of(request)

    def revoke() -> None:
        listed = services.tokens.list_for(visitor.principal, PrincipalKind.AGENT, agent_id)
        if token_id not in {token.id for token in listed}:
            raise NotFound(
                f"agent {agent_id!r} has no token {token_id!r}", code=ErrorCode.TOKEN_NOT_FOUND
            )
        services.tokens.revoke(visitor.principal, token_id, reason="revoked in the console")

    await run_in_threadpool(revoke)
    return RedirectResponse(f"/ui/agents/{agent_id}?done=revoked", status_code=303)


@router.get("/agents/{agent_id}/suspend")
def confirm_suspend(request: Request, visitor: Visiting, agent_id: AgentId) -> HTMLResponse:
    """What suspending the agent does, counted now, and the form that does it."""
    return _confirmation(request, visitor, agent_id, LifecycleAction.SUSPEND)


@router.get("/agents/{agent_id}/retire")
def confirm_retire(request: Request, visitor: Visiting, agent_id: AgentId) -> HTMLResponse:
    """What retiring the agent does, for good, and the form that does it."""
    return _confirmation(request, visitor, agent_id, LifecycleAction.RETIRE)


def _confirmation(
    request: Request,
    visitor: Visiting,
    agent_id: str,
    action: LifecycleAction,
    *,
    error: str | None = None,
    reason: str = "",
) -> HTMLResponse:
    switch = services_of(request).agent_views.kill_switch(visitor.principal, agent_id, action)
    return render(
        request,
        "agent_lifecycle.html",
        visitor,
        status=422 if error else 200,
        area="agents",
        switch=switch,
        a=switch.agent,
        error=error,
        reason=reason,
    )


@router.post("/agents/{agent_id}/suspend", response_model=None)
async def suspend(
    request: Request,
    visitor: Visiting,
    agent_id: AgentId,
    reason: Reason = "",
    understood: Understood = "",
    csrf: Csrf = "",
) -> Response:
    """The kill switch: suspend the agent, with a reason and "I understand"."""
    return await _move(
        request, visitor, agent_id, LifecycleAction.SUSPEND, reason, understood, csrf
    )


@router.post("/agents/{agent_id}/reinstate", response_model=None)
async def reinstate(
    request: Request,
    visitor: Visiting,
    agent_id: AgentId,
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    """Lift a suspension (an owner only one they made), with a reason."""
    return await _move(request, visitor, agent_id, LifecycleAction.REINSTATE, reason, "", csrf)


@router.post("/agents/{agent_id}/retire", response_model=None)
async def retire(
    request: Request,
    visitor: Visiting,
    agent_id: AgentId,
    reason: Reason = "",
    understood: Understood = "",
    csrf: Csrf = "",
) -> Response:
    """Retire the agent for good, with a reason and "I understand"."""
    return await _move(request, visitor, agent_id, LifecycleAction.RETIRE, reason, understood, csrf)


async def _move(
    request: Request,
    visitor: Visiting,
    agent_id: str,
    action: LifecycleAction,
    reason: str,
    understood: str,
    csrf: str,
) -> Response:
    """Suspend, reinstate or retire the agent, as ``AgentService.transition`` allows."""
    check_form(request, visitor, csrf)
    reason = reason.strip()
    services = services_of(request)
    confirms = action is not LifecycleAction.REINSTATE
    problem = None
    if not reason:
        problem = "Give a reason: it is kept in the audit log."
    elif confirms and understood != "yes":
        problem = "Tick “I understand” to confirm you know what this does."
    if problem is not None:
        if confirms:
            return await run_in_threadpool(
                lambda: _confirmation(
                    request, visitor, agent_id, action, error=problem, reason=reason
                )
            )
        raise InvalidInput(problem, code=ErrorCode.REASON_REQUIRED)
    await run_in_threadpool(
        lambda: services.agents.transition(visitor.principal, agent_id, action, reason=reason)
    )
    return RedirectResponse(f"/ui/agents/{agent_id}?done={_MOVED[action]}", status_code=303)
