"""Foundation: humans, agents, credentials, the audit log and its checkpoints.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "humans",
        sa.Column("id", sa.String(69), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(69), sa.ForeignKey("humans.id"), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("risk_tier", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("recertify_by", Timestamp, nullable=True),
        sa.Column("last_seen_at", Timestamp, nullable=True),
    )
    op.create_index("ix_agents_owner", "agents", ["owner"])
    op.create_index("ix_agents_status", "agents", ["status"])
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("principal_kind", sa.String(8), nullable=False),
        sa.Column("principal_id", sa.String(69), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("last_used_at", Timestamp, nullable=True),
        sa.Column("revoked_at", Timestamp, nullable=True),
        sa.Column("revoked_by", sa.String(80), nullable=True),
        sa.Column("rotated_from", sa.String(24), nullable=True),
    )
    op.create_index("ix_credentials_principal", "credentials", ["principal_kind", "principal_id"])
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("agent_id", sa.String(63), nullable=True),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column("tree_root", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_records_at", "audit_records", ["at"])
    op.create_index("ix_audit_records_agent", "audit_records", ["agent_id", "seq"])
    op.create_index("ix_audit_records_type", "audit_records", ["type", "seq"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("frontier", sa.Text, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        head, [{"id": 1, "size": 0, "frontier": "", "root": hashlib.sha256(b"").hexdigest()}]
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "audit_checkpoints",
        "audit_head",
        "audit_records",
        "credentials",
        "agents",
        "humans",
    ):
        op.drop_table(table)
