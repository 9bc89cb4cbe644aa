"""The storage ports the service layer is written against.

A ``Store`` opens units of work; everything done through one unit of work commits or
rolls back together, and a write unit of work holds the store's write lock for the
audit log, so audit records commit in the same transaction as the change they describe.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from charter.approvals.grants import GrantRecord, GrantStatus
from charter.approvals.model import Approval, ApprovalStatus, Ballot
from charter.audit.checkpoints import Checkpoint
from charter.audit.merkle import Frontier
from charter.audit.records import AuditEntry, AuditRecord
from charter.audit.seals import Seal
from charter.identity.agents import Agent, AgentStatus
from charter.identity.credentials import Credential, PrincipalKind
from charter.identity.humans import Human
from charter.identity.sessions import ConsoleSession
from charter.inference import Advisory
from charter.policy.revisions import ActivePolicy, PolicyRevision
from charter.reviews.campaigns import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Proposal,
    ReviewItem,
)
from charter.reviews.usage import PermissionKey, PermissionUsage
from charter.secrets.leaks import Leak
from charter.webhooks.model import Delivery, DeliveryStatus, Webhook

__all__ = [
    "AdvisoryStore",
    "AgentStore",
    "ApprovalStore",
    "AuditQuery",
    "AuditStore",
    "CredentialStore",
    "GrantStore",
    "HumanStore",
    "LeakStore",
    "PolicyState",
    "PolicyStore",
    "ReplayStore",
    "ReviewStore",
    "SessionStore",
    "Store",
    "UnitOfWork",
    "UsageStore",
    "WebhookStore",
]


class AgentStore(Protocol):
    """Agents in the registry."""

    def get(self, agent_id: str, *, for_update: bool = False) -> Agent | None:
        """Return the agent, locking its row when ``for_update``."""
        ...

    def add(self, agent: Agent) -> None:
        """Insert a new agent; raise ``Conflict`` if the id is taken."""
        ...

    def save(self, agent: Agent) -> None:
        """Overwrite an existing agent."""
        ...

    def list(
        self,
        *,
        owner: str | None = None,
        status: AgentStatus | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Agent]:
        """Agents ordered by id, after the id ``after``."""
        ...

    def touch_last_seen(self, agent_id: str, at: datetime) -> None:
        """Record that the agent was just seen."""
        ...


class HumanStore(Protocol):
    """People known to Charter."""

    def get(self, human_id: str, *, for_update: bool = False) -> Human | None:
        """Return the human, locking the row when ``for_update``."""
        ...

    def add(self, human: Human) -> None:
        """Insert a new human; raise ``Conflict`` if the id or email is taken."""
        ...

    def save(self, human: Human) -> None:
        """Overwrite an existing human."""
        ...

    def list(self, *, after: str | None = None, limit: int = 100) -> list[Human]:
        """Humans ordered by id, after the id ``after``."""
        ...


class CredentialStore(Protocol):
    """API tokens, by hash only."""

    def get(self, credential_id: str) -> Credential | None:
        """Return the credential with this id."""
        ...

    def add(self, credential: Credential) -> None:
        """Insert a new credential."""
        ...

    def save(self, credential: Credential) -> None:
        """Overwrite an existing credential."""
        ...

    def list_for(self, kind: PrincipalKind, principal_id: str) -> list[Credential]:
        """Every credential of a principal, newest first."""
        ...

    def revoke_all_for(
        self, kind: PrincipalKind, principal_id: str, *, at: datetime, by: str
    ) -> list[str]:
        """Revoke every unrevoked credential of a principal; return their ids."""
        ...

    def revoke_minted_by(
        self, kind: PrincipalKind, principal_id: str, minted_by: str, *, at: datetime, by: str
    ) -> list[str]:
        """Revoke every unrevoked credential of a principal that ``minted_by`` issued or
        rotated; return their ids."""
        ...

    def touch(self, credential_id: str, at: datetime) -> None:
        """Record a use of the credential."""
        ...


class SessionStore(Protocol):
    """Console sessions, by the digest of their secret only."""

    def get(self, session_id: str) -> ConsoleSession | None:
        """Return the session with this id."""
        ...

    def add(self, session: ConsoleSession) -> None:
        """Insert a new session."""
        ...

    def touch(self, session_id: str, at: datetime) -> None:
        """Record a request made with the session."""
        ...

    def end(self, session_id: str, at: datetime) -> bool:
        """End a live session; False if it had already ended."""
        ...

    def purge(self, before: datetime) -> int:
        """Delete the sessions that ended or expired before ``before``; return how many."""
        ...


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for reading the audit log; all optional."""

    agent: str | None = None
    types: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = -1
    limit: int = 100
    newest_first: bool = False
    """The newest ``limit`` records, newest first (an agent's latest decisions)."""
    shard: str | None = None
    """Only the records of this audit shard ("": the default log)."""
    past_horizon: bool = False
    """Every committed record, those above the stable horizon too (docs/scaling.md): for
    reads that page no cursor, as of the chain of signing keys."""


