"""Gathering a review item's evidence from the store and the active policy.

For one agent in a campaign's scope: its decisions, denials and approvals in the window
(read from the audit log, at most ``MAX_SCANNED`` decisions, newest first), its tokens,
its owner, and for each binding of the active revision that gives it a role (and each JIT
grant it holds) the usage of every permission. ``charter.reviews.recommend`` turns that
into a recommendation; the item keeps both, as a reviewer will read them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from charter.approvals.grants import GrantRecord
from charter.clock import to_utc
from charter.identity.agents import Agent
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import Human
from charter.policy.compiled import whole_role
from charter.policy.engine import Engine
from charter.policy.globs import ACTION
from charter.policy.model import Activation, Role
from charter.reviews.campaigns import Campaign, ItemKind, ReviewItem
from charter.reviews.evidence import AgentEvidence, GrantEvidence
from charter.reviews.narrow import narrow_role, role_document
from charter.reviews.recommend import Thresholds, recommend_agent, recommend_grant
from charter.reviews.usage import PermissionUsage
from charter.storage.ports import AuditQuery, UnitOfWork

__all__ = ["MAX_SCANNED", "items_for_agent"]

MAX_SCANNED = 10_000
"""At most this many of an agent's decisions in the window are read for its evidence."""

_ASKED = ("approval_required", "step_up_required")


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else to_utc(moment).isoformat()


class _Window:
    """What the audit log and the token store say about one agent over the window."""

    def __init__(self, unit: UnitOfWork, agent: Agent, since: datetime) -> None:
        self.decisions = self.denials = self.approvals = 0
        self.denied: Counter[str] = Counter()
        self.truncated = False
        after = -1
        while self.decisions < MAX_SCANNED:
            page = unit.audit.query(
                AuditQuery(
                    agent=agent.id, types=("decision",), since=since, after_seq=after, limit=1000
                )
            )
            for record in page:
                data = record.data()
                self.decisions += 1
                effect = data.get("effect")
                if effect == "deny":
                    self.denials += 1
                    self.denied[str(data.get("request", {}).get("action", ""))] += 1
                elif effect in _ASKED:
                    self.approvals += 1
            if len(page) < 1000:
                break
            after = page[-1].seq
        else:
            self.truncated = True
        tokens = unit.credentials.list_for(PrincipalKind.AGENT, agent.id)
        self.tokens_issued = sum(1 for t in tokens if to_utc(t.created_at) >= since)
        self.tokens_used = sum(
            1 for t in tokens if t.last_used_at is not None and to_utc(t.last_used_at) >= since
        )
        issued = [t.created_at for t in tokens]
        used = [t.last_used_at for t in tokens if t.last_used_at is not None]
        self.last_token_at = max(issued, default=None)
        self.last_token_used_at = max(used, default=None)


def items_for_agent(
    unit: UnitOfWork,
    engine: Engine | None,
    campaign: Campaign,
    agent: Agent,
    *,
    reviewer: str,
    due_at: datetime,
    now: datetime,
    ids: Callable[[str], str],
    thresholds: Thresholds | None = None,
    agent_item_only: bool = False,
) -> list[ReviewItem]:
    """The items ``campaign`` holds about ``agent``: one for the agent, one per binding of
    the active revision that gives it a role, one per active JIT grant."""
    since = now - campaign.window
    owner: Human | None = unit.humans.get(agent.owner)
    seen = _Window(unit, agent, since)
    facts = AgentEvidence(
        agent=agent.id,
        owner=agent.owner,
        risk_tier=agent.risk_tier,
        status=agent.status,
        purpose=agent.purpose,
        owner_active=owner is not None and owner.active,
        owner_holds_role=owner is not None,
        last_seen_at=agent.last_seen_at,
        decisions=seen.decisions,
        denials=seen.denials,
        approvals=seen.approvals,
        tokens_issued=seen.tokens_issued,
        last_token_at=seen.last_token_at,
    )
    advice = recommend_agent(facts, window=campaign.window, now=now, thresholds=thresholds)
    common: dict[str, Any] = {
        "campaign": campaign.id,
        "agent": agent.id,
        "reviewer": reviewer,
        "due_at": due_at,
        "created_at": now,
        "risk_tier": agent.risk_tier,
    }
    items = [
        ReviewItem(
            id=ids("rvi"),
            kind=ItemKind.AGENT,
            source="agent",
            evidence={
                "window_days": campaign.window / timedelta(days=1),
                "since": _when(since),
                "owner": agent.owner,
                "owner_active": facts.owner_active,
                "purpose": agent.purpose,
                "status": agent.status.value,
                "risk_tier": agent.risk_tier.value,
                "recertify_by": _when(agent.recertify_by),
                "last_seen_at": _when(agent.last_seen_at),
                "decisions": seen.decisions,
                "denials": seen.denials,
                "approvals": seen.approvals,
                "decisions_truncated": seen.truncated,
                "denied_actions": dict(seen.denied.most_common(10)),
                "tokens_issued": seen.tokens_issued,
                "tokens_used": seen.tokens_used,
                "last_token_at": _when(seen.last_token_at),
                "last_token_used_at": _when(seen.last_token_used_at),
            },
            recommendation=advice.kind.value,
            recommendation_reason=advice.reason,
            **common,
        )
    ]
    if agent_item_only or engine is None:
        return items
    roles = {role.name: role for role in engine.policy.roles}
    usage = unit.usage.for_agent(agent.id)
    grants = unit.grants.active_for(agent.id, now)
    lately = _grants_since(unit, agent.id, since, now)
    for compiled in engine.snapshot.bindings_for(agent.id, agent.labels):
        binding = compiled.binding
        role = roles.get(binding.role)
        if role is None or (binding.expires_at is not None and now >= binding.expires_at):
            continue
        source = f"Binding/{binding.name}"
        issued = tuple(f"grant:{g.id}" for g in lately if g.policy == source)
        evidence = GrantEvidence(
            agent=agent.id,
            source=source,
            role=role,
            activation=binding.activation,
            risk_tier=agent.risk_tier,
            usage=tuple(usage),
            grants=issued,
            denials=_denials(role, seen.denied),
            approvals=seen.approvals if binding.activation is Activation.ELIGIBLE else 0,
        )
        items.append(
            _grant_item(evidence, ItemKind.BINDING, campaign, since, now, ids, thresholds, common)
        )
    for grant in grants:
        role = roles.get(whole_role(grant.role))  # a narrowed grant: its whole role
        if role is None:
            continue
        evidence = GrantEvidence(
            agent=agent.id,
            source=f"grant:{grant.id}",
            role=role,
            activation=Activation.ELIGIBLE,
            risk_tier=agent.risk_tier,
            usage=tuple(usage),
        )
        items.append(
            _grant_item(evidence, ItemKind.GRANT, campaign, since, now, ids, thresholds, common)
        )
    return items


