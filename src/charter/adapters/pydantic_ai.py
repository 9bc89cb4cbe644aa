"""Charter for Pydantic AI agents: ``CharterToolset`` and ``charter_results``.

``CharterToolset(toolset, Gate(client, tools=...))`` wraps any toolset so that each
call asks Charter first:

- ``allow``: the tool runs;
- ``deny`` (or any error, or Charter unreachable): the tool does not run; the model
  gets the reason as a failed tool result (``ToolFailed``);
- ``approval_required`` / ``step_up_required``: the tool raises ``ApprovalRequired``
  with the approval id and console link as the call's metadata, so the run ends with
  ``DeferredToolRequests`` (give the agent ``output_type=[..., DeferredToolRequests]``).

``charter_results(gate, requests)`` answers those requests from Charter's approval
state (approved → ``ToolApproved``, denied, expired or cancelled → ``ToolDenied``,
still pending → left out), for the next run's ``deferred_tool_results``. When an
approved call comes back, the tool asks Charter again and runs only on ``allow``: a
``DeferredToolResults`` that says approved, with no approval granted in Charter, never
runs the tool.

Needs ``pip install 'charter[pydantic-ai]'`` (``pydantic-ai-slim``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_ai import DeferredToolRequests, DeferredToolResults, ToolApproved, ToolDenied
from pydantic_ai.exceptions import ApprovalRequired, ToolFailed
from pydantic_ai.tools import AgentDepsT, RunContext
from pydantic_ai.toolsets import ToolsetTool, WrapperToolset

from charter.adapters.gate import Gate, Settled

__all__ = ["CharterToolset", "charter_results"]


@dataclass
class CharterToolset(WrapperToolset[AgentDepsT]):
    """A toolset whose tools run only when Charter allows each call (see the module)."""

    gate: Gate

    async def call_tool(
        self,
        name: str,
        tool_args: dict[str, Any],
        ctx: RunContext[AgentDepsT],
        tool: ToolsetTool[AgentDepsT],
    ) -> Any:
        """Ask Charter, then run the wrapped tool, defer it for approval, or refuse it."""
        verdict = await self.gate.adecide(name, tool_args)
        if verdict.allowed:
            return await super().call_tool(name, tool_args, ctx, tool)
        if verdict.effect == "pending":
            if ctx.tool_call_approved:
                # Approved by the caller, but Charter still waits for a human: not run.
                raise ToolFailed(
                    f"{name} was marked approved, but Charter has not granted approval "
                    f"{verdict.approval_id}: not run"
                )
            raise ApprovalRequired(metadata=verdict.payload())
        raise ToolFailed(verdict.message)


def _answer(settled: Settled) -> ToolApproved | ToolDenied | None:
    if settled.approved:
        return ToolApproved()
    if settled.status == "pending":
        return None
    return ToolDenied(f"not approved: {settled.message}")


async def charter_results(
    gate: Gate, requests: DeferredToolRequests, *, wait: float = 0.0
) -> DeferredToolResults:
    """The answers to ``requests``' approvals, as Charter has them.

    Each approval the run asked for (its id is in the call's metadata) is read from
    Charter, waiting up to ``wait`` seconds for a human to decide. A call whose approval
    is still pending is left out (``requests.remaining(results)`` lists them); a call
    with no Charter approval is denied.
    """
    approvals: dict[str, bool | ToolApproved | ToolDenied] = {}
    for call in requests.approvals:
        metadata = requests.metadata.get(call.tool_call_id) or {}
        approval_id = metadata.get("approval_id")
        if not isinstance(approval_id, str):
            approvals[call.tool_call_id] = ToolDenied("no Charter approval for this call")
            continue
        settled = await gate.aapproval(approval_id, wait=wait)
        answer = _answer(settled)
        if answer is not None:
            approvals[call.tool_call_id] = answer
    return DeferredToolResults(approvals=approvals)