@dataclass(frozen=True, slots=True)
class ShardState:
    """One audit shard's head as stored (``frontier`` None: the row cannot be read)."""

    shard: str
    frontier: Frontier | None
    root: str
    sequenced: bool


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """A sealed segment exported from a shard: records ``start``..``end - 1``, the
    frontier the tree had at ``end``, the seal that covers it and whether its records were
    deleted from the store."""

    shard: str
    start: int
    end: int
    frontier: Frontier
    seal_number: int
    last_seq: int | None
    digest: str
    pruned: bool
    exported_at: datetime


class AuditStore(Protocol):
    """The append-only audit log and its checkpoints."""

    shard: str
    """The shard this unit of work appends to ("": the default log)."""

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Seal ``entry`` as the next record and store it."""
        ...

    def head(self, *, lock: bool = False, deciding: bool = False) -> Frontier:
        """The current frontier of the log's Merkle tree; ``lock`` holds off writers.
        ``deciding``: the transaction only records decisions, which other shards' decisions
        need not wait for (changes of any other kind still do)."""
        ...

    def flush(self) -> None:
        """Write what was appended so far (the store does before committing)."""
        ...

    def records(self, *, batch: int = 1000, shard: str | None = None) -> Iterator[AuditRecord]:
        """Every record in sequence order (``shard``: that shard's, in its tree's order)."""
        ...

    def shards(self) -> list[ShardState]:
        """Every shard's head as stored, the default log first."""
        ...

    def seals(self) -> list[Seal]:
        """Every seal over the shards, oldest first."""
        ...

    def last_seal(self) -> Seal | None:
        """The newest seal, if any."""
        ...

    def add_seal(self, seal: Seal) -> bool:
        """Store a seal; False when one with its number is already stored."""
        ...

    def segments(self) -> list[SegmentRow]:
        """Every sealed segment exported, by shard then end."""
        ...

    def add_segment(self, segment: SegmentRow) -> None:
        """Record an exported segment (and, if ``pruned``, delete its records)."""
        ...

    def advance_horizon(self) -> int:
        """Let readers past shards no writer holds (PostgreSQL); how many moved."""
        ...

    def query(self, query: AuditQuery) -> list[AuditRecord]:
        """Records matching ``query``, in sequence order."""
        ...

    def checkpoints(self) -> list[Checkpoint]:
        """Every signed checkpoint, oldest first."""
        ...

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Store a signed checkpoint."""
        ...


@dataclass(frozen=True, slots=True)
class PolicyState:
    """What every decision reads before it decides, in one statement: the revision in
    force and a number that moves whenever a review outcome is put in force or settled
    (the audit seq of the last), so that an outcome holds on every server at once."""

    active: ActivePolicy | None
    outcomes_version: int


class PolicyStore(Protocol):
    """Applied policy revisions and which one is active."""

    def get(self, revision: str) -> PolicyRevision | None:
        """The revision with this id."""
        ...

    def add(self, revision: PolicyRevision) -> bool:
        """Store a revision; False if one with its id already exists."""
        ...

    def list(self, *, limit: int = 100) -> list[PolicyRevision]:
        """Revisions, newest first."""
        ...

    def active(self, *, lock: bool = False) -> ActivePolicy | None:
        """The active revision, if any; ``lock`` holds off other activations."""
        ...

    def state(self) -> PolicyState:
        """The active revision and the review outcomes' version, in one read."""
        ...

    def activate(self, revision: str, *, at: datetime, by: str) -> None:
        """Make ``revision`` the active one."""
        ...


