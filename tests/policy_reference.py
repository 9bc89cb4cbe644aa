"""The evaluator as it was before its hot path was optimised, kept as the reference the
optimised one must agree with (tests/test_evaluate_differential.py): every decision,
reasons, errors and fields included. Straight code over the compiled snapshot, with
the canonical-form check run in full (no remembered names) every time.

Do not optimise this file: its point is to stay the plain algorithm.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from charter.codes import DecisionCode
from charter.identity.agents import AgentStatus
from charter.identity.names import AGENT_ID_PATTERN, HUMAN_ID_PATTERN
from charter.policy.compiled import (
    ActionRules,
    CompiledBinding,
    CompiledGuardrail,
    CompiledPermission,
    CompiledWithdrawal,
    Condition,
    ConditionError,
    Snapshot,
    Variables,
    split_bindings,
)
from charter.policy.decision import (
    Advisory,
    AgentFacts,
    Decision,
    Effect,
    Facts,
    Grant,
    Reason,
    Request,
    WithdrawalKind,
)
from charter.policy.model import Capability, ExcessFields
from charter.policy.provenance import provenance

__all__ = ["evaluate", "non_canonical"]

_ACTION = re.compile(r"[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)*")
_SEGMENT = r"[A-Za-z0-9_.:@=+-]*[A-Za-z0-9_:@=+-]"
RESOURCE_ID = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
"""A canonical resource id (use ``fullmatch``)."""
ATTRIBUTE_KEY = re.compile(r"[a-z_][a-z0-9_]*")
"""A canonical resource attribute key (use ``fullmatch``)."""
FIELD = re.compile(r"[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)*")
"""A canonical field name (use ``fullmatch``)."""
_AGENT = re.compile(AGENT_ID_PATTERN)
_HUMAN = re.compile(HUMAN_ID_PATTERN)


def _action_problem(action: str) -> str | None:
    if not isinstance(action, str):
        return f"action {action!r} is not a string"
    if _ACTION.fullmatch(action) is None:
        return (
            f"action {action!r} is not canonical: lowercase ASCII letters, digits, '_' "
            "and '-' in segments joined by single dots"
        )
    return None


def _fields_problem(fields: tuple[str, ...]) -> str | None:
    for name in fields:
        if not isinstance(name, str) or FIELD.fullmatch(name) is None:
            return (
                f"field {name!r} is not canonical: lowercase ASCII letters, digits, '_' and "
                "'-' in segments joined by single dots"
            )
    return None


def _attributes_problem(attributes: Mapping[str, Any]) -> str | None:
    for key in attributes:
        if not isinstance(key, str) or ATTRIBUTE_KEY.fullmatch(key) is None:
            return (
                f"resource attribute {key!r} is not canonical: lowercase ASCII letters, "
                "digits and '_', not starting with a digit"
            )
    return None


def _on_behalf_of_problem(context: Mapping[str, Any]) -> str | None:
    if "on_behalf_of" not in context:
        return None
    value = context["on_behalf_of"]
    if isinstance(value, str) and _HUMAN.fullmatch(value) is not None:
        return None
    return (
        f"context.on_behalf_of {value!r} is not one human id: 'user:' then lowercase "
        "letters, digits, '.', '_' or '-', e.g. 'user:bob'"
    )


def _non_finite(value: Any) -> bool:
    """Whether ``value`` holds a NaN or an infinity, at any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is float:
            if not math.isfinite(item):
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _numbers_problem(request: Request) -> str | None:
    for name, values in (
        ("context", request.context),
        ("resource attributes", request.resource_attributes),
    ):
        if values and _non_finite(values):
            return f"the {name} hold a number that is not finite (NaN or infinity)"
    return None


def non_canonical(request: Request) -> str | None:
    """Why ``request`` is not in canonical form, or None when it is."""
    if not isinstance(request.agent, str) or _AGENT.fullmatch(request.agent) is None:
        return f"agent {request.agent!r} is not a canonical agent id"
    problem = _action_problem(request.action)
    if problem is not None:
        return problem
    if not isinstance(request.resource, str) or RESOURCE_ID.fullmatch(request.resource) is None:
        return (
            f"resource {request.resource!r} is not canonical: ASCII letters, digits and "
            "'_ . : @ = + -' in non-empty segments joined by single slashes, no '.' or '..' "
            "segment, none ending in '.'"
        )
    if request.fields:
        problem = _fields_problem(request.fields)
        if problem is not None:
            return problem
    if request.resource_attributes:
        problem = _attributes_problem(request.resource_attributes)
        if problem is not None:
            return problem
    if request.context:
        problem = _on_behalf_of_problem(request.context)
        if problem is not None:
            return problem
    return _numbers_problem(request)


