"""Change notifications on PostgreSQL: every writer announces the changes that other
servers sharing the store hold in memory (the active policy revision, the leaked-secret
registry) or must stop trusting at once (token revocations, agents' status, humans'
status and roles).

Each change sends ``pg_notify('charter_changes', {"schema": ..., "topic": ...})`` when
its transaction commits; ``charter.storage.sql.listen`` listens for it. Nothing on
SQLite: a SQLite store has one server.

Revision ID: 0007_change_notifications
Revises: 0006_secrets
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0007_change_notifications"
down_revision = "0006_secrets"
branch_labels = None
depends_on = None

_FUNCTION = "charter_notify_change"

# (trigger, table, events, condition, topic)
_TRIGGERS = (
    ("charter_policy_changed", "policy_state", "INSERT OR UPDATE", None, "policy"),
    ("charter_leak_registered", "leaked_secrets", "INSERT", None, "leaks"),
    (
        "charter_token_revoked",
        "credentials",
        "UPDATE OF revoked_at",
        "OLD.revoked_at IS DISTINCT FROM NEW.revoked_at",
        "tokens",
    ),
    (
        "charter_agent_status_changed",
        "agents",
        "UPDATE OF status",
        "OLD.status IS DISTINCT FROM NEW.status",
        "agents",
    ),
    (
        "charter_human_changed",
        "humans",
        "UPDATE OF active, roles",
        "OLD.active IS DISTINCT FROM NEW.active"
        " OR OLD.roles::text IS DISTINCT FROM NEW.roles::text",
        "humans",
    ),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(
                'charter_changes',
                json_build_object('schema', TG_TABLE_SCHEMA, 'topic', TG_ARGV[0])::text
            );
            RETURN NULL;
        END
        $$
        """
    )
    for name, table, events, condition, topic in _TRIGGERS:
        when = f"WHEN ({condition})" if condition else ""
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW {when} "
            f"EXECUTE FUNCTION {_FUNCTION}('{topic}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, *_ in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
