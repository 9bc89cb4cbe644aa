"""Charter: identity governance and administration for AI agents."""

from charter.clock import ManualClock
from charter.errors import (
    ApprovalPending,
    AuthenticationError,
    CharterError,
    Conflict,
    Denied,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    StoreError,
    Unavailable,
)
from charter.policy import Capability, Decision, Effect, Engine, Facts, PolicyInvalid, Request
from charter.sdk.client import AsyncClient, Client
from charter.sdk.decisions import cite
from charter.sdk.guard import guard
from charter.secrets import redact

__all__ = [
    "ApprovalPending",
    "AsyncClient",
    "AuthenticationError",
    "Capability",
    "CharterError",
    "Client",
    "Conflict",
    "Decision",
    "Denied",
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
    "cite",
    "guard",
    "redact",
]

__version__ = "0.1.0"
