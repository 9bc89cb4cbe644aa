"""Access reviews: my queue and the campaigns, a campaign's items, one item in full, and
the decisions (one item, several at once, or accepting an agent's proposal).

Every read and every decision goes through ``ReviewService`` with the visitor as the
actor: the console shows and does only what ``/v1/reviews`` would let them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from charter.codes import ErrorCode
from charter.errors import CharterError, InvalidInput, NotFound, PermissionDenied
from charter.identity.humans import HumanRole
from charter.reviews.campaigns import (
    MAX_BULK,
    CampaignKind,
    CampaignStatus,
    ItemStatus,
    Proposal,
    ReviewItem,
    Verdict,
    check_verdict,
)
from charter.reviews.narrow import role_from_document, role_yaml
from charter.server.console.web import Visiting, Visitor, check_form, render, services_of
from charter.server.console.words import VERDICTS, explain_review
from charter.server.deps import where
from charter.server.errors import status_of
from charter.service import ItemDecision
from charter.wire.base import Printable, masked_within

__all__ = ["router"]

router = APIRouter()

# Ids are checked here rather than by the route: a malformed id is "no such item" (a 404
# page), as a well-formed one that does not exist is.
_ITEM_ID = re.compile(r"rvi_[a-z2-7]{16}")
_CAMPAIGN_ID = re.compile(r"rvc_[a-z0-9_]{1,20}")
_PROPOSAL_ID = re.compile(r"rvp_[a-z2-7]{16}")
_COUNT = re.compile(r"[0-9]{1,4}")

AnyId = Annotated[str, Path(max_length=100)]
Csrf = Annotated[str, Form(max_length=100)]
Reason = Annotated[str, Form(max_length=1000), Printable, masked_within(1000)]
Choice = Annotated[str, Form(max_length=40)]
Filter = Annotated[str, Query(max_length=40)]
_STATUSES = [status.value for status in ItemStatus]


def _item_id(value: str) -> str:
    if not _ITEM_ID.fullmatch(value):
        raise NotFound(f"no review item {value[:40]!r}", code=ErrorCode.REVIEW_ITEM_NOT_FOUND)
    return value


def _campaign_id(value: str) -> str:
    if not _CAMPAIGN_ID.fullmatch(value):
        raise NotFound(f"no campaign {value[:40]!r}", code=ErrorCode.CAMPAIGN_NOT_FOUND)
    return value


def _verdict(value: str) -> Verdict:
    try:
        return Verdict(value)
    except ValueError:
        raise InvalidInput(
            "choose a verdict" if not value else f"{value[:40]!r} is not a verdict",
            code=ErrorCode.VERDICT_NOT_APPLICABLE,
        ) from None


def verdicts_for(item: ReviewItem) -> list[Verdict]:
    """The verdicts that apply to ``item`` now, in the order a reviewer reads them."""
    allowed = []
    for verdict in Verdict:
        if verdict is Verdict.DONT_KNOW and item.status is ItemStatus.ESCALATED:
            continue  # it is with the admins already: they decide
        try:
            check_verdict(item, verdict)
        except InvalidInput:
            continue
        allowed.append(verdict)
    return allowed


async def _refusal(request: Request, visitor: Visitor, error: CharterError) -> tuple[int, str]:
    """The status and words for a refused decision; a refusal by role is audited, as the
    API's are (``auth.forbidden``)."""
    if isinstance(error, PermissionDenied):
        await run_in_threadpool(
            services_of(request).audit.record_refusal,
            visitor.principal,
            code=error.code,
            where=where(request),
        )
    return status_of(error), explain_review(error)


def _admin(visitor: Visitor) -> bool:
    return visitor.principal.has_any(HumanRole.ADMIN)


# The queue and the campaigns.


@router.get("/reviews")
def reviews(request: Request, visitor: Visiting, done: Filter = "") -> HTMLResponse:
    """My queue (what I may decide, soonest due first) and the campaigns I may see."""
    return _queue_page(request, visitor, done=done)


