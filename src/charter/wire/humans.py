"""The API's bodies for humans: the people who own agents and approve."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool

from charter.identity.humans import Human, HumanRole
from charter.wire.agents import AgentOut
from charter.wire.base import (
    Email,
    Groups,
    HumanId,
    InModel,
    Name,
    NotSecret,
    Roles,
)

__all__ = ["DeactivationOut", "HumanIn", "HumanOut", "HumanPage", "HumanPatch"]


class HumanIn(InModel):
    """Add a human."""

    id: Annotated[HumanId, NotSecret]
    email: Email
    display_name: Name | None = None
    groups: Groups = Field(default_factory=list)
    roles: Roles = Field(default_factory=list)


class HumanPatch(InModel):
    """Change a human; absent fields stay as they are. ``active: true`` reactivates."""

    email: Email | None = None
    display_name: Name | None = None
    groups: Groups | None = None
    roles: Roles | None = None
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
