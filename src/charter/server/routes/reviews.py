"""``/v1/reviews``: access review campaigns, their items, decisions and proposals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from charter.durations import parse_duration
from charter.reviews.campaigns import CampaignStatus, Scope
from charter.server.deps import Caller, Wired
from charter.service import ItemDecision, StartCampaign
from charter.wire.reviews import (
    CAMPAIGN_ID_PATTERN,
    ITEM_ID_PATTERN,
    BulkDecisionIn,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CloseIn,
    ItemDecisionIn,
    ItemOut,
    ItemPage,
    ProposalIn,
    ProposalOut,
    SweepOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])

CampaignIdPath = Annotated[str, Path(pattern=CAMPAIGN_ID_PATTERN)]
ItemIdPath = Annotated[str, Path(pattern=ITEM_ID_PATTERN)]


@router.post("/campaigns", status_code=201)
def start_campaign(services: Wired, caller: Caller, body: CampaignIn) -> CampaignOut:
    """Start a campaign (admins): its items, evidence and recommendations are built now."""
    view = services.reviews.start(
        caller,
        StartCampaign(
            name=body.name,
            scope=body.scope.to_scope() if body.scope is not None else Scope(),
            window=None if body.window is None else parse_duration(body.window),
            due_at=body.due_at,
            reviewer=body.reviewer,
            overdue=body.overdue,
        ),
    )
    return CampaignOut.of(view.campaign, dict(view.counts))


@router.get("/campaigns")
def list_campaigns(
    services: Wired, caller: Caller, status: CampaignStatus | None = None
) -> CampaignPage:
    """Campaigns, newest first, with counts of the items the caller may see."""
    found = services.reviews.campaigns(caller, status=status)
    return CampaignPage(campaigns=[CampaignOut.of(c, counts) for c, counts in found])


@router.get("/queue")
def my_queue(services: Wired, caller: Caller) -> ItemPage:
    """The open items the caller may decide now, soonest due first."""
    items, proposals = services.reviews.queue(caller)
    return ItemPage(items=[ItemOut.of(item, proposals.get(item.id)) for item in items])


@router.get("/outcomes")
def outcomes_in_force(services: Wired, caller: Caller) -> ItemPage:
    """Decisions the evaluator applies on top of the policy until a revision reflects
    them (admins, auditors, policy admins)."""
    return ItemPage(items=[ItemOut.of(item) for item in services.reviews.outcomes(caller)])


@router.post("/sweep")
def run_sweep(services: Wired, caller: Caller) -> SweepOut:
    """Run the reviews' clock now (admins; the server runs it every minute)."""
    report = services.review_sweep.run(caller)
    return SweepOut(
        recertification_items=report.recertification_items,
        overdue=report.overdue,
        due_soon=report.due_soon,
        handed_off=report.handed_off,
        suspended=report.suspended,
        settled=report.settled,
    )


@router.post("/decisions")
def decide_many(services: Wired, caller: Caller, body: BulkDecisionIn) -> ItemPage:
    """Decide several items the same way, all or none (recorded as a bulk decision)."""
    decided = services.reviews.decide_many(
        caller, body.items, ItemDecision(body.verdict, body.reason)
    )
    return ItemPage(items=[ItemOut.of(item) for item in decided])


@router.get("/items/{item_id}")
def show_item(services: Wired, caller: Caller, item_id: ItemIdPath) -> ItemOut:
    """One item with its evidence, recommendation and proposals."""
    item, proposals = services.reviews.item(caller, item_id)
    return ItemOut.of(item, proposals)


@router.post("/items/{item_id}/decision")
def decide_item(
    services: Wired, caller: Caller, item_id: ItemIdPath, body: ItemDecisionIn
) -> ItemOut:
    """Decide one item (its reviewer, or an admin)."""
    item = services.reviews.decide(
        caller,
        item_id,
        ItemDecision(
            body.verdict,
            body.reason,
            new_owner=body.new_owner,
            accept_proposal=body.accept_proposal,
        ),
    )
    return ItemOut.of(item)


@router.post("/items/{item_id}/proposals", status_code=201)
def propose(services: Wired, caller: Caller, item_id: ItemIdPath, body: ProposalIn) -> ProposalOut:
    """Attach an agent's proposal to an item: it decides nothing."""
    proposal = services.reviews.propose(
        caller, item_id, body.verdict, body.reason, tuple(body.evidence)
    )
    return ProposalOut.of(proposal)


@router.get("/campaigns/{campaign_id}")
def show_campaign(services: Wired, caller: Caller, campaign_id: CampaignIdPath) -> CampaignOut:
    """A campaign with the items the caller may see, their proposals included."""
    view = services.reviews.show(caller, campaign_id)
    items = [ItemOut.of(item, view.proposals.get(item.id)) for item in view.items]
    return CampaignOut.of(view.campaign, dict(view.counts), items)


@router.post("/campaigns/{campaign_id}/close")
def close_campaign(
    services: Wired, caller: Caller, campaign_id: CampaignIdPath, body: CloseIn
) -> CampaignOut:
    """Close a campaign (admins): open items get its overdue default."""
    view = services.reviews.close(caller, campaign_id, reason=body.reason)
    return CampaignOut.of(view.campaign, dict(view.counts))
