"""Posture findings: the model, what the checks read, and the checks themselves.

Every check is a pure function of a ``PostureInput`` (gathered by the service in one read
transaction) and ``Thresholds``; it returns findings. A finding's id is derived from its
kind and the objects it concerns, so the same finding keeps its id from one run to the
next and disappears once the condition is fixed.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from charter.approvals.grants import GrantRecord
from charter.approvals.model import Approval, Vote
from charter.audit.checkpoints import Checkpoint
from charter.audit.seals import Seal
from charter.clock import format_time, to_utc
from charter.identity.agents import Agent, AgentStatus, RiskTier
from charter.identity.credentials import Credential
from charter.identity.humans import Human
from charter.policy.globs import ACTION, GlobError
from charter.policy.model import (
    Activation,
    Binding,
    Capability,
    Guardrail,
    GuardrailEffect,
    Permission,
    Policy,
)
from charter.posture.controls import controls_for
from charter.secrets.leaks import Leak

__all__ = [
    "MAX_SEQS",
    "DecisionSeen",
    "Finding",
    "FindingKind",
    "PostureInput",
    "Severity",
    "Thresholds",
    "check_all",
]

MAX_SEQS = 20
"""At most this many audit sequence numbers are quoted as a finding's evidence."""


class Severity(StrEnum):
    """How urgent a finding is."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for critical, 3 for low: sorts the most urgent first."""
        return list(Severity).index(self)


class FindingKind(StrEnum):
    """What a finding is about."""

    ORPHANED_AGENT = "orphaned_agent"
    RECERTIFICATION_OVERDUE = "recertification_overdue"
    RECERTIFICATION_DUE = "recertification_due"
    DORMANT_AGENT = "dormant_agent"
    UNUSED_TOKEN = "unused_token"  # noqa: S105 - a kind of finding, not a secret
    LONG_LIVED_TOKEN = "long_lived_token"  # noqa: S105 - a kind of finding
    STANDING_SENSITIVE_PRIVILEGE = "standing_sensitive_privilege"
    WILDCARD_ON_HIGH_RISK_AGENT = "wildcard_on_high_risk_agent"
    INFERENCE_CAN_CHANGE_PRIVILEGES = "inference_can_change_privileges"
    ON_BEHALF_WITHOUT_STEP_UP = "on_behalf_without_step_up"
    LEAK_NOT_ROTATED = "leak_not_rotated"
    RUBBER_STAMP_APPROVALS = "rubber_stamp_approvals"
    GUARDRAIL_NEVER_MATCHED = "guardrail_never_matched"
    POLICY_WITHOUT_TESTS = "policy_without_tests"
    CHECKPOINT_STALE = "checkpoint_stale"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing to fix, with its evidence and the controls it bears on."""

    id: str
    kind: FindingKind
    severity: Severity
    title: str
    objects: tuple[str, ...]
    """What it concerns: ``agent:<id>``, ``token:<id>``, ``leak:<fingerprint>``,
    ``user:<id>`` (a person), ``Binding/<name>``, ``Guardrail/<name>``, ``policy:<revision>``..."""
    evidence: Mapping[str, Any]
    """Counts, dates and audit sequence numbers that show it."""
    remediation: str
    controls: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The finding as the API, the CLI and the console show it."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "title": self.title,
            "objects": list(self.objects),
            "evidence": dict(self.evidence),
            "remediation": self.remediation,
            "controls": list(self.controls),
        }


def _finding(
    kind: FindingKind,
    severity: Severity,
    title: str,
    objects: Sequence[str],
    evidence: Mapping[str, Any],
    remediation: str,
) -> Finding:
    # The id depends on what is found and where, never on when or on the counts, so a
    # finding keeps its id while it stays unfixed.
    key = "\n".join((kind.value, *objects)).encode()
    return Finding(
        id="pf_" + hashlib.sha256(key).hexdigest()[:20],
        kind=kind,
        severity=severity,
        title=title,
        objects=tuple(objects),
        evidence=evidence,
        remediation=remediation,
        controls=tuple(control.id for control in controls_for(kind.value)),
    )


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The settings posture checks use; see docs/posture.md for each default."""

    dormant_after: timedelta = timedelta(days=30)
    """An agent unseen (and a token unused) for this long is dormant."""
    recertify_within: timedelta = timedelta(days=14)
    """A recertify-by date this close is reported as due."""
    long_lived_token: timedelta = timedelta(days=7)
    """An agent token whose lifetime exceeds this is long-lived."""
    rubber_stamp_min_votes: int = 10
    """An approver needs at least this many votes in the window to be judged."""
    rubber_stamp_approve_rate: float = 0.95
    """...approving at least this share of them..."""
    rubber_stamp_seconds: float = 30.0
    """...with a median time from the approval opening to the vote of at most this."""
    checkpoint_max_age: timedelta = timedelta(days=1)
    """Records newer than the last checkpoint by more than this make it stale."""
    window: timedelta = timedelta(days=30)
    """How far back the audit log is read for decisions and approvals."""
    sensitive_actions: tuple[str, ...] = (
        "rbac.**",
        "iam.**",
        "pam.**",
        "secrets.**",
        "payments.**",
        "*.delete",
        "*.grant",
        "*.assign",
        "*.elevate",
    )
    """Action patterns that should be eligible (JIT), not standing."""
    privilege_actions: tuple[str, ...] = (
        "rbac.**",
        "iam.**",
        "pam.**",
        "*.grant",
        "*.assign",
        "*.elevate",
    )
    """Action patterns that change privileges."""


