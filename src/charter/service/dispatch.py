"""The webhook dispatcher: claims due deliveries, signs and sends them, records how it
went, and schedules retries with backoff until a delivery succeeds or is given up.

Delivery is at least once: a dispatcher that dies after sending but before recording
sends again once its claim's lease runs out. Receivers deduplicate on the
``Charter-Delivery`` header (or the event id in the body).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from charter.clock import Clock
from charter.storage.ports import Store
from charter.webhooks.model import Delivery, DeliveryStatus, Webhook, next_attempt_at
from charter.webhooks.signing import SIGNATURE_HEADER, WebhookSecrets, signature_header

__all__ = ["RESULTS", "Dispatcher", "Outcome", "Sender"]

RESULTS = ("delivered", "retrying", "given_up", "lost", "unrecorded")
"""How an attempt can end: sent and answered 2xx; failed, to be retried; failed for the
last time; its claim lost to another dispatcher; its outcome not recorded (the store
failed; the claim's lease brings it back)."""

log = logging.getLogger("charter.webhooks")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: the HTTP status, or a short error that names no secret."""

    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """True for a 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender(Protocol):
    """Sends one signed delivery over the network."""

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """POST ``body`` to ``url``; never raises for network trouble."""
        ...


class Dispatcher:
    """Drains the webhook outbox; ``run_once`` is one pass (the server loops over it)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        keys: WebhookSecrets,
        sender: Sender,
        *,
        batch: int = 32,
        workers: int = 8,
        lease: timedelta = timedelta(minutes=2),
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self._store, self._clock, self._keys, self._sender = store, clock, keys, sender
        # Told how each attempt ended (``RESULTS``), for the server's metrics.
        self._on_result = on_result
        self._batch, self._lease = batch, lease
        # Attempts run side by side, so one slow endpoint does not hold up the others.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="charter-hook")

    def run_once(self) -> int:
        """Attempt every delivery due now (up to one batch); returns how many."""
        now = self._clock()
        with self._store.read() as unit:
            if not unit.webhooks.has_due(now):
                return 0
        with self._store.write() as unit:
            claimed = unit.webhooks.claim_due(now, lease_until=now + self._lease, limit=self._batch)
        for _ in self._pool.map(self._attempt, claimed):
            pass
        return len(claimed)

    def _attempt(self, claim: tuple[Delivery, Webhook]) -> None:
        delivery, webhook = claim
        body = delivery.payload.encode("utf-8")
        secret = self._keys.for_webhook(webhook.id, webhook.secret_salt)
        headers = {
            "Content-Type": "application/json",
            "Charter-Event": delivery.event_type.value,
            "Charter-Delivery": delivery.id,
            SIGNATURE_HEADER: signature_header(secret, int(self._clock().timestamp()), body),
        }
        try:
            url = self._keys.opened(webhook.url, webhook.id)  # stored sealed
            outcome = self._sender.send(url, body, headers)
        except Exception as error:
            # A failed attempt like any other, so the retry schedule still ends.
            log.exception("webhook delivery %s could not be sent", delivery.id)
            outcome = Outcome(None, f"could not be sent ({type(error).__name__})")
        try:
            result = self._record(delivery, outcome)
        except Exception:
            # The claim's lease brings the delivery back; nothing else is lost.
            log.exception("webhook delivery %s: the outcome could not be recorded", delivery.id)
            result = "unrecorded"
        if self._on_result is not None:
            self._on_result(result)

    def _record(self, delivery: Delivery, outcome: Outcome) -> str:
        at = self._clock()
        retry_at = None if outcome.delivered else next_attempt_at(delivery.attempts, at)
        status = (
            DeliveryStatus.DELIVERED
            if outcome.delivered
            else DeliveryStatus.PENDING
            if retry_at is not None
            else DeliveryStatus.FAILED
        )
        with self._store.write() as unit:
            kept = unit.webhooks.finish(
                delivery,
                status=status,
                at=at,
                next_attempt_at=retry_at,
                status_code=outcome.status_code,
                error=outcome.error,
            )
        if not kept:
            log.info("webhook delivery %s: the claim was lost; outcome dropped", delivery.id)
            return "lost"
        if status is not DeliveryStatus.DELIVERED:
            # Named by id, never by URL: webhook URLs can be secrets themselves.
            log.warning(
                "webhook delivery %s to %s, attempt %d: %s (%s)",
                delivery.id,
                delivery.webhook_id,
                delivery.attempts,
                outcome.error or f"HTTP {outcome.status_code}",
                "retrying" if retry_at is not None else "given up",
            )
        return (
            "delivered"
            if status is DeliveryStatus.DELIVERED
            else "retrying"
            if retry_at is not None
            else "given_up"
        )

    def close(self) -> None:
        """Wait for attempts under way, then release the workers."""
        self._pool.shutdown(wait=True)
