"""Charter: identity governance and administration for AI agents."""

from charter.clock import ManualClock
from charter.errors import (
    AuthenticationError,
    CharterError,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    StoreError,
    Unavailable,
)
from charter.sdk.client import Client

__all__ = [
    "AuthenticationError",
    "CharterError",
    "Client",
    "Conflict",
    "InvalidInput",
    "ManualClock",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "StoreError",
    "Unavailable",
]

__version__ = "0.1.0"
