"""``charter.guard``: a tool function that runs only when Charter says ``allow``.

The decorator builds the decision request from each call's arguments, asks a ``Client``,
an ``AsyncClient`` or an embedded ``Engine``, and calls the function only on ``allow``.
Anything else raises before the function runs: ``Denied`` for a deny (and for an approval
that was denied, expired or cancelled), ``ApprovalPending`` for an approval or step-up not
given (yet), ``Unavailable`` when the server cannot be reached or answers what is not a
decision, and whatever else the client raises (an expired token, say). There is no path
from an unexpected answer to the function.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar, cast

from pydantic import ValidationError

from charter.codes import ErrorCode
from charter.errors import ApprovalPending, Denied, Unavailable
from charter.policy.decision import Decision, Request
from charter.policy.engine import Engine
from charter.policy.model import Capability
from charter.sdk.arguments import (
    Arguments,
    Asked,
    ResourceTemplate,
    capability_of,
    field_names,
    fields_source,
    input_source,
    refuse,
    source,
)
from charter.sdk.client import AsyncClient, Client
from charter.secrets import redact
from charter.wire import DecisionOut
from charter.wire_approvals import ApprovalOut, ApprovalTicket

__all__ = ["DEFAULT_WAIT_SECONDS", "guard"]

DEFAULT_WAIT_SECONDS = 60.0
"""How long ``guard(wait=True)`` waits for an approval unless told otherwise."""

P = ParamSpec("P")
R = TypeVar("R")

_ALLOW, _DENY = "allow", "deny"
_KINDS = {"approval_required": "approval", "step_up_required": "step_up"}
_SETTLED = {
    "denied": ErrorCode.APPROVAL_DENIED,
    "expired": ErrorCode.APPROVAL_EXPIRED,
    "cancelled": ErrorCode.APPROVAL_CANCELLED,
}


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A decision as guard reads it, from the server or from the embedded engine."""

    effect: str
    code: str
    reasons: tuple[dict[str, str], ...]
    message: str | None
    redacted: frozenset[str]
    decision_id: str | None = None
    ticket: ApprovalTicket | None = None

    @classmethod
    def of_answer(cls, out: DecisionOut) -> _Verdict:
        try:
            ticket = None if out.approval is None else ApprovalTicket.model_validate(out.approval)
        except ValidationError:
            raise Unavailable(
                "the decision's approval is not what a Charter server sends",
                code=ErrorCode.INVALID_RESPONSE,
            ) from None
        return cls(
            out.decision,
            out.code,
            tuple({key: str(value) for key, value in reason.items()} for reason in out.reasons),
            out.message,
            frozenset(out.redacted_fields),
            out.decision_id,
            ticket,
        )

    @classmethod
    def of_decision(cls, decision: Decision) -> _Verdict:
        return cls(
            decision.effect.value,
            decision.code,
            tuple(reason.to_json() for reason in decision.reasons),
            decision.message or None,
            frozenset(decision.redacted_fields),
        )


