"""The decision, approval and grant calls of the API, declared once for both clients
(see ``charter.sdk.calls``), and the long-polls that wait for an approval."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core import to_jsonable_python

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.policy.model import Capability
from charter.sdk.calls import Call, drop_none, model, operation, segment
from charter.wire import DecisionBatchOut, DecisionIn, DecisionOut
from charter.wire.decisions import ReachOut
from charter.wire_approvals import ApprovalOut, ApprovalPage, GrantOut, GrantPage

__all__ = ["MAX_POLL_SECONDS", "ApprovalWait", "DecisionCalls", "approval_poll", "cite"]

MAX_POLL_SECONDS = 60
"""The longest single long-poll the server holds (``GET /v1/approvals/{id}/wait``)."""

_BATCH = model(DecisionBatchOut)


def _json(value: Any) -> Any:
    # Tool arguments and context may hold dates, sets or objects: they go as JSON text.
    return to_jsonable_python(value, fallback=str)


def _decision(
    capability: Capability | str,
    action: str,
    resource: str,
    *,
    agent: str | None,
    resource_attributes: Mapping[str, Any] | None,
    fields: Sequence[str] | str,
    context: Mapping[str, Any] | None,
    input: Any,
) -> dict[str, Any]:
    """A decision request as the API takes it (``DecisionIn``; docs/api.md#decisions)."""
    body: dict[str, Any] = {
        "capability": str(capability),
        "action": action,
        "resource": {"id": resource, "attributes": dict(resource_attributes)}
        if resource_attributes
        else resource,
        "fields": [fields] if isinstance(fields, str) else list(fields),
        "context": dict(context or {}),
    }
    if agent is not None:
        body["agent"] = agent
    if input is not None:
        body["input"] = input
    return dict(_json(body))


def approval_poll(approval_id: str, seconds: float) -> Call[ApprovalOut]:
    """One long-poll of an approval, held by the server for up to ``seconds`` (1-60)."""
    held = min(MAX_POLL_SECONDS, max(1, math.ceil(seconds)))
    return Call(
        "GET",
        f"/v1/approvals/{segment(approval_id)}/wait",
        model(ApprovalOut),
        params={"timeout": held},
        # The server holds the answer back on purpose: wait that long and a little more.
        timeout=held + 10.0,
    )


class ApprovalWait:
    """The long-polls of one wait for an approval: each asks for what is left of the time."""

    def __init__(
        self, approval_id: str, timeout: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(timeout, bool) or not math.isfinite(timeout) or timeout < 0:
            raise InvalidInput(
                f"timeout must be a finite number of seconds, at least 0, not {timeout!r}",
                code=ErrorCode.INVALID_TIMEOUT,
            )
        self._id, self._clock = approval_id, clock
        self._deadline = clock() + timeout

    def first(self) -> Call[ApprovalOut]:
        """The first call: a long-poll, or a plain read when there is no time to wait."""
        left = self._deadline - self._clock()
        if left <= 0:
            return Call("GET", f"/v1/approvals/{segment(self._id)}", model(ApprovalOut))
        return approval_poll(self._id, left)

    def next(self, approval: ApprovalOut) -> Call[ApprovalOut] | None:
        """The call to make after ``approval`` came back, if it is still worth waiting."""
        left = self._deadline - self._clock()
        if not approval.pending or left <= 0:
            return None
        return approval_poll(self._id, left)


class DecisionCalls:
    """What a running agent, an enforcer and an approver call."""

    # -- decisions ------------------------------------------------------------------

    @operation
    def decide(
        self,
        capability: Capability | str,
        action: str,
        *,
        resource: str,
        agent: str | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        fields: Sequence[str] | str = (),
        context: Mapping[str, Any] | None = None,
        input: Any = None,
        derived_from: DecisionOut | str | Sequence[DecisionOut | str] | None = None,
    ) -> Call[DecisionOut]:
        """Decide one request (``agent``: only with an enforcer's token); never raises for
        a deny: read ``decision`` (``allow`` is the only yes). ``derived_from`` names the
        inferences (their decisions or ids) this request is built on: they become
        ``context.derived_from``, which the server checks."""
        if derived_from is not None:
            context = {**(context or {}), **cite(derived_from)}
        body = _decision(
            capability,
            action,
            resource,
            agent=agent,
            resource_attributes=resource_attributes,
            fields=fields,
            context=context,
            input=input,
        )
        return Call("POST", "/v1/decisions", model(DecisionOut), json=body)

    @operation
    def decide_batch(
        self, requests: Sequence[DecisionIn | Mapping[str, Any]]
    ) -> Call[list[DecisionOut]]:
        """Decide up to 100 requests (``DecisionIn`` or their JSON) in order."""
        items = [
            item.model_dump(mode="json", exclude_none=True)
            if isinstance(item, DecisionIn)
            else _json(item)
            for item in requests
        ]
        return Call(
            "POST",
            "/v1/decisions/batch",
            lambda response: _BATCH(response).decisions,
            json={"requests": items},
        )

    @operation
    def reach(
        self,
        actions: Sequence[tuple[Capability | str, str]],
        *,
        agent: str | None = None,
    ) -> Call[ReachOut]:
        """Whether the agent could ever be allowed each ``(capability, action)``, for some
        resource (``agent``: only with an enforcer's token). An upper bound, to hide what
        it may never do: a ``possible`` action is still decided call by call."""
        body: dict[str, Any] = {
            "actions": [
                {"capability": str(capability), "action": action} for capability, action in actions
            ]
        }
        if agent is not None:
            body["agent"] = agent
        return Call("POST", "/v1/decisions/reach", model(ReachOut), json=body)

    # -- approvals and grants -------------------------------------------------------

    @operation
    def list_approvals(
        self,
        *,
        status: str | None = None,
        agent: str | None = None,
        resource: str | None = None,
        mine: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Call[ApprovalPage]:
        """One page of approvals (``status``: pending, approved, denied, expired, cancelled;
        ``resource``: for that resource only; ``mine``: only those asking the caller to
        decide)."""
        params = drop_none(
            {
                "status": status,
                "agent": agent,
                "resource": resource,
                "mine": "true" if mine else None,
                "limit": limit,
                "cursor": cursor,
            }
        )
        return Call("GET", "/v1/approvals", model(ApprovalPage), params=params)

    @operation
    def get_approval(self, approval_id: str) -> Call[ApprovalOut]:
        """One approval, with its votes."""
        return Call("GET", f"/v1/approvals/{segment(approval_id)}", model(ApprovalOut))

    @operation
    def approve(self, approval_id: str, *, reason: str) -> Call[ApprovalOut]:
        """Vote to approve (humans in the approver set)."""
        path = f"/v1/approvals/{segment(approval_id)}/approve"
        return Call("POST", path, model(ApprovalOut), json={"reason": reason})

    @operation
    def deny(self, approval_id: str, *, reason: str) -> Call[ApprovalOut]:
        """Vote to deny (humans in the approver set)."""
        path = f"/v1/approvals/{segment(approval_id)}/deny"
        return Call("POST", path, model(ApprovalOut), json={"reason": reason})

    @operation
    def list_grants(
        self,
        *,
        agent: str | None = None,
        status: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Call[GrantPage]:
        """One page of JIT grants."""
        params = drop_none({"agent": agent, "status": status, "limit": limit, "cursor": cursor})
        return Call("GET", "/v1/grants", model(GrantPage), params=params)

    @operation
    def revoke_grant(self, grant_id: str, *, reason: str = "") -> Call[GrantOut]:
        """Revoke a grant before it expires."""
        path = f"/v1/grants/{segment(grant_id)}/revoke"
        return Call("POST", path, model(GrantOut), json={"reason": reason})


def cite(inferences: DecisionOut | str | Sequence[DecisionOut | str]) -> dict[str, list[str]]:
    """The context entry that carries provenance from inferences to the action built on
    them: ``{"derived_from": [decision ids]}``, from allowed ``infer`` decisions (as
    ``decide`` answered them) or their ids."""
    items = [inferences] if isinstance(inferences, DecisionOut | str) else list(inferences)
    ids = []
    for item in items:
        if isinstance(item, DecisionOut):
            if item.decision != "allow":
                raise InvalidInput(
                    f"decision {item.decision_id} was {item.decision}: only an allowed "
                    "inference may be cited",
                    code=ErrorCode.INVALID_PROVENANCE,
                )
            ids.append(item.decision_id)
        else:
            ids.append(item)
    return {"derived_from": ids}
