"""Decisions for running agents: gather the facts, evaluate, record, answer.

The evaluator is pure; this use case is what surrounds it on the server. It works out
whom the decision is for (an agent token decides only for itself, an enforcer names any
agent), gathers the agent's record, its active grants and an approved, unused approval
of exactly this request, evaluates against the active revision held in memory, uses up
the approval (once), opens the approval or step-up confirmation the answer calls for,
and answers only once the decision's audit record is committed.

Every string of the request (agent, action, resource and its attributes, fields,
context and input, keys included) is scanned for secrets first: the findings (no
values) reach CEL as ``request.secrets`` and the audit record; a registered leak among
them denies the request (``leaked_secret``) before anything else, even before the agent
is looked up. The registry's view is checked again inside the decision's transaction.
What is recorded, answered or kept for approvers is the masked request: the evaluator
decides on the request as sent, and what its messages repeat of it is masked too.
Inferences cited in ``context.derived_from`` are looked up, and an allowed ``infer``
decision is kept for later requests to cite. The audit record holds the context's keys
and digests of the masked context and input; an approval keeps both, masked, for its
approvers to read.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from charter.approvals.model import Approval
from charter.audit.records import AuditEntry
from charter.clock import Clock
from charter.codes import DecisionCode, ErrorCode
from charter.errors import AuthenticationError, CharterError, InvalidInput, PermissionDenied
from charter.identity.agents import Agent, AgentStatus
from charter.identity.credentials import parse_token
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.ids import IdFactory, new_id
from charter.policy.compiled import CompiledWithdrawal
from charter.policy.decision import (
    ADVISORY_MAX_AGE,
    Advisory,
    Decision,
    Effect,
    Reason,
    Request,
)
from charter.policy.engine import Engine
from charter.policy.evaluate import BEFORE_PERMISSIONS, evaluate
from charter.policy.model import Capability
from charter.policy.provenance import cited
from charter.policy.reach import Reach, reach
from charter.policy.revisions import ActivePolicy
from charter.secrets import Finding, LeakSet
from charter.service.access import require_roles
from charter.service.active import ActiveEngine
from charter.service.approvals import acting_for, open_approval
from charter.service.commits import GroupCommitter
from charter.service.facts import digest_of, facts_for, request_snapshot
from charter.service.review_outcomes import ReviewOutcomes, Withdrawn
from charter.service.secrets import LeakService, Scanned, leaked_decision
from charter.service.tokens import Checked, TokenService
from charter.service.transaction_reads import Reads
from charter.service.usage import note_usage
from charter.storage.ports import Store, UnitOfWork

__all__ = ["NO_POLICY", "Asked", "Decided", "DecisionObserver", "DecisionService", "Reached"]

NO_POLICY = Reason("invariant", "policy_loaded", Effect.DENY, "no policy is loaded")
"""Why everything is denied before a policy is applied."""


@dataclass(frozen=True, slots=True)
class Asked:
    """One decision request as the caller sent it."""

    capability: Capability
    action: str
    resource: str
    agent: str | None = None
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    input: Any = None


@dataclass(frozen=True, slots=True)
class Decided:
    """A recorded decision: its id, the evaluator's answer, the request's digest and the
    pending approval or step-up confirmation the answer waits on, if any."""

    decision_id: str
    decision: Decision
    digest: str
    approval: Approval | None = None
    secrets: tuple[Finding, ...] = ()
    """What the secrets scanner found in the request (no values)."""


@dataclass(frozen=True, slots=True)
class Reached:
    """What an agent could ever be allowed, against one policy revision (None: none is
    active, and nothing is possible)."""

    agent: str
    revision: str | None
    reach: list[Reach]


class DecisionObserver(Protocol):
    """Told of every decision answered to a bearer (``decide_as``): what operators count
    and trace (``charter.server.observe``). It must be quick and must not raise."""

    def decided(
        self, caller: Principal | None, batch: list[Asked], decided: list[Decided], started_ns: int
    ) -> None:
        """``batch`` was decided as ``decided`` for ``caller``, asked at ``started_ns``."""

    def refused(self, error: CharterError) -> None:
        """The request was refused before any decision (a bad token, a bad request)."""


class _Watch:
    """One request's caller as the token check learns it, for its observer."""

    __slots__ = ("caller", "on_caller", "started")

    def __init__(self, on_caller: Callable[[Principal], None] | None) -> None:
        self.caller: Principal | None = None
        self.on_caller = on_caller
        self.started = time.time_ns()

    def seen(self, principal: Principal) -> None:
        self.caller = principal
        if self.on_caller is not None:
            self.on_caller(principal)


