"""Policy use cases: apply a revision (upserting declared agents), diff, roll back, read.

Applying validates the whole policy against the registry, stores an immutable revision
named by its content hash, upserts the agents it declares and activates it, all in one
transaction with its audit records. A policy with any error is refused whole. Rolling
back re-declares the older revision's agents the same way.

A policy declaring agents is no wider a door than the agents API: changing what confers
rights over an existing agent (its owner) or feeds decisions about it (its risk tier and
labels), or making oneself the owner of a new agent, needs an admin
(``policy_changes_agent``). Applying or rolling back never changes an agent's status.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from charter.audit.records import AuditEntry
from charter.clock import Clock
from charter.codes import ErrorCode
from charter.errors import NotFound, PermissionDenied
from charter.identity.agents import Agent, AgentStatus
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.policy.diagnostics import Diagnostic, Severity
from charter.policy.engine import Engine, PolicyInvalid
from charter.policy.model import AgentSpec, Policy
from charter.policy.revisions import ActivePolicy, PolicyRevision, summarise
from charter.reviews.patch import reflected
from charter.service.access import require_roles
from charter.service.active import ActiveEngine
from charter.service.agents import record_registration, record_update
from charter.service.review_outcomes import patch_outcome_of
from charter.storage.ports import Store, UnitOfWork

__all__ = ["Applied", "PolicyService", "diff_policies", "rights_changed"]

log = logging.getLogger(__name__)

WRITERS = (HumanRole.POLICY_ADMIN, HumanRole.ADMIN)
READERS = (HumanRole.POLICY_ADMIN, HumanRole.ADMIN, HumanRole.AUDITOR)
_KINDS = ("agents", "roles", "bindings", "guardrails", "separations")


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of an apply."""

    revision: str
    previous: str | None
    created: bool
    activated: bool
    warnings: tuple[Diagnostic, ...]
    agents_registered: tuple[str, ...]
    agents_updated: tuple[str, ...]


