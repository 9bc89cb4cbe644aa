"""The evaluator: ``evaluate(request, snapshot, facts, now) -> Decision``, pure.

It reads nothing but its arguments: no clock, no store, no environment. The steps, in
order, the first that applies deciding:

0. a request whose action, resource, fields, attribute keys or principals are not in
   canonical form (``charter.policy.canonical``) is refused (``invalid_request``);
1. invariants no policy can switch off (unknown, suspended or retired agent; an agent
   acting on Charter's own governance; a registered leak in the request; citations of
   inferences that are not this agent's, recent, allowed ones);
2. deny guardrails whose match and ``when`` hold, and any matching guardrail whose
   ``require`` does not hold;
3. permissions from standing bindings, active grants, or an approval of exactly this
   request; failing those, an eligible binding makes it ``approval_required``;
4. friction guardrails (step-up, approval) not already satisfied by an approval or grant;
5. fields: the requested ones a matching permission allows are released, the rest
   redacted (or the request denied, where a permission says ``onExcessFields: deny``);
6. allow.

A condition that fails to evaluate counts as not satisfied for permissions and
``require``, and as satisfied for guardrails: errors never allow. Every error is in the
decision's ``errors``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from charter.codes import DecisionCode
from charter.identity.agents import AgentStatus
from charter.policy.canonical import non_canonical
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

__all__ = ["BEFORE_PERMISSIONS", "GOVERNANCE_PREFIX", "evaluate", "request_variables"]

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
        # Variables.__init__'s two slots, set here: one call less per request that
        # reaches a condition.
        self._values = self._prepared = None
        self._request, self._agent, self._now = request, agent, now
        self._advisories = advisories
        self.errors: list[str] = []

    def get(self, name: str) -> Any:
        # The context, the variable conditions read most, without the memo when it is a
        # plain dict (``build`` would hand it out as it is anyway).
        if name == "context":
            context = self._request.context
            if type(context) is dict:
                return context
        return Variables.get(self, name)

    def source(self, name: str) -> Any:
        # The caller's context as it is: a remembered outcome then needs no copy of it.
        return self._request.context if name == "context" else self.get(name)

    def build(self, name: str) -> Any:
        request, agent = self._request, self._agent
        if name == "context":
            # The caller's map as it is when it is a plain dict (conditions only read it):
            # a copy per request would cost more than a native condition takes to run.
            context = request.context
            return context if type(context) is dict else dict(context)
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
    # The hot path stays in this one function (local variables, no call per rule, no
    # allocation until a second permission matches); what is rare or decides early
    # (refusals, provenance, guardrails, eligible bindings and grants, fields) is in
    # helpers reached only when needed.
    # 0. One spelling for every name matched on, and 1. the invariants: checked together,
    # and sorted out in order by a helper only when one fails.
    problem = non_canonical(request)
    agent = facts.agent
    action = request.action
    if (
        problem is not None
        or agent is None
        or agent.id != request.agent
        or agent.status is not _ACTIVE
        or action.startswith(GOVERNANCE_PREFIX)
        or facts.leaked
    ):
        return _refusal(request, agent, facts.leaked, problem, snapshot.revision)
    inferred: tuple[Advisory, ...] = ()
    if "derived_from" in request.context:
        traced = provenance(agent.id, request.context, facts, now)
        if traced.problem is not None:
            return _untraced(traced.problem, snapshot.revision)
        inferred = traced.advisories
    capability, resource = request.capability, request.resource
    # Most rules have no condition: the variables appear with the first one.
    variables: _RequestVariables | None = None

    # 2. Deny guardrails, and any guardrail's `require`.
    rules = snapshot.actions.get((capability, action)) or snapshot.rules_for(capability, action)
    friction = None
    if rules.guarded:
        stop, friction, variables = _guardrails(rules, request, agent, now, inferred)
        if stop is not None:
            return stop

    # 3. Permissions: standing bindings here, the rest by a helper. The first permission
    # that matches is kept alone; a list is made only if more match.
    by_role = rules.by_role
    if not snapshot.by_selector:
        standing = snapshot.standing_roles.get(agent.id, ())
        others = snapshot.other_bindings.get(agent.id, ()) if snapshot.other_bindings else ()
    else:
        standing, others = snapshot.split_for(agent.id, agent.labels)
    if facts.withdrawn:  # review outcomes in force: the one check the common path pays
        standing, others, by_role = _withdraw(
            facts.withdrawn, snapshot, agent, by_role, (capability, action)
        )
    first: CompiledPermission | None = None
    matched: list[tuple[CompiledPermission, str | None]] | None = None
    for role in standing:
        permissions = by_role.get(role)
        if permissions is None:
            continue
        for permission in permissions:
            names = permission.resource_names
            if names is not None:
                if resource not in names:
                    continue
            elif not permission.covers_resource(resource):
                continue
            when = permission.when
            if when is not None:
                if variables is None:
                    variables = _RequestVariables(request, agent, now, inferred)
                # `_holds`, in line: nothing but the condition's own call on this path.
                try:
                    if not when.holds(variables):
                        continue
                except ConditionError as error:
                    variables.errors.append(f"{permission.label}.when: {error}")
                    continue
            if first is None:
                first = permission
            elif matched is None:
                matched = [(first, None), (permission, None)]
            else:
                matched.append((permission, None))
    grants = facts.grants
    approved = facts.approval_id is not None
    temporary = bool(others)
    if grants and not temporary:
        # A grant counts only if its role has a permission for this action.
        for grant in grants:
            if grant.role in by_role:
                temporary = True
                break
    if not temporary:
        if first is None:
            if approved:
                matched = []
            elif facts.withdrawn:
                return _revoked(
                    facts.withdrawn, snapshot, rules, variables, request, agent, now, inferred
                )
            else:
                return _answer(snapshot.no_permission, variables)
        # 4. Friction guardrails, unless an approval already satisfies them.
        if friction is not None and not approved:
            return _answer(friction.outcome, variables)
        # 5. Fields, and 6. allow: the common case is an answer built once.
        if first is not None and matched is None and not approved and not request.fields:
            if variables is None or not variables.errors:
                return first.allow
            return _with_errors(first.allow, variables.errors)
        eligible: Decision | None = None
        grant_used = False
    else:
        if matched is None:
            matched = [] if first is None else [(first, None)]
        eligible, grant_used, variables = _temporary(
            others, grants, by_role, matched, variables, request, agent, now, inferred
        )
        if not matched and not approved:
            if eligible is None and facts.withdrawn:
                return _revoked(
                    facts.withdrawn, snapshot, rules, variables, request, agent, now, inferred
                )
            return _answer(eligible or snapshot.no_permission, variables)
        # 4. Friction guardrails, unless an approval or a grant already satisfies them.
        if friction is not None and not (approved or grant_used):
            return _answer(friction.outcome, variables)
        if not request.fields and not approved and len(matched) == 1 and matched[0][1] is None:
            return _answer(matched[0][0].allow, variables)
    if matched is None:
        matched = [(first, None)] if first is not None else []
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
        covering, variables = _covering(
            permissions, request.resource, variables, request, agent, now, inferred
        )
        if covering:
            return _answer(outcome.decision, variables)
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
        covering, variables = _covering(
            permissions, resource, variables, request, agent, now, inferred
        )
        if covering and binding.activation is None:
            matched.extend((permission, None) for permission in covering)
        elif covering:
            eligible = binding.activation
    grant_used = False
    for grant in grants:
        permissions = by_role.get(grant.role)
        if permissions is None or now >= grant.expires_at:
            continue
        covering, variables = _covering(
            permissions, resource, variables, request, agent, now, inferred
        )
        matched.extend((permission, grant.id) for permission in covering)
        grant_used = grant_used or bool(covering)
    return eligible, grant_used, variables


def _covering(
    permissions: tuple[CompiledPermission, ...],
    resource: str,
    variables: _RequestVariables | None,
    request: Request,
    agent: AgentFacts,
    now: datetime,
    inferred: tuple[Advisory, ...],
) -> tuple[list[CompiledPermission], _RequestVariables | None]:
    """The permissions that cover ``resource`` and whose condition holds, and the
    variables (made only if a condition is reached)."""
    found = []
    for permission in permissions:
        if not permission.covers_resource(resource):
            continue
        if permission.when is not None:
            if variables is None:
                variables = _RequestVariables(request, agent, now, inferred)
            if not _holds(variables, permission.when, permission, "when", on_error=False):
                continue
        found.append(permission)
    return found, variables


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
