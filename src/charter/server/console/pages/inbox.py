"""The approver's inbox: what waits for me, one request in full, and my vote on it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from charter.approvals.model import Vote
from charter.errors import CharterError
from charter.server.console.web import Visiting, check_form, render, services_of
from charter.server.console.words import explain
from charter.server.errors import status_of
from charter.wire.base import Printable, masked_within

__all__ = ["router"]

router = APIRouter()

ApprovalId = Annotated[str, Path(pattern=r"^apr_[a-z2-7]{16}$")]


@router.get("/inbox")
def inbox(request: Request, visitor: Visiting, done: str | None = None) -> HTMLResponse:
    """The approvals and step-ups waiting for the visitor's vote."""
    cases = services_of(request).inbox.waiting(visitor.principal)
    return render(request, "inbox.html", visitor, area="inbox", cases=cases, done=done)


@router.get("/inbox/items")
def inbox_items(request: Request, visitor: Visiting) -> HTMLResponse:
    """The inbox's list alone: what the page's script fetches to stay current."""
    cases = services_of(request).inbox.waiting(visitor.principal)
    return render(request, "_cases.html", visitor, cases=cases)


@router.get("/approvals/{approval_id}")
def approval(request: Request, visitor: Visiting, approval_id: ApprovalId) -> HTMLResponse:
    """One approval with everything the decision needs, and the vote form if it is mine."""
    case = services_of(request).inbox.case(visitor.principal, approval_id)
    why_not = None if case.refusal is None else explain(case.refusal, case.approval)
    return render(request, "approval.html", visitor, area="inbox", case=case, why_not=why_not)


@router.post("/approvals/{approval_id}/vote", response_model=None)
async def vote(
    request: Request,
    visitor: Visiting,
    approval_id: ApprovalId,
    vote: Annotated[Vote, Form()],
    reason: Annotated[str, Form(max_length=1000), Printable, masked_within(1000)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Approve or deny with a reason; a refusal is explained on the request's page."""
    check_form(request, visitor, csrf)
    services = services_of(request)
    try:
        await run_in_threadpool(
            services.approvals.vote, visitor.principal, approval_id, vote, reason
        )
    except CharterError as error:
        case = await run_in_threadpool(services.inbox.case, visitor.principal, approval_id)
        return render(
            request,
            "approval.html",
            visitor,
            status=status_of(error),
            area="inbox",
            case=case,
            why_not=explain(case.refusal, case.approval) if case.refusal else None,
            error=explain(error, case.approval),
            reason=reason,
        )
    return RedirectResponse(f"/ui/inbox?done={vote.value}", status_code=303)