class ApprovalStore(Protocol):
    """Approvals and step-up confirmations, with their ballots."""

    def get(self, approval_id: str, *, for_update: bool = False) -> Approval | None:
        """The approval with this id, locking its row when ``for_update``."""
        ...

    def add(self, approval: Approval) -> None:
        """Insert a new approval; ``Conflict`` if one is already pending for its request."""
        ...

    def pending_for(self, agent_id: str, digest: str) -> Approval | None:
        """The pending approval of exactly this request, if there is one."""
        ...

    def usable_for(self, agent_id: str, digest: str, now: datetime) -> Approval | None:
        """An approved approval of exactly this request that no request has used yet,
        created after the agent's last suspension."""
        ...

    def usable_for_agents(
        self, agent_ids: Collection[str], now: datetime
    ) -> builtins.list[Approval]:
        """``usable_for`` for every request of these agents at once: their approved
        approvals that no request has used yet, whose time is not up at ``now``, created
        after their agent's last suspension; oldest first."""
        ...

    def unused_for(self, agent_id: str) -> builtins.list[Approval]:
        """The agent's approved approvals that no request has used, oldest first."""
        ...

    def void(self, approval_id: str, *, at: datetime, by: str, reason: str) -> bool:
        """Cancel an approved approval no request has used; False if it was used first."""
        ...

    def use(self, approval_id: str, decision_id: str, at: datetime) -> bool:
        """Mark the approval used by ``decision_id``; False if another request was first,
        or the kill switch voided it meanwhile."""
        ...

    def add_ballot(self, approval_id: str, ballot: Ballot) -> None:
        """Record one human's vote; ``Conflict`` if they have voted already."""
        ...

    def close(
        self,
        approval_id: str,
        status: ApprovalStatus,
        *,
        at: datetime,
        by: str,
        reason: str,
        grant_id: str | None = None,
    ) -> bool:
        """Move a pending approval to ``status``; False if it was no longer pending."""
        ...

    def list(
        self,
        *,
        status: ApprovalStatus | None = None,
        agent: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Approval]:
        """Approvals ordered by id, after the id ``after``."""
        ...

    def due(self, now: datetime, *, limit: int = 100) -> builtins.list[Approval]:
        """Pending approvals whose time is up, oldest expiry first."""
        ...


class GrantStore(Protocol):
    """JIT grants."""

    def get(self, grant_id: str) -> GrantRecord | None:
        """The grant with this id."""
        ...

    def add(self, grant: GrantRecord) -> None:
        """Insert a new grant."""
        ...

    def active_for(self, agent_id: str, now: datetime) -> list[GrantRecord]:
        """The agent's grants that are neither revoked nor expired, nor issued before its
        last suspension."""
        ...

    def active_for_agents(
        self, agent_ids: Collection[str], now: datetime
    ) -> builtins.list[GrantRecord]:
        """``active_for`` for several agents at once, ordered by agent, then id."""
        ...

    def list(
        self,
        *,
        agent: str | None = None,
        status: GrantStatus | None = None,
        now: datetime,
        after: str | None = None,
        limit: int = 100,
    ) -> list[GrantRecord]:
        """Grants ordered by id after ``after``, only those in ``status`` at ``now`` if given."""
        ...

    def revoke(self, grant_id: str, *, at: datetime, by: str, reason: str) -> bool:
        """Revoke a grant that is not revoked yet; False if it already was."""
        ...

    def expired_unrecorded(self, now: datetime, *, limit: int = 100) -> builtins.list[GrantRecord]:
        """Grants that ran out by time and whose expiry is not recorded yet."""
        ...

    def record_expiry(self, grant_id: str, at: datetime) -> bool:
        """Note that the grant's expiry was recorded; False if it already was."""
        ...


