"""Webhook use cases: configure endpoints, read their delivery log, and publish events.

``publish`` is the outbox: inside the caller's transaction it writes one delivery per
active webhook subscribed to the event, so a delivery exists exactly when the change it
reports committed. Sending is the dispatcher's job (``charter.service.dispatch``), after
the commit and outside any request: a dead endpoint never slows or fails a decision.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from charter.audit.records import AuditEntry, canonical_json
from charter.clock import Clock, format_time
from charter.codes import ErrorCode
from charter.errors import Conflict, InvalidInput, NotFound, Unavailable
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.ids import IdFactory, new_id
from charter.service.access import require_roles
from charter.storage.ports import Store, UnitOfWork
from charter.webhooks.model import (
    Delivery,
    DeliveryStatus,
    Webhook,
    WebhookEvent,
    check_url,
    events_of,
    url_origin,
)
from charter.webhooks.signing import SEALED_PREFIX, WebhookSecrets

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_WEBHOOKS",
    "WebhookService",
    "audit_and_publish",
    "publish",
    "secrets_from",
]

MAX_WEBHOOKS = 50
"""Active webhooks at most: every event writes one delivery per subscribed webhook."""
MAX_DESCRIPTION = 200
_EVENTS = {event.value: event for event in WebhookEvent}


def secrets_from(signing_key: Ed25519PrivateKey) -> WebhookSecrets:
    """Webhook secrets derived from the server's audit signing key (its 32-byte seed)."""
    seed = signing_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return WebhookSecrets(seed)


def publish(
    unit: UnitOfWork,
    event: WebhookEvent,
    data: Mapping[str, Any],
    at: datetime,
    *,
    ids: IdFactory = new_id,
) -> str | None:
    """Owe ``event`` to every active webhook subscribed to it, in the caller's
    transaction; returns the event id, or None when no webhook wants it."""
    wanted = [webhook for webhook in unit.webhooks.active() if webhook.wants(event)]
    if not wanted:
        return None
    event_id = ids("evt")
    payload = canonical_json(
        {"id": event_id, "type": event.value, "created_at": format_time(at), "data": dict(data)}
    )
    for webhook in wanted:
        unit.webhooks.add_delivery(
            Delivery(
                id=ids("dlv"),
                webhook_id=webhook.id,
                event_id=event_id,
                event_type=event,
                payload=payload,
                status=DeliveryStatus.PENDING,
                attempts=0,
                created_at=at,
                next_attempt_at=at,
            )
        )
    return event_id


def audit_and_publish(unit: UnitOfWork, entry: AuditEntry, *, ids: IdFactory = new_id) -> None:
    """Append ``entry`` to the audit log and, if its type is a webhook event, publish it:
    the event's data is the record's data with its ``actor`` and ``agent``."""
    unit.audit.append(entry)
    event = _EVENTS.get(entry.type)
    if event is not None:
        data = {**entry.data, "actor": entry.actor, "agent": entry.agent}
        publish(unit, event, data, entry.at, ids=ids)


def _recorded(webhook: Webhook, keys: WebhookSecrets) -> dict[str, Any]:
    # The URL's path and query are often secrets of their own (chat incoming-webhook
    # URLs): the audit log keeps the origin and a keyed digest to match it by.
    return {
        "url_origin": url_origin(webhook.url),
        "url_digest": keys.digest(webhook.url),
        "events": [event.value for event in webhook.events],
        "description": webhook.description,
    }


