"""Usable approvals: an index on the approved approvals no request has used yet, so a
group commit reads every usable approval of the agents it decides for in one query,
whatever their history of used and expired approvals.

Revision ID: 0015_usable_approvals
Revises: 0014_audit_shards
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_usable_approvals"
down_revision = "0014_audit_shards"
branch_labels = None
depends_on = None

_USABLE = "status = 'approved' AND used_by IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_approvals_usable",
        "approvals",
        ["agent_id", "expires_at"],
        sqlite_where=sa.text(_USABLE),
        postgresql_where=sa.text(_USABLE),
    )


def downgrade() -> None:
    op.drop_index("ix_approvals_usable", table_name="approvals")
