"""Table definitions. Alembic migrations create them; this module names them for queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = [
    "POLICY_STATE_ID",
    "advisories",
    "agents",
    "approval_votes",
    "approvals",
    "audit_checkpoints",
    "audit_head",
    "audit_records",
    "audit_seals",
    "audit_segments",
    "credentials",
    "grants",
    "humans",
    "leaked_secrets",
    "metadata",
    "permission_usage",
    "policy_revisions",
    "policy_state",
    "replay_requests",
    "sessions",
    "webhook_deliveries",
    "webhooks",
]


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


metadata = sa.MetaData()

humans = sa.Table(
    "humans",
    metadata,
    sa.Column("id", sa.String(69), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("groups", sa.JSON, nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("owner", sa.String(69), sa.ForeignKey("humans.id"), nullable=False, index=True),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("risk_tier", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("recertify_by", UTCDateTime, nullable=True),
    sa.Column("last_seen_at", UTCDateTime, nullable=True),
    sa.Column("suspended_at", UTCDateTime, nullable=True),
    sa.Column("suspended_by", sa.String(80), nullable=True),
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("principal_kind", sa.String(8), nullable=False),
    sa.Column("principal_id", sa.String(69), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("revoked_by", sa.String(80), nullable=True),
    sa.Column("rotated_from", sa.String(24), nullable=True),
    sa.Index("ix_credentials_principal", "principal_kind", "principal_id"),
)

audit_records = sa.Table(
    "audit_records",
    metadata,
    # The global ordering key: on one log, the record's place in it; across shards, the
    # order records were appended in (see docs/scaling.md).
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("agent_id", sa.String(63), nullable=True),
    sa.Column("subject", sa.String(200), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("leaf_hash", sa.String(64), nullable=False),
    sa.Column("tree_root", sa.String(64), nullable=False),
    # Which shard's tree the record is a leaf of ("" = the default log), and where (NULL:
    # at ``seq``, as every record of a log that was never sharded). Within a shard, seq
    # order is index order.
    sa.Column("shard", sa.String(63), nullable=False, server_default=""),
    sa.Column("shard_index", sa.BigInteger, nullable=True),
    sa.Index("ix_audit_records_agent", "agent_id", "seq"),
    sa.Index("ix_audit_records_type", "type", "seq"),
    sa.Index("ix_audit_records_shard", "shard", "seq"),
    sa.Index("ux_audit_records_shard_index", "shard", "shard_index", unique=True),
)

# One row per shard ("" = the default log): the size, frontier and root of its Merkle
# tree. Writers lock their shard's row to append.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("frontier", sa.Text, nullable=False),
    sa.Column("root", sa.String(64), nullable=False),
    sa.Column("shard", sa.String(63), nullable=False, server_default=""),
    # Every seq this shard appends from now on is at least ``floor`` (readers' horizon).
    sa.Column("floor", sa.BigInteger, nullable=False, server_default="0"),
    # True once other shards exist: seqs come from the shared counter, not the size.
    sa.Column("sequenced", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("shard", name="uq_audit_head_shard"),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)

# Signed seals: one statement of every shard's (size, root), numbered from 0.
audit_seals = sa.Table(
    "audit_seals",
    metadata,
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)

# Sealed segments exported (and perhaps pruned) from a shard: where its kept records
# resume, and the frontier they resume from.
audit_segments = sa.Table(
    "audit_segments",
    metadata,
    sa.Column("shard", sa.String(63), primary_key=True),
    sa.Column("end_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("start_index", sa.BigInteger, nullable=False),
    sa.Column("frontier", sa.Text, nullable=False),
    sa.Column("seal_number", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("pruned", sa.Boolean, nullable=False),
    sa.Column("exported_at", UTCDateTime, nullable=False),
)

policy_revisions = sa.Table(
    "policy_revisions",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("files", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)

# One row: which revision is active. Activation locks and updates it.
POLICY_STATE_ID = 1
"""The id of ``policy_state``'s one row."""

