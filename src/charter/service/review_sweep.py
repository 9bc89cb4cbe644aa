"""The reviews' clockwork: due dates, recertification and hand-offs, run by the server.

One sweep, at a given time (an injected clock in tests):

1. **Recertification**: every agent whose ``recertify_by`` falls within the horizon gets
   an item in the standing recertification campaign (one open item per agent), due at
   its ``recertify_by``. Keeping the agent recertifies it (``recertify_by`` moves on).
2. **Past recertification**: an agent whose item is still open past its date is, by the
   setting, announced (``review.item_overdue``, once) or suspended through the kill
   switch.
3. **Overdue** campaign items get their campaign's overdue default, recorded as decided
   by ``system:reviews`` and flagged when kept; a ``review.item_overdue`` event each.
4. **Due soon**: open items within ``due_soon`` of their date are announced once.
5. **Hand-off**: an item whose reviewer is a deactivated human goes to the agent's
   current owner when active (and not the same person), or to the admins.
6. **Settle**: outcomes in force that the active revision reflects are marked done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from charter.audit.records import AuditEntry
from charter.clock import Clock
from charter.identity.agents import AgentStatus, LifecycleAction
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.ids import IdFactory, new_id
from charter.policy.engine import Engine
from charter.reviews.campaigns import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    ItemStatus,
    OutcomeState,
    PastRecertification,
    ReviewItem,
    ReviewSettings,
    Scope,
)
from charter.reviews.patch import reflected
from charter.service.access import require_roles
from charter.service.active import ActiveEngine
from charter.service.agents import apply_transition
from charter.service.review_evidence import items_for_agent
from charter.service.review_outcomes import patch_outcome_of
from charter.service.reviews import settle_undecided
from charter.service.webhooks import audit_and_publish
from charter.storage.ports import Store, UnitOfWork

__all__ = ["REVIEWS", "ReviewSweeper", "SweepReport", "sweep"]

REVIEWS = Principal(
    kind=PrincipalKind.HUMAN,
    id="system:reviews",
    credential_id="-",
    roles=frozenset({HumanRole.ADMIN}),
)
"""The actor of what the reviews' clock does: overdue defaults, suspensions, hand-offs."""

_ADMINS = "admins"

_EVENTS = {
    "added": "review.item_added",
    "overdue": "review.item_overdue",
    "due_soon": "review.item_due_soon",
}


@dataclass(slots=True)
class SweepReport:
    """What one sweep did, by item id (and agent id for suspensions)."""

    recertification_items: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    due_soon: list[str] = field(default_factory=list)
    handed_off: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)


def _open_items(unit: UnitOfWork, **filters: object) -> Iterable[ReviewItem]:
    after: str | None = None
    while True:
        page = unit.reviews.items(open_only=True, after=after, **filters)  # type: ignore[arg-type]
        yield from page
        if len(page) < 500:
            return
        after = page[-1].id


def _event(unit: UnitOfWork, kind: str, item: ReviewItem, now: datetime, **data: object) -> None:
    audit_and_publish(
        unit,
        AuditEntry(
            type=_EVENTS[kind],
            actor=REVIEWS.ref,
            at=now,
            agent=item.agent,
            subject=item.id,
            data={
                "campaign": item.campaign,
                "item": item.id,
                "source": item.source,
                "reviewer": item.reviewer,
                "due_at": item.due_at.isoformat(),
                **data,
            },
        ),
    )


def _recertification(unit: UnitOfWork, now: datetime) -> Campaign:
    """The standing recertification campaign, started the first time it is needed."""
    for campaign in unit.reviews.campaigns(kind=CampaignKind.RECERTIFICATION, limit=1):
        return campaign
    campaign = Campaign(
        id="rvc_recertification",
        name="Recertification",
        kind=CampaignKind.RECERTIFICATION,
        scope=Scope(),
        window=timedelta(days=30),
        started_at=now,
        started_by=REVIEWS.ref,
        due_at=None,
    )
    unit.reviews.add_campaign(campaign)
    unit.audit.append(
        AuditEntry(
            type="review.started",
            actor=REVIEWS.ref,
            at=now,
            subject=campaign.id,
            data={"campaign": campaign.id, "name": campaign.name, "standing": True},
        )
    )
    return campaign


