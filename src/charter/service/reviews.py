"""Access reviews: start a campaign, read it, decide its items, take proposals, close it.

Who may do what is enforced here, whatever the policy says:

- admins start and close campaigns; agents never start, decide or close anything;
- an item is decided by its reviewer (the agent's owner by default, or the user or group
  the campaign names) or by an admin; "don't know" hands it to the admins;
- an agent may attach a proposal to an item when its policy allows ``review.propose`` on
  ``reviews/<campaign>/<agent>`` (decided and audited like any request), never on an item
  about itself, and a proposal never decides anything: a human who accepts one is
  recorded as having done so;
- every step is an audit record; campaign start and close are webhook events too.

A decision takes effect at once: a revoke, reduce or make-eligible on a binding is an
outcome in force, which the evaluator applies on top of the policy (``ReviewOutcomes``);
a revoked grant, a retired agent or a new owner is a change to the registry, made in the
decision's own transaction.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from charter.audit.records import AuditEntry
from charter.clock import Clock, format_time
from charter.codes import ErrorCode
from charter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from charter.identity.agents import Agent, AgentStatus, LifecycleAction
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.ids import IdFactory, new_id
from charter.policy.model import Capability
from charter.reviews.campaigns import (
    MAX_BULK,
    Campaign,
    CampaignKind,
    CampaignStatus,
    ItemKind,
    ItemStatus,
    OutcomeState,
    Overdue,
    Proposal,
    ReviewItem,
    ReviewSettings,
    Scope,
    Verdict,
    check_verdict,
    overdue_verdict,
)
from charter.service.access import require_human, require_roles
from charter.service.active import ActiveEngine
from charter.service.agents import apply_transition, record_update, require_active_owner
from charter.service.decisions import Asked, DecisionService
from charter.service.grants import grant_record
from charter.service.review_evidence import items_for_agent
from charter.service.webhooks import audit_and_publish
from charter.storage.ports import Store, UnitOfWork

__all__ = [
    "MAX_ITEMS",
    "CampaignView",
    "ItemDecision",
    "ReviewService",
    "StartCampaign",
    "record_item_decision",
    "settle_undecided",
]

MAX_ITEMS = 20_000
"""A campaign holds at most this many items; narrow the scope beyond it."""

_READERS = (HumanRole.ADMIN, HumanRole.AUDITOR)
_ADMINS = "admins"
_OUTCOME_VERDICTS = (Verdict.REVOKE, Verdict.REDUCE, Verdict.MAKE_ELIGIBLE)


@dataclass(frozen=True, slots=True)
class StartCampaign:
    """What an admin asks for when starting a campaign."""

    name: str
    scope: Scope = field(default_factory=Scope)
    window: timedelta | None = None
    due_at: datetime | None = None
    reviewer: str | None = None
    """``user:<id>`` or ``group:<name>``; None: each agent's owner."""
    overdue: Overdue | None = None