@dataclass(frozen=True, slots=True)
class DecisionSeen:
    """One decision of the window, as the audit log recorded it."""

    seq: int
    agent: str
    capability: str
    action: str
    effect: str
    on_behalf_of: str | None = None
    rules: tuple[str, ...] = ()
    """The documents its reasons cite: ``Guardrail/<name>``, ``Role/<name>``..."""


@dataclass(frozen=True, slots=True)
class PostureInput:
    """Everything the checks read, gathered at one moment."""

    now: datetime
    agents: tuple[Agent, ...] = ()
    humans: Mapping[str, Human] = field(default_factory=dict)
    """The agents' owners that exist, by id."""
    tokens: Mapping[str, tuple[Credential, ...]] = field(default_factory=dict)
    """Each agent's tokens, by agent id."""
    policy: Policy | None = None
    policy_revision: str | None = None
    policy_tests: int = 0
    grants: tuple[GrantRecord, ...] = ()
    approvals: tuple[Approval, ...] = ()
    """Approvals created in the window."""
    leaks: tuple[Leak, ...] = ()
    rotated: Mapping[str, int] = field(default_factory=dict)
    """Fingerprint -> the audit seq of the record that marked the leak rotated."""
    decisions: tuple[DecisionSeen, ...] = ()
    decisions_truncated: bool = False
    audit_size: int = 0
    last_record_at: datetime | None = None
    checkpoints: tuple[Checkpoint, ...] = ()
    shard_sizes: Mapping[str, int] = field(default_factory=dict)
    """Every audit shard's size, by name ("": the default log); empty: the default log
    alone, of ``audit_size`` records."""
    last_seal: Seal | None = None
    """The newest seal over the shards (docs/scaling.md), if any."""


def _live(agent: Agent) -> bool:
    return agent.status is not AgentStatus.RETIRED


def _high_risk(agent: Agent) -> bool:
    return agent.risk_tier in (RiskTier.HIGH, RiskTier.CRITICAL)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


# -- lifecycle ---------------------------------------------------------------------------


