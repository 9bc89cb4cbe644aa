"""Charter: identity governance and administration for AI agents.

The public names are loaded when first used, so ``import charter`` stays light: an agent
that only raises Charter's errors does not load the policy engine, CEL or the scanner.
"""

import importlib as _importlib
import typing as _typing

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
from charter.version import __version__ as __version__

if _typing.TYPE_CHECKING:
    from charter.clock import ManualClock
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

_LAZY = {
    "ManualClock": "charter.clock",
    "Capability": "charter.policy",
    "Decision": "charter.policy",
    "Effect": "charter.policy",
    "Engine": "charter.policy",
    "Facts": "charter.policy",
    "PolicyInvalid": "charter.policy",
    "Request": "charter.policy",
    "AsyncClient": "charter.sdk.client",
    "Client": "charter.sdk.client",
    "cite": "charter.sdk.decisions",
    "guard": "charter.sdk.guard",
    "redact": "charter.secrets",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'charter' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