class WebhookService:
    """Adds, lists and removes webhooks; reads their delivery log."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        keys: WebhookSecrets | None,
        ids: IdFactory = new_id,
        allow_private_targets: bool = False,
    ) -> None:
        self._store, self._clock, self._keys, self._ids = store, clock, keys, ids
        self.allow_private_targets = allow_private_targets
        """True: webhooks may target private and loopback addresses (never link-local)."""

    @property
    def can_sign(self) -> bool:
        """True when the server has a key to derive webhook secrets from."""
        return self._keys is not None

    @property
    def keys(self) -> WebhookSecrets:
        """The secrets' source; ``webhook_key_missing`` on a server without a key."""
        if self._keys is None:
            raise Unavailable(
                "this server has no key to sign webhook deliveries with",
                code=ErrorCode.WEBHOOK_KEY_MISSING,
                help="start the server with its audit signing key (charter serve does)",
            )
        return self._keys

    def add(
        self,
        actor: Principal,
        *,
        url: str,
        events: Iterable[WebhookEvent] | None = None,
        description: str = "",
    ) -> tuple[Webhook, str]:
        """Add a webhook (admins); returns it and its secret, which is shown only now."""
        require_roles(actor, "add webhooks", HumanRole.ADMIN)
        keys = self.keys
        check_url(url, allow_private=self.allow_private_targets)
        if len(description) > MAX_DESCRIPTION:
            raise InvalidInput(
                f"the description is longer than {MAX_DESCRIPTION} characters",
                code=ErrorCode.INVALID_DESCRIPTION,
            )
        now = self._clock()
        webhook = Webhook(
            id=self._ids("whk"),
            url=url,
            events=events_of(events),
            description=description,
            secret_salt=secrets.token_hex(16),
            created_at=now,
            created_by=actor.ref,
        )
        with self._store.write() as unit:
            if len(unit.webhooks.active()) >= MAX_WEBHOOKS:
                raise Conflict(
                    f"there are already {MAX_WEBHOOKS} webhooks",
                    code=ErrorCode.TOO_MANY_WEBHOOKS,
                    help="remove one first: charter webhooks remove",
                )
            unit.webhooks.add(replace(webhook, url=keys.seal(url, webhook.id)))
            unit.audit.append(
                AuditEntry(
                    type="webhook.added",
                    actor=actor.ref,
                    at=now,
                    subject=webhook.id,
                    data=_recorded(webhook, keys),
                )
            )
        return webhook, keys.for_webhook(webhook.id, webhook.secret_salt)

    def list(
        self, actor: Principal, *, after: str | None = None, limit: int = 100
    ) -> builtins.list[Webhook]:
        """Webhooks, removed ones too, ordered by id (admins, auditors)."""
        require_roles(actor, "read webhooks", HumanRole.ADMIN, HumanRole.AUDITOR)
        with self._store.read() as unit:
            return [
                self._opened(webhook) for webhook in unit.webhooks.list(after=after, limit=limit)
            ]

    def get(self, actor: Principal, webhook_id: str) -> Webhook:
        """One webhook (admins, auditors)."""
        require_roles(actor, "read webhooks", HumanRole.ADMIN, HumanRole.AUDITOR)
        with self._store.read() as unit:
            return self._opened(self._found(unit, webhook_id))

    def remove(self, actor: Principal, webhook_id: str) -> Webhook:
        """Stop sending to a webhook (admins): its pending deliveries are given up."""
        require_roles(actor, "remove webhooks", HumanRole.ADMIN)
        now = self._clock()
        with self._store.write() as unit:
            webhook = self._opened(self._found(unit, webhook_id))
            dropped = unit.webhooks.remove(webhook_id, at=now, by=actor.ref)
            if dropped is None:
                raise Conflict(
                    f"webhook {webhook_id} is already removed", code=ErrorCode.WEBHOOK_REMOVED
                )
            unit.audit.append(
                AuditEntry(
                    type="webhook.removed",
                    actor=actor.ref,
                    at=now,
                    subject=webhook.id,
                    data={"url_origin": url_origin(webhook.url), "dropped_deliveries": dropped},
                )
            )
        return replace(webhook, removed_at=now, removed_by=actor.ref)

    def seal_stored(self) -> int:
        """Seal the URLs stored before URLs were sealed (how many); nothing without a
        key. Every server runs it as it starts: a second run finds nothing to do."""
        if self._keys is None:
            return 0
        sealed, after = 0, None
        with self._store.write() as unit:
            while page := unit.webhooks.list(after=after, limit=100):  # removed ones too
                for webhook in page:
                    if not webhook.url.startswith(SEALED_PREFIX):
                        unit.webhooks.set_url(webhook.id, self._keys.seal(webhook.url, webhook.id))
                        sealed += 1
                after = page[-1].id
        return sealed

    def _opened(self, webhook: Webhook) -> Webhook:
        return replace(webhook, url=self.keys.opened(webhook.url, webhook.id))

    def deliveries(
        self,
        actor: Principal,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> builtins.list[Delivery]:
        """A webhook's delivery log, newest first (admins, auditors)."""
        require_roles(actor, "read webhook deliveries", HumanRole.ADMIN, HumanRole.AUDITOR)
        with self._store.read() as unit:
            self._found(unit, webhook_id)
            return unit.webhooks.deliveries(webhook_id, status=status, before=before, limit=limit)

    @staticmethod
    def _found(unit: UnitOfWork, webhook_id: str) -> Webhook:
        webhook = unit.webhooks.get(webhook_id)
        if webhook is None:
            raise NotFound(f"no webhook {webhook_id!r}", code=ErrorCode.WEBHOOK_NOT_FOUND)
        return webhook
