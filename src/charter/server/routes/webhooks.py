"""``/v1/webhooks``: endpoints that receive Charter's events, and their delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from charter.clock import format_time
from charter.server.deps import Caller, Wired
from charter.webhooks.model import Delivery, DeliveryStatus
from charter.wire.pagination import bad_cursor, decode_cursor, next_cursor
from charter.wire_webhooks import (
    DeliveryOut,
    DeliveryPage,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPage,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

WebhookIdPath = Annotated[str, Path(pattern=r"^whk_[a-z2-7]{16}$")]
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def _delivery_key(delivery: Delivery) -> str:
    return f"{format_time(delivery.created_at)}|{delivery.id}"


def _before(cursor: str | None) -> tuple[datetime, str] | None:
    value = decode_cursor(cursor)
    if value is None:
        return None
    at, _, delivery_id = value.partition("|")
    try:
        moment = datetime.strptime(at, _TIME).replace(tzinfo=UTC)
    except ValueError:
        raise bad_cursor() from None
    if not delivery_id.startswith("dlv_"):
        raise bad_cursor()
    return moment, delivery_id


@router.post("", status_code=201)
def add_webhook(services: Wired, caller: Caller, body: WebhookIn) -> WebhookCreated:
    """Add a webhook (admins); its signing secret is in this answer only."""
    webhook, secret = services.webhooks.add(
        caller, url=body.url, events=body.events, description=body.description
    )
    return WebhookCreated.with_secret(webhook, secret)


@router.get("")
def list_webhooks(
    services: Wired,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> WebhookPage:
    """Every webhook, removed ones too, ordered by id (admins, auditors)."""
    found = services.webhooks.list(caller, after=decode_cursor(cursor), limit=limit)
    return WebhookPage(
        webhooks=[WebhookOut.of(webhook) for webhook in found],
        next_cursor=next_cursor(found, limit, lambda webhook: webhook.id),
    )


@router.get("/{webhook_id}")
def get_webhook(services: Wired, caller: Caller, webhook_id: WebhookIdPath) -> WebhookOut:
    """One webhook (admins, auditors)."""
    return WebhookOut.of(services.webhooks.get(caller, webhook_id))


@router.delete("/{webhook_id}")
def remove_webhook(services: Wired, caller: Caller, webhook_id: WebhookIdPath) -> WebhookOut:
    """Stop sending to a webhook (admins); its pending deliveries are given up."""
    return WebhookOut.of(services.webhooks.remove(caller, webhook_id))


@router.get("/{webhook_id}/deliveries")
def list_deliveries(
    services: Wired,
    caller: Caller,
    webhook_id: WebhookIdPath,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DeliveryPage:
    """The webhook's delivery log, newest first (admins, auditors)."""
    found = services.webhooks.deliveries(
        caller, webhook_id, status=status, before=_before(cursor), limit=limit
    )
    return DeliveryPage(
        deliveries=[DeliveryOut.of(delivery) for delivery in found],
        next_cursor=next_cursor(found, limit, _delivery_key),
    )
