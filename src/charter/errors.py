"""The one error root of Charter and its families.

Every error Charter raises on purpose is a ``CharterError`` with a stable, snake_case
``code`` that callers may match on. The families below say what kind of failure it is;
the server maps each family to one HTTP status (``charter.server.errors``) and the SDK
maps error responses back to the same families::

    CharterError
    ├── InvalidInput        bad or inconsistent input (422)
    ├── NotFound            the thing named does not exist (404)
    ├── Conflict            the request clashes with current state (409)
    ├── AuthenticationError no valid credential (401)
    ├── PermissionDenied    a valid credential without the right to do this (403)
    │   └── Denied          the policy said no to a guarded call (``charter.guard``)
    ├── PayloadTooLarge     the request body is over the limit (413)
    ├── Unavailable         the server or store cannot be reached: always a deny
    ├── ApprovalPending     a guarded call waits for a human's approval or step-up
    └── StoreError          the store is not set up or not usable
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from charter.codes import ErrorCode

__all__ = [
    "ApprovalPending",
    "AuthenticationError",
    "CharterError",
    "Conflict",
    "Denied",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "StoreError",
    "Unavailable",
]


class CharterError(Exception):
    """Root of every error Charter raises on purpose; carries a stable ``code``."""

    default_code = ErrorCode.CHARTER_ERROR

    def __init__(self, message: str, *, code: str | None = None, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.help = help

    def to_dict(self) -> dict[str, str]:
        """Return the error as the body of the JSON error shape."""
        body = {"code": self.code, "message": self.message}
        if self.help:
            body["help"] = self.help
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={str(self.code)!r}, message={self.message!r})"


class InvalidInput(CharterError):
    """The input is malformed or inconsistent."""

    default_code = ErrorCode.INVALID_INPUT


class NotFound(CharterError):
    """The named thing does not exist."""

    default_code = ErrorCode.NOT_FOUND


class Conflict(CharterError):
    """The request clashes with the current state (duplicate, illegal transition)."""

    default_code = ErrorCode.CONFLICT


class AuthenticationError(CharterError):
    """No valid credential was presented."""

    default_code = ErrorCode.UNAUTHENTICATED


class PermissionDenied(CharterError):
    """The credential is valid but does not allow this call."""

    default_code = ErrorCode.FORBIDDEN


class Denied(PermissionDenied):
    """A decision other than ``allow`` stopped a guarded call; the call did not run.

    ``code`` is the decision's code (``no_permission``, ``guardrail``, ...) or, after a
    wait, what became of the approval (``approval_denied``, ``approval_expired``,
    ``approval_cancelled``); ``reasons`` name the policy documents and rules.
    """

    default_code = ErrorCode.DENIED

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        help: str | None = None,
        reasons: Sequence[Mapping[str, str]] = (),
        decision_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code, help=help)
        self.reasons = tuple(dict(reason) for reason in reasons)
        self.decision_id = decision_id


class ApprovalPending(CharterError):
    """A guarded call needs a human's approval (``kind="approval"``) or step-up
    (``kind="step_up"``) first; it did not run.

    ``approval_id`` is the approval to wait for (``Client.wait_for_approval``); it is
    ``None`` when nothing was created to wait on, as with the embedded ``Engine``.
    """

    default_code = ErrorCode.APPROVAL_PENDING

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        help: str | None = None,
        approval_id: str | None = None,
        kind: str = "approval",
        decision_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        super().__init__(message, code=code, help=help)
        self.approval_id = approval_id
        self.kind = kind
        self.decision_id = decision_id
        self.expires_at = expires_at


class PayloadTooLarge(CharterError):
    """The request body is larger than the server accepts."""

    default_code = ErrorCode.PAYLOAD_TOO_LARGE


class Unavailable(CharterError):
    """The server or store could not be reached; callers must treat this as a deny."""

    default_code = ErrorCode.UNAVAILABLE


class StoreError(CharterError):
    """The store is missing, not initialised or unusable."""

    default_code = ErrorCode.STORE_ERROR
