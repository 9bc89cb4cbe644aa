"""Access reviews: campaigns, their items (evidence, recommendation, decision) and the
proposals agents attach to them.

Revision ID: 0011_reviews
Revises: 0010_usage
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_reviews"
down_revision = "0010_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_campaigns",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("window_seconds", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewer", sa.String(80), nullable=True),
        sa.Column("overdue", sa.String(24), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(80), nullable=True),
    )
    op.create_index("ix_review_campaigns_status", "review_campaigns", ["status"])
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column(
            "campaign_id", sa.String(24), sa.ForeignKey("review_campaigns.id"), nullable=False
        ),
        sa.Column("agent_id", sa.String(63), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source", sa.String(220), nullable=False),
        sa.Column("reviewer", sa.String(80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("recommendation", sa.String(24), nullable=False),
        sa.Column("recommendation_reason", sa.Text, nullable=False),
        sa.Column("risk_tier", sa.String(16), nullable=False),
        sa.Column("role", sa.String(200), nullable=True),
        sa.Column("activation", sa.String(16), nullable=True),
        sa.Column("narrower", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(24), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bulk", sa.Boolean, nullable=False),
        sa.Column("accepted_proposal", sa.String(24), nullable=True),
        sa.Column("new_owner", sa.String(69), nullable=True),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcome_seq", sa.BigInteger, nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_review_items_agent_id", "review_items", ["agent_id"])
    op.create_index("ix_review_items_reviewer", "review_items", ["reviewer"])
    op.create_index("ix_review_items_outcome_seq", "review_items", ["outcome_seq"])
    op.create_index("ix_review_items_campaign", "review_items", ["campaign_id", "id"])
    op.create_index("ix_review_items_outcome", "review_items", ["outcome", "agent_id"])
    op.create_table(
        "review_proposals",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("item_id", sa.String(24), sa.ForeignKey("review_items.id"), nullable=False),
        sa.Column("campaign_id", sa.String(24), nullable=False),
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("verdict", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_proposals_item", "review_proposals", ["item_id", "at"])


def downgrade() -> None:
    op.drop_table("review_proposals")
    op.drop_table("review_items")
    op.drop_table("review_campaigns")
