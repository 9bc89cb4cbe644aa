"""What an agent was and held when a decision was made, rebuilt from what the store keeps.

The registry keeps each agent as it is now; the audit log records every change to it
(``agent.updated`` with each changed attribute's old and new value, and the lifecycle
records with the status moved from and to). Undoing, newest first, the changes recorded
after a decision gives the agent as that decision saw it. Grants carry when they were
issued, expire and were revoked; the approval a decision used is named among its reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from charter.approvals.grants import GrantRecord
from charter.audit.records import AuditRecord
from charter.identity.agents import Agent, AgentStatus, RiskTier

__all__ = ["AGENT_CHANGES", "agent_at", "approval_used", "grants_at", "grants_used"]

AGENT_CHANGES = (
    "agent.registered",
    "agent.updated",
    "agent.suspended",
    "agent.reinstated",
    "agent.retired",
)
"""The audit record types that change what the evaluator knows of an agent."""

_LIFECYCLE = ("agent.suspended", "agent.reinstated", "agent.retired")


def agent_at(agent: Agent | None, later: Iterable[AuditRecord]) -> Agent | None:
    """``agent`` (as now) before the changes in ``later``: its records of the types in
    ``AGENT_CHANGES`` made after the decision, in any order. None: not yet registered."""
    if agent is None:
        return None
    for record in sorted(later, key=lambda r: r.seq, reverse=True):
        if record.agent != agent.id:
            continue
        if record.type == "agent.registered":
            return None
        data = record.data()
        if record.type in _LIFECYCLE:
            agent = replace(agent, status=AgentStatus(data["from"]))
        elif record.type == "agent.updated":
            agent = _undo(agent, data.get("changes", {}))
    return agent


def _undo(agent: Agent, changes: Mapping[str, Any]) -> Agent:
    """``agent`` with each recorded change (``{attribute: [old, new]}``) undone, as far
    as the evaluator reads it."""
    undone: dict[str, Any] = {}
    if "status" in changes:
        undone["status"] = AgentStatus(changes["status"][0])
    if "labels" in changes:
        undone["labels"] = dict(changes["labels"][0] or {})
    if "risk_tier" in changes:
        undone["risk_tier"] = RiskTier(changes["risk_tier"][0])
    if "owner" in changes:
        undone["owner"] = changes["owner"][0]
    return replace(agent, **undone) if undone else agent


def grants_at(
    grants: Iterable[GrantRecord], at: datetime, recorded: Mapping[str, Any]
) -> list[GrantRecord]:
    """The grants in force at ``at``: issued before it, not yet expired or revoked; and
    those the recorded decision says it used. A grant issued or revoked at the decision's
    very instant cannot be told apart by time: it counts if and only if it was used."""
    used = grants_used(recorded)
    return [
        grant
        for grant in grants
        if grant.id in used
        or (
            grant.issued_at < at < grant.expires_at
            and (grant.revoked_at is None or grant.revoked_at > at)
        )
    ]


_THROUGH_GRANT = "through grant "
"""How the evaluator's reason names a permission that matched through a grant."""


def grants_used(recorded: Mapping[str, Any]) -> set[str]:
    """The grants the recorded decision's reasons say a permission matched through."""
    return {
        str(reason["message"]).removeprefix(_THROUGH_GRANT)
        for reason in recorded.get("reasons", ())
        if str(reason.get("message", "")).startswith(_THROUGH_GRANT)
    }


def approval_used(recorded: Mapping[str, Any]) -> str | None:
    """The approval the recorded decision used (its ``Approval/<id>`` reason), if any."""
    for reason in recorded.get("reasons", ()):
        policy = reason.get("policy", "")
        if policy.startswith("Approval/") and reason.get("effect") == "allow":
            return str(policy.removeprefix("Approval/"))
    return None
