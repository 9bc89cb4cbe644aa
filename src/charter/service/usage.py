"""Usage: noting which permissions an allowed decision used, and reading it back.

An allow names each role permission that matched as ``Reason("Role/<role>",
"permissions[<n>]", allow)``; one that matched through a JIT grant says so in its
message. The binding that gave a standing permission is the agent's first binding, in
policy order, that gives the role standing and unexpired. An allow with no role
permission among its reasons (one through an approval alone) notes nothing.

Reading: admins, auditors and the agent's owner, as for reading the agent itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from charter.codes import ErrorCode
from charter.errors import NotFound
from charter.identity.agents import Agent
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.policy.compiled import Snapshot
from charter.policy.decision import Decision, Effect
from charter.reviews.usage import PermissionKey, PermissionUsage
from charter.service.access import can_read_agent, require_roles
from charter.storage.ports import Store, UnitOfWork

__all__ = ["UsageService", "note_usage", "permissions_used"]

_PERMISSION = re.compile(r"permissions\[(\d+)\]")
_THROUGH_GRANT = "through grant "
"""How the evaluator marks a permission that matched through a grant."""


def permissions_used(
    decision: Decision, snapshot: Snapshot, agent: Agent, now: datetime
) -> Iterator[PermissionKey]:
    """The permissions, each with its binding or grant, that allowed ``decision``."""
    if not decision.allowed:
        return
    for reason in decision.reasons:
        if reason.effect is not Effect.ALLOW or not reason.policy.startswith("Role/"):
            continue
        found = _PERMISSION.fullmatch(reason.rule)
        if found is None:
            continue
        role = reason.policy.removeprefix("Role/")
        if reason.message.startswith(_THROUGH_GRANT):
            source = f"grant:{reason.message.removeprefix(_THROUGH_GRANT)}"
        else:
            binding = _standing_binding(snapshot, agent, role, now)
            if binding is None:
                continue
            source = f"Binding/{binding}"
        yield PermissionKey(agent.id, role, int(found.group(1)), source)


def _standing_binding(snapshot: Snapshot, agent: Agent, role: str, now: datetime) -> str | None:
    for compiled in snapshot.bindings_for(agent.id, agent.labels):
        if compiled.role != role or compiled.activation is not None:
            continue
        if compiled.expires_at is not None and now >= compiled.expires_at:
            continue
        return compiled.binding.name
    return None


def note_usage(
    unit: UnitOfWork,
    decision: Decision,
    snapshot: Snapshot,
    agent: Agent,
    *,
    action: str,
    resource: str,
    now: datetime,
) -> None:
    """Note in ``unit`` each permission that allowed ``decision`` (``action`` on
    ``resource``, as recorded)."""
    for key in permissions_used(decision, snapshot, agent, now):
        unit.usage.record(key, action=action, resource=resource, at=now)


class UsageService:
    """Reads an agent's usage."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def for_agent(
        self, actor: Principal, agent_id: str, *, since: datetime | None = None
    ) -> list[PermissionUsage]:
        """The agent's usage, last used at or after ``since`` if given: admins, auditors
        and its owner."""
        with self._store.read() as unit:
            agent = unit.agents.get(agent_id)
            if agent is None or not can_read_agent(actor, agent):
                # Non-readers learn nothing about which agents exist.
                require_roles(actor, "read agents", HumanRole.ADMIN, HumanRole.AUDITOR)
                raise NotFound(f"no agent {agent_id!r}", code=ErrorCode.AGENT_NOT_FOUND)
            return unit.usage.for_agent(agent_id, since=since)