class DecisionService:
    """Decide requests for agents, one audit record per decision."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        compiled: ActiveEngine,
        tokens: TokenService,
        secrets: LeakService,
        *,
        follow_activation: Callable[[UnitOfWork], Engine | None],
        ids: IdFactory = new_id,
        committer: GroupCommitter | None = None,
        advisory_max_age: timedelta = ADVISORY_MAX_AGE,
        outcomes: ReviewOutcomes | None = None,
        replay_retention: timedelta = timedelta(0),
    ) -> None:
        self._store, self._clock, self._compiled, self._ids = store, clock, compiled, ids
        self._follow = follow_activation
        self._tokens, self._secrets = tokens, secrets
        self._committer = committer
        self._advisory_max_age = advisory_max_age
        self._outcomes = outcomes
        self._replay_retention = replay_retention
        self.observer: DecisionObserver | None = None
        """Told of every decision answered to a bearer (metrics, traces), if set."""
        self._reads = Reads()

    def _write(self, work: Callable[[UnitOfWork], T]) -> T:
        # Group commit (service/commits.py): concurrent decisions share one transaction.
        if self._committer is not None:
            return self._committer.run(work)
        with self._store.write(deciding=True) as unit:
            return work(unit)

    def _for_whom(self, actor: Principal, asked: Asked, scanned: Scanned) -> str:
        if not actor.is_human:
            # A leak comes first: an agent naming another agent with one is recorded (for
            # itself) as carrying a leak.
            if asked.agent is not None and asked.agent != actor.id and not scanned.leaked:
                raise PermissionDenied(
                    f"{actor.ref} may not ask for decisions for agent {scanned.agent!r}",
                    code=ErrorCode.FORBIDDEN,
                    help="an agent token decides only for its own agent; leave out 'agent'",
                )
            return actor.id
        require_roles(actor, "ask for decisions", HumanRole.ENFORCER)
        if asked.agent is None:
            raise InvalidInput(
                "an enforcer must name the agent the decision is for",
                code=ErrorCode.AGENT_REQUIRED,
                help='add "agent": "<agent id>" to the request',
            )
        return asked.agent

    def decide(self, actor: Principal, batch: list[Asked]) -> list[Decided]:
        """Decide every request of ``batch`` in order, recording all in one transaction.

        Without an active revision every request is denied with ``no_policy``.
        """
        scans = self._scan(batch)
        agents = [
            self._for_whom(actor, asked, scanned)
            for asked, scanned in zip(batch, scans, strict=True)
        ]
        now = self._clock()
        return self._write(lambda unit: self._record_all(unit, actor, agents, batch, scans, now))

    def decide_as(
        self,
        token: str | None,
        batch: list[Asked],
        *,
        where: str,
        on_caller: Callable[[Principal], None] | None = None,
    ) -> list[Decided]:
        """``decide`` for the holder of a bearer token, checked in the decision's own
        transaction (one transaction a request, shared by concurrent ones). A bad token is
        audited and raised as from ``TokenService.authenticate``; ``on_caller`` learns who
        the caller is before a refusal is raised."""
        observer = self.observer
        if observer is None:
            return self._decide_as(token, batch, where, on_caller)
        watch = _Watch(on_caller)
        try:
            decided = self._decide_as(token, batch, where, watch.seen)
        except CharterError as refused:
            observer.refused(refused)
            raise
        observer.decided(watch.caller, batch, decided, watch.started)
        return decided

    def _decide_as(
        self,
        token: str | None,
        batch: list[Asked],
        where: str,
        on_caller: Callable[[Principal], None] | None,
    ) -> list[Decided]:
        scans = self._scan_for(token, batch, heavy=_outweighs(batch, SCAN_ON_THREAD))
        work = self._checked(token, batch, scans, self._clock())
        return self._settled(self._write(work), where, on_caller)

    async def decide_as_async(
        self,
        token: str | None,
        batch: list[Asked],
        *,
        where: str,
        on_caller: Callable[[Principal], None] | None = None,
    ) -> list[Decided]:
        """``decide_as`` for a caller on an event loop: the scan runs here, the
        transaction on the group committer's writer thread, and no thread waits for it.
        Only settling a token that must be recorded (a failure, or its first use in a
        minute) goes to a worker thread."""
        observer = self.observer
        if observer is None:
            return await self._decide_as_async(token, batch, where, on_caller)
        watch = _Watch(on_caller)
        try:
            decided = await self._decide_as_async(token, batch, where, watch.seen)
        except CharterError as refused:
            observer.refused(refused)
            raise
        observer.decided(watch.caller, batch, decided, watch.started)
        return decided

    async def _decide_as_async(
        self,
        token: str | None,
        batch: list[Asked],
        where: str,
        on_caller: Callable[[Principal], None] | None,
    ) -> list[Decided]:
        if self._committer is None:
            return await asyncio.to_thread(self._decide_as, token, batch, where, on_caller)
        if _outweighs(batch, SCAN_ON_THREAD):
            # Seconds of scanning, perhaps: on a worker thread, and for a good token only.
            scans = await asyncio.to_thread(self._scan_for, token, batch, True)
        else:
            scans = self._scan_for(token, batch, False)
        outcome = await self._committer.run_async(self._checked(token, batch, scans, self._clock()))
        if self._tokens.settles_in_memory(outcome[0]):
            return self._settled(outcome, where, on_caller)
        return await asyncio.to_thread(self._settled, outcome, where, on_caller)

    def _checked(
        self, token: str | None, batch: list[Asked], scans: list[Scanned], now: datetime
    ) -> Callable[[UnitOfWork], _Outcome]:
        """The work of ``decide_as``: check the token, then decide and record the batch."""
        return _DecisionWork(self, token, batch, scans, now)

    def _whom(
        self,
        unit: UnitOfWork,
        token: str | None,
        batch: list[Asked],
        scans: list[Scanned],
        now: datetime,
    ) -> tuple[Checked, list[str], CharterError | None]:
        """The token checked in ``unit`` and the agents the batch is for (or why not)."""
        # The token is checked after the decision takes its place in the log, so that
        # no decision is recorded after the revocation of the token that asked for it.
        unit.audit.head(lock=True, deciding=True)
        checked = self._tokens.check(self._reads.of(unit).view, token, now)
        if checked.principal is None:
            return checked, [], None
        if len(scans) != len(batch):
            # Found bad before the transaction, so not scanned, and good now (its agent
            # reinstated meanwhile, say): scanned here, in place, for what is recorded.
            scans[:] = self._scan(batch)
        try:
            agents = [
                self._for_whom(checked.principal, asked, scanned)
                for asked, scanned in zip(batch, scans, strict=True)
            ]
        except CharterError as refused:
            return checked, [], refused
        return checked, agents, None

    def _settled(
        self,
        outcome: _Outcome,
        where: str,
        on_caller: Callable[[Principal], None] | None,
    ) -> list[Decided]:
        checked, decided, refused = outcome
        principal = self._tokens.settle(checked, where=where)
        if on_caller is not None:
            on_caller(principal)
        if refused is not None:
            raise refused
        return decided

    def reach(
        self, actor: Principal, agent: str | None, asked: list[tuple[Capability, str]]
    ) -> Reached:
        """Whether the agent could ever be allowed each ``(capability, action)``, for some
        resource and context (``charter.policy.reach``): an upper bound a gateway uses to
        hide tools, never a decision. Callers as for ``decide``: an agent for itself, an
        enforcer for any agent. Reads only, records nothing. An unknown, suspended or
        retired agent, or no active policy, can reach nothing."""
        whom = self._reach_for(actor, agent)
        with self._store.read() as unit:
            engine = self._active_engine(unit, unit.policies.active())
            record = unit.agents.get(whom)
        nothing = [Reach(capability, action, None) for capability, action in asked]
        if engine is None:
            return Reached(whom, None, nothing)
        if record is None or record.status is not AgentStatus.ACTIVE:
            return Reached(whom, engine.revision, nothing)
        found = reach(engine.snapshot, whom, record.labels, asked, self._clock())
        return Reached(whom, engine.revision, found)

    @staticmethod
    def _reach_for(actor: Principal, agent: str | None) -> str:
        if not actor.is_human:
            if agent is not None and agent != actor.id:
                raise PermissionDenied(
                    f"{actor.ref} may not ask what agent {agent!r} could do",
                    code=ErrorCode.FORBIDDEN,
                    help="an agent token asks only for its own agent; leave out 'agent'",
                )
            return actor.id
        require_roles(actor, "ask what an agent could do", HumanRole.ENFORCER)
        if agent is None:
            raise InvalidInput(
                "an enforcer must name the agent",
                code=ErrorCode.AGENT_REQUIRED,
                help='add "agent": "<agent id>" to the request',
            )
        return agent

    def _active_engine(self, unit: UnitOfWork, active: ActivePolicy | None) -> Engine | None:
        """The engine of ``active``, the revision active in this transaction: the one held,
        or, when another server activated a newer one, that one compiled and held from now
        on."""
        held = self._compiled.engine
        current = active.revision if active else None
        if current == (held.revision if held else None):
            return held
        if held is None and current == self._compiled.unusable:
            return None  # tried already: it cannot be compiled
        return self._follow(unit)

    def _scan_for(self, token: str | None, batch: list[Asked], heavy: bool) -> list[Scanned]:
        """``_scan(batch)`` for a caller that may hold a good token; nothing for one that
        cannot (none, or malformed), whose refusal needs no scan and must cost no more
        than the refusal. A ``heavy`` batch's token is first looked up in a read of its
        own. The transaction checks the token again, and records a refusal, either way."""
        if not token or _malformed(token):
            return []
        if heavy:
            with self._store.read() as unit:
                if self._tokens.check(unit, token, self._clock()).principal is None:
                    return []
        return self._scan(batch)

    def _scan(self, batch: list[Asked], leaks: LeakSet | None = None) -> list[Scanned]:
        """Each request, masked, with what was found: done before the transaction, which
        need not wait for it (and again inside it if a leak was registered meanwhile)."""
        view = self._secrets.leaks() if leaks is None else leaks
        return [
            self._secrets.scan_request(
                view,
                agent=asked.agent,
                action=asked.action,
                resource=asked.resource,
                resource_attributes=asked.resource_attributes,
                fields=asked.fields,
                context=asked.context,
                input=asked.input,
            )
            for asked in batch
        ]

    def _record_all(
        self,
        unit: UnitOfWork,
        actor: Principal,
        agents: list[str],
        batch: list[Asked],
        scans: list[Scanned],
        now: datetime,
    ) -> list[Decided]:
        """Decide and record the batch by the revision active in ``unit``."""
        # The decision takes its place in the audit log first (the head's lock) and reads
        # the active revision, the agent and its grants and approvals after: whatever
        # suspension, revocation or activation is recorded before it, it decides by.
        unit.audit.head(lock=True, deciding=True)
        reads = self._reads.of(unit)
        state = reads.state
        engine = self._active_engine(unit, state.active)  # one revision for the whole batch
        # Review outcomes decided before this decision took its place count, at once.
        withdrawn = (
            self._outcomes.current(unit, engine, state.outcomes_version)
            if engine is not None and self._outcomes is not None
            else _nothing_withdrawn
        )
        # A leak reported before this decision took its place counts, on every server.
        fresh = reads.current_leaks(self._secrets, scans[0].leaks) if scans else None
        if fresh is not None:
            scans = self._scan(batch, fresh)
        # Grants and approvals are read once for every agent of the transaction (if any
        # of its decisions needs them), not once a decision.
        reads.want(agents)
        decided = []  # made inside the work: a group commit may run it again
        for agent_id, asked, scanned in zip(agents, batch, scans, strict=True):
            request = Request(
                agent=agent_id,
                capability=asked.capability,
                action=asked.action,
                resource=asked.resource,
                resource_attributes=asked.resource_attributes,
                fields=asked.fields,
                context=asked.context,
                secrets=scanned.findings,
            )
            # What is kept, answered and digested: the request as masked.
            shown = _masked(request, asked, scanned)
            snapshot = request_snapshot(shown, scanned.context, scanned.input)
            digest = digest_of(snapshot)
            decision_id = self._ids("dec")
            approval: Approval | None = None
            if scanned.leaked:
                decision = leaked_decision(scanned, engine.revision if engine else None)
            elif engine is None:
                decision = _NO_POLICY
            else:
                decision, approval, agent = self._evaluate(
                    unit,
                    actor,
                    engine,
                    request,
                    scanned,
                    snapshot,
                    digest,
                    decision_id,
                    now,
                    withdrawn,
                )
                decision = scanned.scrubbed(decision)
                if decision.allowed and agent is not None:
                    # In this transaction, so usage counts exactly the decisions recorded.
                    note_usage(
                        unit,
                        decision,
                        engine.snapshot,
                        agent,
                        action=shown.action,
                        resource=shown.resource,
                        now=now,
                    )
                if decision.allowed and request.capability is Capability.INFER:
                    advisory = Advisory(decision_id, shown.agent, shown.action, now)
                    unit.advisories.add(advisory)
            one = Decided(decision_id, decision, digest, approval, scanned.findings)
            unit.audit.append(_record(actor, shown, scanned, one, now))
            if self._replay_retention:
                # Kept for policy simulation: written with the batch, in one insert.
                unit.replays.keep(
                    decision_id,
                    agent=shown.agent,
                    decided_at=now,
                    expires_at=now + self._replay_retention,
                    request=snapshot,
                )
            decided.append(one)
        return decided

    def _evaluate(
        self,
        unit: UnitOfWork,
        actor: Principal,
        engine: Engine,
        request: Request,
        scanned: Scanned,
        snapshot: dict[str, Any],
        digest: str,
        decision_id: str,
        now: datetime,
        withdrawn: Withdrawn,
    ) -> tuple[Decision, Approval | None, Agent | None]:
        """The decision, the approval or step-up it opened, and the agent's record."""
        agent = self._reads.of(unit).agent(request.agent)
        if agent is None:
            return evaluate(request, engine.snapshot, facts_for(None, ()), now), None, None
        ids = cited(request.context) if "derived_from" in request.context else ()
        base = facts_for(
            agent,
            (),
            leaked=scanned.leaked,
            advisories=unit.advisories.get_many(ids) if ids else (),
            advisory_max_age=self._advisory_max_age,
            withdrawn=withdrawn(agent.id),
        )
        decision = evaluate(request, engine.snapshot, base, now)
        if not _facts_matter(decision):
            return decision, None, agent
        reads = self._reads.of(unit)
        grants, usable = reads.held(agent.id, digest, now)
        facts = replace(base, grants=grants)
        if usable is not None:
            # An approval lifts what the active policy still asks an approval or step-up
            # for; it never stands in for a permission a later revision withdrew.
            if evaluate(request, engine.snapshot, facts, now).effect in _OPENS_APPROVAL:
                facts = replace(facts, approval_id=usable.id)
            else:
                usable = None
        decision = evaluate(request, engine.snapshot, facts, now)
        if usable is not None and decision.allowed:
            # Single use: of two identical requests racing for it, one marks it used; the
            # other is decided again without it. Either way no later decision of this
            # transaction is offered it again.
            reads.spent(usable)
            if unit.approvals.use(usable.id, decision_id, now):
                return decision, None, agent
            decision = evaluate(request, engine.snapshot, replace(facts, approval_id=None), now)
        if decision.effect in _OPENS_APPROVAL:
            decision, approval = open_approval(
                unit,
                agent=agent,
                request=request,
                snapshot=snapshot,
                digest=digest,
                decision=decision,
                decision_id=decision_id,
                actor=actor.ref,
                now=now,
                ids=self._ids,
            )
            return decision, approval, agent
        return decision, None, agent


