"""Recommendations for review items, each with a reason a reviewer can check.

Pure and deterministic: the same evidence, window, time and thresholds give the same
recommendation and the same sentence. Rules, in order:

An agent item (``recommend_agent``):
1. **retire_agent**: no decision and no token issued in the window (or already retired);
2. **reassign_owner**: the owner is deactivated or no longer holds a role to own agents;
3. **keep** otherwise.

A binding or grant item (``recommend_grant``):
1. **revoke**: no permission of its role was used in the window;
2. **make_eligible**: a standing binding used fewer than ``rarely_used_below`` times, on
   a sensitive action or by an agent of a high-risk tier: just in time instead;
3. **reduce**: some permission unused, or used on fewer actions or resources than it
   grants: the narrower role (see ``charter.reviews.narrow``);
4. **keep** otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from charter.clock import to_utc
from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.identity.agents import AgentStatus, RiskTier
from charter.policy.globs import ACTION, GlobError
from charter.policy.model import Activation, Role
from charter.reviews.evidence import AgentEvidence, GrantEvidence
from charter.reviews.narrow import Outcome, narrow_role, role_yaml
from charter.reviews.usage import PermissionUsage

__all__ = [
    "DEFAULT_WINDOW",
    "Recommendation",
    "RecommendationKind",
    "Thresholds",
    "recommend_agent",
    "recommend_grant",
]

DEFAULT_WINDOW = timedelta(days=30)
"""The look-back window when a campaign names none."""


class RecommendationKind(StrEnum):
    """What a review item's evidence recommends."""

    KEEP = "keep"
    REVOKE = "revoke"
    REDUCE = "reduce"
    MAKE_ELIGIBLE = "make_eligible"
    REASSIGN_OWNER = "reassign_owner"
    RETIRE_AGENT = "retire_agent"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The knobs of the rules; the defaults are documented in docs/reviews.md."""

    rarely_used_below: int = 3
    """A standing binding used fewer times than this in the window is rarely used."""
    sensitive_actions: tuple[str, ...] = (
        "rbac.**",
        "iam.**",
        "secrets.**",
        "pam.**",
        "**.delete",
    )
    """Action globs that make a permission sensitive when its actions can match them."""
    high_risk_tiers: frozenset[RiskTier] = field(
        default_factory=lambda: frozenset({RiskTier.HIGH, RiskTier.CRITICAL})
    )
    """Agents of these tiers get "make eligible" for any rarely used standing binding."""

    def __post_init__(self) -> None:
        if self.rarely_used_below < 1:
            raise InvalidInput("rarely_used_below must be at least 1", code=ErrorCode.INVALID_INPUT)
        for pattern in self.sensitive_actions:
            try:
                ACTION.compile(pattern)
            except GlobError as error:
                raise InvalidInput(str(error), code=ErrorCode.INVALID_INPUT) from None


@dataclass(frozen=True, slots=True)
class Recommendation:
    """What to do with a review item, and why."""

    kind: RecommendationKind
    reason: str
    """A sentence for the reviewer, with the numbers behind it."""
    proposed: Role | None = None
    """For ``reduce``: the narrower role."""
    proposed_yaml: str | None = None
    """For ``reduce``: the narrower role as a policy document."""


def _day(moment: datetime) -> str:
    return to_utc(moment).strftime("%Y-%m-%d")


def _since(window: timedelta, now: datetime) -> datetime:
    if window <= timedelta(0):
        raise InvalidInput("the review window must be positive", code=ErrorCode.INVALID_INPUT)
    return to_utc(now) - window


def _times(count: int, noun: str = "time") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def recommend_agent(
    evidence: AgentEvidence,
    *,
    window: timedelta = DEFAULT_WINDOW,
    now: datetime,
    thresholds: Thresholds | None = None,
) -> Recommendation:
    """The recommendation for an agent item. ``thresholds`` are unused for now but kept
    so both kinds of item are recommended alike."""
    since = _since(window, now)
    days = window.days or 1
    seen = evidence.last_seen_at is not None and to_utc(evidence.last_seen_at) >= since
    token = evidence.last_token_at is not None and to_utc(evidence.last_token_at) >= since
    active = evidence.decisions > 0 or seen
    tokens = evidence.tokens_issued > 0 or token
    if evidence.status is AgentStatus.RETIRED:
        return Recommendation(
            RecommendationKind.RETIRE_AGENT,
            f"the agent is already retired; owner {evidence.owner}",
        )
    if not active and not tokens:
        last = (
            f"last seen {_day(evidence.last_seen_at)}"
            if evidence.last_seen_at is not None
            else "never seen"
        )
        last_token = (
            f"last token {_day(evidence.last_token_at)}"
            if evidence.last_token_at is not None
            else "no token ever issued"
        )
        return Recommendation(
            RecommendationKind.RETIRE_AGENT,
            f"no decision and no token issued in the {days}-day window "
            f"(since {_day(since)}); {last}, {last_token}",
        )
    if not evidence.owner_active or not evidence.owner_holds_role:
        why = (
            "is deactivated"
            if not evidence.owner_active
            else "no longer holds a role to own agents"
        )
        return Recommendation(
            RecommendationKind.REASSIGN_OWNER,
            f"owner {evidence.owner} {why}; the agent made "
            f"{_times(evidence.decisions, 'decision')} in the {days}-day window",
        )
    return Recommendation(
        RecommendationKind.KEEP,
        f"{_times(evidence.decisions, 'decision')} in the {days}-day window "
        f"({evidence.denials} denied, {_times(evidence.approvals, 'approval')} asked), "
        f"{_times(evidence.tokens_issued, 'token')} issued; owner {evidence.owner} is active",
    )


def _in_window(usage: PermissionUsage | None, since: datetime) -> PermissionUsage | None:
    """The usage if the permission was used in the window, else None."""
    if usage is None or usage.count <= 0 or to_utc(usage.last_at) < since:
        return None
    return usage


@cache
def _segments_overlap(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """True when some dotted name matches both segment patterns."""
    if not first or not second:
        rest = first or second
        return all(part == "**" for part in rest)
    a, b = first[0], second[0]
    if a == "**":
        return _segments_overlap(first[1:], second) or _segments_overlap(first, second[1:])
    if b == "**":
        return _segments_overlap(first, second[1:]) or _segments_overlap(first[1:], second)
    if a == "*" or b == "*" or a == b:
        return _segments_overlap(first[1:], second[1:])
    return False


def _sensitive(role: Role, thresholds: Thresholds) -> list[str]:
    """The role's action patterns that can name a sensitive action, in order."""
    found: list[str] = []
    for permission in role.permissions:
        for action in permission.actions:
            parts = tuple(action.split("."))
            if action not in found and any(
                _segments_overlap(parts, tuple(pattern.split(".")))
                for pattern in thresholds.sensitive_actions
            ):
                found.append(action)
    return found


