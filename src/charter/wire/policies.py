"""The API's bodies for policies: applying one as files, diffs, revisions."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from charter.wire.base import (
    AgentId,
    InModel,
    Printable,
)

__all__ = [
    "PolicyActivated",
    "PolicyActive",
    "PolicyApplied",
    "PolicyChanges",
    "PolicyDiagnostic",
    "PolicyDiff",
    "PolicyFiles",
    "PolicyRevisionOut",
    "PolicySimulate",
    "PolicySimulation",
    "ReviewOutcomeNotReflected",
]


_PolicyFileName = Annotated[
    str, StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9._/-]+\.ya?ml$"), Printable
]
_PolicyText = Annotated[str, StringConstraints(max_length=512 * 1024), Printable]


class PolicyFiles(InModel):
    """A policy as files: ``{"roles.yaml": "<YAML>", ...}``."""

    files: Annotated[dict[_PolicyFileName, _PolicyText], Field(min_length=1, max_length=500)]


class PolicyDiagnostic(BaseModel):
    """A warning (or error) found in a policy, and where."""

    severity: str
    code: str
    message: str
    file: str
    line: int
    column: int
    help: str | None


class PolicyApplied(BaseModel):
    """The outcome of applying a policy."""

    revision: str
    previous: str | None
    created: bool
    activated: bool
    warnings: list[dict[str, Any]]
    """Each as a ``PolicyDiagnostic`` (kept a mapping: the SDK and CLI index it)."""
    agents_registered: list[str]
    agents_updated: list[str]


class PolicyChanges(BaseModel):
    """The documents of one kind that a policy adds, removes and changes, by name."""

    added: list[str]
    removed: list[str]
    changed: list[str]


class ReviewOutcomeNotReflected(BaseModel):
    """A review outcome in force that the active revision does not reflect yet."""

    campaign: str
    item: str
    agent: str
    binding: str
    """The binding's name (without ``Binding/``)."""
    kind: str
    """``revoke``, ``reduce`` or ``make_eligible``."""
    reflected_by_candidate: bool
    """True when the policy diffed does what the outcome does: applying it marks the
    outcome done."""


class PolicyDiff(BaseModel):
    """What applying a policy would change against the active revision."""

    active: str | None
    revision: str
    unchanged: bool
    changes: dict[str, PolicyChanges]
    """Per kind of document (``roles``, ``bindings``, ...)."""
    warnings: list[PolicyDiagnostic]
    review_outcomes_not_reflected: list[ReviewOutcomeNotReflected] = Field(default_factory=list)
    """Review outcomes in force, each with whether this policy reflects it."""


class PolicyActivated(BaseModel):
    """The revision now active: who activated it and when (ISO 8601 text)."""

    revision: str
    activated_at: str
    activated_by: str


class PolicyActive(PolicyActivated):
    """The active revision with its summary and files."""

    summary: dict[str, Any]
    files: dict[str, str]


class PolicyRevisionOut(BaseModel):
    """A stored revision, without its files."""

    id: str
    created_at: str
    created_by: str
    summary: dict[str, Any]


class PolicySimulate(PolicyFiles):
    """A candidate policy as files, replayed against the decisions of the last ``since``
    (``7d``, ``24h``: at most 400 days), of one agent if ``agent`` is given."""

    since: Annotated[str, StringConstraints(max_length=16, pattern=r"^[0-9]{1,9}[smhd]$")]
    agent: AgentId | None = None


class PolicySimulation(BaseModel):
    """What replaying the recorded decisions against a candidate policy found."""

    revision: str
    """The candidate's revision id."""
    since: str
    until: str
    agent: str | None
    considered: int
    """Decisions recorded in the window (up to the bound)."""
    replayed: int
    unchanged: int
    flipped: int
    not_replayed_count: int
    truncated: bool
    """True when the window held more decisions than one simulation replays."""
    flips: dict[str, dict[str, Any]]
    """By kind: ``count`` and ``by_rule`` (rule, count, examples)."""
    not_replayed: list[dict[str, Any]]
    """By reason: ``reason``, ``explanation``, ``count``, ``examples`` (decision ids)."""
