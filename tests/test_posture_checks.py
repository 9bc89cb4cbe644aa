"""The posture checks as pure functions over a hand-built ``PostureInput``: no store, no
server. Severity by risk tier, pattern overlap, thresholds from settings, stable ids."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from charter.errors import InvalidInput
from charter.identity.agents import Agent, AgentStatus, RiskTier
from charter.policy.model import Activation, Binding, Capability, Permission, Policy, Role
from charter.posture import FindingKind, PostureInput, Severity, Thresholds, check_all
from charter.posture.findings import DecisionSeen
from charter.settings import Settings

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _agent(agent_id: str, tier: RiskTier = RiskTier.LOW) -> Agent:
    return Agent(
        id=agent_id,
        display_name=agent_id,
        owner="user:gone",
        purpose="p",
        risk_tier=tier,
        status=AgentStatus.ACTIVE,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW,
        last_seen_at=NOW,
    )


def _kinds(data: PostureInput, thresholds: Thresholds | None = None) -> list[str]:
    return [f.kind.value for f in check_all(data, thresholds)]


def test_an_orphaned_critical_agent_is_critical_and_first() -> None:
    data = PostureInput(now=NOW, agents=(_agent("a", RiskTier.LOW), _agent("b", RiskTier.CRITICAL)))
    found = check_all(data)
    assert [(f.kind, f.severity, f.objects[0]) for f in found] == [
        (FindingKind.ORPHANED_AGENT, Severity.CRITICAL, "agent:b"),
        (FindingKind.ORPHANED_AGENT, Severity.HIGH, "agent:a"),
    ]
    gone = replace(_agent("a"), status=AgentStatus.RETIRED)
    assert check_all(PostureInput(now=NOW, agents=(gone,))) == []


def test_ids_depend_on_what_is_found_not_on_when() -> None:
    data = PostureInput(now=NOW, agents=(_agent("a"),))
    later = PostureInput(now=NOW + timedelta(days=3), agents=(_agent("a"),))
    other = PostureInput(now=NOW, agents=(_agent("b"),))
    assert check_all(data)[0].id == check_all(later)[0].id
    assert check_all(data)[0].id != check_all(other)[0].id


@pytest.mark.parametrize(
    ("action", "sensitive"),
    [
        ("rbac.assign", True),
        ("rbac.*", True),
        ("**", True),
        ("iam.role.grant", True),
        ("crm.read", False),
        ("crm.*", False),
    ],
)
def test_a_standing_binding_with_sensitive_actions(action: str, sensitive: bool) -> None:
    role = Role("r", (Permission(Capability.DO, (action,), ("x/y",)),))
    binding = Binding("b", "r", agents=("a",))
    policy = Policy(roles=(role,), bindings=(binding,))
    data = PostureInput(now=NOW, agents=(_agent("a"),), policy=policy, policy_revision="rev_1")
    kinds = _kinds(data)
    assert ("standing_sensitive_privilege" in kinds) is sensitive
    eligible = Policy(
        roles=(role,), bindings=(Binding("b", "r", agents=("a",), activation=Activation.ELIGIBLE),)
    )
    kinds = _kinds(PostureInput(now=NOW, agents=(_agent("a"),), policy=eligible))
    assert "standing_sensitive_privilege" not in kinds


def test_thresholds_come_from_settings_and_bad_ones_are_refused() -> None:
    settings = Settings.from_env(
        {
            "CHARTER_POSTURE_LONG_LIVED_TOKEN": "2d",
            "CHARTER_POSTURE_RUBBER_STAMP_SECONDS": "5",
            "CHARTER_POSTURE_RUBBER_STAMP_MIN_VOTES": "3",
            "CHARTER_POSTURE_WINDOW": "7d",
        }
    )
    assert settings.posture.long_lived_token == timedelta(days=2)
    assert settings.posture.rubber_stamp_seconds == 5.0
    assert settings.posture.rubber_stamp_min_votes == 3
    assert settings.posture.window == timedelta(days=7)
    assert Settings.from_env({}).posture == Thresholds()
    with pytest.raises(InvalidInput):
        Settings.from_env({"CHARTER_POSTURE_DORMANT_AFTER": "soon"})
    with pytest.raises(InvalidInput):
        Settings.from_env({"CHARTER_POSTURE_RUBBER_STAMP_MIN_VOTES": "0"})


def test_decisions_on_behalf_are_grouped_by_agent_and_action() -> None:
    seen = tuple(
        DecisionSeen(seq, "a", "do", "crm.update", "allow", on_behalf_of=who)
        for seq, who in ((4, "user:x"), (9, "user:y"), (12, None))
    )
    data = PostureInput(now=NOW, decisions=seen)
    (finding,) = check_all(data)
    assert finding.kind is FindingKind.ON_BEHALF_WITHOUT_STEP_UP
    assert finding.evidence["decisions"] == 2
    assert finding.evidence["seqs"] == [4, 9]
    assert finding.evidence["on_behalf_of"] == ["user:x", "user:y"]