T = TypeVar("T")


class _DecisionWork:
    """``decide_as``'s work for the group committer (``commits.Prepared``): ``prepare``
    checks the token and notes the agents the batch is for, so that the transaction's
    first decision needing grants and approvals reads them for every agent of the
    transaction at once; the work then decides and records the batch."""

    __slots__ = ("_batch", "_now", "_prepared", "_scans", "_service", "_token")

    def __init__(
        self,
        service: DecisionService,
        token: str | None,
        batch: list[Asked],
        scans: list[Scanned],
        now: datetime,
    ) -> None:
        self._service, self._token, self._batch, self._scans, self._now = (
            service,
            token,
            batch,
            scans,
            now,
        )
        self._prepared: tuple[UnitOfWork, tuple[Checked, list[str], CharterError | None]] | None
        self._prepared = None

    def _whom(self, unit: UnitOfWork) -> tuple[Checked, list[str], CharterError | None]:
        prepared = self._prepared
        if prepared is not None and prepared[0] is unit:
            return prepared[1]
        whom = self._service._whom(unit, self._token, self._batch, self._scans, self._now)
        self._prepared = (unit, whom)
        return whom

    def prepare(self, unit: UnitOfWork) -> None:
        # A failure here fails the whole batch: a store error leaves its transaction
        # unusable for every work in it. Refusals are returned by ``_whom``, not raised.
        _, agents, _ = self._whom(unit)
        self._service._reads.of(unit).want(agents)

    def __call__(self, unit: UnitOfWork) -> _Outcome:
        checked, agents, refused = self._whom(unit)
        # Refusals are returned, not raised: raising would undo the batch it shares.
        if checked.principal is None or refused is not None:
            return checked, [], refused
        service = self._service
        decided = service._record_all(
            unit, checked.principal, agents, self._batch, self._scans, self._now
        )
        return checked, decided, None


