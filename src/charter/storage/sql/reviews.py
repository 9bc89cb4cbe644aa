"""Access reviews in SQL: campaigns, items and proposals."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from charter.identity.agents import RiskTier
from charter.reviews.campaigns import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    ItemKind,
    ItemStatus,
    OutcomeState,
    Overdue,
    Proposal,
    ReviewItem,
    Scope,
    Verdict,
)
from charter.storage.sql.schema import (
    POLICY_STATE_ID,
    policy_state,
    review_campaigns,
    review_items,
    review_proposals,
)

__all__ = ["SqlReviewStore"]


def _campaign(row: RowMapping) -> Campaign:
    return Campaign(
        id=row["id"],
        name=row["name"],
        kind=CampaignKind(row["kind"]),
        scope=Scope.from_json(row["scope"]),
        window=timedelta(seconds=row["window_seconds"]),
        started_at=row["started_at"],
        started_by=row["started_by"],
        due_at=row["due_at"],
        reviewer=row["reviewer"],
        overdue=Overdue(row["overdue"]),
        status=CampaignStatus(row["status"]),
        closed_at=row["closed_at"],
        closed_by=row["closed_by"],
    )


def _campaign_row(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "kind": campaign.kind.value,
        "scope": campaign.scope.to_json(),
        "window_seconds": int(campaign.window.total_seconds()),
        "started_at": campaign.started_at,
        "started_by": campaign.started_by,
        "due_at": campaign.due_at,
        "reviewer": campaign.reviewer,
        "overdue": campaign.overdue.value,
        "status": campaign.status.value,
        "closed_at": campaign.closed_at,
        "closed_by": campaign.closed_by,
    }


def _item(row: RowMapping) -> ReviewItem:
    return ReviewItem(
        id=row["id"],
        campaign=row["campaign_id"],
        agent=row["agent_id"],
        kind=ItemKind(row["kind"]),
        source=row["source"],
        reviewer=row["reviewer"],
        due_at=row["due_at"],
        created_at=row["created_at"],
        evidence=row["evidence"],
        recommendation=row["recommendation"],
        recommendation_reason=row["recommendation_reason"],
        risk_tier=RiskTier(row["risk_tier"]),
        role=row["role"],
        activation=row["activation"],
        narrower=row["narrower"],
        status=ItemStatus(row["status"]),
        verdict=None if row["verdict"] is None else Verdict(row["verdict"]),
        reason=row["reason"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        bulk=bool(row["bulk"]),
        accepted_proposal=row["accepted_proposal"],
        new_owner=row["new_owner"],
        flagged=bool(row["flagged"]),
        outcome=OutcomeState(row["outcome"]),
        warned_at=row["warned_at"],
    )


def _item_row(item: ReviewItem, outcome_seq: int) -> dict[str, Any]:
    return {
        "id": item.id,
        "campaign_id": item.campaign,
        "agent_id": item.agent,
        "kind": item.kind.value,
        "source": item.source,
        "reviewer": item.reviewer,
        "due_at": item.due_at,
        "created_at": item.created_at,
        "evidence": dict(item.evidence),
        "recommendation": item.recommendation,
        "recommendation_reason": item.recommendation_reason,
        "risk_tier": item.risk_tier.value,
        "role": item.role,
        "activation": item.activation,
        "narrower": None if item.narrower is None else dict(item.narrower),
        "status": item.status.value,
        "verdict": None if item.verdict is None else item.verdict.value,
        "reason": item.reason,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at,
        "bulk": item.bulk,
        "accepted_proposal": item.accepted_proposal,
        "new_owner": item.new_owner,
        "flagged": item.flagged,
        "outcome": item.outcome.value,
        "outcome_seq": outcome_seq,
        "warned_at": item.warned_at,
    }


def _proposal(row: RowMapping) -> Proposal:
    return Proposal(
        id=row["id"],
        item=row["item_id"],
        campaign=row["campaign_id"],
        agent=row["agent_id"],
        verdict=Verdict(row["verdict"]),
        reason=row["reason"],
        evidence=tuple(row["evidence"]),
        decision_id=row["decision_id"],
        at=row["at"],
    )


class SqlReviewStore:
    """Campaigns, items and proposals in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # Campaigns.

    def add_campaign(self, campaign: Campaign) -> None:
        self._conn.execute(review_campaigns.insert().values(**_campaign_row(campaign)))

    def save_campaign(self, campaign: Campaign) -> None:
        row = _campaign_row(campaign)
        self._conn.execute(
            review_campaigns.update().where(review_campaigns.c.id == campaign.id).values(**row)
        )

    def campaign(self, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
        query = sa.select(review_campaigns).where(review_campaigns.c.id == campaign_id)
        if for_update:
            query = query.with_for_update()
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _campaign(row)

    def campaigns(
        self,
        *,
        status: CampaignStatus | None = None,
        kind: CampaignKind | None = None,
        limit: int = 100,
    ) -> builtins.list[Campaign]:
        """Campaigns, newest first."""
        query = sa.select(review_campaigns).order_by(
            review_campaigns.c.started_at.desc(), review_campaigns.c.id
        )
        if status is not None:
            query = query.where(review_campaigns.c.status == status.value)
        if kind is not None:
            query = query.where(review_campaigns.c.kind == kind.value)
        return [_campaign(row) for row in self._conn.execute(query.limit(limit)).mappings()]

    # Items.

    def add_items(self, items: Iterable[ReviewItem]) -> None:
        rows = [_item_row(item, 0) for item in items]
        if rows:
            self._conn.execute(review_items.insert(), rows)

    def save_item(self, item: ReviewItem, *, outcome_seq: int | None = None) -> None:
        """Write ``item``; ``outcome_seq`` (the audit record that changed its outcome)
        when its outcome changed."""
        row = _item_row(item, outcome_seq or 0)
        if outcome_seq is None:
            del row["outcome_seq"]
        self._conn.execute(review_items.update().where(review_items.c.id == item.id).values(**row))
        if outcome_seq is not None:
            # Every decision reads this with the active revision (``PolicyState``).
            self._conn.execute(
                policy_state.update()
                .where(policy_state.c.id == POLICY_STATE_ID)
                .values(outcomes_version=outcome_seq)
            )

    def item(self, item_id: str, *, for_update: bool = False) -> ReviewItem | None:
        query = sa.select(review_items).where(review_items.c.id == item_id)
        if for_update:
            query = query.with_for_update()
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _item(row)

    def items(
        self,
        *,
        campaign: str | None = None,
        agent: str | None = None,
        reviewers: Iterable[str] | None = None,
        open_only: bool = False,
        due_before: datetime | None = None,
        after: str | None = None,
        limit: int = 500,
    ) -> builtins.list[ReviewItem]:
        """Items by id, filtered; ``reviewers`` matches any of those reviewer refs."""
        query = sa.select(review_items).order_by(review_items.c.id).limit(limit)
        if campaign is not None:
            query = query.where(review_items.c.campaign_id == campaign)
        if agent is not None:
            query = query.where(review_items.c.agent_id == agent)
        if reviewers is not None:
            query = query.where(review_items.c.reviewer.in_(list(reviewers)))
        if open_only:
            query = query.where(review_items.c.status != ItemStatus.DECIDED.value)
        if due_before is not None:
            query = query.where(review_items.c.due_at < due_before)
        if after is not None:
            query = query.where(review_items.c.id > after)
        return [_item(row) for row in self._conn.execute(query).mappings()]

    def in_force(self) -> builtins.list[ReviewItem]:
        """Every item whose outcome is in force."""
        query = (
            sa.select(review_items)
            .where(review_items.c.outcome == OutcomeState.IN_FORCE.value)
            .order_by(review_items.c.decided_at, review_items.c.id)
        )
        return [_item(row) for row in self._conn.execute(query).mappings()]

    # Proposals.

    def add_proposal(self, proposal: Proposal) -> None:
        self._conn.execute(
            review_proposals.insert().values(
                id=proposal.id,
                item_id=proposal.item,
                campaign_id=proposal.campaign,
                agent_id=proposal.agent,
                verdict=proposal.verdict.value,
                reason=proposal.reason,
                evidence=list(proposal.evidence),
                decision_id=proposal.decision_id,
                at=proposal.at,
            )
        )

    def proposals(self, item_ids: Iterable[str]) -> builtins.list[Proposal]:
        """The proposals on these items, oldest first."""
        ids = list(item_ids)
        if not ids:
            return []
        query = (
            sa.select(review_proposals)
            .where(review_proposals.c.item_id.in_(ids))
            .order_by(review_proposals.c.at, review_proposals.c.id)
        )
        return [_proposal(row) for row in self._conn.execute(query).mappings()]

    def proposal(self, proposal_id: str) -> Proposal | None:
        query = sa.select(review_proposals).where(review_proposals.c.id == proposal_id)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _proposal(row)
