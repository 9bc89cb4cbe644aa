"""Separation of duty: which roles together would give an agent both sides of one."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from charter.policy.globs import ACTION
from charter.policy.model import Match, Permission, Policy, SeparationOfDuty

__all__ = ["SeparationConflict", "conflict_among", "covers"]


@dataclass(frozen=True, slots=True)
class SeparationConflict:
    """Two roles that together hold both sides of a separation of duty."""

    separation: SeparationOfDuty
    first: str
    second: str

    def describe(self) -> str:
        """The conflict in words, naming the separation and the roles."""
        return (
            f"SeparationOfDuty/{self.separation.name}: role {self.first!r} and role "
            f"{self.second!r} hold both sides"
        )


def covers(permission: Permission, side: Match) -> bool:
    """Whether a permission grants something a side of a separation of duty names."""
    if side.capabilities and permission.capability not in side.capabilities:
        return False
    if not side.actions:
        return True
    granted = [ACTION.compile(pattern) for pattern in permission.actions]
    for wanted in side.actions:
        wanted_glob = ACTION.compile(wanted)
        for glob in granted:
            if glob.matches(wanted) or wanted_glob.matches(glob.pattern) or glob.pattern == wanted:
                return True
    return False


def conflict_among(policy: Policy, roles: Collection[str]) -> SeparationConflict | None:
    """The first separation of duty that ``roles`` held together would break, if any."""
    by_name = {role.name: role for role in policy.roles if role.name in roles}
    for separation in policy.separations:
        first = [
            name
            for name, role in by_name.items()
            if any(covers(p, separation.first) for p in role.permissions)
        ]
        second = [
            name
            for name, role in by_name.items()
            if any(covers(p, separation.second) for p in role.permissions)
        ]
        if first and second:
            return SeparationConflict(separation, first[0], second[0])
    return None
