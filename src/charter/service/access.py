"""Who may call what: role checks shared by every use case.

Authorisation lives here, beside the use cases, so every entry point (HTTP API, CLI,
embedded use) enforces the same rules. A refusal is a ``PermissionDenied`` with code
``forbidden``; the server records each refusal in the audit log.
"""

from __future__ import annotations

from charter.codes import ErrorCode
from charter.errors import PermissionDenied
from charter.identity.agents import Agent
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal

__all__ = [
    "BREAK_GLASS",
    "SYSTEM",
    "can_read_agent",
    "require_human",
    "require_owner_or_roles",
    "require_roles",
]

SYSTEM = Principal(
    kind=PrincipalKind.HUMAN, id="system", credential_id="-", roles=frozenset(HumanRole)
)
"""The actor for work Charter does on its own behalf: ``charter init``, demo data."""

BREAK_GLASS = Principal(
    kind=PrincipalKind.HUMAN,
    id="system:break-glass",
    credential_id="-",
    roles=frozenset({HumanRole.ADMIN}),
)
"""The actor for ``charter admin-token``: an operator with the store and the signing key."""


def _refuse(actor: Principal, what: str) -> PermissionDenied:
    return PermissionDenied(
        f"{actor.ref} may not {what}",
        code=ErrorCode.FORBIDDEN,
        help=None if actor.is_human else "agent tokens reach only the agent-facing calls",
    )


def require_human(actor: Principal, what: str) -> None:
    """Refuse agents: only people may ``what``."""
    if not actor.is_human:
        raise _refuse(actor, what)


def require_roles(actor: Principal, what: str, *roles: HumanRole) -> None:
    """Refuse anyone who is not a human holding one of ``roles``."""
    if not actor.has_any(*roles):
        raise _refuse(actor, what)


def require_owner_or_roles(actor: Principal, agent: Agent, what: str, *roles: HumanRole) -> None:
    """Allow the agent's owner, or a human holding one of ``roles``."""
    if actor.is_human and actor.id == agent.owner:
        return
    require_roles(actor, what, *roles)


def can_read_agent(actor: Principal, agent: Agent) -> bool:
    """Admins, auditors and the agent's owner may read an agent's record."""
    return actor.has_any(HumanRole.ADMIN, HumanRole.AUDITOR) or (
        actor.is_human and actor.id == agent.owner
    )