_ACTIVE = AgentStatus.ACTIVE
GOVERNANCE_PREFIX = "charter."
"""Actions on Charter itself (approving, reviewing, authoring policy): never an agent's."""


class _RequestVariables(Variables):
    """The CEL variables of one request: ``agent``, ``resource``, ``request``, ``context``,
    ``now``; and the errors its conditions met. Created only when a rule with a
    condition is reached."""

    __slots__ = ("_advisories", "_agent", "_now", "_request", "errors")

    def __init__(
        self,
        request: Request,
        agent: AgentFacts,
        now: datetime,
        advisories: tuple[Advisory, ...] = (),
    ) -> None:
        super().__init__()
        self._request, self._agent, self._now = request, agent, now
        self._advisories = advisories
        self.errors: list[str] = []

    def source(self, name: str) -> Any:
        # The caller's context as it is: a remembered outcome then needs no copy of it.
        return self._request.context if name == "context" else self.get(name)

    def build(self, name: str) -> Any:
        request, agent = self._request, self._agent
        if name == "context":
            return dict(request.context)
        if name == "agent":
            return {
                "id": agent.id,
                "owner": agent.owner,
                "labels": dict(agent.labels),
                "riskTier": agent.risk_tier.value,
            }
        if name == "resource":
            return {"id": request.resource, "attributes": dict(request.resource_attributes)}
        if name == "request":
            return {
                "capability": request.capability.value,
                "action": request.action,
                "fields": list(request.fields),
                "derived_from_inference": bool(self._advisories),
                "inference_actions": [advisory.action for advisory in self._advisories],
                "secrets": [
                    {"type": f.type, "confidence": f.confidence, "path": f.path}
                    for f in request.secrets
                ],
            }
        if name == "now":
            return self._now
        raise KeyError(name)


def request_variables(
    request: Request, agent: AgentFacts, now: datetime, advisories: tuple[Advisory, ...] = ()
) -> Variables:
    """The condition variables of ``request`` (built lazily)."""
    return _RequestVariables(request, agent, now, advisories)


def _holds(
    variables: _RequestVariables,
    condition: Condition,
    owner: CompiledPermission | CompiledGuardrail,
    part: str,
    *,
    on_error: bool,
) -> bool:
    try:
        return condition.holds(variables)
    except ConditionError as error:
        # Named only on error: formatting the label for every evaluation costs more than
        # many conditions take to run.
        variables.errors.append(f"{owner.label}.{part}: {error}")
        return on_error


def _with_errors(decision: Decision, errors: list[str]) -> Decision:
    """``decision`` (built ahead of time) with the request's condition errors, if any."""
    return replace(decision, errors=tuple(errors)) if errors else decision


def _answer(decision: Decision, variables: _RequestVariables | None) -> Decision:
    return decision if variables is None else _with_errors(decision, variables.errors)


def _deny(code: DecisionCode, reason: Reason, revision: str, errors: list[str]) -> Decision:
    return Decision(
        effect=Effect.DENY,
        code=code,
        reasons=(reason,),
        errors=tuple(errors),
        policy_revision=revision,
        message=reason.message,
    )


def _unknown(request: Request, revision: str) -> Decision:
    return _deny(
        DecisionCode.AGENT_UNKNOWN,
        Reason("invariant", "known_agent", Effect.DENY, f"unknown agent {request.agent!r}"),
        revision,
        [],
    )


_INACTIVE = {
    AgentStatus.SUSPENDED: DecisionCode.AGENT_SUSPENDED,
    AgentStatus.RETIRED: DecisionCode.AGENT_RETIRED,
}

BEFORE_PERMISSIONS = frozenset(
    {DecisionCode.AGENT_UNKNOWN, *_INACTIVE.values(), DecisionCode.AGENT_GOVERNANCE}
    | {DecisionCode.LEAKED_SECRET, DecisionCode.INVALID_PROVENANCE}
    | {DecisionCode.GUARDRAIL, DecisionCode.REQUIREMENT_UNMET}
)
"""The codes the invariants and the deny guardrails decide, before any permission counts:
grants and approvals, which only add permissions, cannot change these decisions."""


