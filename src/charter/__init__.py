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
from charter.policy import Capability, Decision, Effect, Engine, Facts, PolicyInvalid, Request
from charter.sdk.client import Client

__all__ = [
    "AuthenticationError",
    "Capability",
    "CharterError",
    "Client",
    "Conflict",
    "Decision",
    "Effect",
    "Engine",
    "Facts",
    "InvalidInput",
    "ManualClock",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PolicyInvalid",
    "Request",
    "StoreError",
    "Unavailable",
]

__version__ = "0.1.0"
