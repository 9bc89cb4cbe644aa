"""When a grant's expiry was recorded in the audit log (grants expire by time alone).

Revision ID: 0005_grant_expiry
Revises: 0004_webhooks
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_grant_expiry"
down_revision = "0004_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("expiry_recorded_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("expiry_recorded_at")