def recommend_grant(
    evidence: GrantEvidence,
    *,
    window: timedelta = DEFAULT_WINDOW,
    now: datetime,
    thresholds: Thresholds | None = None,
) -> Recommendation:
    """The recommendation for a binding or grant item."""
    limits = thresholds or Thresholds()
    since = _since(window, now)
    days = window.days or 1
    role = evidence.role
    used = [_in_window(evidence.usage_of(i), since) for i in range(len(role.permissions))]
    present = [usage for usage in used if usage is not None]
    total = sum(usage.count for usage in present)
    if not present:
        ever = [u for i in range(len(role.permissions)) if (u := evidence.usage_of(i))]
        last = f"last used {_day(max(u.last_at for u in ever))}" if ever else "never used"
        return Recommendation(
            RecommendationKind.REVOKE,
            f"role {role.name} through {evidence.source} was not used in the {days}-day "
            f"window (since {_day(since)}); {last}",
        )
    last_use = max(usage.last_at for usage in present)
    summary = f"used {_times(total)}, last {_day(last_use)}"
    sensitive = _sensitive(role, limits)
    high_risk = evidence.risk_tier in limits.high_risk_tiers
    if (
        evidence.activation is Activation.STANDING
        and total < limits.rarely_used_below
        and (sensitive or high_risk)
    ):
        why = (
            f"sensitive actions {', '.join(sensitive)}"
            if sensitive
            else f"a {evidence.risk_tier.value}-risk agent"
        )
        return Recommendation(
            RecommendationKind.MAKE_ELIGIBLE,
            f"{summary}: fewer than {limits.rarely_used_below} uses in the {days}-day "
            f"window of a standing role with {why}; make it eligible (just in time)",
        )
    narrowed = narrow_role(role, lambda index: used[index])
    granted = [a for p in role.permissions for a in p.actions]
    used_actions = {a for usage in present for a in usage.actions}
    unused_patterns = [
        pattern
        for pattern in dict.fromkeys(granted)
        if not any(ACTION.compile(pattern).matches(action) for action in used_actions)
    ]
    full = [i for i, o in enumerate(narrowed.outcomes) if o is Outcome.SAMPLE_FULL]
    full_note = (
        f"; permissions {', '.join(f'[{i}]' for i in full)} kept as granted (sample full)"
        if full
        else ""
    )
    if narrowed.changed:
        dropped = [i for i, o in enumerate(narrowed.outcomes) if o is Outcome.DROPPED]
        cut = [i for i, o in enumerate(narrowed.outcomes) if o is Outcome.NARROWED]
        parts = [summary]
        distinct = len(dict.fromkeys(granted))
        if unused_patterns:
            parts.append(f"{len(unused_patterns)} of {distinct} actions never used")
        if dropped:
            parts.append(f"permissions {', '.join(f'[{i}]' for i in dropped)} never used")
        if cut:
            parts.append(
                f"permissions {', '.join(f'[{i}]' for i in cut)} narrowed "
                "to the actions and resources used"
            )
        return Recommendation(
            RecommendationKind.REDUCE,
            "; ".join(parts) + full_note,
            proposed=narrowed.role,
            proposed_yaml=role_yaml(narrowed.role),
        )
    return Recommendation(
        RecommendationKind.KEEP,
        f"{summary}; every permission used as granted{full_note}",
    )