def _refused(agent: AgentFacts, revision: str) -> Decision:
    """An agent that is not active, or an action on Charter's own governance."""
    if agent.status is not AgentStatus.ACTIVE:
        return _deny(
            _INACTIVE[agent.status],
            Reason("invariant", "active_agent", Effect.DENY, f"the agent is {agent.status.value}"),
            revision,
            [],
        )
    return _deny(
        DecisionCode.AGENT_GOVERNANCE,
        Reason(
            "invariant",
            "humans_govern",
            Effect.DENY,
            "agents never approve, review or author policy",
        ),
        revision,
        [],
    )


def _leaked(fingerprints: tuple[str, ...], revision: str) -> Decision:
    return _deny(
        DecisionCode.LEAKED_SECRET,
        Reason(
            "invariant",
            "no_leaked_secrets",
            Effect.DENY,
            f"the request carries a secret reported leaked ({', '.join(fingerprints)})",
        ),
        revision,
        [],
    )


def _invalid(problem: str, revision: str) -> Decision:
    return _deny(
        DecisionCode.INVALID_REQUEST,
        Reason("invariant", "canonical_request", Effect.DENY, problem),
        revision,
        [],
    )


def evaluate(request: Request, snapshot: Snapshot, facts: Facts, now: datetime) -> Decision:
    """Decide ``request`` against ``snapshot`` given ``facts`` at ``now``."""
    # The hot path stays in this one function (local variables, no call per rule); what
    # is rare or decides early (refusals, provenance, guardrails, eligible bindings and
    # grants, fields) is in helpers reached only when needed.
    # 0. One spelling for every name matched on, and 1. the invariants: checked together,
    # and sorted out in order by a helper only when one fails.
    problem = non_canonical(request)
    agent = facts.agent
    if (
        problem is not None
        or agent is None
        or agent.id != request.agent
        or agent.status is not _ACTIVE
        or request.action.startswith(GOVERNANCE_PREFIX)
        or facts.leaked
    ):
        return _refusal(request, agent, facts.leaked, problem, snapshot.revision)
    inferred: tuple[Advisory, ...] = ()
    if "derived_from" in request.context:
        traced = provenance(agent.id, request.context, facts, now)
        if traced.problem is not None:
            return _untraced(traced.problem, snapshot.revision)
        inferred = traced.advisories
    capability, action, resource = request.capability, request.action, request.resource
    key = (capability, action)
    # Most rules have no condition: the variables appear with the first one.
    variables: _RequestVariables | None = None

    # 2. Deny guardrails, and any guardrail's `require`.
    rules = snapshot.actions.get(key) or snapshot.rules_for(capability, action)
    friction = None
    if rules.deny or rules.friction:
        stop, friction, variables = _guardrails(rules, request, agent, now, inferred)
        if stop is not None:
            return stop

    # 3. Permissions: standing bindings here, the rest by a helper.
    matched: list[tuple[CompiledPermission, str | None]] = []
    by_role = rules.by_role
    standing, others = snapshot.split_for(agent.id, agent.labels)
    if facts.withdrawn:  # review outcomes in force: the one check the common path pays
        standing, others, by_role = _withdraw(facts.withdrawn, snapshot, agent, by_role, key)
    for role in standing:
        permissions = by_role.get(role)
        if permissions is None:
            continue
        for permission in permissions:
            if not permission.covers_resource(resource):
                continue
            if permission.when is not None:
                variables = variables or _RequestVariables(request, agent, now, inferred)
                if not _holds(variables, permission.when, permission, "when", on_error=False):
                    continue
            matched.append((permission, None))
    eligible: Decision | None = None  # the approval an eligible binding asks for
    grant_used = False
    if others or facts.grants:
        eligible, grant_used, variables = _temporary(
            others, facts.grants, by_role, matched, variables, request, agent, now, inferred
        )
    approved = facts.approval_id is not None
    if not matched and not approved:
        if eligible is None and facts.withdrawn:
            return _revoked(
                facts.withdrawn, snapshot, rules, variables, request, agent, now, inferred
            )
        return _answer(eligible or snapshot.no_permission, variables)

    # 4. Friction guardrails, unless an approval or a grant already satisfies them.
    if friction is not None and not (approved or grant_used):
        return _answer(friction.outcome, variables)

    # 5. Fields, and 6. allow.
    if not request.fields and not approved and len(matched) == 1 and matched[0][1] is None:
        return _answer(matched[0][0].allow, variables)  # the common case: built once
    errors = variables.errors if variables is not None else []
    return _allow(request, matched, facts.approval_id, eligible, snapshot.revision, errors)


