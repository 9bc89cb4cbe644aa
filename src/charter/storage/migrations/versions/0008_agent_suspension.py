"""When and by whom an agent was last suspended: approvals and grants from before it are
never usable again, and only an admin lifts a suspension someone else made.

Revision ID: 0008_agent_suspension
Revises: 0006_secrets
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_agent_suspension"
down_revision = "0006_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("suspended_by", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("suspended_by")
        batch.drop_column("suspended_at")