_Outcome = tuple[Checked, list[Decided], CharterError | None]
"""What a decision's work returns: the token checked, the decisions, or a refusal."""


def _nothing_withdrawn(agent: str) -> tuple[CompiledWithdrawal, ...]:
    return ()


_OPENS_APPROVAL = (Effect.APPROVAL_REQUIRED, Effect.STEP_UP_REQUIRED)


SCAN_ON_THREAD = 8 * 1024
"""Characters of text in a batch past which its secrets scan runs on a worker thread, after
its token is found good: the scan of a long text takes milliseconds to seconds, which
neither the event loop (health checks, the kill switch) nor a caller without a token may
make the server spend."""


def _outweighs(batch: list[Asked], limit: int) -> bool:
    """Whether the batch's text (names, field names, and the keys and strings of its
    attributes, context and input) passes ``limit`` characters; counting stops there."""
    total = 0
    pending: list[object] = []
    for asked in batch:
        total += len(asked.action) + len(asked.resource) + sum(map(len, asked.fields))
        pending += (asked.resource_attributes, asked.context, asked.input)
    while pending and total <= limit:
        value = pending.pop()
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, Mapping):
            total += sum(len(key) for key in value if isinstance(key, str))
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return total > limit


def _malformed(token: str) -> bool:
    try:
        parse_token(token)
    except AuthenticationError:
        return True
    return False


