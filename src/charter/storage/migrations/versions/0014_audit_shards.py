"""Audit shards: one Merkle tree per shard, signed seals over every shard, and sealed
segments exported (and pruned) from a shard. Existing records are the default shard's
("" ), at the index they had.

Revision ID: 0014_audit_shards
Revises: 0013_replay_requests
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_audit_shards"
down_revision = "0013_replay_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing records stay where they are: the default shard's, at their seq (NULL).
    with op.batch_alter_table("audit_records") as batch:
        batch.add_column(sa.Column("shard", sa.String(63), nullable=False, server_default=""))
        batch.add_column(sa.Column("shard_index", sa.BigInteger, nullable=True))
        batch.create_index("ix_audit_records_shard", ["shard", "seq"])
        batch.create_index("ux_audit_records_shard_index", ["shard", "shard_index"], unique=True)
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("shard", sa.String(63), nullable=False, server_default=""))
        batch.add_column(sa.Column("floor", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("sequenced", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.create_unique_constraint("uq_audit_head_shard", ["shard"])
    op.execute("UPDATE audit_head SET floor = size")
    op.create_table(
        "audit_seals",
        sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_table(
        "audit_segments",
        sa.Column("shard", sa.String(63), primary_key=True),
        sa.Column("end_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("start_index", sa.BigInteger, nullable=False),
        sa.Column("frontier", sa.Text, nullable=False),
        sa.Column("seal_number", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("pruned", sa.Boolean, nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        # The shared counter sharded stores draw seqs from (never rolled back, so a
        # failed transaction leaves a gap).
        op.execute("CREATE SEQUENCE audit_seq MINVALUE 0 START WITH 0")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS audit_seq")
    op.drop_table("audit_segments")
    op.drop_table("audit_seals")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_constraint("uq_audit_head_shard", type_="unique")
        batch.drop_column("sequenced")
        batch.drop_column("floor")
        batch.drop_column("shard")
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_index("ux_audit_records_shard_index")
        batch.drop_index("ix_audit_records_shard")
        batch.drop_column("shard_index")
        batch.drop_column("shard")
