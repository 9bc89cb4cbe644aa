"""Policy revisions: immutable, content-hashed; one of them active.

Revision ID: 0002_policy_revisions
Revises: 0001_foundation
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_policy_revisions"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "policy_revisions",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )
    state = op.create_table(
        "policy_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "active_revision",
            sa.String(24),
            sa.ForeignKey("policy_revisions.id"),
            nullable=True,
        ),
        sa.Column("activated_at", Timestamp, nullable=True),
        sa.Column("activated_by", sa.String(80), nullable=True),
    )
    op.bulk_insert(state, [{"id": 1, "active_revision": None}])


def downgrade() -> None:
    op.drop_table("policy_state")
    op.drop_table("policy_revisions")