def _grants_since(
    unit: UnitOfWork, agent: str, since: datetime, now: datetime
) -> list[GrantRecord]:
    """The agent's grants that were in force at some time in the window (active, expired
    or revoked since): an eligible binding is used through them, and JIT grants are
    short, so most have ended by the time a campaign starts. Of the first
    ``MAX_SCANNED`` grants, by id."""
    found: list[GrantRecord] = []
    after: str | None = None
    for _ in range(MAX_SCANNED // 1000):
        page = unit.grants.list(agent=agent, now=now, after=after, limit=1000)
        found.extend(
            g
            for g in page
            if to_utc(g.expires_at) >= since
            and (g.revoked_at is None or to_utc(g.revoked_at) >= since)
        )
        if len(page) < 1000:
            break
        after = page[-1].id
    return found


def _denials(role: Role, denied: Counter[str]) -> int:
    patterns = [ACTION.compile(a) for p in role.permissions for a in p.actions]
    return sum(n for action, n in denied.items() if any(g.matches(action) for g in patterns))


def _usage_json(usage: PermissionUsage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "uses": usage.count,
        "first_at": _when(usage.first_at),
        "last_at": _when(usage.last_at),
        "actions": list(usage.actions),
        "resources": list(usage.resources),
        "sample_full": usage.sample_full,
    }


def _grant_item(
    evidence: GrantEvidence,
    kind: ItemKind,
    campaign: Campaign,
    since: datetime,
    now: datetime,
    ids: Callable[[str], str],
    thresholds: Thresholds | None,
    common: dict[str, Any],
) -> ReviewItem:
    advice = recommend_grant(evidence, window=campaign.window, now=now, thresholds=thresholds)
    role = evidence.role

    def in_window(index: int) -> PermissionUsage | None:
        found = evidence.usage_of(index)
        return found if found is not None and to_utc(found.last_at) >= since else None

    narrowed = narrow_role(role, in_window)
    narrower = (
        role_document(narrowed.role) if narrowed.changed and narrowed.role.permissions else None
    )
    permissions = []
    for index, permission in enumerate(role.permissions):
        permissions.append(
            {
                "index": index,
                "capability": permission.capability.value,
                "actions": list(permission.actions),
                "resources": list(permission.resources),
                "usage": _usage_json(evidence.usage_of(index)),
                "used_in_window": in_window(index) is not None,
            }
        )
    return ReviewItem(
        id=ids("rvi"),
        kind=kind,
        source=evidence.source,
        role=role.name,
        activation=evidence.activation.value,
        evidence={
            "window_days": campaign.window / timedelta(days=1),
            "since": _when(since),
            "role": role.name,
            "activation": evidence.activation.value,
            "permissions": permissions,
            "uses_in_window": sum(
                u.count for i in range(len(role.permissions)) if (u := in_window(i)) is not None
            ),
            "denials": evidence.denials,
            "approvals": evidence.approvals,
            "grants_issued": list(evidence.grants),
            "recommended_yaml": advice.proposed_yaml,
        },
        recommendation=advice.kind.value,
        recommendation_reason=advice.reason,
        narrower=narrower,
        **common,
    )