def _withdraw(
    withdrawn: tuple[CompiledWithdrawal, ...],
    snapshot: Snapshot,
    agent: AgentFacts,
    by_role: dict[str, tuple[CompiledPermission, ...]],
    key: tuple[Capability, str],
) -> tuple[tuple[str, ...], tuple[CompiledBinding, ...], dict[str, tuple[CompiledPermission, ...]]]:
    """Step 3's inputs with the agent's review outcomes in force applied: each withdrawn
    binding left out (revoke), or put back with its narrower role (reduce) or as an
    eligible binding (make eligible). Per binding: another binding giving the same role
    still gives it. An outcome compiled for another revision withdraws its binding
    outright: outcomes never give more, even when the caller's cache is stale."""
    replaced = {w.withdrawal.binding: w for w in withdrawn}
    bindings: list[CompiledBinding] = []
    roles = by_role
    for binding in snapshot.bindings_for(agent.id, agent.labels):
        outcome = replaced.get(binding.binding.name)
        if outcome is None:
            bindings.append(binding)
        elif outcome.replacement is not None and outcome.revision == snapshot.revision:
            bindings.append(outcome.replacement)
            if outcome.index is not None:
                if roles is by_role:
                    roles = dict(by_role)
                permissions = outcome.index.candidates(*key)
                if permissions:
                    roles[outcome.replacement.role] = permissions
    standing, others = split_bindings(tuple(bindings))
    return standing, others, roles


def _revoked(
    withdrawn: tuple[CompiledWithdrawal, ...],
    snapshot: Snapshot,
    rules: ActionRules,
    variables: _RequestVariables | None,
    request: Request,
    agent: AgentFacts,
    now: datetime,
    inferred: tuple[Advisory, ...],
) -> Decision:
    """The default deny, unless a binding revoked or reduced by a review would have
    covered the request without that outcome: then ``revoked_by_review``, naming the
    review item."""
    withdrawals = {w.withdrawal.binding: w for w in withdrawn}
    for binding in snapshot.bindings_for(agent.id, agent.labels):
        outcome = withdrawals.get(binding.binding.name)
        if outcome is None or outcome.withdrawal.kind is WithdrawalKind.MAKE_ELIGIBLE:
            continue
        if binding.expires_at is not None and now >= binding.expires_at:
            continue
        permissions = rules.by_role.get(binding.role)
        if not permissions:
            continue
        variables = variables or _RequestVariables(request, agent, now, inferred)
        if _covering(permissions, request.resource, variables):
            return _with_errors(outcome.decision, variables.errors)
    return _answer(snapshot.no_permission, variables)


def _refusal(
    request: Request,
    agent: AgentFacts | None,
    leaked: tuple[str, ...],
    problem: str | None,
    revision: str,
) -> Decision:
    """Steps 0 and 1 but provenance, in order, for a request one of them refuses."""
    if problem is not None:
        return _invalid(problem, revision)
    if agent is None or agent.id != request.agent:
        return _unknown(request, revision)
    if agent.status is not _ACTIVE or request.action.startswith(GOVERNANCE_PREFIX):
        return _refused(agent, revision)
    return _leaked(leaked, revision)


def _untraced(problem: str, revision: str) -> Decision:
    return _deny(
        DecisionCode.INVALID_PROVENANCE,
        Reason("invariant", "provenance", Effect.DENY, problem),
        revision,
        [],
    )


def _guardrails(
    rules: ActionRules,
    request: Request,
    agent: AgentFacts,
    now: datetime,
    inferred: tuple[Advisory, ...],
) -> tuple[Decision | None, CompiledGuardrail | None, _RequestVariables | None]:
    """Step 2: the decision of the first deny guardrail that applies or guardrail whose
    ``require`` fails (else None); the first friction guardrail that applies (for step
    4); and the variables, if a condition was reached."""
    resource = request.resource
    variables: _RequestVariables | None = None
    for guard in rules.deny:
        if not guard.covers_resource(resource):
            continue
        if guard.when is not None:
            variables = variables or _RequestVariables(request, agent, now, inferred)
            if not _holds(variables, guard.when, guard, "when", on_error=True):
                continue
        return _answer(guard.outcome, variables), None, variables
    friction = None
    for guard in rules.friction:
        if not guard.covers_resource(resource):
            continue
        if guard.when is not None:
            variables = variables or _RequestVariables(request, agent, now, inferred)
            if not _holds(variables, guard.when, guard, "when", on_error=True):
                continue
        if guard.require is not None:
            variables = variables or _RequestVariables(request, agent, now, inferred)
            if not _holds(variables, guard.require, guard, "require", on_error=False):
                return _answer(guard.unmet, variables), None, variables
        friction = friction or guard
    return None, friction, variables