def _facts_matter(decision: Decision) -> bool:
    """Whether grants or an approval could change ``decision``, made without them.

    They only add permissions (an approval also releases every requested field and
    satisfies friction guardrails): an allow that redacts nothing stays what it is, and
    what the invariants and deny guardrails decide comes before permissions. Most
    decisions are one of those, and are made without reading grants and approvals.
    """
    if decision.allowed:
        return bool(decision.redacted_fields)
    return decision.code not in BEFORE_PERMISSIONS


_NO_POLICY = Decision(
    effect=Effect.DENY, code=DecisionCode.NO_POLICY, reasons=(NO_POLICY,), message=NO_POLICY.message
)


def _masked(request: Request, asked: Asked, scanned: Scanned) -> Request:
    """``request`` with every string the scanner masked masked (the agent an agent token
    decides for is its own, whatever it sent)."""
    if not scanned.swaps:
        return request
    return replace(
        request,
        agent=scanned.agent if asked.agent == request.agent and scanned.agent else request.agent,
        action=scanned.action,
        resource=scanned.resource,
        resource_attributes=scanned.resource_attributes,
        fields=scanned.fields,
        context=scanned.context,
    )


def _shown(request: Request) -> dict[str, Any]:
    """The request as its audit record shows it."""
    return {
        "agent": request.agent,
        "capability": request.capability.value,
        "action": request.action,
        "resource": request.resource,
        "fields": list(request.fields),
    }