def _plain(value: Any) -> Any:
    """A document as comparable data, without where it was written."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "source"
        }
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def diff_policies(before: Policy | None, after: Policy) -> dict[str, dict[str, list[str]]]:
    """Documents added, removed and changed, per kind."""
    changes: dict[str, dict[str, list[str]]] = {}
    for kind in _KINDS:
        old = {doc.name: _plain(doc) for doc in getattr(before, kind, ())} if before else {}
        new = {doc.name: _plain(doc) for doc in getattr(after, kind)}
        changes[kind] = {
            "added": sorted(new.keys() - old.keys()),
            "removed": sorted(old.keys() - new.keys()),
            "changed": sorted(name for name in new.keys() & old.keys() if new[name] != old[name]),
        }
    return changes


def rights_changed(current: Agent, spec: AgentSpec) -> list[str]:
    """What declaring ``spec`` would change of an existing agent that only an admin may
    change: the owner (who mints its tokens, reinstates it, approves as ``owner``) and
    the attributes decisions read (risk tier, labels: binding selectors, conditions)."""
    changed = []
    if spec.owner != current.owner:
        changed.append(f"owner {current.owner} -> {spec.owner}")
    if spec.risk_tier is not current.risk_tier:
        changed.append(f"riskTier {current.risk_tier.value} -> {spec.risk_tier.value}")
    if dict(spec.labels) != dict(current.labels):
        changed.append(f"labels {dict(current.labels)} -> {dict(spec.labels)}")
    return changed


def _outcomes_in_force(unit: UnitOfWork, candidate: Policy) -> list[dict[str, Any]]:
    """The review outcomes in force (the active revision does not reflect them yet), each
    with whether ``candidate`` would: applying it then marks that outcome done."""
    declared = {spec.name for spec in candidate.agents}
    found = []
    for item in unit.reviews.in_force():
        outcome = patch_outcome_of(item)
        if outcome is None:
            continue
        # An agent the candidate declares gets the labels it declares when it is applied.
        agent = None if item.agent in declared else unit.agents.get(item.agent)
        labels = None if agent is None else agent.labels
        found.append(
            {
                "campaign": item.campaign,
                "item": item.id,
                "agent": item.agent,
                "binding": outcome.binding,
                "kind": outcome.kind.value,
                "reflected_by_candidate": reflected(candidate, outcome, labels),
            }
        )
    return found


def _approvers_among(policy: Policy, refs: set[str]) -> set[tuple[str, str]]:
    """``(rule, approver)`` for each of ``refs`` that a rule of ``policy`` names as an
    approver."""
    rules = [
        *((f"Guardrail/{g.name}", g.approval) for g in policy.guardrails),
        *((f"Binding/{b.name}", b.approval) for b in policy.bindings),
    ]
    return {(rule, ref) for rule, spec in rules for ref in spec.approvers if ref in refs}


def _file_digests(files: Mapping[str, str]) -> dict[str, str]:
    return {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in files.items()}


class PolicyService:
    """Applies, activates and reads policy revisions."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        recertify_after: timedelta,
        compiled: ActiveEngine | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._recertify_after = recertify_after
        self.compiled = compiled if compiled is not None else ActiveEngine()

    def _engine(
        self, unit: UnitOfWork, files: Mapping[str, str], *, stored: bool = False
    ) -> Engine:
        known = [agent.id for agent in unit.agents.list(limit=1_000_000)]
        return Engine.from_texts(files, clock=self._clock, known_agents=known, stored=stored)

    def apply(self, actor: Principal, files: Mapping[str, str]) -> Applied:
        """Validate, store and activate ``files`` as a revision; refuse it whole if invalid."""
        require_roles(actor, "apply policy", *WRITERS)
        now = self._clock()
        # Validate and compile outside the write transaction: it can take a while, and
        # agents are never deleted, so the registry it was checked against only grows.
        with self._store.read() as unit:
            engine = self._engine(unit, files)
        with self._store.write() as unit:
            self._may_name_approvers(unit, actor, engine.policy)
            self._owners_must_be_active(unit, engine.policy.agents)
            registered, updated = self._declare_agents(unit, actor, engine.policy.agents)
            revision = PolicyRevision(
                id=engine.revision,
                created_at=now,
                created_by=actor.ref,
                files=dict(files),
                summary=summarise(engine.policy),
            )
            created = unit.policies.add(revision)
            active = unit.policies.active(lock=True)
            previous = active.revision if active else None
            activated = previous != revision.id
            if activated:
                unit.policies.activate(revision.id, at=now, by=actor.ref)
            unit.audit.append(
                AuditEntry(
                    type="policy.applied",
                    actor=actor.ref,
                    at=now,
                    subject=revision.id,
                    data={
                        "revision": revision.id,
                        "previous": previous,
                        "created": created,
                        "activated": activated,
                        "files": _file_digests(files),
                        "summary": revision.summary,
                        "warnings": [str(w) for w in engine.diagnostics],
                    },
                )
            )
        if activated:
            self.compiled.engine = engine
        return Applied(
            revision=revision.id,
            previous=previous,
            created=created,
            activated=activated,
            warnings=engine.diagnostics,
            agents_registered=tuple(registered),
            agents_updated=tuple(updated),
        )

    def diff(self, actor: Principal, files: Mapping[str, str]) -> dict[str, Any]:
        """What applying ``files`` would change against the active revision."""
        require_roles(actor, "diff policy", *READERS)
        with self._store.read() as unit:
            engine = self._engine(unit, files)
            active = unit.policies.active()
            current = unit.policies.get(active.revision) if active else None
            outcomes = _outcomes_in_force(unit, engine.policy)
        before = Engine.from_texts(current.files, stored=True).policy if current else None
        return {
            "active": current.id if current else None,
            "revision": engine.revision,
            "unchanged": current is not None and current.id == engine.revision,
            "changes": diff_policies(before, engine.policy),
            "warnings": [w.to_json() for w in engine.diagnostics],
            "review_outcomes_not_reflected": outcomes,
        }

    def rollback(self, actor: Principal, revision: str) -> ActivePolicy:
        """Reactivate an earlier revision, re-declaring its agents as applying it would
        (the same rights are needed)."""
        require_roles(actor, "roll back policy", *WRITERS)
        now = self._clock()
        with self._store.write() as unit:
            stored = unit.policies.get(revision)
            if stored is None:
                raise NotFound(
                    f"no policy revision {revision!r}", code=ErrorCode.REVISION_NOT_FOUND
                )
            engine = self._engine(unit, stored.files, stored=True)
            self._may_name_approvers(unit, actor, engine.policy)
            # Only owners it would give agents to must be active: a rollback is what an
            # operator reaches for in a hurry, and an unchanged owner blocks nothing.
            self._owners_must_be_active(unit, self._owner_changes(unit, engine.policy.agents))
            self._declare_agents(unit, actor, engine.policy.agents)
            active = unit.policies.active(lock=True)
            previous = active.revision if active else None
            unit.policies.activate(revision, at=now, by=actor.ref)
            unit.audit.append(
                AuditEntry(
                    type="policy.rolled_back",
                    actor=actor.ref,
                    at=now,
                    subject=revision,
                    data={"revision": revision, "previous": previous},
                )
            )
        self.compiled.engine = engine
        return ActivePolicy(revision, now, actor.ref)

    def active(self, actor: Principal) -> tuple[ActivePolicy, PolicyRevision] | None:
        """The active revision and its files."""
        require_roles(actor, "read policy", *READERS)
        with self._store.read() as unit:
            active = unit.policies.active()
            if active is None:
                return None
            revision = unit.policies.get(active.revision)
        if revision is None:
            return None
        return active, revision

    def revisions(self, actor: Principal, *, limit: int = 100) -> list[PolicyRevision]:
        """Stored revisions, newest first."""
        require_roles(actor, "read policy", *READERS)
        with self._store.read() as unit:
            return unit.policies.list(limit=limit)

    def load_active(self) -> Engine | None:
        """Compile the active revision (for a server starting up) and hold it, or None."""
        with self._store.read() as unit:
            return self.hold_active(unit)

    def hold_active(self, unit: UnitOfWork) -> Engine | None:
        """Compile and hold the revision active in ``unit`` (another server activated it),
        or None: none is active, or it cannot be compiled (logged once, and held as
        ``unusable``: every decision is then ``no_policy``, never a caller's error)."""
        active = unit.policies.active()
        revision = unit.policies.get(active.revision) if active else None
        engine = None
        if revision is not None:
            try:
                # Bindings may name agents registered outside the policy, as when applied.
                engine = self._engine(unit, revision.files, stored=True)
            except PolicyInvalid as error:
                if self.compiled.unusable != revision.id:
                    log.error(
                        "the active policy revision %s cannot be compiled, so nothing is "
                        "allowed (no_policy) until another is activated: %s",
                        revision.id,
                        error,
                    )
        self.compiled.unusable = revision.id if revision is not None and engine is None else None
        self.compiled.engine = engine
        return engine

    def refresh(self) -> bool:
        """Follow an activation made by another server on the same store: compile and
        hold the active revision if it is not the one held. True if it changed."""
        with self._store.read() as unit:
            active = unit.policies.active()
        held = self.compiled.engine
        current = active.revision if active else None
        if current == (held.revision if held else self.compiled.unusable):
            return False
        self.load_active()
        return True

    @staticmethod
    def _owners_must_be_active(unit: UnitOfWork, agents: tuple[AgentSpec, ...]) -> None:
        problems = []
        for spec in agents:
            owner = unit.humans.get(spec.owner, for_update=True)
            if owner is None or not owner.active:
                state = "not a known human" if owner is None else "deactivated"
                problems.append(
                    Diagnostic(
                        Severity.ERROR,
                        ErrorCode.UNKNOWN_OWNER if owner is None else ErrorCode.OWNER_INACTIVE,
                        f"Agent/{spec.name}: owner {spec.owner!r} is {state}",
                        spec.source,
                        "add the human first: charter humans add" if owner is None else None,
                    )
                )
        if problems:
            raise PolicyInvalid(problems)

    @staticmethod
    def _owner_changes(unit: UnitOfWork, specs: tuple[AgentSpec, ...]) -> tuple[AgentSpec, ...]:
        """The declarations that would register an agent or give one a new owner."""
        changing = []
        for spec in specs:
            current = unit.agents.get(spec.name)
            if current is None or (
                current.status is not AgentStatus.RETIRED and current.owner != spec.owner
            ):
                changing.append(spec)
        return tuple(changing)

    @staticmethod
    def _may_declare(
        unit: UnitOfWork, actor: Principal, specs: tuple[AgentSpec, ...]
    ) -> dict[str, Agent | None]:
        """The declared agents as they stand (locked), once ``actor`` is known to have the
        rights every declaration needs: a non-admin may not change what an admin governs
        on an existing agent, nor make themself the owner of a new one."""
        found: dict[str, Agent | None] = {}
        refused = []
        for spec in specs:
            current = unit.agents.get(spec.name, for_update=True)
            found[spec.name] = current
            if actor.has_any(HumanRole.ADMIN):
                continue
            if current is None:
                if actor.is_human and spec.owner == actor.id:
                    refused.append(f"Agent/{spec.name}: a new agent owned by {actor.ref}")
                continue
            if current.status is AgentStatus.RETIRED:
                continue  # left as it is
            changed = rights_changed(current, spec)
            if changed:
                refused.append(f"Agent/{spec.name}: {', '.join(changed)}")
        if refused:
            raise PermissionDenied(
                f"{actor.ref} may not change agents through a policy: {'; '.join(refused)}",
                code=ErrorCode.POLICY_CHANGES_AGENT,
                help="declare the agents as they are registered (charter agents get), or "
                "ask an admin to apply this policy or to change the agents directly",
            )
        return found

    def _may_name_approvers(self, unit: UnitOfWork, actor: Principal, policy: Policy) -> None:
        """Refuse a non-admin's policy that names its author, or a group its author is in,
        as an approver where the active policy does not: approving is a power, and a
        policy admin may not give it to themself."""
        if actor.has_any(HumanRole.ADMIN) or not actor.is_human:
            return
        human = unit.humans.get(actor.id)
        own = {actor.ref, *(f"group:{group}" for group in (human.groups if human else ()))}
        named = _approvers_among(policy, own)
        if not named:
            return
        active = unit.policies.active()
        current = self.compiled.engine
        if active is None:
            before: Policy | None = None
        elif current is not None and current.revision == active.revision:
            before = current.policy
        else:
            stored = unit.policies.get(active.revision)
            before = self._engine(unit, stored.files, stored=True).policy if stored else None
        added = sorted(named - (_approvers_among(before, own) if before else set()))
        if added:
            raise PermissionDenied(
                f"{actor.ref} may not make themself an approver through a policy: "
                + "; ".join(f"{rule} names {ref}" for rule, ref in added),
                code=ErrorCode.POLICY_NAMES_AUTHOR,
                help="name other approvers, or ask an admin to apply this policy",
            )

    def _declare_agents(
        self, unit: UnitOfWork, actor: Principal, specs: tuple[AgentSpec, ...]
    ) -> tuple[list[str], list[str]]:
        now = self._clock()
        registered, updated = [], []
        found = self._may_declare(unit, actor, specs)
        for spec in specs:
            current = found[spec.name]
            if current is None:
                agent = Agent(
                    id=spec.name,
                    display_name=spec.name,
                    owner=spec.owner,
                    purpose=spec.purpose,
                    risk_tier=spec.risk_tier,
                    status=AgentStatus.ACTIVE,
                    labels=dict(spec.labels),
                    created_at=now,
                    updated_at=now,
                    recertify_by=now + self._recertify_after,
                )
                record_registration(unit, actor, agent)
                registered.append(agent.id)
                continue
            if current.status is AgentStatus.RETIRED:
                continue  # retired is terminal; the policy cannot bring it back
            # Everything but what a declaration governs is kept: the status above all
            # (a suspended agent stays suspended), and when and by whom it was suspended.
            agent = replace(
                current,
                owner=spec.owner,
                purpose=spec.purpose or current.purpose,
                risk_tier=spec.risk_tier,
                labels=dict(spec.labels),
                updated_at=now,
            )
            if record_update(unit, actor, current, agent, by_policy=True):
                updated.append(agent.id)
        return registered, updated
