"""Gathering posture: one read transaction over the registry, the active policy, tokens,
approvals, grants, leaks and the audit log, then the pure checks of ``charter.posture``.

Read-only: nothing is stored and nothing is audited, so running it often costs only
the reads. Admins and auditors may see it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from charter.approvals.grants import GrantRecord, GrantStatus
from charter.approvals.model import Approval
from charter.clock import Clock, to_utc
from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.identity.agents import Agent
from charter.identity.credentials import Credential, PrincipalKind
from charter.identity.humans import Human, HumanRole
from charter.identity.principals import Principal
from charter.policy.loader import load_texts
from charter.policy.model import Policy
from charter.posture import (
    DecisionSeen,
    Finding,
    FindingKind,
    PostureInput,
    Severity,
    Thresholds,
    check_all,
)
from charter.secrets.leaks import Leak
from charter.service.access import require_roles
from charter.service.secrets import LEAK_ROTATED
from charter.storage.ports import AuditQuery, Store, UnitOfWork

__all__ = ["MAX_DECISIONS", "PostureFilter", "PostureService"]

MAX_DECISIONS = 50_000
"""At most this many decisions of the window are read (newest first)."""

_PAGE = 500


@dataclass(frozen=True, slots=True)
class PostureFilter:
    """Which findings to return: all when every field is empty."""

    severities: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    agent: str | None = None

    def __post_init__(self) -> None:
        for severity in self.severities:
            if severity not in Severity.__members__.values():
                raise InvalidInput(
                    f"unknown severity {severity[:40]!r}: one of "
                    + ", ".join(s.value for s in Severity),
                    code=ErrorCode.INVALID_POSTURE_FILTER,
                )
        for kind in self.kinds:
            if kind not in FindingKind.__members__.values():
                raise InvalidInput(
                    f"unknown kind of finding {kind[:60]!r}",
                    code=ErrorCode.INVALID_POSTURE_FILTER,
                    help="docs/posture.md lists the kinds",
                )

    def keeps(self, finding: Finding) -> bool:
        """True when ``finding`` passes every filter given."""
        return (
            (not self.severities or finding.severity.value in self.severities)
            and (not self.kinds or finding.kind.value in self.kinds)
            and (self.agent is None or f"agent:{self.agent}" in finding.objects)
        )


class PostureService:
    """Posture findings, computed on demand."""

    def __init__(self, store: Store, clock: Clock, thresholds: Thresholds | None = None) -> None:
        self._store = store
        self._clock = clock
        self.thresholds = thresholds or Thresholds()

    def findings(self, actor: Principal, where: PostureFilter | None = None) -> list[Finding]:
        """Every finding that passes ``where``, the most severe first."""
        require_roles(actor, "read posture", HumanRole.ADMIN, HumanRole.AUDITOR)
        with self._store.read() as unit:
            data = self.gather(unit)
        where = where or PostureFilter()
        return [f for f in check_all(data, self.thresholds) if where.keeps(f)]

    def gather(self, unit: UnitOfWork) -> PostureInput:
        """What the checks read, from one transaction."""
        now = to_utc(self._clock())
        agents = _agents(unit)
        humans: dict[str, Human] = {}
        for owner in {agent.owner for agent in agents}:
            human = unit.humans.get(owner)
            if human is not None:
                humans[owner] = human
        tokens: dict[str, tuple[Credential, ...]] = {
            agent.id: tuple(unit.credentials.list_for(PrincipalKind.AGENT, agent.id))
            for agent in agents
        }
        policy, revision, tests = _policy(unit)
        since = now - self.thresholds.window
        decisions, truncated = _decisions(unit, since)
        shards = unit.audit.shards()
        sizes = {state.shard: state.frontier.size for state in shards if state.frontier}
        last = unit.audit.query(AuditQuery(newest_first=True, limit=1))
        return PostureInput(
            now=now,
            agents=tuple(agents),
            humans=humans,
            tokens=tokens,
            policy=policy,
            policy_revision=revision,
            policy_tests=tests,
            grants=tuple(_grants(unit, now)),
            approvals=tuple(a for a in _approvals(unit) if to_utc(a.created_at) >= since),
            leaks=tuple(_leaks(unit)),
            rotated=_rotated(unit),
            decisions=decisions,
            decisions_truncated=truncated,
            audit_size=sizes.get("", 0),
            last_record_at=last[0].at if last else None,
            checkpoints=tuple(unit.audit.checkpoints()),
            shard_sizes=sizes,
            last_seal=unit.audit.last_seal(),
        )


T = TypeVar("T")


def _every(page_of: Callable[[str | None], list[T]], key: Callable[[T], str]) -> list[T]:
    """Every item a paged read gives, page after page."""
    found: list[T] = []
    after: str | None = None
    while True:
        page = page_of(after)
        found.extend(page)
        if len(page) < _PAGE:
            return found
        after = key(page[-1])


def _agents(unit: UnitOfWork) -> list[Agent]:
    return _every(lambda after: unit.agents.list(after=after, limit=_PAGE), lambda a: a.id)


def _approvals(unit: UnitOfWork) -> list[Approval]:
    return _every(lambda after: unit.approvals.list(after=after, limit=_PAGE), lambda a: a.id)


def _grants(unit: UnitOfWork, now: datetime) -> list[GrantRecord]:
    return _every(
        lambda after: unit.grants.list(
            status=GrantStatus.ACTIVE, now=now, after=after, limit=_PAGE
        ),
        lambda g: g.id,
    )


def _leaks(unit: UnitOfWork) -> list[Leak]:
    return _every(
        lambda after: unit.leaks.list(after=after, limit=_PAGE), lambda leak: leak.fingerprint
    )


def _rotated(unit: UnitOfWork) -> dict[str, int]:
    marks: dict[str, int] = {}
    after = -1
    while True:
        page = unit.audit.query(AuditQuery(types=(LEAK_ROTATED,), after_seq=after, limit=_PAGE))
        for record in page:
            if record.subject:
                marks[record.subject] = record.seq
        if len(page) < _PAGE:
            return marks
        after = page[-1].seq


def _policy(unit: UnitOfWork) -> tuple[Policy | None, str | None, int]:
    active = unit.policies.active()
    revision = unit.policies.get(active.revision) if active else None
    if revision is None:
        return None, None, 0
    docs = load_texts(revision.files)
    policy = Policy(
        agents=tuple(docs.agents),
        roles=tuple(docs.roles),
        bindings=tuple(docs.bindings),
        guardrails=tuple(docs.guardrails),
        separations=tuple(docs.separations),
    )
    return policy, revision.id, len(docs.tests)


def _decisions(unit: UnitOfWork, since: datetime) -> tuple[tuple[DecisionSeen, ...], bool]:
    """The window's decisions, oldest first, and whether ``MAX_DECISIONS`` cut them short."""
    seen: list[DecisionSeen] = []
    after = -1
    while len(seen) < MAX_DECISIONS:
        page = unit.audit.query(
            AuditQuery(types=("decision",), since=since, after_seq=after, limit=_PAGE)
        )
        seen.extend(_seen(record.seq, record.agent, record.data()) for record in page)
        if len(page) < _PAGE:
            return tuple(seen), False
        after = page[-1].seq
    return tuple(seen[:MAX_DECISIONS]), True


def _seen(seq: int, agent: str | None, data: dict[str, object]) -> DecisionSeen:
    request = data.get("request")
    request = request if isinstance(request, dict) else {}
    reasons = data.get("reasons")
    rules: Sequence[object] = reasons if isinstance(reasons, list) else []
    return DecisionSeen(
        seq=seq,
        agent=str(agent or request.get("agent") or ""),
        capability=str(request.get("capability") or ""),
        action=str(request.get("action") or ""),
        effect=str(data.get("decision") or ""),
        on_behalf_of=_text(request.get("on_behalf_of")),
        rules=tuple(str(reason.get("policy")) for reason in rules if isinstance(reason, dict)),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
