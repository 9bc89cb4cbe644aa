"""The facts a decision is made on, gathered from the store in the decision's transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from charter.approvals.grants import GrantRecord
from charter.audit.records import canonical_json
from charter.identity.agents import Agent
from charter.policy.compiled import CompiledWithdrawal
from charter.policy.decision import ADVISORY_MAX_AGE, Advisory, AgentFacts, Facts, Request
from charter.policy.model import Capability
from charter.secrets import Finding

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
    agent: Agent | None,
    grants: Iterable[GrantRecord],
    approval_id: str | None = None,
    *,
    leaked: tuple[str, ...] = (),
    advisories: Iterable[Advisory] = (),
    advisory_max_age: timedelta = ADVISORY_MAX_AGE,
    withdrawn: tuple[CompiledWithdrawal, ...] = (),
) -> Facts:
    """Facts for a decision: the agent (None: unknown), its active grants, an approval,
    the registered leaks found in the request, the inferences it cites, and the review
    outcomes in force that withdraw some of its bindings."""
    if agent is None:
        return Facts(agent=None)
    return Facts(
        agent=agent_facts(agent),
        grants=tuple(grant.as_fact() for grant in grants),
        approval_id=approval_id,
        leaked=leaked,
        advisories=tuple(advisories),
        advisory_max_age=advisory_max_age,
        withdrawn=withdrawn,
    )


def digest_of(value: Any) -> str:
    """``sha256:`` and the hex digest of ``value``'s canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def request_snapshot(request: Request, context: Any = None, input: Any = None) -> dict[str, Any]:
    """The request as an approval keeps it and approvers see it, with its context and
    input as the secrets scanner masked them (``context`` None: the request's own) and
    what the scanner found (fingerprints, no values)."""
    return {
        "agent": request.agent,
        "capability": request.capability.value,
        "action": request.action,
        "resource": request.resource,
        "resource_attributes": dict(request.resource_attributes),
        "fields": list(request.fields),
        "context": dict(request.context) if context is None else context,
        "input": input,
        "secrets": [finding.to_json() for finding in request.secrets],
    }


def request_digest(request: Request, context: Any = None, input: Any = None) -> str:
    """The digest an approval binds to: agent, capability, action, resource and its
    attributes, fields, the masked context and input, and the fingerprints of their
    secrets (so two requests that differ in a secret differ here too, and the digest
    is never a plain hash of one). Any difference is another request."""
    return digest_of(request_snapshot(request, context, input))


def stored_request(snapshot: dict[str, Any]) -> Request:
    """The ``Request`` an approval's snapshot describes (its context as masked)."""
    return Request(
        agent=snapshot["agent"],
        capability=Capability(snapshot["capability"]),
        action=snapshot["action"],
        resource=snapshot["resource"],
        resource_attributes=snapshot.get("resource_attributes", {}),
        fields=tuple(snapshot.get("fields", ())),
        context=snapshot.get("context", {}),
        secrets=tuple(Finding(**finding) for finding in snapshot.get("secrets", ())),
    )
