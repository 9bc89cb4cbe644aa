"""Webhooks: events sent to configured endpoints, signed, retried, logged.

Receivers check a delivery with ``verify_signature(secret, header, body)``, where
``header`` is the ``Charter-Signature`` header and ``body`` the raw request body.
"""

from charter.webhooks.model import Delivery, DeliveryStatus, Webhook, WebhookEvent
from charter.webhooks.signing import WebhookSecrets, verify_signature

__all__ = [
    "Delivery",
    "DeliveryStatus",
    "Webhook",
    "WebhookEvent",
    "WebhookSecrets",
    "verify_signature",
]