def sweep(
    unit: UnitOfWork,
    now: datetime,
    settings: ReviewSettings,
    *,
    engine: Engine | None,
    ids: IdFactory,
) -> SweepReport:
    """Run every step once, at ``now``, in ``unit``."""
    report = SweepReport()
    _recertify(unit, now, settings, engine, ids, report)
    _overdue(unit, now, settings, report)
    _due_soon(unit, now, settings, report)
    _hand_off(unit, now, report)
    if engine is not None:
        report.settled.extend(settle(unit, now, engine))
    return report


def settle(unit: UnitOfWork, now: datetime, engine: Engine) -> list[str]:
    """Mark done the outcomes in force that ``engine``'s revision reflects (the policy
    now does what they did); their item ids."""
    settled = []
    for item in unit.reviews.in_force():
        outcome = patch_outcome_of(item)
        agent = unit.agents.get(item.agent)
        if outcome is None or agent is None:
            continue
        if not reflected(engine.policy, outcome, agent.labels):
            continue
        record = unit.audit.append(
            AuditEntry(
                type="review.outcome_done",
                actor=REVIEWS.ref,
                at=now,
                agent=item.agent,
                subject=item.id,
                data={
                    "campaign": item.campaign,
                    "item": item.id,
                    "source": item.source,
                    "verdict": None if item.verdict is None else item.verdict.value,
                    "revision": engine.revision,
                },
            )
        )
        unit.reviews.save_item(replace(item, outcome=OutcomeState.DONE), outcome_seq=record.seq)
        settled.append(item.id)
    return settled


def _recertify(
    unit: UnitOfWork,
    now: datetime,
    settings: ReviewSettings,
    engine: Engine | None,
    ids: IdFactory,
    report: SweepReport,
) -> None:
    horizon = now + settings.recertify_horizon
    campaign: Campaign | None = None
    after: str | None = None
    while page := unit.agents.list(after=after, limit=500):
        after = page[-1].id
        for agent in page:
            if agent.status is AgentStatus.RETIRED or agent.recertify_by is None:
                continue
            if agent.recertify_by > horizon:
                continue
            campaign = campaign or _recertification(unit, now)
            if any(
                item.source == "agent"
                for item in unit.reviews.items(
                    campaign=campaign.id, agent=agent.id, open_only=True, limit=5
                )
            ):
                continue
            owner = unit.humans.get(agent.owner)
            reviewer = agent.owner if owner is not None and owner.active else _ADMINS
            items = items_for_agent(
                unit,
                engine,
                campaign,
                agent,
                reviewer=reviewer,
                due_at=agent.recertify_by,
                now=now,
                ids=ids,
                agent_item_only=True,
            )
            unit.reviews.add_items(items)
            for item in items:
                _event(
                    unit,
                    "added",
                    item,
                    now,
                    recertify_by=agent.recertify_by.isoformat(),
                )
                report.recertification_items.append(item.id)
        if len(page) < 500:
            break


def _overdue(
    unit: UnitOfWork, now: datetime, settings: ReviewSettings, report: SweepReport
) -> None:
    campaigns: dict[str, Campaign | None] = {}
    for item in list(_open_items(unit, due_before=now)):
        if item.campaign not in campaigns:
            campaigns[item.campaign] = unit.reviews.campaign(item.campaign)
        campaign = campaigns[item.campaign]
        if campaign is None or campaign.status is CampaignStatus.CLOSED:
            continue
        if campaign.kind is CampaignKind.RECERTIFICATION:
            if item.flagged:
                continue  # announced (or suspended) already
            agent = unit.agents.get(item.agent, for_update=True)
            suspend = (
                settings.past_recertification is PastRecertification.SUSPEND
                and agent is not None
                and agent.status is AgentStatus.ACTIVE
            )
            unit.reviews.save_item(replace(item, flagged=True))
            _event(
                unit,
                "overdue",
                item,
                now,
                action="suspend" if suspend else "warn",
            )
            if suspend and agent is not None:
                apply_transition(
                    unit,
                    REVIEWS,
                    agent,
                    LifecycleAction.SUSPEND,
                    reason=f"recertification {item.id} past due",
                    now=now,
                )
                report.suspended.append(agent.id)
            report.overdue.append(item.id)
            continue
        locked = unit.reviews.item(item.id, for_update=True)
        if locked is None or not locked.open:
            continue
        decided = settle_undecided(unit, REVIEWS, campaign, locked, now, why="overdue")
        _event(unit, "overdue", decided, now, verdict=decided.verdict)
        report.overdue.append(item.id)