def _pending(
    message: str,
    verdict: _Verdict,
    approval_id: str | None,
    kind: str,
    expires_at: datetime | None,
) -> ApprovalPending:
    return ApprovalPending(
        message,
        code=verdict.effect,
        approval_id=approval_id,
        kind=kind,
        decision_id=verdict.decision_id,
        expires_at=expires_at,
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one guard asks for each call, and how it reads the answer."""

    signature: inspect.Signature
    capability: Capability
    action: str
    agent: str | None
    resource: Callable[[Arguments], str]
    attributes: Callable[[Arguments], Any]
    fields: Callable[[Arguments], Any]
    context: Callable[[Arguments], Any]
    input: Callable[[Arguments], Any] | None
    waits: bool
    wait_timeout: float
    redact_output: bool = False

    def ask(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Asked:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = MappingProxyType(bound.arguments)
        context = self.context(arguments)
        attributes = self.attributes(arguments)
        if not isinstance(context, Mapping) or not isinstance(attributes, Mapping):
            raise refuse("context= and resource_attributes= must give mappings")
        return Asked(
            resource=self.resource(arguments),
            resource_attributes=dict(attributes),
            fields=field_names(self.fields(arguments)),
            context=dict(context),
            input=None if self.input is None else self.input(arguments),
        )

    def judge(self, verdict: _Verdict, *, may_wait: bool) -> str | None:
        """``None`` for allow, the approval to wait for if ``may_wait``; else raise."""
        if verdict.effect == _ALLOW:
            return None
        if verdict.effect == _DENY:
            raise Denied(
                verdict.message or f"{self.action} was denied ({verdict.code})",
                code=verdict.code,
                reasons=verdict.reasons,
                decision_id=verdict.decision_id,
            )
        kind = _KINDS.get(verdict.effect)
        if kind is None:
            raise Unavailable(
                f"the server answered an unknown decision {verdict.effect!r}",
                code=ErrorCode.INVALID_RESPONSE,
            )
        ticket = verdict.ticket
        approval_id = ticket.id if ticket is not None else None
        if may_wait and approval_id is not None:
            return approval_id
        message = verdict.message or f"{self.action} needs {kind.replace('_', '-')} first"
        if ticket is None:
            raise _pending(message, verdict, None, kind, None)
        raise _pending(message, verdict, approval_id, ticket.kind or kind, ticket.expires_at)

    def settle(self, verdict: _Verdict, approval: ApprovalOut) -> None:
        """Return if ``approval`` was approved; else raise what became of it."""
        if approval.status == "approved":
            return
        if approval.pending:
            message = f"approval {approval.id} is still pending after {self.wait_timeout} s"
            raise _pending(message, verdict, approval.id, approval.kind, approval.expires_at)
        code = _SETTLED.get(approval.status)
        if code is None:
            raise Unavailable(
                f"approval {approval.id} has an unknown status {approval.status!r}",
                code=ErrorCode.INVALID_RESPONSE,
            )
        raise Denied(
            f"approval {approval.id} for {self.action} was {approval.status}",
            code=code,
            reasons=verdict.reasons,
            decision_id=verdict.decision_id,
        )

    def release(self, result: Any, verdict: _Verdict) -> Any:
        """The function's result, less the redacted fields if it is a mapping."""
        redacted = verdict.redacted if self.capability is Capability.REQUEST else ()
        if redacted and isinstance(result, Mapping):
            return {key: value for key, value in result.items() if key not in verdict.redacted}
        return result

    def request(self, asked: Asked, agent: str) -> Request:
        """The embedded engine's request."""
        return Request(
            agent=agent,
            capability=self.capability,
            action=self.action,
            resource=asked.resource,
            resource_attributes=asked.resource_attributes,
            fields=asked.fields,
            context=asked.context,
        )

    def body(self, asked: Asked) -> dict[str, Any]:
        """The client's ``decide`` arguments."""
        return {
            "resource": asked.resource,
            "agent": self.agent,
            "resource_attributes": asked.resource_attributes,
            "fields": asked.fields,
            "context": asked.context,
            "input": asked.input,
        }


_Decide = Callable[[Asked], _Verdict]
_Wait = Callable[[str, float], ApprovalOut]


def _sync(fn: Callable[..., Any], plan: _Plan, decider: Client | Engine) -> Callable[..., Any]:
    decide: _Decide
    wait: _Wait
    if isinstance(decider, Engine):
        engine, agent = decider, cast(str, plan.agent)

        def decide(asked: Asked) -> _Verdict:
            return _Verdict.of_decision(engine.decide(plan.request(asked, agent)))
    else:
        client = decider

        def decide(asked: Asked) -> _Verdict:
            out = client.decide(plan.capability, plan.action, **plan.body(asked))
            return _Verdict.of_answer(out)

        def wait(approval_id: str, timeout: float) -> ApprovalOut:
            return client.wait_for_approval(approval_id, timeout=timeout)

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        asked = plan.ask(args, kwargs)
        verdict = decide(asked)
        if (waiting := plan.judge(verdict, may_wait=plan.waits)) is not None:
            plan.settle(verdict, wait(waiting, plan.wait_timeout))
            plan.judge(verdict := decide(asked), may_wait=False)
        result = plan.release(fn(*args, **kwargs), verdict)
        if isinstance(decider, Engine) or not _jsonable(result):
            return redact(result) if plan.redact_output else result
        return decider.scan(result, redact=plan.redact_output).content

    return guarded


def _jsonable(result: Any) -> bool:
    """Whether ``result`` holds strings and can be sent to be scanned as JSON."""
    if not isinstance(result, str | Mapping | list | tuple):
        return False
    try:
        json.dumps(result)
    except (TypeError, ValueError):
        return False
    return True


_AsyncDecide = Callable[[Asked], Awaitable[_Verdict]]
_AsyncWait = Callable[[str, float], Awaitable[ApprovalOut]]


def _async(
    fn: Callable[..., Awaitable[Any]], plan: _Plan, decider: AsyncClient | Engine
) -> Callable[..., Any]:
    decide: _AsyncDecide
    wait: _AsyncWait
    if isinstance(decider, Engine):
        engine, agent = decider, cast(str, plan.agent)

        async def decide(asked: Asked) -> _Verdict:
            return _Verdict.of_decision(engine.decide(plan.request(asked, agent)))
    else:
        client = decider

        async def decide(asked: Asked) -> _Verdict:
            out = await client.decide(plan.capability, plan.action, **plan.body(asked))
            return _Verdict.of_answer(out)

        async def wait(approval_id: str, timeout: float) -> ApprovalOut:
            return await client.wait_for_approval(approval_id, timeout=timeout)

    @functools.wraps(fn)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        asked = plan.ask(args, kwargs)
        verdict = await decide(asked)
        if (waiting := plan.judge(verdict, may_wait=plan.waits)) is not None:
            plan.settle(verdict, await wait(waiting, plan.wait_timeout))
            plan.judge(verdict := await decide(asked), may_wait=False)
        result = plan.release(await fn(*args, **kwargs), verdict)
        if isinstance(decider, Engine) or not _jsonable(result):
            return redact(result) if plan.redact_output else result
        return (await decider.scan(result, redact=plan.redact_output)).content

    return guarded


def guard(
    decider: Client | AsyncClient | Engine,
    *,
    capability: Capability | str,
    action: str,
    resource: str | Callable[[Arguments], str],
    agent: str | None = None,
    fields: Sequence[str] | str | Callable[[Arguments], Sequence[str]] = (),
    context: Mapping[str, Any] | Callable[[Arguments], Mapping[str, Any]] | None = None,
    resource_attributes: Mapping[str, Any] | Callable[[Arguments], Mapping[str, Any]] | None = None,
    input: bool | Callable[[Arguments], Any] = True,
    wait: bool = False,
    wait_timeout: float | None = None,
    redact_output: bool = False,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated tool function only when ``decider`` allows the call.

    ``resource`` is a template formatted from the call's arguments
    (``"crm/customer/{customer_id}"``, each placeholder one path segment) or a callable
    of them; ``fields`` a list, the name of the argument holding the list, or a
    callable; ``context`` and ``resource_attributes`` a mapping or a callable of the
    arguments; ``input`` (sent to the server, which scans it for secrets) the call's
    arguments by default, a callable's result, or nothing (``False``). ``agent`` is
    required with an ``Engine`` and with an enforcer's token. ``wait=True`` (or a
    ``wait_timeout`` in seconds, default 60) waits for an approval or step-up and then
    decides again. With ``capability="request"``, a mapping the function returns loses
    the decision's ``redacted_fields`` keys (top level only). Through a server, the
    function's JSON result is scanned and its registered leaks masked;
    ``redact_output=True`` masks every secret found (over an ``Engine`` too).
    """
    chosen = capability_of(capability)
    if wait_timeout is not None and wait_timeout <= 0:
        raise refuse("wait_timeout= must be a positive number of seconds")
    waits = wait or wait_timeout is not None
    if isinstance(decider, Engine):
        if agent is None:
            raise refuse("guard over an embedded Engine needs agent=", help="agent='support-bot'")
        if waits:
            raise refuse("an embedded Engine creates no approvals to wait for")
    elif not isinstance(decider, Client | AsyncClient):
        raise refuse("guard decides through a charter.Client, AsyncClient or Engine")

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        parameters = signature.parameters
        plan = _Plan(
            signature=signature,
            capability=chosen,
            action=action,
            agent=agent,
            resource=ResourceTemplate(resource, parameters)
            if isinstance(resource, str)
            else resource,
            attributes=source(resource_attributes, "resource_attributes", {}),
            fields=fields_source(fields, parameters),
            context=source(context, "context", {}),
            input=input_source(input),
            waits=waits,
            wait_timeout=wait_timeout or DEFAULT_WAIT_SECONDS,
            redact_output=redact_output,
        )
        if inspect.iscoroutinefunction(fn):
            if isinstance(decider, Client):
                raise refuse(
                    f"{fn.__qualname__} is async: guard it with a charter.AsyncClient",
                    help="a blocking Client would hold up the event loop",
                )
            return cast(Callable[P, R], _async(fn, plan, decider))
        if isinstance(decider, AsyncClient):
            raise refuse(
                f"{fn.__qualname__} is not async: guard it with a charter.Client",
                help="an AsyncClient can be awaited only from async code",
            )
        return cast(Callable[P, R], _sync(fn, plan, decider))

    return decorate
