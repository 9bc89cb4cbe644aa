"""First start: the first admin and, for ``make run``, a small cast of demo humans and agents."""

from __future__ import annotations

from charter.identity.agents import RiskTier
from charter.identity.credentials import IssuedToken
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services

__all__ = ["ADMIN_ID", "create_first_admin", "seed_demo"]

ADMIN_ID = "user:admin"

_DEMO_HUMANS = [
    ("user:alice", "alice@example.com", "Alice Ng", ["support"], [HumanRole.APPROVER]),
    ("user:bob", "bob@example.com", "Bob Ruiz", ["identity-ops"], [HumanRole.APPROVER]),
    ("user:carol", "carol@example.com", "Carol Diaz", ["grc"], [HumanRole.AUDITOR]),
    ("user:dave", "dave@example.com", "Dave Okafor", ["security"], [HumanRole.POLICY_ADMIN]),
]

_DEMO_AGENTS = [
    (
        "support-bot",
        "user:alice",
        "Resolve customer account-recovery cases",
        RiskTier.MEDIUM,
        {"team": "support"},
    ),
    (
        "compliance-copilot",
        "user:carol",
        "Draft quarterly access reviews",
        RiskTier.HIGH,
        {"team": "grc"},
    ),
    (
        "secrets-scanner",
        "user:dave",
        "Find leaked credentials and open remediation tickets",
        RiskTier.HIGH,
        {"team": "security"},
    ),
    (
        "identity-ops-agent",
        "user:bob",
        "Propose just-in-time elevation for developers",
        RiskTier.CRITICAL,
        {"team": "identity-ops"},
    ),
]


def create_first_admin(services: Services) -> IssuedToken:
    """Add ``user:admin`` with the admin role and issue its first token."""
    services.humans.add(
        SYSTEM,
        human_id=ADMIN_ID,
        email="admin@localhost",
        display_name="Charter administrator",
        roles=[HumanRole.ADMIN],
    )
    return services.tokens.issue_for_human(
        SYSTEM, ADMIN_ID, description="first admin token, from charter init"
    )


def seed_demo(services: Services) -> None:
    """Register the demo humans and agents that ``make run`` shows."""
    for human_id, email, name, groups, roles in _DEMO_HUMANS:
        services.humans.add(
            SYSTEM, human_id=human_id, email=email, display_name=name, groups=groups, roles=roles
        )
    for agent_id, owner, purpose, tier, labels in _DEMO_AGENTS:
        services.agents.register(
            SYSTEM,
            agent_id=agent_id,
            display_name=None,
            owner=owner,
            purpose=purpose,
            risk_tier=tier,
            labels=labels,
        )
