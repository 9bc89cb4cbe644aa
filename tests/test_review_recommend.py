"""Recommendations for review items on crafted evidence: each kind, its rule, its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from charter.clock import ManualClock
from charter.errors import InvalidInput
from charter.identity.agents import AgentStatus, RiskTier
from charter.policy import Capability, Effect, Engine, Request
from charter.policy.model import Activation, Permission, Role
from charter.reviews.evidence import AgentEvidence, GrantEvidence
from charter.reviews.recommend import (
    DEFAULT_WINDOW,
    RecommendationKind,
    Thresholds,
    recommend_agent,
    recommend_grant,
)
from charter.reviews.usage import PermissionKey, PermissionUsage

CLOCK = ManualClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
NOW = CLOCK()
WINDOW = timedelta(days=30)
BOT = "support-bot"
SOURCE = "Binding/support-bot-reader"

READER = Role(
    "support-reader",
    (
        Permission(
            Capability.REQUEST,
            actions=("crm.customer.read",),
            resources=("crm/customer/*",),
            fields=("name", "email"),
        ),
        Permission(
            Capability.DO,
            actions=("ticket.create", "ticket.comment", "ticket.close"),
            resources=("ticketing/queue/*",),
        ),
    ),
)
ADMIN = Role(
    "iam-admin",
    (Permission(Capability.DO, actions=("iam.role.assign",), resources=("iam/roles/*",)),),
)


def used(
    index: int,
    actions: tuple[str, ...],
    resources: tuple[str, ...],
    *,
    count: int,
    last: datetime = NOW - timedelta(days=5),
    role: Role = READER,
    full: bool = False,
) -> PermissionUsage:
    return PermissionUsage(
        key=PermissionKey(BOT, role.name, index, SOURCE),
        count=count,
        first_at=last - timedelta(days=10),
        last_at=last,
        actions=actions,
        resources=resources,
        sample_full=full,
    )


def grant(
    *usage: PermissionUsage,
    role: Role = READER,
    activation: Activation = Activation.STANDING,
    risk_tier: RiskTier = RiskTier.MEDIUM,
) -> GrantEvidence:
    return GrantEvidence(
        agent=BOT,
        source=SOURCE,
        role=role,
        activation=activation,
        risk_tier=risk_tier,
        usage=usage,
    )


def agent(**changes: object) -> AgentEvidence:
    values: dict[str, object] = {
        "agent": BOT,
        "owner": "user:alice",
        "risk_tier": RiskTier.MEDIUM,
        "status": AgentStatus.ACTIVE,
        "last_seen_at": NOW - timedelta(days=1),
        "decisions": 120,
        "denials": 3,
        "approvals": 1,
        "tokens_issued": 4,
        "last_token_at": NOW - timedelta(days=2),
    }
    values.update(changes)
    return AgentEvidence(**values)  # type: ignore[arg-type]


# --- Binding and grant items ----------------------------------------------------------


def test_keep_when_every_permission_is_used_as_granted() -> None:
    evidence = grant(
        used(0, ("crm.customer.read",), (), count=10, full=True),
        used(
            1,
            ("ticket.create", "ticket.comment", "ticket.close"),
            ("ticketing/queue/support", "ticketing/queue/billing"),
            count=4,
            full=True,
            last=NOW - timedelta(days=1),
        ),
    )
    recommendation = recommend_grant(evidence, window=WINDOW, now=CLOCK())
    assert recommendation.kind is RecommendationKind.KEEP
    assert recommendation.reason == (
        "used 14 times, last 2026-12-05; every permission used as granted; "
        "permissions [0], [1] kept as granted (sample full)"
    )
    assert recommendation.proposed is None
    assert recommendation.proposed_yaml is None


def test_keep_when_used_exactly_as_granted_without_a_full_sample() -> None:
    role = Role("ticketer", (Permission(Capability.DO, ("ticket.create",), ("q/a",)),))
    evidence = grant(used(0, ("ticket.create",), ("q/a",), count=3, role=role), role=role)
    recommendation = recommend_grant(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.KEEP
    assert (
        recommendation.reason == "used 3 times, last 2026-12-01; every permission used as granted"
    )


def test_revoke_when_nothing_was_used_in_the_window() -> None:
    old = used(0, ("crm.customer.read",), ("crm/customer/1",), count=8, last=NOW - WINDOW * 2)
    recommendation = recommend_grant(grant(old), window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.REVOKE
    assert recommendation.reason == (
        "role support-reader through Binding/support-bot-reader was not used in the "
        "30-day window (since 2026-11-06); last used 2026-10-07"
    )


def test_revoke_a_grant_never_used() -> None:
    recommendation = recommend_grant(grant(), window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.REVOKE
    assert recommendation.reason.endswith("; never used")


def test_usage_of_another_source_does_not_count() -> None:
    elsewhere = PermissionUsage(
        key=PermissionKey(BOT, READER.name, 0, "grant:gr_1"),
        count=50,
        first_at=NOW - timedelta(days=3),
        last_at=NOW - timedelta(days=1),
        actions=("crm.customer.read",),
        resources=("crm/customer/1",),
    )
    assert recommend_grant(grant(elsewhere), window=WINDOW, now=NOW).kind is (
        RecommendationKind.REVOKE
    )


def test_an_eligible_binding_counts_the_usage_of_the_grants_it_issued() -> None:
    def through(grant_id: str, count: int, action: str, resource: str) -> PermissionUsage:
        return PermissionUsage(
            key=PermissionKey(BOT, READER.name, 1, grant_id),
            count=count,
            first_at=NOW - timedelta(days=count),
            last_at=NOW - timedelta(days=1),
            actions=(action,),
            resources=(resource,),
        )

    first = through("grant:gr_1", 4, "ticket.create", "ticketing/queue/a")
    second = through("grant:gr_2", 2, "ticket.close", "ticketing/queue/b")
    other = through("grant:gr_9", 50, "ticket.comment", "ticketing/queue/c")
    evidence = GrantEvidence(
        agent=BOT,
        source=SOURCE,
        role=READER,
        activation=Activation.ELIGIBLE,
        usage=(second, other, first),
        grants=("grant:gr_1", "grant:gr_2"),
    )
    merged = evidence.usage_of(1)
    assert merged is not None
    assert (merged.count, merged.first_at, merged.last_at) == (
        6,
        NOW - timedelta(days=4),
        NOW - timedelta(days=1),
    )
    assert merged.actions == ("ticket.create", "ticket.close")
    assert merged.resources == ("ticketing/queue/a", "ticketing/queue/b")
    recommendation = recommend_grant(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.REDUCE
    assert recommendation.reason == (
        "used 6 times, last 2026-12-05; 2 of 4 actions never used; permissions [0] never "
        "used; permissions [1] narrowed to the actions and resources used"
    )
    assert recommendation.proposed is not None
    (narrower,) = recommendation.proposed.permissions
    assert narrower.actions == ("ticket.create", "ticket.close")
    assert narrower.resources == ("ticketing/queue/a", "ticketing/queue/b")


def test_reduce_proposes_the_narrower_role_as_yaml() -> None:
    evidence = grant(
        used(0, ("crm.customer.read",), ("crm/customer/7", "crm/customer/9"), count=12),
        used(1, ("ticket.create",), ("ticketing/queue/support",), count=2),
    )
    recommendation = recommend_grant(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.REDUCE
    assert recommendation.reason == (
        "used 14 times, last 2026-12-01; 2 of 4 actions never used; "
        "permissions [0], [1] narrowed to the actions and resources used"
    )
    assert recommendation.proposed == Role(
        "support-reader",
        (
            Permission(
                Capability.REQUEST,
                actions=("crm.customer.read",),
                resources=("crm/customer/7", "crm/customer/9"),
                fields=("name", "email"),
            ),
            Permission(
                Capability.DO, actions=("ticket.create",), resources=("ticketing/queue/support",)
            ),
        ),
    )
    assert recommendation.proposed_yaml is not None
    # The proposal loads as policy and allows what was used, not what was not.
    engine = Engine.from_documents(
        recommendation.proposed_yaml,
        "apiVersion: charter/v1\nkind: Agent\nmetadata: {name: support-bot}\n"
        'spec: {owner: "user:alice"}\n',
        "apiVersion: charter/v1\nkind: Binding\nmetadata: {name: support-bot-reader}\n"
        "spec: {role: support-reader, agents: [support-bot]}\n",
    )
    assert engine.diagnostics == ()

    def effect(action: str, resource: str) -> Effect:
        return engine.decide(Request(BOT, Capability.DO, action, resource), now=NOW).effect

    assert effect("ticket.create", "ticketing/queue/support") is Effect.ALLOW
    assert effect("ticket.close", "ticketing/queue/support") is Effect.DENY
    assert effect("ticket.create", "ticketing/queue/billing") is Effect.DENY


def test_reduce_drops_a_permission_never_used() -> None:
    evidence = grant(used(0, ("crm.customer.read",), ("crm/customer/1",), count=30, full=True))
    recommendation = recommend_grant(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.REDUCE
    assert recommendation.reason == (
        "used 30 times, last 2026-12-01; 3 of 4 actions never used; permissions [1] never "
        "used; permissions [0] kept as granted (sample full)"
    )
    assert recommendation.proposed == Role("support-reader", (READER.permissions[0],))


def test_an_eligible_binding_rarely_used_is_not_made_eligible_again() -> None:
    evidence = grant(
        used(0, ("iam.role.assign",), ("iam/roles/admin",), count=1, role=ADMIN),
        role=ADMIN,
        activation=Activation.ELIGIBLE,
    )
    recommendation = recommend_grant(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.REDUCE


def test_make_eligible_a_rarely_used_standing_sensitive_role() -> None:
    evidence = grant(
        used(0, ("iam.role.assign",), ("iam/roles/admin",), count=2, role=ADMIN), role=ADMIN
    )
    recommendation = recommend_grant(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.MAKE_ELIGIBLE
    assert recommendation.reason == (
        "used 2 times, last 2026-12-01: fewer than 3 uses in the 30-day window of a "
        "standing role with sensitive actions iam.role.assign; make it eligible (just in time)"
    )
    # Used often enough, it is not "rarely": the rest of the rules apply.
    often = grant(
        used(0, ("iam.role.assign",), ("iam/roles/admin",), count=3, role=ADMIN), role=ADMIN
    )
    assert recommend_grant(often, window=WINDOW, now=NOW).kind is RecommendationKind.REDUCE


def test_make_eligible_a_rarely_used_standing_role_of_a_high_risk_agent() -> None:
    evidence = grant(
        used(0, ("crm.customer.read",), ("crm/customer/1",), count=1),
        risk_tier=RiskTier.CRITICAL,
    )
    recommendation = recommend_grant(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.MAKE_ELIGIBLE
    assert "a critical-risk agent" in recommendation.reason
    medium = grant(used(0, ("crm.customer.read",), ("crm/customer/1",), count=1))
    assert recommend_grant(medium, window=WINDOW, now=NOW).kind is RecommendationKind.REDUCE


@pytest.mark.parametrize(
    ("granted", "sensitive"),
    [
        ("iam.role.assign", True),
        ("crm.customer.delete", True),
        ("crm.**", True),  # could name crm.x.delete
        ("*.*", True),  # could name iam.x
        ("secrets.rotate", True),
        ("crm.customer.read", False),
        ("crm.*.read", False),
        ("ticket.create", False),
    ],
)
def test_sensitive_means_the_role_can_name_a_sensitive_action(
    granted: str, *, sensitive: bool
) -> None:
    role = Role("r", (Permission(Capability.DO, actions=(granted,)),))
    evidence = grant(used(0, ("x.y",), ("a/b",), count=1, role=role), role=role)
    kind = recommend_grant(evidence, window=WINDOW, now=NOW).kind
    assert (kind is RecommendationKind.MAKE_ELIGIBLE) is sensitive


def test_thresholds_are_settable() -> None:
    evidence = grant(used(0, ("crm.customer.read",), ("crm/customer/1",), count=4))
    loose = Thresholds(rarely_used_below=5, sensitive_actions=("crm.customer.read",))
    assert recommend_grant(evidence, window=WINDOW, now=NOW, thresholds=loose).kind is (
        RecommendationKind.MAKE_ELIGIBLE
    )
    assert recommend_grant(evidence, window=WINDOW, now=NOW).kind is RecommendationKind.REDUCE


def test_thresholds_and_window_refuse_nonsense() -> None:
    with pytest.raises(InvalidInput) as caught:
        Thresholds(rarely_used_below=0)
    assert caught.value.code == "invalid_input"
    with pytest.raises(InvalidInput):
        Thresholds(sensitive_actions=("iam.ro*",))
    with pytest.raises(InvalidInput):
        recommend_grant(grant(), window=timedelta(0), now=NOW)
    with pytest.raises(InvalidInput):
        recommend_agent(agent(), window=-WINDOW, now=NOW)


def test_the_same_evidence_gives_the_same_recommendation() -> None:
    evidence = grant(
        used(
            1,
            ("ticket.comment", "ticket.create"),
            ("ticketing/queue/b", "ticketing/queue/a"),
            count=5,
        ),
    )
    first = recommend_grant(evidence, window=WINDOW, now=NOW)
    again = recommend_grant(grant(*reversed(evidence.usage)), window=WINDOW, now=NOW)
    assert first == again
    assert first.proposed is not None
    assert first.proposed.permissions[0].actions == ("ticket.create", "ticket.comment")
    assert first.proposed.permissions[0].resources == ("ticketing/queue/a", "ticketing/queue/b")


# --- Agent items ----------------------------------------------------------------------


def test_keep_an_active_agent_with_an_accountable_owner() -> None:
    recommendation = recommend_agent(agent(), window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.KEEP
    assert recommendation.reason == (
        "120 decisions in the 30-day window (3 denied, 1 approval asked), 4 tokens issued; "
        "owner user:alice is active"
    )


def test_retire_an_agent_with_no_activity_and_no_token() -> None:
    evidence = agent(
        decisions=0,
        denials=0,
        approvals=0,
        tokens_issued=0,
        last_seen_at=NOW - timedelta(days=90),
        last_token_at=None,
    )
    recommendation = recommend_agent(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.RETIRE_AGENT
    assert recommendation.reason == (
        "no decision and no token issued in the 30-day window (since 2026-11-06); "
        "last seen 2026-09-07, no token ever issued"
    )


def test_a_token_in_the_window_keeps_an_idle_agent() -> None:
    """For agents, inactive means no token issued as well as no decision."""
    evidence = agent(decisions=0, tokens_issued=1, last_seen_at=None)
    assert recommend_agent(evidence, window=WINDOW, now=NOW).kind is RecommendationKind.KEEP


def test_activity_is_judged_against_the_window_and_the_clock() -> None:
    clock = ManualClock(NOW)
    evidence = agent(
        decisions=0,
        tokens_issued=0,
        last_seen_at=NOW - timedelta(days=10),
        last_token_at=NOW - timedelta(days=10),
    )
    assert recommend_agent(evidence, window=WINDOW, now=clock()).kind is (RecommendationKind.KEEP)
    clock.advance(timedelta(days=21))
    assert recommend_agent(evidence, window=WINDOW, now=clock()).kind is (
        RecommendationKind.RETIRE_AGENT
    )
    assert recommend_agent(evidence, window=DEFAULT_WINDOW * 2, now=clock()).kind is (
        RecommendationKind.KEEP
    )


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"owner_active": False}, "owner user:alice is deactivated"),
        ({"owner_holds_role": False}, "owner user:alice no longer holds a role to own agents"),
    ],
)
def test_reassign_owner_when_the_owner_is_gone(changes: dict[str, bool], why: str) -> None:
    recommendation = recommend_agent(agent(**changes), window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.REASSIGN_OWNER
    assert recommendation.reason == f"{why}; the agent made 120 decisions in the 30-day window"


def test_an_idle_orphan_is_retired_rather_than_reassigned() -> None:
    evidence = agent(
        owner_active=False, decisions=0, tokens_issued=0, last_seen_at=None, last_token_at=None
    )
    recommendation = recommend_agent(evidence, window=WINDOW, now=NOW)
    assert recommendation.kind is RecommendationKind.RETIRE_AGENT
    assert recommendation.reason.endswith("never seen, no token ever issued")


def test_a_retired_agent_is_not_kept() -> None:
    recommendation = recommend_agent(
        agent(status=AgentStatus.RETIRED, owner_active=False), window=WINDOW, now=NOW
    )
    assert recommendation.kind is RecommendationKind.RETIRE_AGENT
    assert recommendation.reason == "the agent is already retired; owner user:alice"