def _temporary(
    others: tuple[CompiledBinding, ...],
    grants: tuple[Grant, ...],
    by_role: dict[str, tuple[CompiledPermission, ...]],
    matched: list[tuple[CompiledPermission, str | None]],
    variables: _RequestVariables | None,
    request: Request,
    agent: AgentFacts,
    now: datetime,
    inferred: tuple[Advisory, ...],
) -> tuple[Decision | None, bool, _RequestVariables | None]:
    """Step 3 for eligible and expiring bindings and for grants (rarer than standing
    bindings): their permissions are added to ``matched``. The approval an eligible
    binding asks for (or None), whether a grant matched, and the variables."""
    resource = request.resource
    eligible: Decision | None = None
    for binding in others:
        permissions = by_role.get(binding.role)
        if permissions is None or (binding.activation is not None and eligible is not None):
            continue
        if binding.expires_at is not None and now >= binding.expires_at:
            continue
        variables = variables or _RequestVariables(request, agent, now, inferred)
        covering = _covering(permissions, resource, variables)
        if covering and binding.activation is None:
            matched.extend((permission, None) for permission in covering)
        elif covering:
            eligible = binding.activation
    grant_used = False
    for grant in grants:
        permissions = by_role.get(grant.role)
        if permissions is None or now >= grant.expires_at:
            continue
        variables = variables or _RequestVariables(request, agent, now, inferred)
        covering = _covering(permissions, resource, variables)
        matched.extend((permission, grant.id) for permission in covering)
        grant_used = grant_used or bool(covering)
    return eligible, grant_used, variables


def _covering(
    permissions: tuple[CompiledPermission, ...], resource: str, variables: _RequestVariables
) -> list[CompiledPermission]:
    """The permissions that cover ``resource`` and whose condition holds."""
    return [
        permission
        for permission in permissions
        if permission.covers_resource(resource)
        and (
            permission.when is None
            or _holds(variables, permission.when, permission, "when", on_error=False)
        )
    ]


def _allow(
    request: Request,
    matched: list[tuple[CompiledPermission, str | None]],
    approval_id: str | None,
    eligible: Decision | None,
    revision: str,
    errors: list[str],
) -> Decision:
    """Steps 5 and 6 in full: fields released or redacted, then the allow."""
    approved = approval_id is not None
    released, redacted = _fields(request, [p for p, _ in matched], approved)
    strict = [p for p, _ in matched if p.on_excess_fields is ExcessFields.DENY]
    # Only when every matching permission says deny: permissions add up, so a role that
    # would allow with redaction is not taken away by another role (removing a binding
    # never grants more).
    if redacted and len(strict) == len(matched):
        if eligible is not None and not approved:
            # The standing permissions refuse these fields; the eligible route is still open.
            return _with_errors(eligible, errors)
        return _deny(
            DecisionCode.EXCESS_FIELDS,
            Reason(
                f"Role/{strict[0].role}",
                f"permissions[{strict[0].index}]",
                Effect.DENY,
                f"fields not released: {', '.join(redacted)}",
            ),
            revision,
            errors,
        )
    reasons = [
        p.reason if grant is None else replace(p.reason, message=f"through grant {grant}")
        for p, grant in matched
    ]
    if approved:
        reasons.append(Reason(f"Approval/{approval_id}", "approved", Effect.ALLOW))
    return Decision(
        effect=Effect.ALLOW,
        code=DecisionCode.ALLOWED,
        reasons=tuple(reasons),
        errors=tuple(errors),
        released_fields=released,
        redacted_fields=redacted,
        policy_revision=revision,
    )


def _fields(
    request: Request, matched: list[CompiledPermission], approved: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not request.fields:
        return (), ()
    if approved or any(p.fields is None for p in matched):
        return tuple(request.fields), ()
    allowed: set[str] = set()
    for permission in matched:
        allowed |= permission.fields or frozenset()
    released = tuple(f for f in request.fields if f in allowed)
    redacted = tuple(f for f in request.fields if f not in allowed)
    return released, redacted
