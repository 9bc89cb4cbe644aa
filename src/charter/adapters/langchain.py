"""Charter for LangChain and LangGraph agents: ``CharterMiddleware`` around tool calls.

``create_agent(model, tools, middleware=[CharterMiddleware(client)], checkpointer=...)``
asks Charter before each tool call runs:

- ``allow``: the tool runs;
- ``deny`` (or any error, or Charter unreachable): the tool does not run; the model gets
  a ``ToolMessage`` with the reason (``status="error"``);
- ``approval_required`` / ``step_up_required``: the run stops with a LangGraph
  ``interrupt`` whose value carries the approval id and its console link. Resume it
  with ``Command(resume=<that value, or the approval id>)`` once a human decided. On
  resume the call is decided again, and only Charter's ``allow`` (the approval was
  granted, and is used up by this call) runs the tool: a resume value alone never
  does. A resume that names an approval still pending pauses the run again; one naming
  a denied, expired or cancelled approval, or no approval, gets the ``ToolMessage``.

Needs ``pip install 'charter[langchain]'`` and a checkpointer (interrupts need one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain.agents.middleware import AgentMiddleware, AgentState, ToolCallRequest
from langchain_core.messages import ToolMessage
from langgraph.types import Command, interrupt

from charter.adapters.gate import Gate, Settled, Verdict
from charter.adapters.rules import ToolRule
from charter.sdk.client import AsyncClient, Client

__all__ = ["CharterMiddleware", "approval_named"]

_Result = ToolMessage | Command[Any]


def approval_named(resumed: Any) -> str | None:
    """The approval id a resume value names: the id itself, or a mapping (such as the
    interrupt's own value) with ``approval_id``; ``None`` if it names none."""
    if isinstance(resumed, Mapping):
        resumed = resumed.get("approval_id")
    return resumed if isinstance(resumed, str) and resumed else None


def _refusal(request: ToolCallRequest, message: str) -> ToolMessage:
    call = request.tool_call
    return ToolMessage(content=message, tool_call_id=call["id"], name=call["name"], status="error")


def _paused(request: ToolCallRequest, verdict: Verdict) -> dict[str, Any]:
    """The interrupt's value: Charter's answer, and which tool call it holds."""
    return {**verdict.payload(), "tool_call_id": request.tool_call["id"]}


def _after_resume(verdict: Verdict, named: str | None, settled: Settled | None) -> str | None:
    """Why a resumed call is refused, or ``None`` to pause again (its approval is still
    pending). Reached only when Charter, asked again, did not allow the call."""
    if named is None:
        return f"{verdict.tool} was resumed without naming its approval: not run"
    if settled is None:  # the approval this call is waiting on, still pending
        return None
    if settled.approved:
        return (
            f"approval {named} does not cover this call of {verdict.tool} "
            f"(Charter still answers {verdict.code}): not run"
        )
    return f"{verdict.tool} was not approved ({settled.message}): not run"


class CharterMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Asks Charter before every tool call of a LangChain agent (see the module).

    ``client`` is a ``charter.Client`` (for ``invoke``/``stream``) or an ``AsyncClient``
    (``ainvoke``/``astream``; a ``Client`` also works there, in a worker thread).
    ``tools`` maps tool names to ``ToolRule``; ``default`` is the rule of every other
    tool; ``agent`` is for an enforcer's token; ``console_url`` is the server's URL as
    approvers reach it (the client's by default).
    """

    def __init__(
        self,
        client: Client | AsyncClient,
        *,
        tools: Mapping[str, ToolRule] | None = None,
        default: ToolRule | None = None,
        agent: str | None = None,
        console_url: str | None = None,
    ) -> None:
        super().__init__()
        self.gate = Gate(client, tools=tools, default=default, agent=agent, console_url=console_url)

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], _Result],
    ) -> _Result:
        """Run the tool only when Charter allows it."""
        call = request.tool_call
        verdict = self.gate.decide(call["name"], call["args"])
        while verdict.effect == "pending":
            named = approval_named(interrupt(_paused(request, verdict)))
            settled = None
            if named is not None and named != verdict.approval_id:
                settled = self.gate.approval(named)
            refused = _after_resume(verdict, named, settled)
            if refused is not None:
                return _refusal(request, refused)
        if not verdict.allowed:
            return _refusal(request, verdict.message)
        return handler(request)

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[_Result]],
    ) -> _Result:
        """Run the tool only when Charter allows it (async runs)."""
        call = request.tool_call
        verdict = await self.gate.adecide(call["name"], call["args"])
        while verdict.effect == "pending":
            named = approval_named(interrupt(_paused(request, verdict)))
            settled = None
            if named is not None and named != verdict.approval_id:
                settled = await self.gate.aapproval(named)
            refused = _after_resume(verdict, named, settled)
            if refused is not None:
                return _refusal(request, refused)
        if not verdict.allowed:
            return _refusal(request, verdict.message)
        return await handler(request)
