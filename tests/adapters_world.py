"""What the framework adapters' tests share: a live Charter with the example pack, the
identity-ops agent's client, an approver in group identity-ops, and tools that record
what really ran.

The agent's tools, as the example pack decides them:

- ``score(user)``: ``infer identity.confidence_score`` on ``idp/users/<user>``, allowed;
- ``rotate(environment)``: ``do secrets.rotate`` on ``vault/<environment>/payments``,
  denied (the agent has no such permission);
- ``elevate(host)``: ``do pam.elevate`` on ``pam/hosts/<host>`` with an open ticket,
  which needs an identity-ops human's approval (an eligible binding: approving it also
  grants the role for a while, so further elevations are allowed);
- ``assign(user, group)``: ``do rbac.assign`` on ``iam/groups/<group>``, which needs the
  agent's owner, user:bob, to approve each call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from charter import Client
from charter.adapters import ToolRule
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from tests.servers import free_port

AGENT = "identity-ops-agent"
OPEN_TICKET = {"ticket": {"id": "INC-1", "status": "open"}}

RULES = {
    "score": ToolRule(
        capability="infer", action="identity.confidence_score", resource="idp/users/{user}"
    ),
    "rotate": ToolRule(action="secrets.rotate", resource="vault/{environment}/payments"),
    "elevate": ToolRule(action="pam.elevate", resource="pam/hosts/{host}", context=OPEN_TICKET),
    "assign": ToolRule(action="rbac.assign", resource="iam/groups/{group}"),
}


@dataclass
class Ran:
    """The tool calls that really ran, in order, as (tool, argument)."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def score(self, user: str) -> str:
        self.calls.append(("score", user))
        return f"{user} scores 0.93"

    def rotate(self, environment: str) -> str:
        self.calls.append(("rotate", environment))
        return f"rotated {environment}"

    def elevate(self, host: str) -> str:
        self.calls.append(("elevate", host))
        return f"elevated on {host}"

    def assign(self, user: str, group: str) -> str:
        self.calls.append(("assign", f"{user}>{group}"))
        return f"added {user} to {group}"


def approver_token(services: Services) -> str:
    """A token for user:ivan, an approver in group identity-ops."""
    services.humans.add(
        SYSTEM,
        human_id="user:ivan",
        email="ivan@example.com",
        groups=["identity-ops"],
        roles=[HumanRole.APPROVER],
    )
    return services.tokens.issue_for_human(SYSTEM, "user:ivan").token


def owner_token(services: Services) -> str:
    """A token for user:bob, who owns the agent (the example pack adds him)."""
    return services.tokens.issue_for_human(SYSTEM, "user:bob").token


def nowhere() -> Client:
    """A client of a Charter that cannot be reached: nothing listens on its port."""
    return Client(f"http://127.0.0.1:{free_port()}", "agt_unused", timeout=1.0)
