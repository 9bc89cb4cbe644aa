"""Humans: the people who own agents, approve, write policy and audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["Human", "HumanRole"]


class HumanRole(StrEnum):
    """What a human may do in Charter beyond owning agents."""

    ADMIN = "admin"
    POLICY_ADMIN = "policy_admin"
    APPROVER = "approver"
    AUDITOR = "auditor"
    ENFORCER = "enforcer"
    """A gateway or service asking for decisions on agents' behalf (never an approver)."""


@dataclass(frozen=True, slots=True)
class Human:
    """A person known to Charter."""

    id: str
    email: str
    display_name: str
    groups: tuple[str, ...]
    roles: frozenset[HumanRole]
    active: bool
    created_at: datetime
    updated_at: datetime