@dataclass(frozen=True, slots=True)
class ItemDecision:
    """A reviewer's decision on one item."""

    verdict: Verdict
    reason: str
    new_owner: str | None = None
    """For ``reassign_owner``: the human who becomes accountable."""
    accept_proposal: str | None = None
    """The id of the proposal this decision accepts (its verdict must match)."""


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A campaign with the items the reader may see and their proposals."""

    campaign: Campaign
    items: list[ReviewItem]
    proposals: Mapping[str, list[Proposal]]
    counts: Mapping[str, int]


def _counts(items: Iterable[ReviewItem]) -> dict[str, int]:
    counts = {"items": 0, "pending": 0, "escalated": 0, "decided": 0, "in_force": 0}
    for item in items:
        counts["items"] += 1
        counts[item.status.value] += 1
        if item.outcome is OutcomeState.IN_FORCE:
            counts["in_force"] += 1
    return counts


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "a review decision needs a reason",
            code=ErrorCode.REASON_REQUIRED,
            help="say in a sentence why (it is kept in the audit log)",
        )
    return reason


def _item_json(item: ReviewItem) -> dict[str, Any]:
    return {
        "campaign": item.campaign,
        "item": item.id,
        "kind": item.kind.value,
        "source": item.source,
        "role": item.role,
        "recommendation": item.recommendation,
    }


def record_item_decision(
    unit: UnitOfWork,
    actor: Principal,
    item: ReviewItem,
    decision: ItemDecision,
    *,
    now: datetime,
    bulk: bool = False,
    proposal: Proposal | None = None,
    flagged: bool = False,
    recertify_after: timedelta | None = None,
) -> ReviewItem:
    """Decide ``item`` (locked, open) in ``unit``: apply what the verdict changes in the
    registry, put an outcome in force, and record it. The caller checked who may."""
    verdict = decision.verdict
    outcome = OutcomeState.NONE
    applied: dict[str, Any] = {}
    agent = unit.agents.get(item.agent, for_update=True)
    if agent is None:  # agents are never deleted; a foreign key says so
        raise NotFound(f"no agent {item.agent!r}", code=ErrorCode.AGENT_NOT_FOUND)
    if verdict in _OUTCOME_VERDICTS and item.kind is ItemKind.BINDING:
        outcome = OutcomeState.IN_FORCE
    elif verdict is Verdict.REVOKE and item.kind is ItemKind.GRANT:
        grant_id = item.source.removeprefix("grant:")
        why = f"review item {item.id}: {decision.reason}"
        grant = unit.grants.get(grant_id)
        if grant is not None and unit.grants.revoke(grant_id, at=now, by=actor.ref, reason=why):
            ended = replace(grant, revoked_at=now, revoked_by=actor.ref, revoke_reason=why)
            unit.audit.append(grant_record("revoked", actor.ref, now, ended, reason=why))
            applied["grant_revoked"] = grant_id
        outcome = OutcomeState.APPLIED
    elif verdict is Verdict.RETIRE_AGENT:
        if agent.status is not AgentStatus.RETIRED:
            _, revoked = apply_transition(
                unit,
                actor,
                agent,
                LifecycleAction.RETIRE,
                reason=f"review item {item.id}: {decision.reason}",
                now=now,
            )
            applied["revoked_tokens"] = revoked
        outcome = OutcomeState.APPLIED
    elif verdict is Verdict.REASSIGN_OWNER:
        owner = decision.new_owner
        if not owner:
            raise InvalidInput(
                "reassigning an owner needs the new owner",
                code=ErrorCode.UNKNOWN_OWNER,
                help='add "new_owner": "user:<id>"',
            )
        if agent.status is AgentStatus.RETIRED:
            raise Conflict(f"agent {agent.id!r} is retired", code=ErrorCode.AGENT_RETIRED)
        if owner == actor.id and not actor.has_any(HumanRole.ADMIN):
            # A reviewer hands accountability on; taking the agent (and the power to
            # issue its tokens) is an admin's call.
            raise PermissionDenied(
                f"{actor.ref} may not make themselves the owner of {agent.id}",
                code=ErrorCode.FORBIDDEN,
                help="name someone else, or ask an admin",
            )
        require_active_owner(unit, owner)
        moved = replace(agent, owner=owner, updated_at=now)
        record_update(unit, actor, agent, moved, review_item=item.id)
        applied["owner"] = {"from": agent.owner, "to": owner}
        outcome = OutcomeState.APPLIED
    elif (
        verdict is Verdict.KEEP
        and item.kind is ItemKind.AGENT
        and recertify_after
        and agent.status is not AgentStatus.RETIRED
    ):
        # Keeping an agent is recertifying it.
        moved = replace(agent, recertify_by=now + recertify_after, updated_at=now)
        record_update(unit, actor, agent, moved, review_item=item.id)
        applied["recertify_by"] = format_time(now + recertify_after)
    decided = replace(
        item,
        status=ItemStatus.DECIDED,
        verdict=verdict,
        reason=decision.reason,
        decided_by=actor.ref,
        decided_at=now,
        bulk=bulk,
        accepted_proposal=None if proposal is None else proposal.id,
        new_owner=decision.new_owner if verdict is Verdict.REASSIGN_OWNER else None,
        flagged=flagged,
        outcome=outcome,
    )
    record = unit.audit.append(
        AuditEntry(
            type="review.item_decided",
            actor=actor.ref,
            at=now,
            agent=item.agent,
            subject=item.id,
            data={
                **_item_json(item),
                "verdict": verdict.value,
                "reason": decision.reason,
                "bulk": bulk,
                "flagged": flagged,
                "accepted_proposal": None if proposal is None else proposal.id,
                "proposed_by": None if proposal is None else f"agent:{proposal.agent}",
                "outcome": outcome.value,
                **applied,
            },
        )
    )
    unit.reviews.save_item(
        decided, outcome_seq=record.seq if outcome is OutcomeState.IN_FORCE else None
    )
    return decided


def settle_undecided(
    unit: UnitOfWork,
    actor: Principal,
    campaign: Campaign,
    item: ReviewItem,
    now: datetime,
    *,
    why: str,
) -> ReviewItem:
    """Decide an item nobody decided by the campaign's overdue default (kept ones are
    flagged for the next campaign)."""
    verdict = overdue_verdict(item, campaign.overdue)
    reason = f"{why}: default {campaign.overdue.value} gives {verdict.value}"
    return record_item_decision(
        unit,
        actor,
        item,
        ItemDecision(verdict, reason),
        now=now,
        flagged=verdict.value == "keep",
    )


class ReviewService:
    """Campaigns, their items, decisions and proposals."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        compiled: ActiveEngine,
        decisions: DecisionService,
        *,
        settings: ReviewSettings,
        recertify_after: timedelta,
        ids: IdFactory = new_id,
    ) -> None:
        self._store, self._clock, self._compiled = store, clock, compiled
        self._decisions, self._settings, self._ids = decisions, settings, ids
        self._recertify_after = recertify_after

    # Starting and reading.

    def start(self, actor: Principal, spec: StartCampaign) -> CampaignView:
        """Start a campaign over ``spec.scope``: its items are built now, each with its
        evidence and recommendation, and given to its reviewer."""
        require_roles(actor, "start access reviews", HumanRole.ADMIN)
        now = self._clock()
        name = spec.name.strip()
        if not name or len(name) > 200:
            raise InvalidInput(
                "a campaign needs a name of 1 to 200 characters", code=ErrorCode.INVALID_INPUT
            )
        window = spec.window or self._settings.window
        if window <= timedelta(0) or window > timedelta(days=3660):
            raise InvalidInput(
                "the look-back window must be positive and at most 10 years",
                code=ErrorCode.INVALID_DURATION,
            )
        due_at = spec.due_at or now + self._settings.due_in
        if due_at <= now:
            raise InvalidInput(
                "the due date must be in the future", code=ErrorCode.INVALID_DUE_DATE
            )
        campaign = Campaign(
            id=self._ids("rvc"),
            name=name,
            kind=CampaignKind.CAMPAIGN,
            scope=spec.scope,
            window=window,
            started_at=now,
            started_by=actor.ref,
            due_at=due_at,
            reviewer=spec.reviewer,
            overdue=spec.overdue or self._settings.overdue,
        )
        with self._store.write() as unit:
            if spec.reviewer is not None:
                _check_reviewer(unit, spec.reviewer)
            for owner in spec.scope.owners:
                if unit.humans.get(owner) is None:
                    raise InvalidInput(f"no human {owner!r}", code=ErrorCode.UNKNOWN_OWNER)
            engine = self._compiled.engine
            items: list[ReviewItem] = []
            for agent in _in_scope(unit, spec.scope):
                reviewer = spec.reviewer or _reviewer_for(unit, agent)
                items.extend(
                    items_for_agent(
                        unit,
                        engine,
                        campaign,
                        agent,
                        reviewer=reviewer,
                        due_at=due_at,
                        now=now,
                        ids=self._ids,
                    )
                )
                if len(items) > MAX_ITEMS:
                    raise InvalidInput(
                        f"the scope gives more than {MAX_ITEMS} items",
                        code=ErrorCode.TOO_MANY_ITEMS,
                        help="narrow the scope: by label, risk tier, owner or agent ids",
                    )
            if not items:
                raise InvalidInput(
                    "no agent is in the campaign's scope", code=ErrorCode.EMPTY_CAMPAIGN
                )
            unit.reviews.add_campaign(campaign)
            unit.reviews.add_items(items)
            audit_and_publish(
                unit,
                AuditEntry(
                    type="review.started",
                    actor=actor.ref,
                    at=now,
                    subject=campaign.id,
                    data={
                        "campaign": campaign.id,
                        "name": campaign.name,
                        "scope": campaign.scope.to_json(),
                        "window_days": window / timedelta(days=1),
                        "due_at": due_at.isoformat(),
                        "reviewer": campaign.reviewer,
                        "overdue": campaign.overdue.value,
                        "agents": len({item.agent for item in items}),
                        "items": len(items),
                    },
                ),
            )
        return CampaignView(campaign, items, {}, _counts(items))

    def campaigns(
        self, actor: Principal, *, status: CampaignStatus | None = None, limit: int = 100
    ) -> list[tuple[Campaign, dict[str, int]]]:
        """Campaigns newest first, with counts of the items the reader may see."""
        require_human(actor, "list access reviews")
        with self._store.read() as unit:
            found = []
            for campaign in unit.reviews.campaigns(status=status, limit=limit):
                items = self._visible(unit, actor, campaign.id)
                if items or actor.has_any(*_READERS):
                    found.append((campaign, _counts(items)))
            return found

    def show(self, actor: Principal, campaign_id: str) -> CampaignView:
        """A campaign with the items the reader may see: admins and auditors all, others
        those they review or whose agent they own. An agent sees the open items not about
        itself when its policy allows ``review.read`` on ``reviews/<campaign>``."""
        if not actor.is_human:
            self._allowed(actor, "review.read", f"reviews/{campaign_id}")
        with self._store.read() as unit:
            campaign = unit.reviews.campaign(campaign_id)
            if campaign is None:
                raise NotFound(f"no campaign {campaign_id!r}", code=ErrorCode.CAMPAIGN_NOT_FOUND)
            items = self._visible(unit, actor, campaign_id)
            if not items and not actor.has_any(*_READERS) and actor.is_human:
                raise NotFound(f"no campaign {campaign_id!r}", code=ErrorCode.CAMPAIGN_NOT_FOUND)
            proposals = _by_item(unit.reviews.proposals(item.id for item in items))
            return CampaignView(campaign, items, proposals, _counts(items))

    def queue(self, actor: Principal) -> tuple[list[ReviewItem], Mapping[str, list[Proposal]]]:
        """The open items this human may decide now, soonest due first."""
        require_human(actor, "review access")
        with self._store.read() as unit:
            refs = _refs(unit, actor)
            items = [
                item
                for item in _all(
                    unit,
                    lambda after: unit.reviews.items(reviewers=refs, open_only=True, after=after),
                )
            ]
            items.sort(key=lambda item: (item.due_at, item.id))
            return items, _by_item(unit.reviews.proposals(item.id for item in items))

    def item(self, actor: Principal, item_id: str) -> tuple[ReviewItem, list[Proposal]]:
        """One item and its proposals, for those who may see it."""
        with self._store.read() as unit:
            item = unit.reviews.item(item_id)
            if item is None or not self._may_see(unit, actor, item):
                raise NotFound(f"no review item {item_id!r}", code=ErrorCode.REVIEW_ITEM_NOT_FOUND)
            return item, unit.reviews.proposals([item.id])

    # Deciding.

    def decide(self, actor: Principal, item_id: str, decision: ItemDecision) -> ReviewItem:
        """Decide one item (its reviewer, or an admin)."""
        return self._decide(actor, [item_id], decision, bulk=False)[0]

    def decide_many(
        self, actor: Principal, item_ids: list[str], decision: ItemDecision
    ) -> list[ReviewItem]:
        """Decide several items the same way, all or none, recorded as a bulk decision."""
        if not item_ids or len(item_ids) > MAX_BULK:
            raise InvalidInput(
                f"a bulk decision covers 1 to {MAX_BULK} items", code=ErrorCode.INVALID_INPUT
            )
        if decision.accept_proposal is not None:
            raise InvalidInput(
                "a proposal is accepted one item at a time", code=ErrorCode.INVALID_INPUT
            )
        return self._decide(actor, list(dict.fromkeys(item_ids)), decision, bulk=True)

    def _decide(
        self, actor: Principal, item_ids: list[str], decision: ItemDecision, *, bulk: bool
    ) -> list[ReviewItem]:
        # Enforced here, whatever any policy says: people decide, agents only propose.
        require_human(actor, "decide access reviews")
        decision = replace(decision, reason=_reason(decision.reason))
        now = self._clock()
        with self._store.write() as unit:
            human = unit.humans.get(actor.id)
            groups = human.groups if human is not None else ()
            admin = actor.has_any(HumanRole.ADMIN)
            decided = []
            for item_id in item_ids:
                item = unit.reviews.item(item_id, for_update=True)
                if item is None or not self._may_see(unit, actor, item):
                    raise NotFound(
                        f"no review item {item_id!r}", code=ErrorCode.REVIEW_ITEM_NOT_FOUND
                    )
                if not item.may_be_decided_by(actor.id, groups, admin):
                    raise PermissionDenied(
                        f"{actor.ref} is not the reviewer of {item.id} ({item.reviewer})",
                        code=ErrorCode.NOT_A_REVIEWER,
                    )
                campaign = unit.reviews.campaign(item.campaign)
                if campaign is None or campaign.status is CampaignStatus.CLOSED:
                    raise Conflict(
                        f"campaign {item.campaign} is closed", code=ErrorCode.CAMPAIGN_CLOSED
                    )
                if not item.open:
                    raise Conflict(
                        f"{item.id} is already decided ({item.verdict})",
                        code=ErrorCode.ITEM_DECIDED,
                    )
                check_verdict(item, decision.verdict)
                if decision.verdict is Verdict.DONT_KNOW:
                    decided.append(self._escalate(unit, actor, item, decision, now, bulk))
                    continue
                proposal = None
                if decision.accept_proposal is not None:
                    proposal = unit.reviews.proposal(decision.accept_proposal)
                    if proposal is None or proposal.item != item.id:
                        raise NotFound(
                            f"no proposal {decision.accept_proposal!r} on {item.id}",
                            code=ErrorCode.PROPOSAL_NOT_FOUND,
                        )
                    if proposal.verdict is not decision.verdict:
                        raise InvalidInput(
                            f"proposal {proposal.id} proposes {proposal.verdict.value}, "
                            f"not {decision.verdict.value}",
                            code=ErrorCode.VERDICT_NOT_APPLICABLE,
                            help="accept it as proposed, or decide without accepting it",
                        )
                decided.append(
                    record_item_decision(
                        unit,
                        actor,
                        item,
                        decision,
                        now=now,
                        bulk=bulk,
                        proposal=proposal,
                        recertify_after=self._recertify_after,
                    )
                )
            return decided

    def _escalate(
        self,
        unit: UnitOfWork,
        actor: Principal,
        item: ReviewItem,
        decision: ItemDecision,
        now: datetime,
        bulk: bool,
    ) -> ReviewItem:
        if item.status is ItemStatus.ESCALATED:
            raise InvalidInput(
                f"{item.id} is already with the admins: decide it",
                code=ErrorCode.VERDICT_NOT_APPLICABLE,
            )
        escalated = replace(item, status=ItemStatus.ESCALATED, reviewer=_ADMINS)
        unit.reviews.save_item(escalated)
        unit.audit.append(
            AuditEntry(
                type="review.item_escalated",
                actor=actor.ref,
                at=now,
                agent=item.agent,
                subject=item.id,
                data={
                    **_item_json(item),
                    "from": item.reviewer,
                    "reason": decision.reason,
                    "bulk": bulk,
                },
            )
        )
        return escalated

    # Proposals.

    def propose(
        self,
        actor: Principal,
        item_id: str,
        verdict: Verdict,
        reason: str,
        evidence: tuple[str, ...] = (),
    ) -> Proposal:
        """Attach an agent's proposal to an item. Never on an item about the agent itself,
        only when its policy allows ``review.propose`` on ``reviews/<campaign>/<agent>``;
        it decides nothing."""
        if actor.is_human:
            raise PermissionDenied(
                f"{actor.ref} decides items; proposals are for agents",
                code=ErrorCode.FORBIDDEN,
                help="decide the item instead",
            )
        reason = _reason(reason)
        with self._store.read() as unit:
            item = unit.reviews.item(item_id)
            campaign = None if item is None else unit.reviews.campaign(item.campaign)
        if item is None or campaign is None:
            raise NotFound(f"no review item {item_id!r}", code=ErrorCode.REVIEW_ITEM_NOT_FOUND)
        if item.agent == actor.id:
            # Enforced here, not by policy: no agent reviews itself.
            raise PermissionDenied(
                f"{actor.ref} may not propose on {item.id}: the item is about itself",
                code=ErrorCode.OWN_REVIEW_ITEM,
            )
        if verdict is Verdict.DONT_KNOW:
            raise InvalidInput(
                "a proposal recommends a decision", code=ErrorCode.VERDICT_NOT_APPLICABLE
            )
        check_verdict(item, verdict)
        decision_id = self._allowed(actor, "review.propose", f"reviews/{campaign.id}/{item.agent}")
        now = self._clock()
        proposal = Proposal(
            id=self._ids("rvp"),
            item=item.id,
            campaign=campaign.id,
            agent=actor.id,
            verdict=verdict,
            reason=reason,
            evidence=evidence,
            decision_id=decision_id,
            at=now,
        )
        with self._store.write() as unit:
            fresh = unit.reviews.item(item.id, for_update=True)
            open_campaign = unit.reviews.campaign(campaign.id)
            if open_campaign is None or open_campaign.status is CampaignStatus.CLOSED:
                raise Conflict(f"campaign {campaign.id} is closed", code=ErrorCode.CAMPAIGN_CLOSED)
            if fresh is None or not fresh.open:
                raise Conflict(f"{item.id} is already decided", code=ErrorCode.ITEM_DECIDED)
            unit.reviews.add_proposal(proposal)
            unit.audit.append(
                AuditEntry(
                    type="review.proposed",
                    actor=actor.ref,
                    at=now,
                    agent=item.agent,
                    subject=proposal.id,
                    data={
                        **_item_json(item),
                        "proposal": proposal.id,
                        "verdict": verdict.value,
                        "reason": reason,
                        "evidence": list(evidence),
                        "decision": decision_id,
                    },
                )
            )
        return proposal

    def _allowed(self, actor: Principal, action: str, resource: str) -> str:
        """Ask for a decision for ``actor`` (an agent) and refuse unless it is allowed;
        the decision's id."""
        decided = self._decisions.decide(actor, [Asked(Capability.DO, action, resource)])[0]
        if not decided.decision.allowed:
            raise PermissionDenied(
                f"{actor.ref} may not {action} on {resource}: {decided.decision.message}",
                code=ErrorCode.FORBIDDEN,
                help=f"decision {decided.decision_id} ({decided.decision.code})",
            )
        return decided.decision_id

    # Closing.

    def close(self, actor: Principal, campaign_id: str, *, reason: str = "") -> CampaignView:
        """Close a campaign: items still open get the campaign's overdue default."""
        require_roles(actor, "close access reviews", HumanRole.ADMIN)
        now = self._clock()
        with self._store.write() as unit:
            campaign = unit.reviews.campaign(campaign_id, for_update=True)
            if campaign is None:
                raise NotFound(f"no campaign {campaign_id!r}", code=ErrorCode.CAMPAIGN_NOT_FOUND)
            if campaign.status is CampaignStatus.CLOSED:
                raise Conflict(f"campaign {campaign_id} is closed", code=ErrorCode.CAMPAIGN_CLOSED)
            if campaign.kind is CampaignKind.RECERTIFICATION:
                raise Conflict(
                    "the recertification campaign stays open",
                    code=ErrorCode.CAMPAIGN_CLOSED,
                    help="decide its items instead",
                )
            undecided = [
                item
                for item in _all(
                    unit,
                    lambda after: unit.reviews.items(
                        campaign=campaign_id, open_only=True, after=after
                    ),
                )
            ]
            for item in undecided:
                settle_undecided(unit, actor, campaign, item, now, why="closed undecided")
            closed = replace(
                campaign, status=CampaignStatus.CLOSED, closed_at=now, closed_by=actor.ref
            )
            unit.reviews.save_campaign(closed)
            items = list(
                _all(unit, lambda after: unit.reviews.items(campaign=campaign_id, after=after))
            )
            counts = _counts(items)
            audit_and_publish(
                unit,
                AuditEntry(
                    type="review.closed",
                    actor=actor.ref,
                    at=now,
                    subject=campaign.id,
                    data={
                        "campaign": campaign.id,
                        "name": campaign.name,
                        "reason": reason,
                        "defaulted": len(undecided),
                        **counts,
                    },
                ),
            )
            return CampaignView(closed, items, {}, counts)

    def outcomes(self, actor: Principal) -> list[ReviewItem]:
        """Every outcome in force (not yet reflected by the active revision)."""
        require_roles(
            actor,
            "read review outcomes",
            HumanRole.ADMIN,
            HumanRole.AUDITOR,
            HumanRole.POLICY_ADMIN,
        )
        with self._store.read() as unit:
            return unit.reviews.in_force()

    # Visibility.

    def _visible(self, unit: UnitOfWork, actor: Principal, campaign_id: str) -> list[ReviewItem]:
        items = list(
            _all(unit, lambda after: unit.reviews.items(campaign=campaign_id, after=after))
        )
        if not actor.is_human:
            return [item for item in items if item.open and item.agent != actor.id]
        if actor.has_any(*_READERS):
            return items
        refs = set(_refs(unit, actor))
        owned = {agent.id for agent in unit.agents.list(owner=actor.id, limit=1_000_000)}
        return [item for item in items if item.reviewer in refs or item.agent in owned]

    def _may_see(self, unit: UnitOfWork, actor: Principal, item: ReviewItem) -> bool:
        if not actor.is_human:
            return False
        if actor.has_any(*_READERS):
            return True
        if item.reviewer in _refs(unit, actor):
            return True
        agent = unit.agents.get(item.agent)
        return agent is not None and agent.owner == actor.id


