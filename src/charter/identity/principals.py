"""The authenticated caller of an API call."""

from __future__ import annotations

from dataclasses import dataclass

from charter.identity.credentials import PrincipalKind
from charter.identity.humans import HumanRole

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a human or an agent, with the credential they used."""

    kind: PrincipalKind
    id: str
    credential_id: str
    roles: frozenset[HumanRole] = frozenset()

    @property
    def ref(self) -> str:
        """The caller as an actor reference: ``user:alice`` or ``agent:support-bot``."""
        return self.id if self.kind is PrincipalKind.HUMAN else f"agent:{self.id}"

    @property
    def is_human(self) -> bool:
        """True when the caller is a person."""
        return self.kind is PrincipalKind.HUMAN

    def has_any(self, *roles: HumanRole) -> bool:
        """True when the caller is a human holding one of ``roles``."""
        return self.is_human and bool(self.roles.intersection(roles))
