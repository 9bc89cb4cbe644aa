"""Charter for the OpenAI Agents SDK: ``CharterApprovals``.

``approvals = CharterApprovals(Gate(client, tools=...))`` and ``approvals.govern(tool)``
(for each ``FunctionTool``) give a tool two things, both backed by Charter decisions:

- a ``needs_approval`` callable: when Charter answers ``approval_required`` or
  ``step_up_required``, the run stops with the call in ``result.interruptions``;
- a tool input guardrail, run just before the tool would: ``allow`` lets it run, a deny
  (or any error, or Charter unreachable) rejects it, and the model gets the reason
  instead of a result.

``approvals.resolve(result)`` (``await approvals.aresolve(result)``) turns the run into
a ``RunState`` whose interruptions are answered from Charter's approval state:
``state.approve`` only for an approval a human granted, ``state.reject`` (with the
reason) for one denied, expired or cancelled (or that Charter cannot be asked about);
still pending ones, and interruptions this object did not ask for, are left as they are.
Run ``Runner.run(agent, state)`` to continue. An approved call is decided again by the
guardrail, so a ``state.approve`` made without Charter's approval never runs the tool.

The approval ids are kept in this object, by tool call id: resolve a run with the
``CharterApprovals`` that ran it. Needs ``pip install 'charter[openai-agents]'``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

from agents import (
    FunctionTool,
    RunContextWrapper,
    RunResult,
    RunResultStreaming,
    RunState,
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
)
from agents.items import ToolApprovalItem

from charter.adapters.gate import Gate, Settled, Verdict

__all__ = ["CharterApprovals"]

_NeedsApproval = Callable[[RunContextWrapper[Any], dict[str, Any], str], Awaitable[bool]]


def _arguments(raw: str | None) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw or "{}")
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class CharterApprovals:
    """Charter's decisions as tool approvals and a tool input guardrail (see the module)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.guardrail: ToolInputGuardrail[Any] = ToolInputGuardrail(
            guardrail_function=self._check, name="charter"
        )
        # Verdicts asked for by needs_approval, by tool call id: an allow or a deny is
        # reused once by the guardrail (one decision per call); a pending one names the
        # approval that resolve() reads.
        self._asked: dict[str, tuple[str, Verdict]] = {}

    def govern(self, tool: FunctionTool) -> FunctionTool:
        """``tool`` with Charter's ``needs_approval`` and guardrail (a new ``FunctionTool``)."""
        guardrails = [*(tool.tool_input_guardrails or []), self.guardrail]
        return dataclasses.replace(
            tool, needs_approval=self.needs_approval(tool.name), tool_input_guardrails=guardrails
        )

    def needs_approval(self, tool: str) -> _NeedsApproval:
        """The ``needs_approval`` callable of ``tool``: true when Charter wants a human."""

        async def ask(_ctx: RunContextWrapper[Any], params: dict[str, Any], call_id: str) -> bool:
            verdict = await self.gate.adecide(tool, params)
            self._asked[call_id] = (json.dumps(params, sort_keys=True, default=str), verdict)
            return verdict.effect == "pending"

        return ask

    async def _check(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        call = data.context
        arguments = _arguments(call.tool_arguments)
        if arguments is None:
            return ToolGuardrailFunctionOutput.reject_content(
                f"{call.tool_name}: its arguments are not a JSON object; not run"
            )
        verdict = self._reuse(call.tool_call_id, arguments)
        if verdict is None:
            verdict = await self.gate.adecide(call.tool_name, arguments)
        if verdict.allowed:
            return ToolGuardrailFunctionOutput.allow(verdict.payload())
        if verdict.effect == "pending":
            return ToolGuardrailFunctionOutput.reject_content(
                f"{call.tool_name} was approved in the run, but Charter has not granted "
                f"approval {verdict.approval_id}: not run",
                verdict.payload(),
            )
        return ToolGuardrailFunctionOutput.reject_content(verdict.message, verdict.payload())

    def _reuse(self, call_id: str, arguments: dict[str, Any]) -> Verdict | None:
        """The allow or deny needs_approval just got for this very call, used once."""
        asked = self._asked.pop(call_id, None)
        if asked is None or asked[1].effect == "pending":
            return None  # an approval was asked for: decide again now
        same = asked[0] == json.dumps(arguments, sort_keys=True, default=str)
        return asked[1] if same else None

    def pending(self, item: ToolApprovalItem) -> Verdict | None:
        """Charter's answer that interrupted the run at ``item`` (its ``approval_id``,
        ``link`` to the console...), if this object asked."""
        asked = None if item.call_id is None else self._asked.get(item.call_id)
        return None if asked is None else asked[1]

    def approval_id(self, item: ToolApprovalItem) -> str | None:
        """The Charter approval a run's interruption waits on, if this object asked."""
        verdict = self.pending(item)
        return None if verdict is None else verdict.approval_id

    def resolve(
        self, result: RunResult | RunResultStreaming, *, wait: float = 0.0
    ) -> RunState[Any]:
        """The run's state, its interruptions answered as Charter has them (blocking;
        waits up to ``wait`` seconds for each approval still pending)."""
        state = result.to_state()
        for item in result.interruptions:
            approval_id = self.approval_id(item)
            if approval_id is not None:
                self._answer(state, item, self.gate.approval(approval_id, wait=wait))
        return state

    async def aresolve(
        self, result: RunResult | RunResultStreaming, *, wait: float = 0.0
    ) -> RunState[Any]:
        """``resolve``, awaited."""
        state = result.to_state()
        for item in result.interruptions:
            approval_id = self.approval_id(item)
            if approval_id is not None:
                self._answer(state, item, await self.gate.aapproval(approval_id, wait=wait))
        return state

    def _answer(self, state: RunState[Any], item: ToolApprovalItem, settled: Settled) -> None:
        if settled.approved:
            state.approve(item)  # the guardrail still decides the call before it runs
        elif settled.status != "pending":
            state.reject(item, rejection_message=f"not approved: {settled.message}")
            if item.call_id is not None:  # a rejected call never reaches the guardrail
                self._asked.pop(item.call_id, None)
