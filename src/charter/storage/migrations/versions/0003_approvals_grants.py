"""Approvals (and step-up confirmations), their votes, and JIT grants.

Revision ID: 0003_approvals_grants
Revises: 0002_policy_revisions
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_approvals_grants"
down_revision = "0002_policy_revisions"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(63), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request_digest", sa.String(80), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("policy_revision", sa.String(24), nullable=False),
        sa.Column("role", sa.String(200), nullable=True),
        sa.Column("max_duration_s", sa.Integer, nullable=True),
        sa.Column("approvers", sa.JSON, nullable=False),
        sa.Column("quorum", sa.Integer, nullable=False),
        sa.Column("on_behalf_of", sa.String(69), nullable=True),
        sa.Column("decision_id", sa.String(24), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("closed_at", Timestamp, nullable=True),
        sa.Column("closed_by", sa.String(80), nullable=True),
        sa.Column("closed_reason", sa.Text, nullable=True),
        sa.Column("used_by", sa.String(24), nullable=True),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.Column("grant_id", sa.String(24), nullable=True),
    )
    op.create_index("ix_approvals_status", "approvals", ["status", "expires_at"])
    op.create_index("ix_approvals_agent", "approvals", ["agent_id", "request_digest"])
    # One pending approval per request: a repeated identical request finds the same one.
    op.create_index(
        "ux_approvals_pending",
        "approvals",
        ["agent_id", "request_digest"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "approval_votes",
        sa.Column("approval_id", sa.String(24), sa.ForeignKey("approvals.id"), primary_key=True),
        sa.Column("human_id", sa.String(69), primary_key=True),
        sa.Column("vote", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", Timestamp, nullable=False),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("agent_id", sa.String(63), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("role", sa.String(200), nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("approval_id", sa.String(24), sa.ForeignKey("approvals.id"), nullable=False),
        sa.Column("issued_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("revoked_at", Timestamp, nullable=True),
        sa.Column("revoked_by", sa.String(80), nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_grants_agent", "grants", ["agent_id", "expires_at"])


def downgrade() -> None:
    op.drop_table("grants")
    op.drop_table("approval_votes")
    op.drop_index("ux_approvals_pending", table_name="approvals")
    op.drop_table("approvals")
