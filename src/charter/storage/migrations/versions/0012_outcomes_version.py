"""The review outcomes' version on the policy state row, read with the active revision by
every decision (one statement where there were two).

Revision ID: 0012_outcomes_version
Revises: 0011_reviews
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_outcomes_version"
down_revision = "0011_reviews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_state") as batch:
        batch.add_column(
            sa.Column("outcomes_version", sa.BigInteger, nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE policy_state SET outcomes_version = "
        "(SELECT coalesce(max(outcome_seq), 0) FROM review_items)"
    )


def downgrade() -> None:
    with op.batch_alter_table("policy_state") as batch:
        batch.drop_column("outcomes_version")
