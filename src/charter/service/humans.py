"""Human use cases: add, update, deactivate (reporting orphaned agents), reads."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from charter.audit.records import AuditEntry
from charter.clock import Clock
from charter.codes import ErrorCode
from charter.errors import Conflict, InvalidInput, NotFound
from charter.identity.agents import Agent, AgentStatus
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import Human, HumanRole
from charter.identity.names import GROUP_PATTERN, check_human_id
from charter.identity.principals import Principal
from charter.service.access import require_roles
from charter.storage.ports import Store, UnitOfWork

__all__ = ["Deactivation", "HumanChanges", "HumanService", "human_snapshot"]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
_GROUP = re.compile(GROUP_PATTERN)
MAX_GROUPS = 64


@dataclass(frozen=True, slots=True)
class HumanChanges:
    """Fields to change on a human; ``None`` leaves a field as it is."""

    email: str | None = None
    display_name: str | None = None
    groups: Iterable[str] | None = None
    roles: Iterable[HumanRole] | None = None
    active: bool | None = None


@dataclass(frozen=True, slots=True)
class Deactivation:
    """A deactivated human, the agents left without an active owner, the tokens revoked."""

    human: Human
    orphaned_agents: list[Agent]
    revoked_tokens: list[str]


def human_snapshot(human: Human) -> dict[str, Any]:
    """The human's attributes as recorded in the audit log."""
    return {
        "email": human.email,
        "display_name": human.display_name,
        "groups": list(human.groups),
        "roles": sorted(role.value for role in human.roles),
        "active": human.active,
    }


def _check_email(email: str) -> str:
    if not _EMAIL.fullmatch(email):
        raise InvalidInput(f"invalid email address {email!r}", code=ErrorCode.INVALID_EMAIL)
    return email


def _check_groups(groups: Iterable[str]) -> tuple[str, ...]:
    unique = tuple(sorted(set(groups)))
    if len(unique) > MAX_GROUPS or not all(_GROUP.fullmatch(group) for group in unique):
        raise InvalidInput(
            "invalid groups",
            code=ErrorCode.INVALID_GROUPS,
            help=f"at most {MAX_GROUPS} groups of lowercase letters, digits, '.', '_', '-'",
        )
    return unique


