"""``CharterApprovals`` in a real OpenAI Agents SDK run with the SDK's ``ScriptedModel``
(no network, no API key), against a live Charter: an allowed call runs, a denied one
never does, an approval interrupts the run and ``resolve`` answers it from Charter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import Agent, FunctionTool, Runner, RunResult, function_tool, set_tracing_disabled
from agents.items import ToolCallOutputItem
from agents.testing import ScriptedModel, assistant_message, function_call

from charter import AsyncClient, Client
from charter.adapters import Gate
from charter.adapters.openai_agents import CharterApprovals
from charter.service import Services
from tests.adapters_world import AGENT, RULES, Ran, approver_token, nowhere
from tests.helpers import Admin, agent_token
from tests.servers import Served

set_tracing_disabled(True)  # nothing to export to without an OpenAI key


class Run:
    """One agent with the three tools governed by Charter, and a scripted model that
    calls ``tool`` once and then answers."""

    def __init__(self, client: Client | AsyncClient, tool: str, **args: str) -> None:
        self.ran = Ran()
        self.approvals = CharterApprovals(Gate(client, tools=RULES))
        tools: list[Any] = [
            self.approvals.govern(function_tool(self.ran.score, name_override="score")),
            self.approvals.govern(function_tool(self.ran.rotate, name_override="rotate")),
            self.approvals.govern(function_tool(self.ran.elevate, name_override="elevate")),
        ]
        assert all(isinstance(t, FunctionTool) for t in tools)
        model = ScriptedModel(
            [[function_call(tool, args, call_id=f"call_{tool}")], [assistant_message("done")]]
        )
        self.agent = Agent(name="ops", model=model, tools=tools)

    async def start(self) -> RunResult:
        return await Runner.run(self.agent, "go")


def outputs(result: RunResult) -> list[str]:
    """What the tools answered the model, in order."""
    return [str(item.output) for item in result.new_items if isinstance(item, ToolCallOutputItem)]


@pytest.fixture
async def ops(served: Served, services: Services) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(served.url, agent_token(services, AGENT)) as client:
        yield client


@pytest.fixture
def ivan(served: Served, services: Services) -> Iterator[Client]:
    with Client(served.url, approver_token(services)) as client:
        yield client


@pytest.mark.anyio
async def test_an_allowed_call_runs_with_one_decision(
    served: Served, ops: AsyncClient, admin: Admin
) -> None:
    run = Run(ops, "score", user="u42")
    result = await run.start()
    assert result.interruptions == []
    assert run.ran.calls == [("score", "u42")]
    assert outputs(result) == ["u42 scores 0.93"]
    assert result.final_output == "done"
    # needs_approval asked; the guardrail used its answer rather than asking again.
    with Client(served.url, admin.token) as auditor:
        decisions = list(auditor.iter_audit(agent=AGENT, types=["decision"]))
    assert len(decisions) == 1


@pytest.mark.anyio
async def test_a_denied_call_never_runs_and_the_model_is_told_why(ops: AsyncClient) -> None:
    run = Run(ops, "rotate", environment="prod")
    result = await run.start()
    assert run.ran.calls == []
    [said] = outputs(result)
    assert "Charter denied rotate" in said


@pytest.mark.anyio
async def test_an_approval_interrupts_and_a_granted_one_resumes(
    ops: AsyncClient, ivan: Client
) -> None:
    run = Run(ops, "elevate", host="db-1")
    first = await run.start()
    [item] = first.interruptions
    assert run.ran.calls == []
    approval_id = run.approvals.approval_id(item)
    assert approval_id is not None
    assert approval_id.startswith("apr_")

    # Nobody decided yet: resolving leaves the call pending, and the run stops again on
    # the same approval.
    again = await Runner.run(run.agent, await run.approvals.aresolve(first))
    [item] = again.interruptions
    assert run.approvals.approval_id(item) == approval_id
    assert run.ran.calls == []

    ivan.approve(approval_id, reason="INC-1 is real")
    second = await Runner.run(run.agent, await run.approvals.aresolve(again))
    assert run.ran.calls == [("elevate", "db-1")]
    assert outputs(second) == ["elevated on db-1"]


@pytest.mark.anyio
async def test_a_denied_approval_never_runs_the_tool(ops: AsyncClient, ivan: Client) -> None:
    run = Run(ops, "elevate", host="db-2")
    first = await run.start()
    [item] = first.interruptions
    approval_id = run.approvals.approval_id(item)
    assert approval_id is not None
    ivan.deny(approval_id, reason="no ticket in PAM")
    second = await Runner.run(run.agent, await run.approvals.aresolve(first, wait=5))
    assert run.ran.calls == []
    [said] = outputs(second)
    assert "denied by user:ivan" in said


@pytest.mark.anyio
async def test_a_forged_approve_never_runs_the_tool(ops: AsyncClient) -> None:
    run = Run(ops, "elevate", host="db-3")
    first = await run.start()
    [item] = first.interruptions
    state = first.to_state()
    state.approve(item)  # no human approved in Charter
    second = await Runner.run(run.agent, state)
    assert run.ran.calls == []
    [said] = outputs(second)
    assert "Charter has not granted approval" in said


@pytest.mark.anyio
async def test_charter_unreachable_is_a_deny() -> None:
    with nowhere() as client:
        run = Run(client, "score", user="u42")
        result = await run.start()
    assert run.ran.calls == []
    [said] = outputs(result)
    assert "could not decide score, so it is denied" in said