def _by_item(proposals: Iterable[Proposal]) -> dict[str, list[Proposal]]:
    found: dict[str, list[Proposal]] = {}
    for proposal in proposals:
        found.setdefault(proposal.item, []).append(proposal)
    return found


def _all(unit: UnitOfWork, page: Any) -> Iterable[ReviewItem]:
    """Every item ``page(after)`` gives, page by page."""
    after: str | None = None
    while True:
        found: builtins.list[ReviewItem] = page(after)
        yield from found
        if len(found) < 500:
            return
        after = found[-1].id


def _refs(unit: UnitOfWork, actor: Principal) -> list[str]:
    """The reviewer references that name this human."""
    refs = [actor.id]
    human = unit.humans.get(actor.id)
    if human is not None:
        refs.extend(f"group:{group}" for group in human.groups)
    if actor.has_any(HumanRole.ADMIN):
        refs.append(_ADMINS)
    return refs


def _check_reviewer(unit: UnitOfWork, reviewer: str) -> None:
    if reviewer.startswith("group:") and len(reviewer) > 6:
        return
    if reviewer.startswith("user:"):
        human = unit.humans.get(reviewer)
        if human is not None and human.active:
            return
    raise InvalidInput(
        f"{reviewer!r} is not an active human or a group",
        code=ErrorCode.INVALID_REVIEWER,
        help="name a reviewer as user:<id> or group:<name>, or leave it out for each owner",
    )


def _reviewer_for(unit: UnitOfWork, agent: Agent) -> str:
    """The agent's owner while they are active; the admins otherwise."""
    owner = unit.humans.get(agent.owner)
    return agent.owner if owner is not None and owner.active else _ADMINS


def _in_scope(unit: UnitOfWork, scope: Scope) -> Iterable[Agent]:
    if scope.agents:
        for agent_id in scope.agents:
            agent = unit.agents.get(agent_id)
            if agent is None:
                raise InvalidInput(f"no agent {agent_id!r}", code=ErrorCode.AGENT_NOT_FOUND)
            if agent.status is not AgentStatus.RETIRED and scope.covers(agent):
                yield agent
        return
    for agent in unit.agents.list(limit=1_000_000):
        if agent.status is not AgentStatus.RETIRED and scope.covers(agent):
            yield agent