class HumanService:
    """Keeps the people who own, approve, write policy and audit."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def add(
        self,
        actor: Principal,
        *,
        human_id: str,
        email: str,
        display_name: str | None = None,
        groups: Iterable[str] = (),
        roles: Iterable[HumanRole] = (),
    ) -> Human:
        """Add an active human."""
        require_roles(actor, "add humans", HumanRole.ADMIN)
        check_human_id(human_id)
        now = self._clock()
        human = Human(
            id=human_id,
            email=_check_email(email),
            display_name=display_name or human_id.removeprefix("user:"),
            groups=_check_groups(groups),
            roles=frozenset(roles),
            active=True,
            created_at=now,
            updated_at=now,
        )
        with self._store.write() as unit:
            unit.humans.add(human)
            unit.audit.append(
                AuditEntry(
                    type="human.added",
                    actor=actor.ref,
                    at=now,
                    subject=human.id,
                    data=human_snapshot(human),
                )
            )
        return human

    def get(self, actor: Principal, human_id: str) -> Human:
        """Read one human: admins, auditors, and the human themself."""
        if not (actor.is_human and actor.id == human_id):
            require_roles(actor, "read humans", HumanRole.ADMIN, HumanRole.AUDITOR)
        with self._store.read() as unit:
            human = unit.humans.get(human_id)
        if human is None:
            raise NotFound(f"no human {human_id!r}", code=ErrorCode.HUMAN_NOT_FOUND)
        return human

    def list(self, actor: Principal, *, after: str | None = None, limit: int = 100) -> list[Human]:
        """List humans: admins and auditors."""
        require_roles(actor, "list humans", HumanRole.ADMIN, HumanRole.AUDITOR)
        with self._store.read() as unit:
            return unit.humans.list(after=after, limit=limit)

    def update(self, actor: Principal, human_id: str, changes: HumanChanges) -> Human:
        """Change a human's email, name, groups, roles or reactivate them."""
        require_roles(actor, "update humans", HumanRole.ADMIN)
        if changes.active is False:
            raise InvalidInput(
                "deactivate a human with the deactivate call, which reports orphaned agents",
                code=ErrorCode.USE_DEACTIVATE,
            )
        now = self._clock()
        with self._store.write() as unit:
            human = self._locked(unit, human_id)
            updated = replace(
                human,
                email=_check_email(changes.email) if changes.email else human.email,
                display_name=changes.display_name or human.display_name,
                groups=_check_groups(changes.groups)
                if changes.groups is not None
                else human.groups,
                roles=frozenset(changes.roles) if changes.roles is not None else human.roles,
                active=True if changes.active else human.active,
                updated_at=now,
            )
            before, after = human_snapshot(human), human_snapshot(updated)
            diff = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
            if not diff:
                return human
            if HumanRole.ADMIN in human.roles and HumanRole.ADMIN not in updated.roles:
                self._keep_an_admin(unit, human_id)
            unit.humans.save(updated)
            unit.audit.append(
                AuditEntry(
                    type="human.updated",
                    actor=actor.ref,
                    at=now,
                    subject=human.id,
                    data={"changes": diff},
                )
            )
        return updated

    def deactivate(self, actor: Principal, human_id: str, *, reason: str = "") -> Deactivation:
        """Deactivate a human, revoke their tokens, and report the agents they leave orphaned."""
        require_roles(actor, "deactivate humans", HumanRole.ADMIN)
        now = self._clock()
        with self._store.write() as unit:
            human = self._locked(unit, human_id)
            if not human.active:
                raise Conflict(f"{human_id} is already deactivated", code=ErrorCode.HUMAN_INACTIVE)
            if HumanRole.ADMIN in human.roles:
                self._keep_an_admin(unit, human_id)
            updated = replace(human, active=False, updated_at=now)
            unit.humans.save(updated)
            revoked = unit.credentials.revoke_all_for(
                PrincipalKind.HUMAN, human_id, at=now, by=actor.ref
            )
            orphaned = [
                agent
                for agent in unit.agents.list(owner=human_id, limit=1_000_000)
                if agent.status is not AgentStatus.RETIRED
            ]
            unit.audit.append(
                AuditEntry(
                    type="human.deactivated",
                    actor=actor.ref,
                    at=now,
                    subject=human.id,
                    data={
                        "reason": reason,
                        "orphaned_agents": [agent.id for agent in orphaned],
                        "revoked_tokens": revoked,
                    },
                )
            )
        return Deactivation(updated, orphaned, revoked)

    @staticmethod
    def _locked(unit: UnitOfWork, human_id: str) -> Human:
        human = unit.humans.get(human_id, for_update=True)
        if human is None:
            raise NotFound(f"no human {human_id!r}", code=ErrorCode.HUMAN_NOT_FOUND)
        return human

    @staticmethod
    def _keep_an_admin(unit: UnitOfWork, leaving: str) -> None:
        # Losing the last active admin would lock everyone out of the registry.
        after: str | None = None
        while page := unit.humans.list(after=after, limit=500):
            for human in page:
                if human.id != leaving and human.active and HumanRole.ADMIN in human.roles:
                    # Lock and re-read the other admin, so two admins cannot remove each
                    # other at once on PostgreSQL (one waits, then sees the other's change).
                    still = unit.humans.get(human.id, for_update=True)
                    if still is not None and still.active and HumanRole.ADMIN in still.roles:
                        return
            after = page[-1].id
        raise Conflict(
            f"{leaving} is the last active admin",
            code=ErrorCode.LAST_ADMIN,
            help="give another human the admin role first",
        )
