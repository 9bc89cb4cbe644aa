"""The API's bodies for webhooks and their delivery log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from charter.webhooks.model import MAX_URL_LENGTH, Delivery, Webhook, WebhookEvent
from charter.wire.base import InModel, masked_within, printable

__all__ = [
    "DeliveryOut",
    "DeliveryPage",
    "WebhookCreated",
    "WebhookIn",
    "WebhookOut",
    "WebhookPage",
]

_Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(printable),
]
_Description = Annotated[
    str, StringConstraints(max_length=200), AfterValidator(printable), masked_within(200)
]
_Events = Annotated[list[WebhookEvent], Field(min_length=1, max_length=len(WebhookEvent))]


class WebhookIn(InModel):
    """A new webhook: where to send, which events (all if left out), and a note."""

    url: _Url
    events: _Events | None = None
    description: _Description = ""


class WebhookOut(BaseModel):
    """A webhook as admins and auditors see it (never its secret)."""

    id: str
    url: str
    events: list[WebhookEvent]
    description: str
    active: bool
    created_at: datetime
    created_by: str
    removed_at: datetime | None
    removed_by: str | None

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        """The API's view of ``webhook``."""
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=list(webhook.events),
            description=webhook.description,
            active=webhook.active,
            created_at=webhook.created_at,
            created_by=webhook.created_by,
            removed_at=webhook.removed_at,
            removed_by=webhook.removed_by,
        )


class WebhookCreated(WebhookOut):
    """A webhook just added, with its signing secret: shown in this answer only."""

    secret: str

    @classmethod
    def with_secret(cls, webhook: Webhook, secret: str) -> WebhookCreated:
        """The answer to adding ``webhook``."""
        return cls(**WebhookOut.of(webhook).model_dump(), secret=secret)


class WebhookPage(BaseModel):
    """A page of webhooks."""

    webhooks: list[WebhookOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    """One event owed to one webhook, and how sending it has gone."""

    id: str
    webhook: str
    event: str
    type: WebhookEvent
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        """The API's view of ``delivery``."""
        return cls(
            id=delivery.id,
            webhook=delivery.webhook_id,
            event=delivery.event_id,
            type=delivery.event_type,
            status=delivery.status.value,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_attempt_at=delivery.last_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
            payload=json.loads(delivery.payload),
        )


class DeliveryPage(BaseModel):
    """A page of a webhook's delivery log, newest first."""

    deliveries: list[DeliveryOut]
    next_cursor: str | None
