"""The facts a decision is made on, gathered from the store in the decision's transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from charter.approvals.grants import GrantRecord
from charter.audit.records import canonical_json
from charter.identity.agents import Agent
from charter.policy.decision import AgentFacts, Facts, Request
from charter.policy.model import Capability

__all__ = [
    "agent_facts",
    "digest_of",
    "facts_for",
    "request_digest",
    "request_snapshot",
    "stored_request",
]


def agent_facts(agent: Agent) -> AgentFacts:
    """The registry's record of ``agent`` as the evaluator takes it."""
    return AgentFacts(
        id=agent.id,
        owner=agent.owner,
        status=agent.status,
        risk_tier=agent.risk_tier,
        labels=dict(agent.labels),
    )


def facts_for(
    agent: Agent | None, grants: Iterable[GrantRecord], approval_id: str | None = None
) -> Facts:
    """Facts for a decision: the agent (None: unknown), its active grants, an approval."""
    if agent is None:
        return Facts(agent=None)
    return Facts(
        agent=agent_facts(agent),
        grants=tuple(grant.as_fact() for grant in grants),
        approval_id=approval_id,
    )


def digest_of(value: Any) -> str:
    """``sha256:`` and the hex digest of ``value``'s canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def request_snapshot(request: Request, input: Any = None) -> dict[str, Any]:
    """The request as an approval keeps it and approvers see it: everything but the
    input, which only its digest stands for."""
    return {
        "agent": request.agent,
        "capability": request.capability.value,
        "action": request.action,
        "resource": request.resource,
        "resource_attributes": dict(request.resource_attributes),
        "fields": list(request.fields),
        "context": dict(request.context),
        "input_digest": None if input is None else digest_of(input),
    }


def request_digest(request: Request, input: Any = None) -> str:
    """The digest an approval binds to: agent, capability, action, resource and its
    attributes, fields, context and input. Any difference is another request."""
    return digest_of(request_snapshot(request, input))


def stored_request(snapshot: dict[str, Any]) -> Request:
    """The ``Request`` an approval's snapshot describes."""
    return Request(
        agent=snapshot["agent"],
        capability=Capability(snapshot["capability"]),
        action=snapshot["action"],
        resource=snapshot["resource"],
        resource_attributes=snapshot.get("resource_attributes", {}),
        fields=tuple(snapshot.get("fields", ())),
        context=snapshot.get("context", {}),
    )