def _queue_page(
    request: Request,
    visitor: Visitor,
    *,
    done: str = "",
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    services = services_of(request)
    items, proposals = services.reviews.queue(visitor.principal)
    campaigns = services.reviews.campaigns(visitor.principal)
    return render(
        request,
        "reviews.html",
        visitor,
        status=status,
        area="reviews",
        items=items,
        proposals=proposals,
        campaigns=campaigns,
        now=services.clock(),
        decided=int(done) if _COUNT.fullmatch(done) else None,
        verdicts=VERDICTS,
        bulk_verdicts=[v for v in Verdict if v is not Verdict.DONT_KNOW] + [Verdict.DONT_KNOW],
        error=error,
        form=form or {},
        max_bulk=MAX_BULK,
    )


@router.post("/reviews/decisions", response_model=None)
async def decide_many(
    request: Request,
    visitor: Visiting,
    items: Annotated[list[str], Form(max_length=MAX_BULK)] = [],  # noqa: B006 - copied
    verdict: Choice = "",
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    """Decide the ticked items the same way, all or none (a bulk decision)."""
    check_form(request, visitor, csrf)
    services = services_of(request)
    chosen = list(dict.fromkeys(items))
    form = {"items": chosen, "verdict": verdict, "reason": reason}
    try:
        if not chosen:
            raise InvalidInput("tick the items to decide", code=ErrorCode.INVALID_INPUT)
        wanted = [_item_id(item) for item in chosen]
        decision = ItemDecision(_verdict(verdict), reason)
        decided = await run_in_threadpool(
            services.reviews.decide_many, visitor.principal, wanted, decision
        )
    except CharterError as error:
        code, words = await _refusal(request, visitor, error)
        return await run_in_threadpool(
            lambda: _queue_page(request, visitor, status=code, error=words, form=form)
        )
    return RedirectResponse(f"/ui/reviews?done={len(decided)}", status_code=303)


# A campaign.


@router.get("/reviews/campaigns/{campaign_id}")
def campaign(
    request: Request,
    visitor: Visiting,
    campaign_id: AnyId,
    status: Filter = "",
    done: Filter = "",
) -> HTMLResponse:
    """A campaign: its due date, counts and the items the visitor may see."""
    return _campaign_page(request, visitor, _campaign_id(campaign_id), status, done=done)


def _campaign_page(
    request: Request,
    visitor: Visitor,
    campaign_id: str,
    status: str,
    *,
    done: str = "",
    code: int = 200,
    error: str | None = None,
    reason: str = "",
) -> HTMLResponse:
    if status and status not in _STATUSES:
        raise InvalidInput(
            f"{status[:40]!r} is not an item status",
            code=ErrorCode.INVALID_INPUT,
            help=f"one of: {', '.join(_STATUSES)}",
        )
    services = services_of(request)
    view = services.reviews.show(visitor.principal, campaign_id)
    shown = [item for item in view.items if not status or item.status.value == status]
    shown.sort(key=lambda item: (not item.open, item.due_at, item.agent, item.source))
    c = view.campaign
    return render(
        request,
        "review_campaign.html",
        visitor,
        status=code,
        area="reviews",
        c=c,
        counts=view.counts,
        items=shown,
        proposals=view.proposals,
        status_filter=status,
        statuses=_STATUSES,
        now=services.clock(),
        verdicts=VERDICTS,
        may_close=_admin(visitor)
        and c.status is CampaignStatus.OPEN
        and c.kind is CampaignKind.CAMPAIGN,
        closed=done == "closed",
        error=error,
        reason=reason,
    )


@router.post("/reviews/campaigns/{campaign_id}/close", response_model=None)
async def close(
    request: Request,
    visitor: Visiting,
    campaign_id: AnyId,
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    """Close a campaign (admins), with a reason: open items take its overdue default."""
    check_form(request, visitor, csrf)
    wanted = _campaign_id(campaign_id)
    services = services_of(request)
    try:
        if not reason.strip():
            raise InvalidInput("closing a campaign needs a reason", code=ErrorCode.REASON_REQUIRED)
        await run_in_threadpool(
            lambda: services.reviews.close(visitor.principal, wanted, reason=reason.strip())
        )
    except CharterError as error:
        if error.code in (ErrorCode.CAMPAIGN_NOT_FOUND, ErrorCode.FORBIDDEN):
            raise
        code, words = await _refusal(request, visitor, error)
        return await run_in_threadpool(
            lambda: _campaign_page(
                request, visitor, wanted, "", code=code, error=words, reason=reason
            )
        )
    return RedirectResponse(f"/ui/reviews/campaigns/{wanted}?done=closed", status_code=303)


# An item.


@dataclass(frozen=True, slots=True)
class Permission:
    """One permission of a binding's or grant's role, as granted and as used."""

    index: int
    capability: str
    actions: list[str]
    resources: list[str]
    usage: dict[str, Any] | None
    used_in_window: bool
    unused_actions: list[str]
    """Actions the permission names literally that were never used."""


def _permissions(evidence: dict[str, Any]) -> list[Permission]:
    found: list[Permission] = []
    for entry in evidence.get("permissions") or []:
        usage = entry.get("usage")
        used = set(usage.get("actions", [])) if usage else set()
        actions = list(entry.get("actions", []))
        found.append(
            Permission(
                index=int(entry.get("index", len(found))),
                capability=str(entry.get("capability", "")),
                actions=actions,
                resources=list(entry.get("resources", [])),
                usage=usage,
                used_in_window=bool(entry.get("used_in_window")),
                unused_actions=[a for a in actions if "*" not in a and a not in used],
            )
        )
    return found


def _narrower_yaml(item: ReviewItem) -> str | None:
    given = item.evidence.get("recommended_yaml")
    if isinstance(given, str) and given.strip():
        return given
    if item.narrower is not None:
        return role_yaml(role_from_document(dict(item.narrower)))
    return None


@router.get("/reviews/items/{item_id}")
def item(request: Request, visitor: Visiting, item_id: AnyId, done: Filter = "") -> HTMLResponse:
    """One item: its evidence, recommendation, proposals and the decision form."""
    return _item_page(request, visitor, _item_id(item_id), done=done)


def _item_page(
    request: Request,
    visitor: Visitor,
    item_id: str,
    *,
    done: str = "",
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    services = services_of(request)
    found, proposals = services.reviews.item(visitor.principal, item_id)
    mine = {queued.id for queued in services.reviews.queue(visitor.principal)[0]}
    may_decide = found.open and (found.id in mine or _admin(visitor))
    return render(
        request,
        "review_item.html",
        visitor,
        status=status,
        area="reviews",
        i=found,
        ev=found.evidence,
        proposals=proposals,
        accepted=_accepted(found, proposals),
        permissions=_permissions(dict(found.evidence)),
        narrower_yaml=_narrower_yaml(found),
        allowed=verdicts_for(found),
        verdicts=VERDICTS,
        may_decide=may_decide,
        why_not=None if may_decide or not found.open else _why_not(found),
        now=services.clock(),
        done=done == "decided",
        error=error,
        form=form or {},
    )


def _why_not(item: ReviewItem) -> str:
    if item.status is ItemStatus.ESCALATED:
        return "This item was handed to the admins (don't know): an admin decides it now."
    return explain_review(
        CharterError("not the reviewer", code=ErrorCode.NOT_A_REVIEWER), item.reviewer
    )


def _accepted(item: ReviewItem, proposals: list[Proposal]) -> Proposal | None:
    return next((p for p in proposals if p.id == item.accepted_proposal), None)


@router.post("/reviews/items/{item_id}/decision", response_model=None)
async def decide(
    request: Request,
    visitor: Visiting,
    item_id: AnyId,
    verdict: Choice = "",
    reason: Reason = "",
    new_owner: Annotated[str, Form(max_length=72), Printable] = "",
    accept_proposal: Choice = "",
    csrf: Csrf = "",
) -> Response:
    """Decide one item; with ``accept_proposal``, as that agent's proposal said (recorded
    as accepting it). A refusal is explained on the item's page."""
    check_form(request, visitor, csrf)
    wanted = _item_id(item_id)
    services = services_of(request)
    form = {
        "verdict": verdict,
        "reason": reason,
        "new_owner": new_owner,
        "accept_proposal": accept_proposal,
    }
    try:
        if accept_proposal and not _PROPOSAL_ID.fullmatch(accept_proposal):
            raise NotFound(
                f"no proposal {accept_proposal[:40]!r} on {wanted}",
                code=ErrorCode.PROPOSAL_NOT_FOUND,
            )
        chosen = _verdict(verdict)
        decision = ItemDecision(
            chosen,
            reason,
            new_owner=(new_owner.strip() or None) if chosen is Verdict.REASSIGN_OWNER else None,
            accept_proposal=accept_proposal or None,
        )
        await run_in_threadpool(services.reviews.decide, visitor.principal, wanted, decision)
    except CharterError as error:
        if error.code == ErrorCode.REVIEW_ITEM_NOT_FOUND:
            raise
        code, words = await _refusal(request, visitor, error)
        return await run_in_threadpool(
            lambda: _item_page(request, visitor, wanted, status=code, error=words, form=form)
        )
    return RedirectResponse(f"/ui/reviews/items/{wanted}?done=decided", status_code=303)