policy_state = sa.Table(
    "policy_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "active_revision", sa.String(24), sa.ForeignKey("policy_revisions.id"), nullable=True
    ),
    sa.Column("activated_at", UTCDateTime, nullable=True),
    sa.Column("activated_by", sa.String(80), nullable=True),
    # The audit seq of the last review outcome put in force or settled: read with the
    # active revision by every decision, so a new outcome is seen in the same statement.
    sa.Column("outcomes_version", sa.BigInteger, nullable=False, server_default="0"),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("agent_id", sa.String(63), sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("request_digest", sa.String(80), nullable=False),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("policy", sa.String(200), nullable=False),
    sa.Column("policy_revision", sa.String(24), nullable=False),
    sa.Column("role", sa.String(200), nullable=True),
    sa.Column("max_duration_s", sa.Integer, nullable=True),
    sa.Column("approvers", sa.JSON, nullable=False),
    sa.Column("quorum", sa.Integer, nullable=False),
    sa.Column("on_behalf_of", sa.String(69), nullable=True),
    sa.Column("decision_id", sa.String(24), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("closed_by", sa.String(80), nullable=True),
    sa.Column("closed_reason", sa.Text, nullable=True),
    sa.Column("used_by", sa.String(24), nullable=True),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Column("grant_id", sa.String(24), nullable=True),
    sa.Index("ix_approvals_status", "status", "expires_at"),
    sa.Index("ix_approvals_agent", "agent_id", "request_digest"),
    sa.Index(
        "ux_approvals_pending",
        "agent_id",
        "request_digest",
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
    # The approvals a decision could use: read once for a group commit's agents.
    sa.Index(
        "ix_approvals_usable",
        "agent_id",
        "expires_at",
        sqlite_where=sa.text("status = 'approved' AND used_by IS NULL"),
        postgresql_where=sa.text("status = 'approved' AND used_by IS NULL"),
    ),
)

approval_votes = sa.Table(
    "approval_votes",
    metadata,
    sa.Column("approval_id", sa.String(24), sa.ForeignKey("approvals.id"), primary_key=True),
    sa.Column("human_id", sa.String(69), primary_key=True),
    sa.Column("vote", sa.String(8), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("agent_id", sa.String(63), sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("role", sa.String(200), nullable=False),
    sa.Column("policy", sa.String(200), nullable=False),
    sa.Column("approval_id", sa.String(24), sa.ForeignKey("approvals.id"), nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("revoked_by", sa.String(80), nullable=True),
    sa.Column("revoke_reason", sa.Text, nullable=True),
    sa.Column("expiry_recorded_at", UTCDateTime, nullable=True),
    sa.Index("ix_grants_agent", "agent_id", "expires_at"),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("secret_salt", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("removed_at", UTCDateTime, nullable=True),
    sa.Column("removed_by", sa.String(80), nullable=True),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("webhook_id", sa.String(24), sa.ForeignKey("webhooks.id"), nullable=False),
    sa.Column("event_id", sa.String(24), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(200), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at", "id"),
)

leaked_secrets = sa.Table(
    "leaked_secrets",
    metadata,
    sa.Column("fingerprint", sa.String(40), primary_key=True),
    sa.Column("type", sa.String(40), nullable=True),
    sa.Column("length", sa.Integer, nullable=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("ticket", sa.Text, nullable=True),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("reported_by", sa.String(80), nullable=False),
    sa.Column("reported_at", UTCDateTime, nullable=False),
)

advisories = sa.Table(
    "advisories",
    metadata,
    sa.Column("decision_id", sa.String(24), primary_key=True),
    sa.Column("agent_id", sa.String(63), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=False),
)

sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("human_id", sa.String(69), nullable=False),
    sa.Column("credential_id", sa.String(24), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
)

# Usage: one row per (agent, role, permission, binding or grant) that allowed something.
permission_usage = sa.Table(
    "permission_usage",
    metadata,
    sa.Column("agent_id", sa.String(63), sa.ForeignKey("agents.id"), primary_key=True),
    sa.Column("role", sa.String(200), primary_key=True),
    sa.Column("permission", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("source", sa.String(220), primary_key=True),
    sa.Column("uses", sa.BigInteger, nullable=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("last_at", UTCDateTime, nullable=False),
    sa.Column("actions", sa.JSON, nullable=False),
    sa.Column("resources", sa.JSON, nullable=False),
    sa.Column("sample_full", sa.Boolean, nullable=False),
)

# Access reviews: campaigns, their items (evidence, recommendation, decision), proposals.
review_campaigns = sa.Table(
    "review_campaigns",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("scope", sa.JSON, nullable=False),
    sa.Column("window_seconds", sa.BigInteger, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("started_by", sa.String(80), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=True),
    sa.Column("reviewer", sa.String(80), nullable=True),
    sa.Column("overdue", sa.String(24), nullable=False),
    sa.Column("status", sa.String(8), nullable=False, index=True),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("closed_by", sa.String(80), nullable=True),
)

review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("campaign_id", sa.String(24), sa.ForeignKey("review_campaigns.id"), nullable=False),
    sa.Column("agent_id", sa.String(63), sa.ForeignKey("agents.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("source", sa.String(220), nullable=False),
    sa.Column("reviewer", sa.String(80), nullable=False, index=True),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("recommendation", sa.String(24), nullable=False),
    sa.Column("recommendation_reason", sa.Text, nullable=False),
    sa.Column("risk_tier", sa.String(16), nullable=False),
    sa.Column("role", sa.String(200), nullable=True),
    sa.Column("activation", sa.String(16), nullable=True),
    sa.Column("narrower", sa.JSON, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("verdict", sa.String(24), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("decided_by", sa.String(80), nullable=True),
    sa.Column("decided_at", UTCDateTime, nullable=True),
    sa.Column("bulk", sa.Boolean, nullable=False),
    sa.Column("accepted_proposal", sa.String(24), nullable=True),
    sa.Column("new_owner", sa.String(69), nullable=True),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("outcome_seq", sa.BigInteger, nullable=False, index=True),
    sa.Column("warned_at", UTCDateTime, nullable=True),
    sa.Index("ix_review_items_campaign", "campaign_id", "id"),
    sa.Index("ix_review_items_outcome", "outcome", "agent_id"),
)

review_proposals = sa.Table(
    "review_proposals",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("item_id", sa.String(24), sa.ForeignKey("review_items.id"), nullable=False),
    sa.Column("campaign_id", sa.String(24), nullable=False),
    sa.Column("agent_id", sa.String(63), nullable=False),
    sa.Column("verdict", sa.String(24), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("decision_id", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_review_proposals_item", "item_id", "at"),
)

# Replay: the masked request of each decision, kept for policy simulation until it expires.
replay_requests = sa.Table(
    "replay_requests",
    metadata,
    sa.Column("decision_id", sa.String(24), primary_key=True),
    sa.Column("agent_id", sa.String(63), nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    sa.Column("request", sa.JSON, nullable=False),
)
