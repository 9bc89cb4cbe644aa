"""Replay requests: each decision's masked request, kept for policy simulation until its
retention ends (the audit log keeps only its digest).

Revision ID: 0013_replay_requests
Revises: 0012_outcomes_version
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_replay_requests"
down_revision = "0012_outcomes_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replay_requests",
        sa.Column("decision_id", sa.String(24), primary_key=True),
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
    )
    op.create_index("ix_replay_requests_expires_at", "replay_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_replay_requests_expires_at", table_name="replay_requests")
    op.drop_table("replay_requests")
