"""SQL repository for webhooks and their deliveries.

Claiming due deliveries locks the rows it takes with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so dispatchers in several server processes never take the same delivery;
on SQLite the write transaction (``BEGIN IMMEDIATE``) already admits one writer at a
time. A claim moves the delivery's next attempt to the end of a lease: a dispatcher that
dies mid-send leaves it due again once the lease runs out. Recording the outcome is a
conditional update on the claimed attempt, so a claim that was lost cannot overwrite
a newer one.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from charter.storage.sql.schema import webhook_deliveries, webhooks
from charter.webhooks.model import Delivery, DeliveryStatus, Webhook, WebhookEvent

__all__ = ["SqlWebhookStore"]

_PENDING = DeliveryStatus.PENDING.value
_REMOVED = "webhook removed"


def _webhook(row: RowMapping) -> Webhook:
    return Webhook(
        id=row["id"],
        url=row["url"],
        events=tuple(WebhookEvent(name) for name in row["events"]),
        description=row["description"],
        secret_salt=row["secret_salt"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        removed_at=row["removed_at"],
        removed_by=row["removed_by"],
    )


def _delivery(row: RowMapping) -> Delivery:
    return Delivery(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event_id=row["event_id"],
        event_type=WebhookEvent(row["event_type"]),
        payload=row["payload"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        last_attempt_at=row["last_attempt_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
    )


class SqlWebhookStore:
    """Webhooks and deliveries in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, webhook: Webhook) -> None:
        """Insert a new webhook."""
        self._conn.execute(
            webhooks.insert().values(
                id=webhook.id,
                url=webhook.url,
                events=[event.value for event in webhook.events],
                description=webhook.description,
                secret_salt=webhook.secret_salt,
                created_at=webhook.created_at,
                created_by=webhook.created_by,
            )
        )

    def get(self, webhook_id: str) -> Webhook | None:
        """The webhook with this id, removed or not."""
        row = self._conn.execute(sa.select(webhooks).where(webhooks.c.id == webhook_id))
        found = row.mappings().first()
        return None if found is None else _webhook(found)

    def list(self, *, after: str | None = None, limit: int = 100) -> list[Webhook]:
        """Webhooks, removed ones too, ordered by id after ``after``."""
        query = sa.select(webhooks).order_by(webhooks.c.id).limit(limit)
        if after is not None:
            query = query.where(webhooks.c.id > after)
        return [_webhook(row) for row in self._conn.execute(query).mappings()]

    def active(self) -> builtins.list[Webhook]:
        """Every webhook not removed."""
        query = sa.select(webhooks).where(webhooks.c.removed_at.is_(None)).order_by(webhooks.c.id)
        return [_webhook(row) for row in self._conn.execute(query).mappings()]

    def set_url(self, webhook_id: str, url: str) -> None:
        """Replace the URL as stored (sealing one stored in clear)."""
        self._conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(url=url))

    def remove(self, webhook_id: str, *, at: datetime, by: str) -> int | None:
        """Remove a webhook and give up its pending deliveries (returns how many); None if
        it was removed already."""
        removed = self._conn.execute(
            webhooks.update()
            .where(webhooks.c.id == webhook_id, webhooks.c.removed_at.is_(None))
            .values(removed_at=at, removed_by=by)
        )
        if removed.rowcount != 1:
            return None
        dropped = self._conn.execute(
            webhook_deliveries.update()
            .where(
                webhook_deliveries.c.webhook_id == webhook_id,
                webhook_deliveries.c.status == _PENDING,
            )
            .values(status=DeliveryStatus.FAILED.value, next_attempt_at=None, last_error=_REMOVED)
        )
        return int(dropped.rowcount)

    def add_delivery(self, delivery: Delivery) -> None:
        """Insert a delivery owed to a webhook."""
        self._conn.execute(
            webhook_deliveries.insert().values(
                id=delivery.id,
                webhook_id=delivery.webhook_id,
                event_id=delivery.event_id,
                event_type=delivery.event_type.value,
                payload=delivery.payload,
                status=delivery.status.value,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
                created_at=delivery.created_at,
            )
        )

    @staticmethod
    def _due(now: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(
            webhook_deliveries.c.status == _PENDING,
            webhook_deliveries.c.next_attempt_at <= now,
        )

    def has_due(self, now: datetime) -> bool:
        """True if some pending delivery is due at ``now``."""
        query = sa.select(webhook_deliveries.c.id).where(self._due(now)).limit(1)
        return self._conn.execute(query).first() is not None

    def claim_due(
        self, now: datetime, *, lease_until: datetime, limit: int
    ) -> builtins.list[tuple[Delivery, Webhook]]:
        """Take up to ``limit`` due deliveries for one attempt each (see the module)."""
        query = (
            sa.select(webhook_deliveries)
            .where(self._due(now))
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = [_delivery(row) for row in self._conn.execute(query).mappings()]
        if not rows:
            return []
        hooks = {
            row["id"]: _webhook(row)
            for row in self._conn.execute(
                sa.select(webhooks).where(webhooks.c.id.in_({d.webhook_id for d in rows}))
            ).mappings()
        }
        claimed: builtins.list[tuple[Delivery, Webhook]] = []
        for delivery in rows:
            attempts = delivery.attempts + 1
            self._conn.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.id == delivery.id)
                .values(attempts=attempts, next_attempt_at=lease_until, last_attempt_at=now)
            )
            taken = replace(
                delivery, attempts=attempts, next_attempt_at=lease_until, last_attempt_at=now
            )
            claimed.append((taken, hooks[delivery.webhook_id]))
        return claimed

    def finish(
        self,
        delivery: Delivery,
        *,
        status: DeliveryStatus,
        at: datetime,
        next_attempt_at: datetime | None,
        status_code: int | None,
        error: str | None,
    ) -> bool:
        """Record how the claimed attempt went; False if the claim was lost meanwhile."""
        result = self._conn.execute(
            webhook_deliveries.update()
            .where(
                webhook_deliveries.c.id == delivery.id,
                webhook_deliveries.c.status == _PENDING,
                webhook_deliveries.c.attempts == delivery.attempts,
            )
            .values(
                status=status.value,
                next_attempt_at=next_attempt_at,
                last_status_code=status_code,
                last_error=None if error is None else error[:200],
                delivered_at=at if status is DeliveryStatus.DELIVERED else None,
            )
        )
        return result.rowcount == 1

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> builtins.list[Delivery]:
        """A webhook's deliveries, newest first, older than ``before`` (time, id)."""
        table = webhook_deliveries
        query = (
            sa.select(table)
            .where(table.c.webhook_id == webhook_id)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(table.c.status == status.value)
        if before is not None:
            at, delivery_id = before
            query = query.where(
                sa.or_(
                    table.c.created_at < at,
                    sa.and_(table.c.created_at == at, table.c.id < delivery_id),
                )
            )
        return [_delivery(row) for row in self._conn.execute(query).mappings()]