def orphaned(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Live agents whose owner is gone or deactivated: nobody answers for them."""
    for agent in filter(_live, data.agents):
        owner = data.humans.get(agent.owner)
        if owner is not None and owner.active:
            continue
        yield _finding(
            FindingKind.ORPHANED_AGENT,
            Severity.CRITICAL if _high_risk(agent) else Severity.HIGH,
            f"agent {agent.id} has no active owner",
            [f"agent:{agent.id}", agent.owner],
            {
                "owner": agent.owner,
                "owner_exists": owner is not None,
                "risk_tier": agent.risk_tier.value,
            },
            "assign an active owner (charter agents update --owner) or retire the agent",
        )


def recertification(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Live agents past their recertify-by date, or close to it."""
    for agent in filter(_live, data.agents):
        due = agent.recertify_by
        if due is None:
            continue
        left = to_utc(due) - data.now
        evidence = {"recertify_by": _when(due), "days_left": round(left / timedelta(days=1), 1)}
        if left <= timedelta(0):
            yield _finding(
                FindingKind.RECERTIFICATION_OVERDUE,
                Severity.HIGH,
                f"agent {agent.id} is past its recertify-by date",
                [f"agent:{agent.id}"],
                evidence,
                "recertify the agent in an access review, or retire it",
            )
        elif left <= thresholds.recertify_within:
            yield _finding(
                FindingKind.RECERTIFICATION_DUE,
                Severity.LOW,
                f"agent {agent.id} is due for recertification",
                [f"agent:{agent.id}"],
                evidence,
                "start an access review covering the agent before its recertify-by date",
            )


def dormancy(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Active agents unseen for ``dormant_after``, and live tokens unused that long."""
    cutoff = data.now - thresholds.dormant_after
    for agent in data.agents:
        if agent.status is not AgentStatus.ACTIVE:
            continue
        seen = agent.last_seen_at
        if to_utc(agent.created_at) <= cutoff and (seen is None or to_utc(seen) <= cutoff):
            yield _finding(
                FindingKind.DORMANT_AGENT,
                Severity.MEDIUM,
                f"agent {agent.id} has not been seen for "
                f"{thresholds.dormant_after.days} days or more",
                [f"agent:{agent.id}"],
                {"last_seen_at": _when(seen), "created_at": _when(agent.created_at)},
                "suspend or retire the agent if it is no longer needed",
            )
        for token in data.tokens.get(agent.id, ()):
            if not _usable(token, data.now) or to_utc(token.created_at) > cutoff:
                continue
            used = token.last_used_at
            if used is None or to_utc(used) <= cutoff:
                yield _finding(
                    FindingKind.UNUSED_TOKEN,
                    Severity.LOW,
                    f"token {token.id} of agent {agent.id} is unused",
                    [f"token:{token.id}", f"agent:{agent.id}"],
                    {
                        "created_at": _when(token.created_at),
                        "last_used_at": _when(used),
                        "expires_at": _when(token.expires_at),
                    },
                    "revoke the token (charter tokens revoke)",
                )


def _usable(token: Credential, now: datetime) -> bool:
    return token.revoked_at is None and to_utc(token.expires_at) > now


def long_lived_tokens(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Live agent tokens whose lifetime exceeds ``long_lived_token``."""
    for agent in filter(_live, data.agents):
        for token in data.tokens.get(agent.id, ()):
            lifetime = to_utc(token.expires_at) - to_utc(token.created_at)
            if not _usable(token, data.now) or lifetime <= thresholds.long_lived_token:
                continue
            yield _finding(
                FindingKind.LONG_LIVED_TOKEN,
                Severity.HIGH if _high_risk(agent) else Severity.MEDIUM,
                f"token {token.id} of agent {agent.id} lives "
                f"{round(lifetime / timedelta(days=1), 1)} days",
                [f"token:{token.id}", f"agent:{agent.id}"],
                {
                    "lifetime_days": round(lifetime / timedelta(days=1), 1),
                    "created_at": _when(token.created_at),
                    "expires_at": _when(token.expires_at),
                },
                "rotate it for a token of hours, not days (charter tokens issue --ttl)",
            )


# -- privileges --------------------------------------------------------------------------


def _matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    """True for an action pattern that overlaps one of ``patterns``: either side,
    with its wildcards read as a name, matches the other."""
    globs = []
    for pattern in patterns:
        try:
            globs.append(ACTION.compile(pattern))
        except GlobError:
            continue

    def sample(pattern: str) -> str:
        return pattern.replace("**", "x").replace("*", "x")

    def overlaps(pattern: str) -> bool:
        try:
            mine = ACTION.compile(pattern)
        except GlobError:
            return False
        return any(g.matches(sample(pattern)) or mine.matches(sample(g.pattern)) for g in globs)

    return overlaps


def _bound_agents(binding: Binding, agents: Sequence[Agent]) -> list[Agent]:
    chosen = []
    for agent in agents:
        if not _live(agent) or agent.id in binding.exclude_agents:
            continue
        named = agent.id in binding.agents
        selected = binding.selector is not None and all(
            agent.labels.get(key) == value for key, value in binding.selector.items()
        )
        if named or selected:
            chosen.append(agent)
    return chosen


def _in_force(binding: Binding, now: datetime) -> bool:
    return binding.expires_at is None or to_utc(binding.expires_at) > now


def _permissions(policy: Policy, role: str) -> tuple[Permission, ...]:
    for found in policy.roles:
        if found.name == role:
            return found.permissions
    return ()


def standing_sensitive(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Standing bindings that give sensitive actions, which an eligible (JIT) binding
    could give only when needed."""
    if data.policy is None:
        return
    sensitive = _matcher(thresholds.sensitive_actions)
    for binding in data.policy.bindings:
        if binding.activation is not Activation.STANDING or not _in_force(binding, data.now):
            continue
        actions = sorted(
            {
                action
                for permission in _permissions(data.policy, binding.role)
                if permission.capability is Capability.DO
                for action in permission.actions
                if sensitive(action)
            }
        )
        agents = _bound_agents(binding, data.agents)
        if not actions or not agents:
            continue
        yield _finding(
            FindingKind.STANDING_SENSITIVE_PRIVILEGE,
            Severity.HIGH if any(map(_high_risk, agents)) else Severity.MEDIUM,
            f"binding {binding.name} gives sensitive actions as a standing privilege",
            [f"Binding/{binding.name}", *(f"agent:{a.id}" for a in agents)],
            {"role": binding.role, "actions": actions, "agents": [a.id for a in agents]},
            "make the binding eligible (activation: eligible) so each use is approved "
            "and time-bound",
        )


def _wild(pattern: str) -> bool:
    return "*" in pattern


def wildcards(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Wildcard actions or resources given to high and critical agents."""
    if data.policy is None:
        return
    for binding in data.policy.bindings:
        if not _in_force(binding, data.now):
            continue
        risky = [a for a in _bound_agents(binding, data.agents) if _high_risk(a)]
        if not risky:
            continue
        wild: list[str] = []
        for index, permission in enumerate(_permissions(data.policy, binding.role)):
            actions = [a for a in permission.actions if _wild(a)]
            resources = [r for r in permission.resources if _wild(r)]
            if not permission.resources:
                resources = ["(any)"]  # no resources written: any resource
            if actions or resources:
                wild.append(f"permissions[{index}]: actions {actions}, resources {resources}")
        if not wild:
            continue
        yield _finding(
            FindingKind.WILDCARD_ON_HIGH_RISK_AGENT,
            Severity.HIGH,
            f"binding {binding.name} gives wildcard permissions to high-risk agents",
            [f"Binding/{binding.name}", *(f"agent:{a.id}" for a in risky)],
            {"role": binding.role, "permissions": wild, "agents": [a.id for a in risky]},
            "name the actions and resources the agents need instead of wildcards",
        )


def _guards_inference(guardrail: Guardrail, action: str) -> bool:
    conditions = f"{guardrail.when or ''} {guardrail.require or ''}"
    if "derived_from_inference" not in conditions:
        return False
    patterns = guardrail.match.actions
    return not patterns or _matcher(patterns)(action)


def inference_privileges(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Agents that may ``infer`` and also change privileges, where no guardrail looks at
    ``request.derived_from_inference`` for those actions: a model's output could lead
    straight to an escalation."""
    if data.policy is None:
        return
    privileged = _matcher(thresholds.privilege_actions)
    infer: dict[str, set[str]] = defaultdict(set)
    change: dict[str, set[str]] = defaultdict(set)
    for binding in data.policy.bindings:
        if not _in_force(binding, data.now):
            continue
        for agent in _bound_agents(binding, data.agents):
            for permission in _permissions(data.policy, binding.role):
                if permission.capability is Capability.INFER:
                    infer[agent.id].add(binding.name)
                elif permission.capability is Capability.DO:
                    change[agent.id].update(a for a in permission.actions if privileged(a))
    for agent_id in sorted(set(infer) & set(change)):
        unguarded = sorted(
            action
            for action in change[agent_id]
            if not any(_guards_inference(g, action) for g in data.policy.guardrails)
        )
        if not unguarded:
            continue
        yield _finding(
            FindingKind.INFERENCE_CAN_CHANGE_PRIVILEGES,
            Severity.HIGH,
            f"agent {agent_id} may infer and change privileges with no inference guardrail",
            [f"agent:{agent_id}"],
            {"infer_bindings": sorted(infer[agent_id]), "privilege_actions": unguarded},
            "add a guardrail on those actions whose condition reads "
            "request.derived_from_inference (deny or require approval)",
        )


# -- behaviour in the audit log -----------------------------------------------------------


def _step_up_covers(policy: Policy | None, decision: DecisionSeen) -> bool:
    if policy is None:
        return False
    for guardrail in policy.guardrails:
        if guardrail.effect is not GuardrailEffect.REQUIRE_STEP_UP:
            continue
        match = guardrail.match
        if match.capabilities and decision.capability not in match.capabilities:
            continue
        if not match.actions or _matcher(match.actions)(decision.action):
            return True
    return False


def on_behalf_without_step_up(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Actions done on behalf of a person that no step-up guardrail covers: the person
    never confirmed them."""
    seen: dict[tuple[str, str], list[DecisionSeen]] = defaultdict(list)
    for decision in data.decisions:
        if (
            decision.effect == "allow"
            and decision.on_behalf_of
            and decision.capability == Capability.DO.value
            and not _step_up_covers(data.policy, decision)
        ):
            seen[decision.agent, decision.action].append(decision)
    for (agent, action), decisions in sorted(seen.items()):
        people = sorted({d.on_behalf_of or "" for d in decisions})
        yield _finding(
            FindingKind.ON_BEHALF_WITHOUT_STEP_UP,
            Severity.MEDIUM,
            f"agent {agent} did {action} on behalf of people without step-up",
            [f"agent:{agent}", f"action:{action}"],
            {
                "decisions": len(decisions),
                "on_behalf_of": people[:MAX_SEQS],
                "seqs": [d.seq for d in decisions[-MAX_SEQS:]],
            },
            f"add a require_step_up guardrail matching {action} so the person confirms it",
        )


def unrotated_leaks(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Reported leaks nobody has marked rotated: the exposed secret may still work."""
    for leak in data.leaks:
        if leak.fingerprint in data.rotated:
            continue
        yield _finding(
            FindingKind.LEAK_NOT_ROTATED,
            Severity.HIGH,
            f"leaked secret {leak.fingerprint} is not marked rotated",
            [f"leak:{leak.fingerprint}"],
            {
                "reported_at": _when(leak.reported_at),
                "reported_by": leak.reported_by,
                "days_open": round((data.now - to_utc(leak.reported_at)) / timedelta(days=1), 1),
                "ticket": leak.ticket,
            },
            "rotate the secret at its issuer, then mark it rotated "
            "(charter secrets rotated <fingerprint>)",
        )


def rubber_stamps(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Approvers who approve nearly everything within seconds of the approval opening."""
    votes: dict[str, list[tuple[bool, float, str]]] = defaultdict(list)
    for approval in data.approvals:
        for ballot in approval.ballots:
            seconds = (to_utc(ballot.at) - to_utc(approval.created_at)).total_seconds()
            votes[ballot.human].append((ballot.vote is Vote.APPROVE, seconds, approval.id))
    for human, cast in sorted(votes.items()):
        if len(cast) < thresholds.rubber_stamp_min_votes:
            continue
        approved = sum(1 for yes, _, _ in cast if yes)
        rate = approved / len(cast)
        median = statistics.median(seconds for _, seconds, _ in cast)
        if rate < thresholds.rubber_stamp_approve_rate or median > thresholds.rubber_stamp_seconds:
            continue
        yield _finding(
            FindingKind.RUBBER_STAMP_APPROVALS,
            Severity.MEDIUM,
            f"{human} approves {round(rate * 100)}% of requests, "
            f"in a median {round(median)} seconds",
            [human],
            {
                "votes": len(cast),
                "approved": approved,
                "median_seconds": round(median, 1),
                "approvals": [approval for _, _, approval in cast[-MAX_SEQS:]],
            },
            "review the approver's workload and the approval screens; spread approvals "
            "across more approvers or require a quorum of two",
        )


def idle_guardrails(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Guardrails no decision of the window cited: dead rules, or a mis-spelled match."""
    if data.policy is None or not data.decisions:
        return
    cited = Counter(rule for d in data.decisions for rule in d.rules)
    for guardrail in data.policy.guardrails:
        name = f"Guardrail/{guardrail.name}"
        if cited[name]:
            continue
        yield _finding(
            FindingKind.GUARDRAIL_NEVER_MATCHED,
            Severity.LOW,
            f"guardrail {guardrail.name} matched no decision in {thresholds.window.days} days",
            [name],
            {
                "decisions_read": len(data.decisions),
                "decisions_truncated": data.decisions_truncated,
                "match": {
                    "capabilities": [c.value for c in guardrail.match.capabilities],
                    "actions": list(guardrail.match.actions),
                    "resources": list(guardrail.match.resources),
                },
            },
            "check the guardrail's match against real action names (charter policy test), "
            "or remove it",
        )


def untested_policy(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """An active policy with no tests: a change can open access unseen."""
    if data.policy_revision is None or data.policy_tests:
        return
    yield _finding(
        FindingKind.POLICY_WITHOUT_TESTS,
        Severity.MEDIUM,
        "the active policy has no tests",
        [f"policy:{data.policy_revision}"],
        {"revision": data.policy_revision, "tests": 0},
        "add PolicyTest documents and run charter policy test before each apply",
    )


@dataclass(frozen=True, slots=True)
class _Sealing:
    """One shard's size, and the newest signature over it (checkpoint or seal)."""

    shard: str
    records: int
    sealed: int
    since: datetime | None


def _sealings(data: PostureInput) -> list[_Sealing]:
    """Each shard's sealing: the default log by its checkpoints and the seals, every
    other shard by the seals."""
    sizes = dict(data.shard_sizes) or {"": data.audit_size}
    last = data.checkpoints[-1] if data.checkpoints else None
    seal = data.last_seal
    found = []
    for shard, size in sorted(sizes.items()):
        signed: list[tuple[int, datetime]] = []
        if shard == "" and last is not None:
            signed.append((last.tree_size, to_utc(last.at)))
        if seal is not None and shard in seal.shards:
            signed.append((seal.shards[shard].size, to_utc(seal.at)))
        found.append(
            _Sealing(
                shard=shard,
                records=size,
                sealed=max((covered for covered, _ in signed), default=0),
                since=max((at for _, at in signed), default=None),
            )
        )
    return found


def stale_checkpoints(data: PostureInput, thresholds: Thresholds) -> Iterable[Finding]:
    """Audit records left unsealed by a signed checkpoint (or, on a sharded log, a seal)
    for too long, in any shard."""
    if data.last_record_at is None:
        return
    shards = _sealings(data)
    stale = [
        each
        for each in shards
        if each.sealed < each.records
        and (each.since is None or data.now - each.since > thresholds.checkpoint_max_age)
    ]
    if not stale:
        return
    evidence: dict[str, Any] = {
        "records": sum(each.records for each in shards),
        "sealed": sum(each.sealed for each in shards),
        "last_checkpoint_at": _when(min((e.since for e in stale if e.since), default=None)),
    }
    if len(shards) == 1 and shards[0].shard == "" and data.last_seal is None:
        evidence["first_unsealed_seq"] = shards[0].sealed
    else:
        evidence["shards"] = [
            {
                "shard": each.shard,
                "records": each.records,
                "sealed": each.sealed,
                "last_sealed_at": _when(each.since),
                "first_unsealed_index": each.sealed,
            }
            for each in stale
        ]
    yield _finding(
        FindingKind.CHECKPOINT_STALE,
        Severity.MEDIUM,
        "the audit log has records no recent signed checkpoint covers"
        if "shards" not in evidence
        else f"{len(stale)} audit shard(s) have records no recent seal covers",
        ["audit:checkpoints"],
        evidence,
        "check the server signs checkpoints (CHARTER_CHECKPOINT_INTERVAL) or sign one "
        "(POST /v1/audit/checkpoints; on a sharded log, 'charter audit seal'), and copy "
        "them (charter audit checkpoints, GET /v1/audit/seals) to storage outside Charter",
    )


CHECKS: tuple[Callable[[PostureInput, Thresholds], Iterable[Finding]], ...] = (
    orphaned,
    recertification,
    dormancy,
    long_lived_tokens,
    standing_sensitive,
    wildcards,
    inference_privileges,
    on_behalf_without_step_up,
    unrotated_leaks,
    rubber_stamps,
    idle_guardrails,
    untested_policy,
    stale_checkpoints,
)
"""Every check, in the order findings are reported within one severity."""


def check_all(data: PostureInput, thresholds: Thresholds | None = None) -> list[Finding]:
    """Every finding, the most severe first."""
    thresholds = thresholds or Thresholds()
    found = [finding for check in CHECKS for finding in check(data, thresholds)]
    return sorted(found, key=lambda f: f.severity.rank)
