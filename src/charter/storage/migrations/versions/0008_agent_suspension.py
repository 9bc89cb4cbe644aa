"""When and by whom an agent was last suspended: approvals and grants from before it are
never usable again, and only an admin lifts a suspension someone else made.

Revision ID: 0008_agent_suspension
Revises: 0007_change_notifications
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_agent_suspension"
down_revision = "0007_change_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("suspended_by", sa.String(80), nullable=True))
    # Agents stopped before this revision: their last change is at or after the stop, so
    # nothing they held then is usable. Who stopped them is not known: only an admin
    # reinstates them.
    agents = sa.table(
        "agents",
        sa.column("status", sa.String),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("suspended_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        agents.update().where(agents.c.status != "active").values(suspended_at=agents.c.updated_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("suspended_by")
        batch.drop_column("suspended_at")