def _record(
    actor: Principal, request: Request, scanned: Scanned, decided: Decided, now: datetime
) -> AuditEntry:
    # The context and input appear only as digests of their masked forms: the secrets
    # found are listed (type, place, fingerprint), never their values.
    return AuditEntry(
        type="decision",
        actor=actor.ref,
        at=now,
        agent=request.agent,
        subject=decided.decision_id,
        data={
            "request": {
                **_shown(request),
                "context_keys": sorted(scanned.context),
                "context_digest": digest_of(scanned.context),
                "input_digest": None if scanned.input is None else digest_of(scanned.input),
                "secrets": [finding.to_json() for finding in scanned.findings],
                "on_behalf_of": acting_for(request),
                **_citations(request),
            },
            "request_digest": decided.digest,
            "approval": None if decided.approval is None else decided.approval.id,
            **decided.decision.to_json(),
        },
    )


_DECISION_ID = re.compile(r"dec_[a-z2-7]{16}")


def _citations(request: Request) -> dict[str, list[str]]:
    """``derived_from``: the inference decisions the request cites, so an investigation
    can tell which decisions rested on which inferences (absent when it cites none).
    Only strings shaped like decision ids are kept: the log keeps no free text an agent
    chose to put there."""
    ids = cited(request.context) if "derived_from" in request.context else None
    kept = [one for one in ids or () if _DECISION_ID.fullmatch(one)]
    return {"derived_from": kept} if kept else {}
