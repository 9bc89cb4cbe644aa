"""The HTTP API's request and response bodies, shared by the server and the SDK.

Input models forbid unknown fields and bound every string and collection, and no string
may carry a NUL or a lone surrogate (neither survives a trip through PostgreSQL).
Numbers and booleans must be JSON numbers and booleans, and times ISO 8601 text that
fits in UTC: a wrong JSON type is refused, never coerced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
)

from charter.clock import to_utc
from charter.durations import parse_duration
from charter.errors import InvalidInput
from charter.identity.agents import Agent, AgentStatus, RiskTier
from charter.identity.credentials import Credential, CredentialState, IssuedToken, PrincipalKind
from charter.identity.humans import Human, HumanRole
from charter.identity.names import (
    AGENT_ID_PATTERN,
    GROUP_PATTERN,
    HUMAN_ID_PATTERN,
    LABEL_KEY_PATTERN,
    LABEL_VALUE_PATTERN,
    MAX_LABELS,
)
from charter.policy.model import Capability

__all__ = [
    "MAX_JSON_DEPTH",
    "AgentIn",
    "AgentOut",
    "AgentPage",
    "AgentPatch",
    "AuditPage",
    "DeactivationOut",
    "DecisionBatchIn",
    "DecisionBatchOut",
    "DecisionIn",
    "DecisionOut",
    "HumanIn",
    "HumanOut",
    "HumanPage",
    "HumanPatch",
    "IssuedTokenOut",
    "LifecycleIn",
    "LifecycleOut",
    "PolicyApplied",
    "PolicyFiles",
    "ResourceIn",
    "TokenIn",
    "TokenOut",
    "UtcDateTime",
    "WhoAmI",
    "printable",
    "printable_json",
    "unicode_json",
]

_MAX_TTL_SECONDS = 10 * 366 * 24 * 3600


def printable(value: str) -> str:
    """Refuse NUL characters and lone surrogates (neither survives PostgreSQL)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


_Printable = AfterValidator(printable)

MAX_JSON_DEPTH = 64
"""JSON sent as context, input or content nests at most this deep."""


def printable_json(value: Any) -> Any:
    """``printable`` for every string (and key) of a JSON value, nested at most
    ``MAX_JSON_DEPTH`` levels (what is stored: context, input, attributes)."""
    return _each_string(value, printable)


def unicode_json(value: Any) -> Any:
    """Every string (and key) of a JSON value valid Unicode (NUL allowed), nested at most
    ``MAX_JSON_DEPTH`` levels (what is answered but never stored: scanned content)."""

    def encodable(text: str) -> str:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode (no lone surrogates)") from None
        return text

    return _each_string(value, encodable)


