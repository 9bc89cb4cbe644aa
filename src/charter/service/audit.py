"""Audit use cases: reading and exporting the log, verifying it, signing checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from charter.audit.checkpoints import Checkpoint, sign_checkpoint
from charter.audit.records import AuditEntry, AuditRecord
from charter.audit.verify import VerifyProblem, VerifyReport, verify_log
from charter.clock import Clock
from charter.codes import ErrorCode
from charter.errors import NotFound, StoreError
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service.access import require_roles
from charter.storage.ports import AuditQuery, Store

__all__ = ["AuditService"]

MAX_PAGE = 1000


class AuditService:
    """Reads, verifies and seals the audit log."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        signing_key: Ed25519PrivateKey | None = None,
        public_key: Ed25519PublicKey | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._signing_key = signing_key
        self.public_key = public_key or (signing_key.public_key() if signing_key else None)

    @property
    def can_sign(self) -> bool:
        """True when a signing key is loaded, so checkpoints can be made."""
        return self._signing_key is not None

    def query(self, actor: Principal, query: AuditQuery) -> list[AuditRecord]:
        """Records matching ``query``: auditors and admins; an agent's owner, the records
        of that agent (``query.agent`` naming an agent they own now)."""
        with self._store.read() as unit:
            if not actor.has_any(HumanRole.AUDITOR, HumanRole.ADMIN):
                agent = None if query.agent is None else unit.agents.get(query.agent)
                if agent is None or not (actor.is_human and actor.id == agent.owner):
                    # Whether or not the agent exists: non-readers learn nothing.
                    require_roles(actor, "read the audit log", HumanRole.AUDITOR, HumanRole.ADMIN)
            return unit.audit.query(replace(query, limit=min(query.limit, MAX_PAGE)))

    def verify(self, actor: Principal) -> VerifyReport:
        """Verify the whole log against its head and signed checkpoints."""
        require_roles(actor, "verify the audit log", HumanRole.AUDITOR, HumanRole.ADMIN)
        return self.verify_store()

    def verify_store(self, *, trusted: Sequence[Checkpoint] = ()) -> VerifyReport:
        """Verify the whole log, with no caller to check (offline ``charter audit verify``).

        ``trusted`` are checkpoints exported earlier and kept outside the store.
        """
        with self._store.read() as unit:
            checkpoints = unit.audit.checkpoints()
            try:
                head = unit.audit.head()
            except StoreError as error:
                return VerifyReport(
                    ok=False,
                    records=0,
                    root="",
                    checkpoints_verified=0,
                    last_checkpoint_size=None,
                    unsealed_records=0,
                    problem=VerifyProblem(error.code, None, error.message),
                )
            return verify_log(
                unit.audit.records(),
                checkpoints,
                public_key=self.public_key,
                head_size=head.size,
                head_root=head.root(),
                trusted=trusted,
            )

    def checkpoints(self, actor: Principal) -> list[Checkpoint]:
        """Every signed checkpoint: auditors and admins."""
        require_roles(actor, "read checkpoints", HumanRole.AUDITOR, HumanRole.ADMIN)
        with self._store.read() as unit:
            return unit.audit.checkpoints()

    def sign_as(self, actor: Principal) -> Checkpoint | None:
        """Sign a checkpoint now, for an admin: None when nothing was added since the
        last one; ``signing_key_missing`` (404, as for the public key) without a key."""
        require_roles(actor, "sign checkpoints", HumanRole.ADMIN)
        if self._signing_key is None:
            raise NotFound(
                "this server has no audit signing key", code=ErrorCode.SIGNING_KEY_MISSING
            )
        return self.checkpoint()

    def public_key_for(self, actor: Principal) -> Ed25519PublicKey:
        """The key that verifies checkpoint signatures: auditors and admins."""
        require_roles(actor, "read the public key", HumanRole.AUDITOR, HumanRole.ADMIN)
        if self.public_key is None:
            raise NotFound(
                "this server has no audit signing key", code=ErrorCode.SIGNING_KEY_MISSING
            )
        return self.public_key

    def checkpoint(self) -> Checkpoint | None:
        """Sign the log's current head if it grew since the last checkpoint."""
        if self._signing_key is None:
            raise StoreError("no audit signing key is loaded", code=ErrorCode.SIGNING_KEY_MISSING)
        with self._store.write() as unit:
            head = unit.audit.head(lock=True)
            existing = unit.audit.checkpoints()
            if head.size == 0 or (existing and existing[-1].tree_size >= head.size):
                return None
            checkpoint = sign_checkpoint(self._signing_key, head.size, head.root(), self._clock())
            unit.audit.add_checkpoint(checkpoint)
            return checkpoint

    def record_refusal(self, actor: Principal, *, code: str, where: str) -> None:
        """Record that ``actor`` was refused a call (its own transaction: the call rolled back)."""
        now: datetime = self._clock()
        with self._store.write() as unit:
            unit.audit.append(
                AuditEntry(
                    type="auth.forbidden",
                    actor=actor.ref,
                    at=now,
                    agent=None if actor.is_human else actor.id,
                    subject=actor.credential_id,
                    data={"code": code, "where": where},
                )
            )
