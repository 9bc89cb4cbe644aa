"""Webhooks as values: the endpoints, the events they subscribe to, the deliveries
owed to them, and the retry schedule.

A delivery is owed once per webhook subscribed to an event, written in the same
transaction as the change the event reports (an outbox), and sent afterwards by a
dispatcher: at least once, never before the change commits, never inside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.webhooks.targets import check_target

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_URL_LENGTH",
    "RETRY_DELAYS",
    "Delivery",
    "DeliveryStatus",
    "Webhook",
    "WebhookEvent",
    "check_url",
    "events_of",
    "next_attempt_at",
    "url_origin",
]

MAX_URL_LENGTH = 2000
RETRY_DELAYS = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=1),
)
"""The wait after each failed attempt; after the last, the delivery has failed."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


class WebhookEvent(StrEnum):
    """What a webhook can subscribe to; each is also the type of an audit record."""

    APPROVAL_CREATED = "approval.created"
    APPROVAL_APPROVED = "approval.approved"
    APPROVAL_DENIED = "approval.denied"
    APPROVAL_EXPIRED = "approval.expired"
    APPROVAL_CANCELLED = "approval.cancelled"
    GRANT_ISSUED = "grant.issued"
    AGENT_SUSPENDED = "agent.suspended"
    AGENT_RETIRED = "agent.retired"
    REVIEW_STARTED = "review.started"
    REVIEW_ITEM_DUE_SOON = "review.item_due_soon"
    REVIEW_ITEM_OVERDUE = "review.item_overdue"
    REVIEW_CLOSED = "review.closed"


class DeliveryStatus(StrEnum):
    """Where a delivery stands: ``pending`` until it is delivered or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Webhook:
    """An endpoint that is sent the events it subscribes to.

    Its signing secret is never stored: it is derived from the server's key, the
    webhook's id and ``secret_salt`` (see ``charter.webhooks.signing``).
    """

    id: str
    url: str
    events: tuple[WebhookEvent, ...]
    description: str
    secret_salt: str
    created_at: datetime
    created_by: str
    removed_at: datetime | None = None
    removed_by: str | None = None

    @property
    def active(self) -> bool:
        """True until the webhook is removed."""
        return self.removed_at is None

    def wants(self, event: WebhookEvent) -> bool:
        """True if this active webhook subscribes to ``event``."""
        return self.active and event in self.events


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event owed to one webhook, and how sending it has gone so far."""

    id: str
    webhook_id: str
    event_id: str
    event_type: WebhookEvent
    payload: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


def next_attempt_at(attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + RETRY_DELAYS[max(attempts, 1) - 1]


def check_url(url: str, *, allow_private: bool = False) -> str:
    """Refuse anything but an absolute http(s) URL with a host and no credentials, and
    any whose host is a forbidden target (``charter.webhooks.targets``)."""
    problem = None
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        parts, problem = None, "it cannot be parsed"
    if parts is not None:
        if len(url) > MAX_URL_LENGTH:
            problem = f"it is longer than {MAX_URL_LENGTH} characters"
        elif parts.scheme not in ("http", "https"):
            problem = "only http and https URLs are sent to"
        elif not parts.hostname:
            problem = "it has no host"
        elif parts.username is not None or parts.password is not None:
            # The signature authenticates Charter; credentials in a URL end up in logs.
            problem = "it carries credentials (user:password@)"
        elif any(ch.isspace() or not ch.isprintable() for ch in url):
            problem = "it contains spaces or control characters"
        elif "\\" in url:
            # Browsers and some clients read a backslash as a slash: the host is ambiguous.
            problem = "it contains a backslash"
    if problem is not None:
        raise InvalidInput(
            f"invalid webhook URL: {problem}",
            code=ErrorCode.INVALID_WEBHOOK_URL,
            help="give an absolute URL such as https://hooks.example.com/charter",
        )
    if parts is not None and parts.hostname:
        check_target(parts.hostname, allow_private=allow_private)
    return url


def url_origin(url: str) -> str:
    """The URL's scheme, host and port only: what audit records show (paths and query
    strings of webhook URLs are often secrets themselves)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def events_of(names: Iterable[WebhookEvent] | None) -> tuple[WebhookEvent, ...]:
    """The subscribed events, deduplicated in a stable order; every event if None."""
    if names is None:
        return tuple(WebhookEvent)
    chosen = set(names)
    if not chosen:
        raise InvalidInput("subscribe to at least one event", code=ErrorCode.INVALID_WEBHOOK_EVENTS)
    return tuple(event for event in WebhookEvent if event in chosen)