def _each_string(value: Any, check: Callable[[str], str]) -> Any:
    def walk(node: Any, depth: int) -> None:
        if isinstance(node, str):
            check(node)
        elif isinstance(node, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(f"must not nest deeper than {MAX_JSON_DEPTH} levels")
            for key in node if isinstance(node, dict) else ():
                check(key)
            for item in node.values() if isinstance(node, dict) else node:
                walk(item, depth + 1)

    walk(value, 0)
    return value


_PrintableJson = AfterValidator(printable_json)


def _time_text(value: Any) -> Any:
    # A JSON number would be read as seconds or milliseconds since 1970, whichever
    # pydantic guesses from its size: a time must be written out.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return to_utc(value)
    except OverflowError:
        # An offset can push a valid local time past year 9999 (or before year 1) in UTC.
        raise ValueError("must fall between years 1 and 9999 in UTC") from None


UtcDateTime = Annotated[datetime, BeforeValidator(_time_text), AfterValidator(_in_utc)]
"""An input time: ISO 8601 text, naive taken as UTC, returned as aware UTC."""

_AgentId = Annotated[str, StringConstraints(max_length=63, pattern=AGENT_ID_PATTERN), _Printable]
_HumanId = Annotated[str, StringConstraints(max_length=69, pattern=HUMAN_ID_PATTERN), _Printable]
_Group = Annotated[str, StringConstraints(max_length=63, pattern=GROUP_PATTERN), _Printable]
_LabelKey = Annotated[str, StringConstraints(max_length=63, pattern=LABEL_KEY_PATTERN), _Printable]
_LabelValue = Annotated[
    str, StringConstraints(max_length=63, pattern=LABEL_VALUE_PATTERN), _Printable
]
_Labels = Annotated[dict[_LabelKey, _LabelValue], Field(max_length=MAX_LABELS)]
_Name = Annotated[str, StringConstraints(max_length=200), _Printable]
_Email = Annotated[str, StringConstraints(max_length=254), _Printable]
_Purpose = Annotated[str, StringConstraints(max_length=2000), _Printable]
_Reason = Annotated[str, StringConstraints(max_length=1000), _Printable]
_Groups = Annotated[list[_Group], Field(max_length=64)]
_Roles = Annotated[list[HumanRole], Field(max_length=8)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentIn(_In):
    """Register an agent."""

    id: _AgentId
    owner: _HumanId
    purpose: _Purpose
    risk_tier: RiskTier = RiskTier.MEDIUM
    display_name: _Name | None = None
    labels: _Labels = Field(default_factory=dict)
    recertify_by: UtcDateTime | None = None


class AgentPatch(_In):
    """Change an agent; absent fields stay as they are."""

    display_name: _Name | None = None
    owner: _HumanId | None = None
    purpose: _Purpose | None = None
    risk_tier: RiskTier | None = None
    labels: _Labels | None = None
    recertify_by: UtcDateTime | None = None


class LifecycleIn(_In):
    """Why an agent is suspended, reinstated or retired."""

    reason: _Reason = ""


class AgentOut(BaseModel):
    """An agent as the API shows it."""

    id: str
    display_name: str
    owner: str
    purpose: str
    risk_tier: RiskTier
    status: AgentStatus
    labels: dict[str, str]
    created_at: datetime
    updated_at: datetime
    recertify_by: datetime | None
    last_seen_at: datetime | None

    @classmethod
    def of(cls, agent: Agent) -> AgentOut:
        """Render a domain agent."""
        return cls(
            id=agent.id,
            display_name=agent.display_name,
            owner=agent.owner,
            purpose=agent.purpose,
            risk_tier=agent.risk_tier,
            status=agent.status,
            labels=dict(agent.labels),
            created_at=agent.created_at,
            updated_at=agent.updated_at,
            recertify_by=agent.recertify_by,
            last_seen_at=agent.last_seen_at,
        )


class AgentPage(BaseModel):
    """A page of agents."""

    agents: list[AgentOut]
    next_cursor: str | None


class LifecycleOut(BaseModel):
    """An agent after a lifecycle move, and the tokens it revoked."""

    agent: AgentOut
    revoked_tokens: list[str]


class HumanIn(_In):
    """Add a human."""

    id: _HumanId
    email: _Email
    display_name: _Name | None = None
    groups: _Groups = Field(default_factory=list)
    roles: _Roles = Field(default_factory=list)


class HumanPatch(_In):
    """Change a human; absent fields stay as they are. ``active: true`` reactivates."""

    email: _Email | None = None
    display_name: _Name | None = None
    groups: _Groups | None = None
    roles: _Roles | None = None
    active: StrictBool | None = None


class HumanOut(BaseModel):
    """A human as the API shows it."""

    id: str
    email: str
    display_name: str
    groups: list[str]
    roles: list[HumanRole]
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, human: Human) -> HumanOut:
        """Render a domain human."""
        return cls(
            id=human.id,
            email=human.email,
            display_name=human.display_name,
            groups=list(human.groups),
            roles=sorted(human.roles),
            active=human.active,
            created_at=human.created_at,
            updated_at=human.updated_at,
        )


class HumanPage(BaseModel):
    """A page of humans."""

    humans: list[HumanOut]
    next_cursor: str | None


class DeactivationOut(BaseModel):
    """A deactivated human and the agents they left without an active owner."""

    human: HumanOut
    orphaned_agents: list[AgentOut]
    revoked_tokens: list[str]


class TokenIn(_In):
    """Issue or rotate a token."""

    ttl_seconds: Annotated[StrictInt, Field(ge=1, le=_MAX_TTL_SECONDS)] | None = None
    description: _Name = ""


class TokenOut(BaseModel):
    """A token's record; never its secret."""

    id: str
    principal_kind: PrincipalKind
    principal_id: str
    description: str
    state: CredentialState
    created_at: datetime
    created_by: str
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    rotated_from: str | None

    @classmethod
    def of(cls, credential: Credential, now: datetime) -> TokenOut:
        """Render a stored credential as seen at ``now``."""
        return cls(
            id=credential.id,
            principal_kind=credential.principal_kind,
            principal_id=credential.principal_id,
            description=credential.description,
            state=credential.state(now),
            created_at=credential.created_at,
            created_by=credential.created_by,
            expires_at=credential.expires_at,
            last_used_at=credential.last_used_at,
            revoked_at=credential.revoked_at,
            revoked_by=credential.revoked_by,
            rotated_from=credential.rotated_from,
        )


class IssuedTokenOut(BaseModel):
    """A new token: the clear text is in this response and nowhere else, ever."""

    token: str
    credential: TokenOut

    @classmethod
    def of(cls, issued: IssuedToken, now: datetime) -> IssuedTokenOut:
        """Render a freshly minted token."""
        return cls(token=issued.token, credential=TokenOut.of(issued.credential, now))


class AuditPage(BaseModel):
    """A page of audit records (each as exported: body fields plus hashes)."""

    records: list[dict[str, Any]]
    next_cursor: str | None


class WhoAmI(BaseModel):
    """The caller behind a token."""

    kind: PrincipalKind
    id: str
    roles: list[HumanRole]
    credential_id: str


_PolicyFileName = Annotated[
    str, StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9._/-]+\.ya?ml$"), _Printable
]
_PolicyText = Annotated[str, StringConstraints(max_length=512 * 1024), _Printable]