def _due_soon(
    unit: UnitOfWork, now: datetime, settings: ReviewSettings, report: SweepReport
) -> None:
    for item in list(_open_items(unit, due_before=now + settings.due_soon)):
        if item.warned_at is not None or item.due_at <= now:
            continue
        unit.reviews.save_item(replace(item, warned_at=now))
        _event(unit, "due_soon", item, now)
        report.due_soon.append(item.id)


def _hand_off(unit: UnitOfWork, now: datetime, report: SweepReport) -> None:
    gone: dict[str, bool] = {}
    for item in list(_open_items(unit)):
        reviewer = item.reviewer
        if not reviewer.startswith("user:"):
            continue
        if reviewer not in gone:
            human = unit.humans.get(reviewer)
            gone[reviewer] = human is None or not human.active
        if not gone[reviewer]:
            continue
        agent = unit.agents.get(item.agent)
        successor = _ADMINS
        if agent is not None and agent.owner != reviewer:
            owner = unit.humans.get(agent.owner)
            if owner is not None and owner.active:
                successor = agent.owner
        moved = replace(item, reviewer=successor)
        if item.status is ItemStatus.PENDING and successor == _ADMINS:
            moved = replace(moved, status=ItemStatus.ESCALATED)
        unit.reviews.save_item(moved)
        unit.audit.append(
            AuditEntry(
                type="review.item_reassigned",
                actor=REVIEWS.ref,
                at=now,
                agent=item.agent,
                subject=item.id,
                data={
                    "campaign": item.campaign,
                    "item": item.id,
                    "from": reviewer,
                    "to": successor,
                    "why": "reviewer deactivated",
                },
            )
        )
        report.handed_off.append(item.id)


class ReviewSweeper:
    """Runs the sweep in its own transaction: the server's background loop, or an admin
    (``POST /v1/reviews/sweep``, ``charter reviews sweep``)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        compiled: ActiveEngine,
        settings: ReviewSettings,
        *,
        ids: IdFactory = new_id,
    ) -> None:
        self._store, self._clock, self._compiled = store, clock, compiled
        self._settings, self._ids = settings, ids

    def run(self, actor: Principal = REVIEWS) -> SweepReport:
        """One sweep, now."""
        require_roles(actor, "run the review sweep", HumanRole.ADMIN)
        now = self._clock()
        with self._store.write() as unit:
            # In the log's order, after whatever decision or activation came before it.
            unit.audit.head(lock=True)
            return sweep(
                unit,
                now,
                self._settings,
                engine=self._compiled.engine,
                ids=self._ids,
            )

    def hand_off(self) -> list[str]:
        """Move the open items of deactivated reviewers on (run right after a human is
        deactivated, and by every sweep); their item ids."""
        report = SweepReport()
        with self._store.write() as unit:
            unit.audit.head(lock=True)
            _hand_off(unit, self._clock(), report)
        return report.handed_off

    def settle(self) -> list[str]:
        """Mark done the outcomes the active revision reflects (run after a policy is
        applied or rolled back, and by every sweep); their item ids."""
        engine = self._compiled.engine
        if engine is None:
            return []
        with self._store.write() as unit:
            unit.audit.head(lock=True)
            return settle(unit, self._clock(), engine)
