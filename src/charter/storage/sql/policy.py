"""SQL repository for policy revisions and the active-revision row."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from charter.codes import ErrorCode
from charter.errors import StoreError
from charter.policy.revisions import ActivePolicy, PolicyRevision
from charter.storage.ports import PolicyState
from charter.storage.sql.schema import POLICY_STATE_ID, policy_revisions, policy_state

__all__ = ["SqlPolicyStore"]

# Built once: every decision's transaction reads the state row, and building the query
# again cost as much as running it.
_STATE = sa.select(policy_state).where(policy_state.c.id == POLICY_STATE_ID)
_STATE_LOCKED = _STATE.with_for_update()


def _revision(row: RowMapping) -> PolicyRevision:
    return PolicyRevision(
        id=row["id"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        files=json.loads(row["files"]),
        summary=json.loads(row["summary"]),
    )


def _active(row: RowMapping) -> ActivePolicy | None:
    if row["active_revision"] is None:
        return None
    return ActivePolicy(row["active_revision"], row["activated_at"], row["activated_by"])


class SqlPolicyStore:
    """Policy revisions in SQL."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, revision: str) -> PolicyRevision | None:
        """The revision with this id."""
        query = sa.select(policy_revisions).where(policy_revisions.c.id == revision)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _revision(row)

    def add(self, revision: PolicyRevision) -> bool:
        """Store a revision; False (and nothing written) if one with its id exists."""
        if self.get(revision.id) is not None:
            return False
        self._conn.execute(
            policy_revisions.insert().values(
                id=revision.id,
                created_at=revision.created_at,
                created_by=revision.created_by,
                files=json.dumps(dict(revision.files), sort_keys=True),
                summary=json.dumps(dict(revision.summary), sort_keys=True),
            )
        )
        return True

    def list(self, *, limit: int = 100) -> list[PolicyRevision]:
        """Revisions, newest first."""
        query = (
            sa.select(policy_revisions)
            .order_by(policy_revisions.c.created_at.desc(), policy_revisions.c.id)
            .limit(limit)
        )
        return [_revision(row) for row in self._conn.execute(query).mappings()]

    def active(self, *, lock: bool = False) -> ActivePolicy | None:
        """The active revision, if any; ``lock`` holds off other activations."""
        return _active(self._row(lock=lock))

    def state(self) -> PolicyState:
        """The active revision and the review outcomes' version, in one read."""
        row = self._row(lock=False)
        return PolicyState(_active(row), int(row["outcomes_version"]))

    def _row(self, *, lock: bool) -> RowMapping:
        row = self._conn.execute(_STATE_LOCKED if lock else _STATE).mappings().first()
        if row is None:
            raise StoreError(
                "the policy state row is missing", code=ErrorCode.STORE_NOT_INITIALISED
            )
        return row

    def activate(self, revision: str, *, at: datetime, by: str) -> None:
        """Make ``revision`` the active one."""
        self._conn.execute(
            policy_state.update()
            .where(policy_state.c.id == POLICY_STATE_ID)
            .values(active_revision=revision, activated_at=at, activated_by=by)
        )
