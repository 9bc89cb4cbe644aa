"""The API's bodies for decisions: what an agent asks, and the answer."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, Field, StringConstraints, field_validator
from typing_extensions import TypedDict

from charter.durations import parse_duration
from charter.errors import InvalidInput
from charter.policy.model import Capability
from charter.wire.base import (
    AgentId,
    InModel,
    Printable,
    PrintableJson,
)

__all__ = [
    "DecisionApproval",
    "DecisionBatchIn",
    "DecisionBatchOut",
    "DecisionIn",
    "DecisionOut",
    "DecisionReason",
    "ReachAsked",
    "ReachIn",
    "ReachItem",
    "ReachOut",
    "ResourceIn",
]


_Action = Annotated[str, StringConstraints(min_length=1, max_length=200), Printable]
_Resource = Annotated[str, StringConstraints(min_length=1, max_length=1000), Printable]
_Field = Annotated[str, StringConstraints(min_length=1, max_length=200), Printable]
_Key = Annotated[str, StringConstraints(min_length=1, max_length=200), Printable]


class ResourceIn(InModel):
    """A resource with attributes; a plain string stands for ``{"id": ...}``."""

    id: _Resource
    attributes: Annotated[dict[_Key, Any], Field(max_length=64), PrintableJson] = {}  # noqa: RUF012 (pydantic copies it)


class DecisionIn(InModel):
    """One decision request (``POST /v1/decisions``, docs/api.md). ``agent`` is for
    enforcer tokens; an agent token decides for itself and may leave it out."""

    agent: AgentId | None = None
    capability: Capability
    action: _Action
    resource: _Resource | ResourceIn
    fields: Annotated[list[_Field], Field(max_length=200)] = []  # noqa: RUF012 (pydantic copies it)
    context: Annotated[dict[_Key, Any], Field(max_length=64), PrintableJson] = {}  # noqa: RUF012 (pydantic copies it)
    input: Annotated[Any, PrintableJson] = None

    @field_validator("context")
    @classmethod
    def _readable_duration(cls, context: dict[str, Any]) -> dict[str, Any]:
        # ``context.duration`` asks an approval for a shorter grant: refused here when it
        # is not a duration, so no approval ever holds one that cannot be read.
        if "duration" in context:
            asked = context["duration"]
            if not isinstance(asked, str):
                raise ValueError("duration must be a string such as 30m, 2h or 7d")
            try:
                parse_duration(asked)
            except InvalidInput as error:
                raise ValueError(error.message) from None
        return context


# A decision's approval is a typed dict, not a model: it stays a plain mapping in Python
# (the SDK and the CLI read it so) and its time stays the text the server wrote.


class DecisionReason(TypedDict):
    """One reason of a decision: the rule that decided, and its message when it has one."""

    policy: str
    rule: str
    effect: str
    message: NotRequired[str]


class DecisionApproval(TypedDict):
    """A decision's ``approval``: the approval or step-up confirmation it waits on (read
    as ``charter.wire_approvals.ApprovalTicket`` by the SDK)."""

    id: str
    kind: str
    status: str
    expires_at: str
    """ISO 8601 UTC text, with microseconds."""
    policy: str
    approvers: list[str]
    quorum: int


class DecisionOut(BaseModel):
    """The decision, as recorded in the audit log."""

    decision: str
    code: str
    decision_id: str
    policy_revision: str | None
    reasons: list[DecisionReason]
    errors: list[str]
    released_fields: list[str]
    redacted_fields: list[str]
    approval: DecisionApproval | None
    message: str | None
    secrets: list[dict[str, Any]] = []
    """What the secrets scanner found in the context and input: type, path, offsets,
    confidence, fingerprint, whether it is a registered leak; never a value."""


class DecisionBatchIn(InModel):
    """Up to 100 decision requests, decided in order."""

    requests: Annotated[list[DecisionIn], Field(min_length=1, max_length=100)]


class DecisionBatchOut(BaseModel):
    """The decisions, in the order asked."""

    decisions: list[DecisionOut]


class ReachAsked(InModel):
    """One capability and action to ask about."""

    capability: Capability
    action: _Action


class ReachIn(InModel):
    """What could the agent ever be allowed (``POST /v1/decisions/reach``)? ``agent`` is
    for enforcer tokens; an agent token asks for itself."""

    agent: AgentId | None = None
    actions: Annotated[list[ReachAsked], Field(min_length=1, max_length=500)]


class ReachItem(BaseModel):
    """One answer: ``possible`` when some request could be allowed, ``via`` a
    ``standing`` binding or only an ``eligible`` one (after an approval)."""

    capability: str
    action: str
    possible: bool
    via: str | None


class ReachOut(BaseModel):
    """The answers, in the order asked, against the active revision."""

    agent: str
    policy_revision: str | None
    actions: list[ReachItem]