class PolicyFiles(_In):
    """A policy as files: ``{"roles.yaml": "<YAML>", ...}``."""

    files: Annotated[dict[_PolicyFileName, _PolicyText], Field(min_length=1, max_length=500)]


class PolicyApplied(BaseModel):
    """The outcome of applying a policy."""

    revision: str
    previous: str | None
    created: bool
    activated: bool
    warnings: list[dict[str, Any]]
    agents_registered: list[str]
    agents_updated: list[str]


_Action = Annotated[str, StringConstraints(min_length=1, max_length=200), _Printable]
_Resource = Annotated[str, StringConstraints(min_length=1, max_length=1000), _Printable]
_Field = Annotated[str, StringConstraints(min_length=1, max_length=200), _Printable]
_Key = Annotated[str, StringConstraints(min_length=1, max_length=200), _Printable]


class ResourceIn(_In):
    """A resource with attributes; a plain string stands for ``{"id": ...}``."""

    id: _Resource
    attributes: Annotated[dict[_Key, Any], Field(max_length=64), _PrintableJson] = {}


class DecisionIn(_In):
    """One decision request (``POST /v1/decisions``, docs/api.md). ``agent`` is for
    enforcer tokens; an agent token decides for itself and may leave it out."""

    agent: _AgentId | None = None
    capability: Capability
    action: _Action
    resource: _Resource | ResourceIn
    fields: Annotated[list[_Field], Field(max_length=200)] = []
    context: Annotated[dict[_Key, Any], Field(max_length=64), _PrintableJson] = {}
    input: Annotated[Any, _PrintableJson] = None

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


class DecisionOut(BaseModel):
    """The decision, as recorded in the audit log."""

    decision: str
    code: str
    decision_id: str
    policy_revision: str | None
    reasons: list[dict[str, str]]
    errors: list[str]
    released_fields: list[str]
    redacted_fields: list[str]
    approval: dict[str, Any] | None
    message: str | None
    secrets: list[dict[str, Any]] = []
    """What the secrets scanner found in the context and input: type, path, offsets,
    confidence, fingerprint, whether it is a registered leak; never a value."""


class DecisionBatchIn(_In):
    """Up to 100 decision requests, decided in order."""

    requests: Annotated[list[DecisionIn], Field(min_length=1, max_length=100)]


class DecisionBatchOut(BaseModel):
    """The decisions, in the order asked."""

    decisions: list[DecisionOut]
