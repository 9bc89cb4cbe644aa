"""SQL repositories for approvals (with their ballots) and JIT grants.

Every change of an approval's status is a conditional update on ``status = 'pending'``
(or, to use one, on ``used_by IS NULL``): of two transactions racing for the same
approval, exactly one changes it, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from charter.approvals.grants import GrantRecord, GrantStatus
from charter.approvals.model import Approval, ApprovalKind, ApprovalStatus, Ballot, Vote
from charter.codes import ErrorCode
from charter.errors import Conflict
from charter.storage.sql.schema import agents, approval_votes, approvals, grants

__all__ = ["SqlApprovalStore", "SqlGrantStore"]

_PENDING = ApprovalStatus.PENDING.value
_APPROVED = ApprovalStatus.APPROVED.value


def _before_suspension(agent_id: sa.ColumnElement[Any], at: sa.ColumnElement[Any]) -> Any:
    """True when ``at`` is at or before the last suspension of the agent ``agent_id``:
    what the agent held then is void, whatever its row says."""
    return sa.exists().where(agents.c.id == agent_id, agents.c.suspended_at >= at)


# Built once: decisions that grants or approvals could change run these.
_USABLE = (
    sa.select(approvals)
    .where(
        approvals.c.agent_id == sa.bindparam("agent_id"),
        approvals.c.request_digest == sa.bindparam("digest"),
        approvals.c.status == ApprovalStatus.APPROVED.value,
        approvals.c.role.is_(None),
        approvals.c.used_by.is_(None),
        approvals.c.expires_at > sa.bindparam("now"),
        ~_before_suspension(approvals.c.agent_id, approvals.c.created_at),
    )
    .order_by(approvals.c.created_at)
    .limit(1)
)
_ACTIVE_GRANTS = (
    sa.select(grants)
    .where(
        grants.c.agent_id == sa.bindparam("agent_id"),
        grants.c.revoked_at.is_(None),
        grants.c.expires_at > sa.bindparam("now"),
        ~_before_suspension(grants.c.agent_id, grants.c.issued_at),
    )
    .order_by(grants.c.id)
)
# What a group commit's decisions read once for all of them (``ix_approvals_usable``,
# ``ix_grants_agent``). The status is written into the statement, not bound, so both
# databases see that the partial index covers the query.
_AGENT_IDS: sa.BindParameter[list[str]] = sa.bindparam("agent_ids", expanding=True)
_USABLE_FOR_AGENTS = (
    sa.select(approvals)
    .where(
        approvals.c.agent_id.in_(_AGENT_IDS),
        approvals.c.status == sa.literal_column(f"'{_APPROVED}'"),
        approvals.c.used_by.is_(None),
        approvals.c.expires_at > sa.bindparam("now"),
        approvals.c.role.is_(None),
        ~_before_suspension(approvals.c.agent_id, approvals.c.created_at),
    )
    .order_by(approvals.c.created_at, approvals.c.id)
)
_ACTIVE_GRANTS_FOR_AGENTS = (
    sa.select(grants)
    .where(
        grants.c.agent_id.in_(_AGENT_IDS),
        grants.c.revoked_at.is_(None),
        grants.c.expires_at > sa.bindparam("now"),
        ~_before_suspension(grants.c.agent_id, grants.c.issued_at),
    )
    .order_by(grants.c.agent_id, grants.c.id)
)


_CHUNK = 500
"""Agents read in one statement at most (a group commit of enforcer batches may decide
for thousands; databases bound a statement's parameters)."""


def _chunks(agent_ids: Collection[str]) -> list[list[str]]:
    ordered = sorted(agent_ids)
    return [ordered[start : start + _CHUNK] for start in range(0, len(ordered), _CHUNK)]


def _approval(row: RowMapping, ballots: Sequence[Ballot]) -> Approval:
    seconds = row["max_duration_s"]
    return Approval(
        id=row["id"],
        kind=ApprovalKind(row["kind"]),
        agent=row["agent_id"],
        status=ApprovalStatus(row["status"]),
        request_digest=row["request_digest"],
        request=json.loads(row["request"]),
        policy=row["policy"],
        policy_revision=row["policy_revision"],
        approvers=tuple(row["approvers"]),
        quorum=row["quorum"],
        decision_id=row["decision_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        role=row["role"],
        max_duration=None if seconds is None else timedelta(seconds=seconds),
        on_behalf_of=row["on_behalf_of"],
        closed_at=row["closed_at"],
        closed_by=row["closed_by"],
        closed_reason=row["closed_reason"],
        used_by=row["used_by"],
        used_at=row["used_at"],
        grant_id=row["grant_id"],
        ballots=tuple(ballots),
    )


class SqlApprovalStore:
    """Approvals and their ballots in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _ballots(self, ids: Sequence[str]) -> dict[str, list[Ballot]]:
        found: dict[str, list[Ballot]] = {approval_id: [] for approval_id in ids}
        if not ids:
            return found
        query = (
            sa.select(approval_votes)
            .where(approval_votes.c.approval_id.in_(ids))
            .order_by(approval_votes.c.at, approval_votes.c.human_id)
        )
        for row in self._conn.execute(query).mappings():
            found[row["approval_id"]].append(
                Ballot(row["human_id"], Vote(row["vote"]), row["reason"], row["at"])
            )
        return found

    def _select(
        self, query: sa.Select[Any], params: dict[str, Any] | None = None
    ) -> list[Approval]:
        rows = list(self._conn.execute(query, params).mappings())
        ballots = self._ballots([row["id"] for row in rows])
        return [_approval(row, ballots[row["id"]]) for row in rows]

    def get(self, approval_id: str, *, for_update: bool = False) -> Approval | None:
        """The approval with this id, locking its row when ``for_update``."""
        query = sa.select(approvals).where(approvals.c.id == approval_id)
        if for_update:
            query = query.with_for_update()
        found = self._select(query)
        return found[0] if found else None

    def add(self, approval: Approval) -> None:
        """Insert a new approval; ``Conflict`` if one is already pending for its request."""
        seconds = approval.max_duration
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    approvals.insert().values(
                        id=approval.id,
                        kind=approval.kind.value,
                        agent_id=approval.agent,
                        status=approval.status.value,
                        request_digest=approval.request_digest,
                        request=json.dumps(dict(approval.request), sort_keys=True),
                        policy=approval.policy,
                        policy_revision=approval.policy_revision,
                        role=approval.role,
                        max_duration_s=None if seconds is None else int(seconds.total_seconds()),
                        approvers=list(approval.approvers),
                        quorum=approval.quorum,
                        on_behalf_of=approval.on_behalf_of,
                        decision_id=approval.decision_id,
                        created_at=approval.created_at,
                        expires_at=approval.expires_at,
                    )
                )
        except IntegrityError:
            raise Conflict(
                "an approval is already pending for this request", code=ErrorCode.APPROVAL_PENDING
            ) from None

    def pending_for(self, agent_id: str, digest: str) -> Approval | None:
        """The pending approval of exactly this request, if there is one."""
        query = sa.select(approvals).where(
            approvals.c.agent_id == agent_id,
            approvals.c.request_digest == digest,
            approvals.c.status == _PENDING,
        )
        found = self._select(query)
        return found[0] if found else None

    def usable_for(self, agent_id: str, digest: str, now: datetime) -> Approval | None:
        """An approved approval of exactly this request that no request has used yet,
        created after the agent's last suspension."""
        found = self._select(_USABLE, {"agent_id": agent_id, "digest": digest, "now": now})
        return found[0] if found else None

    def usable_for_agents(
        self, agent_ids: Collection[str], now: datetime
    ) -> builtins.list[Approval]:
        """``usable_for`` for every request of these agents at once, oldest first."""
        found: builtins.list[Approval] = []
        for some in _chunks(agent_ids):
            found.extend(self._select(_USABLE_FOR_AGENTS, {"agent_ids": some, "now": now}))
        if len(agent_ids) > _CHUNK:
            found.sort(key=lambda approval: (approval.created_at, approval.id))
        return found

    def use(self, approval_id: str, decision_id: str, at: datetime) -> bool:
        """Mark the approval used by ``decision_id``; False if another request was first,
        or the kill switch voided it meanwhile."""
        result = self._conn.execute(
            approvals.update()
            .where(
                approvals.c.id == approval_id,
                approvals.c.used_by.is_(None),
                approvals.c.status == _APPROVED,
                ~_before_suspension(approvals.c.agent_id, approvals.c.created_at),
            )
            .values(used_by=decision_id, used_at=at)
        )
        return result.rowcount == 1

    def unused_for(self, agent_id: str) -> builtins.list[Approval]:
        """The agent's approved approvals that no request has used (whether or not their
        time is up), oldest first."""
        query = (
            sa.select(approvals)
            .where(
                approvals.c.agent_id == agent_id,
                approvals.c.status == _APPROVED,
                approvals.c.role.is_(None),
                approvals.c.used_by.is_(None),
            )
            .order_by(approvals.c.created_at, approvals.c.id)
        )
        return self._select(query)

    def void(self, approval_id: str, *, at: datetime, by: str, reason: str) -> bool:
        """Cancel an approved approval no request has used; False if it was used first
        (or is not approved)."""
        result = self._conn.execute(
            approvals.update()
            .where(
                approvals.c.id == approval_id,
                approvals.c.status == _APPROVED,
                approvals.c.used_by.is_(None),
            )
            .values(
                status=ApprovalStatus.CANCELLED.value,
                closed_at=at,
                closed_by=by,
                closed_reason=reason,
            )
        )
        return result.rowcount == 1

    def add_ballot(self, approval_id: str, ballot: Ballot) -> None:
        """Record one human's vote; ``Conflict`` if they have voted already."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    approval_votes.insert().values(
                        approval_id=approval_id,
                        human_id=ballot.human,
                        vote=ballot.vote.value,
                        reason=ballot.reason,
                        at=ballot.at,
                    )
                )
        except IntegrityError:
            raise Conflict(
                f"{ballot.human} has already voted on approval {approval_id}",
                code=ErrorCode.ALREADY_VOTED,
            ) from None

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
        result = self._conn.execute(
            approvals.update()
            .where(approvals.c.id == approval_id, approvals.c.status == _PENDING)
            .values(
                status=status.value,
                closed_at=at,
                closed_by=by,
                closed_reason=reason,
                grant_id=grant_id,
            )
        )
        return result.rowcount == 1

    def list(
        self,
        *,
        status: ApprovalStatus | None = None,
        agent: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Approval]:
        """Approvals ordered by id, after the id ``after``."""
        query = sa.select(approvals).order_by(approvals.c.id).limit(limit)
        if status is not None:
            query = query.where(approvals.c.status == status.value)
        if agent is not None:
            query = query.where(approvals.c.agent_id == agent)
        if after is not None:
            query = query.where(approvals.c.id > after)
        return self._select(query)

    def due(self, now: datetime, *, limit: int = 100) -> builtins.list[Approval]:
        """Pending approvals whose time is up, oldest expiry first."""
        query = (
            sa.select(approvals)
            .where(approvals.c.status == _PENDING, approvals.c.expires_at <= now)
            .order_by(approvals.c.expires_at, approvals.c.id)
            .limit(limit)
        )
        return self._select(query)


def _grant(row: RowMapping) -> GrantRecord:
    return GrantRecord(
        id=row["id"],
        agent=row["agent_id"],
        role=row["role"],
        policy=row["policy"],
        approval_id=row["approval_id"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
        revoke_reason=row["revoke_reason"],
    )


class SqlGrantStore:
    """JIT grants in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, grant_id: str) -> GrantRecord | None:
        """The grant with this id."""
        row = self._conn.execute(sa.select(grants).where(grants.c.id == grant_id)).mappings()
        found = row.first()
        return None if found is None else _grant(found)

    def add(self, grant: GrantRecord) -> None:
        """Insert a new grant."""
        self._conn.execute(
            grants.insert().values(
                id=grant.id,
                agent_id=grant.agent,
                role=grant.role,
                policy=grant.policy,
                approval_id=grant.approval_id,
                issued_at=grant.issued_at,
                expires_at=grant.expires_at,
            )
        )

    def active_for(self, agent_id: str, now: datetime) -> list[GrantRecord]:
        """The agent's grants that are neither revoked nor expired, nor issued before its
        last suspension."""
        rows = self._conn.execute(_ACTIVE_GRANTS, {"agent_id": agent_id, "now": now})
        return [_grant(row) for row in rows.mappings()]

    def active_for_agents(
        self, agent_ids: Collection[str], now: datetime
    ) -> builtins.list[GrantRecord]:
        """``active_for`` for several agents at once, ordered by agent, then id."""
        found: builtins.list[GrantRecord] = []
        for some in _chunks(agent_ids):
            rows = self._conn.execute(_ACTIVE_GRANTS_FOR_AGENTS, {"agent_ids": some, "now": now})
            found.extend(_grant(row) for row in rows.mappings())
        return found  # chunks of sorted ids: ordered by agent, then id

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
        query = sa.select(grants).order_by(grants.c.id).limit(limit)
        if agent is not None:
            query = query.where(grants.c.agent_id == agent)
        if status is GrantStatus.REVOKED:
            query = query.where(grants.c.revoked_at.is_not(None))
        elif status is GrantStatus.ACTIVE:
            query = query.where(grants.c.revoked_at.is_(None), grants.c.expires_at > now)
        elif status is GrantStatus.EXPIRED:
            query = query.where(grants.c.revoked_at.is_(None), grants.c.expires_at <= now)
        if after is not None:
            query = query.where(grants.c.id > after)
        return [_grant(row) for row in self._conn.execute(query).mappings()]

    def expired_unrecorded(self, now: datetime, *, limit: int = 100) -> builtins.list[GrantRecord]:
        """Grants that ran out by time and whose expiry is not recorded yet."""
        query = (
            sa.select(grants)
            .where(
                grants.c.revoked_at.is_(None),
                grants.c.expires_at <= now,
                grants.c.expiry_recorded_at.is_(None),
            )
            .order_by(grants.c.expires_at, grants.c.id)
            .limit(limit)
        )
        return [_grant(row) for row in self._conn.execute(query).mappings()]

    def record_expiry(self, grant_id: str, at: datetime) -> bool:
        """Note that the grant's expiry was recorded; False if it already was."""
        result = self._conn.execute(
            grants.update()
            .where(grants.c.id == grant_id, grants.c.expiry_recorded_at.is_(None))
            .values(expiry_recorded_at=at)
        )
        return result.rowcount == 1

    def revoke(self, grant_id: str, *, at: datetime, by: str, reason: str) -> bool:
        """Revoke a grant that is not revoked yet; False if it already was."""
        result = self._conn.execute(
            grants.update()
            .where(grants.c.id == grant_id, grants.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by, revoke_reason=reason)
        )
        return result.rowcount == 1
