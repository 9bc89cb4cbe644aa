"""Usage: which permission of which role, through which binding or grant, allowed what
each agent did, kept up to date as decisions are recorded.

Revision ID: 0010_usage
Revises: 0009_console_sessions
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_usage"
down_revision = "0009_console_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "permission_usage",
        sa.Column("agent_id", sa.String(63), sa.ForeignKey("agents.id"), primary_key=True),
        sa.Column("role", sa.String(200), primary_key=True),
        sa.Column("permission", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("source", sa.String(220), primary_key=True),
        sa.Column("uses", sa.BigInteger, nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actions", sa.JSON, nullable=False),
        sa.Column("resources", sa.JSON, nullable=False),
        sa.Column("sample_full", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("permission_usage")
