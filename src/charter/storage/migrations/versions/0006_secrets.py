"""The leaked-secret registry (fingerprints, never values) and the inferences that later
requests may cite (advisories).

Revision ID: 0006_secrets
Revises: 0005_grant_expiry
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_secrets"
down_revision = "0005_grant_expiry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leaked_secrets",
        sa.Column("fingerprint", sa.String(40), primary_key=True),
        sa.Column("type", sa.String(40), nullable=True),
        sa.Column("length", sa.Integer, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("ticket", sa.Text, nullable=True),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("reported_by", sa.String(80), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "advisories",
        sa.Column("decision_id", sa.String(24), primary_key=True),
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("advisories")
    op.drop_table("leaked_secrets")