class LeakStore(Protocol):
    """The leaked-secret registry: fingerprints, never values."""

    def add(self, leak: Leak) -> bool:
        """Register ``leak``; False if its fingerprint is registered already."""
        ...

    def get(self, fingerprint: str) -> Leak | None:
        """The registered leak with this fingerprint."""
        ...

    def list(self, *, after: str | None = None, limit: int = 100) -> builtins.list[Leak]:
        """Registered leaks ordered by fingerprint after ``after``."""
        ...

    def lookup(self) -> builtins.list[tuple[str, int | None]]:
        """Every registered fingerprint with the length of its secret (if known)."""
        ...

    def count(self) -> int:
        """How many leaks are registered (never fewer later: the registry's version)."""
        ...


class AdvisoryStore(Protocol):
    """Allowed inferences, which later requests may cite."""

    def add(self, advisory: Advisory) -> None:
        """Keep an allowed ``infer`` decision."""
        ...

    def get_many(self, decision_ids: Sequence[str]) -> builtins.list[Advisory]:
        """The advisories among ``decision_ids`` (unknown ids are left out)."""
        ...


class WebhookStore(Protocol):
    """Webhooks and the deliveries owed to them (the outbox)."""

    def add(self, webhook: Webhook) -> None:
        """Insert a new webhook."""
        ...

    def get(self, webhook_id: str) -> Webhook | None:
        """The webhook with this id, removed or not."""
        ...

    def list(self, *, after: str | None = None, limit: int = 100) -> list[Webhook]:
        """Webhooks, removed ones too, ordered by id after ``after``."""
        ...

    def active(self) -> builtins.list[Webhook]:
        """Every webhook not removed."""
        ...

    def set_url(self, webhook_id: str, url: str) -> None:
        """Replace the URL as stored (sealing one stored in clear)."""
        ...

    def remove(self, webhook_id: str, *, at: datetime, by: str) -> int | None:
        """Remove a webhook and give up its pending deliveries (returns how many); None if
        it was removed already."""
        ...

    def add_delivery(self, delivery: Delivery) -> None:
        """Insert a delivery owed to a webhook."""
        ...

    def has_due(self, now: datetime) -> bool:
        """True if some pending delivery is due at ``now``."""
        ...

    def claim_due(
        self, now: datetime, *, lease_until: datetime, limit: int
    ) -> builtins.list[tuple[Delivery, Webhook]]:
        """Take up to ``limit`` due deliveries for one attempt each: their attempts are
        counted and they are not due again until ``lease_until``. Rows another
        transaction is claiming are skipped, so no two dispatchers claim one delivery."""
        ...

    def finish(
        self,
        delivery: Delivery,
        *,
        status: DeliveryStatus,
        at: datetime,
        next_attempt_at: datetime | None,
        status_code: int | None,
        error: str | None,
    ) -> bool:
        """Record how the attempt ``delivery`` was claimed for went; False if the claim
        was lost meanwhile (the webhook was removed, or the lease ran out)."""
        ...

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> builtins.list[Delivery]:
        """A webhook's deliveries, newest first, older than ``before`` (time, id)."""
        ...


class UsageStore(Protocol):
    """Which permissions allowed what each agent did (``charter.reviews.usage``)."""

    def record(self, key: PermissionKey, *, action: str, resource: str, at: datetime) -> None:
        """Note one use of ``key``; written with the transaction, before it commits."""
        ...

    def flush(self) -> None:
        """Write the uses noted so far (the store calls it before committing)."""
        ...

    def for_agent(
        self, agent_id: str, *, since: datetime | None = None
    ) -> builtins.list[PermissionUsage]:
        """The agent's usage, last used at or after ``since`` if given."""
        ...


class ReplayStore(Protocol):
    """Decisions' masked requests, kept for policy simulation until they expire."""

    def keep(
        self,
        decision_id: str,
        *,
        agent: str,
        decided_at: datetime,
        expires_at: datetime,
        request: dict[str, Any],
    ) -> None:
        """Keep a decision's masked request; written with the transaction, in one insert."""
        ...

    def flush(self) -> None:
        """Write the requests kept so far (the store calls it before committing)."""
        ...

    def get_many(self, decision_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored requests of those of ``decision_ids`` still kept, by decision id."""
        ...

    def purge(self, before: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` requests that expired before ``before``; how many."""
        ...


class ReviewStore(Protocol):
    """Access reviews: campaigns, items and proposals (``charter.reviews.campaigns``)."""

    def add_campaign(self, campaign: Campaign) -> None:
        """Insert a new campaign."""
        ...

    def save_campaign(self, campaign: Campaign) -> None:
        """Write a changed campaign."""
        ...

    def campaign(self, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
        """The campaign with this id, its row locked when ``for_update``."""
        ...

    def campaigns(
        self,
        *,
        status: CampaignStatus | None = None,
        kind: CampaignKind | None = None,
        limit: int = 100,
    ) -> builtins.list[Campaign]:
        """Campaigns, newest first."""
        ...

    def add_items(self, items: Iterable[ReviewItem]) -> None:
        """Insert new items."""
        ...

    def save_item(self, item: ReviewItem, *, outcome_seq: int | None = None) -> None:
        """Write a changed item; ``outcome_seq`` when its outcome changed, which also
        moves ``PolicyState.outcomes_version`` to it."""
        ...

    def item(self, item_id: str, *, for_update: bool = False) -> ReviewItem | None:
        """The item with this id, its row locked when ``for_update``."""
        ...

    def items(
        self,
        *,
        campaign: str | None = None,
        agent: str | None = None,
        reviewers: Iterable[str] | None = None,
        open_only: bool = False,
        due_before: datetime | None = None,
        after: str | None = None,
        limit: int = 500,
    ) -> builtins.list[ReviewItem]:
        """Items by id, filtered."""
        ...

    def in_force(self) -> builtins.list[ReviewItem]:
        """Every item whose outcome is in force."""
        ...

    def add_proposal(self, proposal: Proposal) -> None:
        """Insert a proposal."""
        ...

    def proposals(self, item_ids: Iterable[str]) -> builtins.list[Proposal]:
        """The proposals on these items, oldest first."""
        ...

    def proposal(self, proposal_id: str) -> Proposal | None:
        """The proposal with this id."""
        ...


class UnitOfWork(Protocol):
    """One transaction's view of every store."""

    @property
    def agents(self) -> AgentStore:
        """The agent registry."""
        ...

    @property
    def humans(self) -> HumanStore:
        """The people."""
        ...

    @property
    def credentials(self) -> CredentialStore:
        """The API tokens."""
        ...

    @property
    def audit(self) -> AuditStore:
        """The audit log."""
        ...

    @property
    def policies(self) -> PolicyStore:
        """Policy revisions."""
        ...

    @property
    def approvals(self) -> ApprovalStore:
        """Approvals and step-up confirmations."""
        ...

    @property
    def grants(self) -> GrantStore:
        """JIT grants."""
        ...

    @property
    def leaks(self) -> LeakStore:
        """The leaked-secret registry."""
        ...

    @property
    def advisories(self) -> AdvisoryStore:
        """Allowed inferences."""
        ...

    @property
    def webhooks(self) -> WebhookStore:
        """Webhooks and their deliveries."""
        ...

    @property
    def sessions(self) -> SessionStore:
        """Console sessions."""
        ...

    @property
    def usage(self) -> UsageStore:
        """Permission usage."""
        ...

    @property
    def reviews(self) -> ReviewStore:
        """Access reviews."""
        ...

    @property
    def replays(self) -> ReplayStore:
        """Requests kept for policy simulation."""
        ...


class Store(Protocol):
    """Opens units of work."""

    def write(self, *, deciding: bool = False) -> AbstractContextManager[UnitOfWork]:
        """A read-write transaction that commits on success and rolls back on error;
        ``deciding``: it only records decisions (see ``AuditLog.head``)."""
        ...

    def read(self) -> AbstractContextManager[UnitOfWork]:
        """A read-only transaction."""
        ...

    def ping(self) -> None:
        """Raise ``Unavailable`` if the store cannot be reached."""
        ...

    def close(self) -> None:
        """Release every connection."""
        ...
