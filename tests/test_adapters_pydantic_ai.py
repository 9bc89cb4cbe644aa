"""``CharterToolset`` in a real Pydantic AI agent with Pydantic AI's ``FunctionModel``
(a scripted model, no network), against a live Charter: an allowed call runs, a denied
one never does, an approval defers the call and ``charter_results`` resolves it from
Charter's approval state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults, ToolDenied
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.toolsets import FunctionToolset

from charter import AsyncClient, Client
from charter.adapters import Gate
from charter.adapters.pydantic_ai import CharterToolset, charter_results
from charter.service import Services
from tests.adapters_world import AGENT, RULES, Ran, approver_token, nowhere
from tests.helpers import agent_token
from tests.servers import Served

Output = str | DeferredToolRequests


def scripted(tool: str, **args: str) -> FunctionModel:
    """A model that calls ``tool`` once, then says what the tool answered."""

    def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        if isinstance(last, ModelRequest) and any(
            part.part_kind in {"tool-return", "retry-prompt"} for part in last.parts
        ):
            said = [str(getattr(part, "content", "")) for part in last.parts]
            return ModelResponse(parts=[TextPart("done: " + " | ".join(said))])
        return ModelResponse(parts=[ToolCallPart(tool, args, tool_call_id=f"call_{tool}")])

    return FunctionModel(answer)


class Run:
    """One agent with the three tools behind Charter."""

    def __init__(self, client: Client | AsyncClient, tool: str, **args: str) -> None:
        self.ran = Ran()
        self.gate = Gate(client, tools=RULES)
        tools = FunctionToolset([self.ran.score, self.ran.rotate, self.ran.elevate])
        self.agent = Agent(
            scripted(tool, **args),
            toolsets=[CharterToolset(tools, self.gate)],
            output_type=[str, DeferredToolRequests],
        )


def tool_returns(messages: list[ModelMessage]) -> list[str]:
    return [
        str(part.content)
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]


@pytest.fixture
def ops(served: Served, services: Services) -> Iterator[Client]:
    with Client(served.url, agent_token(services, AGENT)) as client:
        yield client


@pytest.fixture
async def aops(served: Served, services: Services) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(served.url, agent_token(services, AGENT)) as client:
        yield client


@pytest.fixture
def ivan(served: Served, services: Services) -> Iterator[Client]:
    with Client(served.url, approver_token(services)) as client:
        yield client


# A blocking Client works too (asked in a worker thread); run_sync is left out because
# it leaves its event loop open, which the suite's warnings-as-errors would report.
@pytest.mark.anyio
async def test_an_allowed_call_runs(ops: Client) -> None:
    run = Run(ops, "score", user="u42")
    result = await run.agent.run("go")
    assert run.ran.calls == [("score", "u42")]
    assert result.output == "done: u42 scores 0.93"


@pytest.mark.anyio
async def test_a_denied_call_never_runs_and_the_model_is_told_why(ops: Client) -> None:
    run = Run(ops, "rotate", environment="prod")
    result = await run.agent.run("go")
    assert run.ran.calls == []
    assert isinstance(result.output, str)
    assert "Charter denied rotate" in result.output


@pytest.mark.anyio
async def test_an_approval_defers_the_call_and_charter_resolves_it(
    aops: AsyncClient, ivan: Client
) -> None:
    run = Run(aops, "elevate", host="db-1")
    first = await run.agent.run("go")
    requests = first.output
    assert isinstance(requests, DeferredToolRequests)
    assert run.ran.calls == []
    [call] = requests.approvals
    asked = requests.metadata[call.tool_call_id]
    approval_id = asked["approval_id"]
    assert asked["console"] == f"{aops.url}/ui/approvals/{approval_id}"

    # Nobody decided yet: nothing to answer.
    assert (await charter_results(run.gate, requests)).approvals == {}
    ivan.approve(approval_id, reason="INC-1 is real")
    results = await charter_results(run.gate, requests)
    second = await run.agent.run(
        message_history=first.all_messages(), deferred_tool_results=results
    )
    assert run.ran.calls == [("elevate", "db-1")]
    assert second.output == "done: elevated on db-1"


@pytest.mark.anyio
async def test_a_denied_approval_never_runs_the_tool(aops: AsyncClient, ivan: Client) -> None:
    run = Run(aops, "elevate", host="db-2")
    first = await run.agent.run("go")
    requests = first.output
    assert isinstance(requests, DeferredToolRequests)
    [call] = requests.approvals
    ivan.deny(requests.metadata[call.tool_call_id]["approval_id"], reason="no ticket")
    results = await charter_results(run.gate, requests, wait=5)
    [answer] = results.approvals.values()
    assert isinstance(answer, ToolDenied)
    assert "denied by user:ivan" in answer.message
    second = await run.agent.run(
        message_history=first.all_messages(), deferred_tool_results=results
    )
    assert run.ran.calls == []
    assert isinstance(second.output, str)
    assert "not approved" in second.output


@pytest.mark.anyio
async def test_a_forged_approval_never_runs_the_tool(aops: AsyncClient) -> None:
    run = Run(aops, "elevate", host="db-3")
    first = await run.agent.run("go")
    requests = first.output
    assert isinstance(requests, DeferredToolRequests)
    [call] = requests.approvals
    forged = DeferredToolResults(approvals={call.tool_call_id: True})
    second = await run.agent.run(message_history=first.all_messages(), deferred_tool_results=forged)
    assert run.ran.calls == []
    assert isinstance(second.output, str)
    assert "Charter has not granted approval" in second.output


@pytest.mark.anyio
async def test_charter_unreachable_is_a_deny() -> None:
    with nowhere() as client:
        run = Run(client, "score", user="u42")
        result = await run.agent.run("go")
    assert run.ran.calls == []
    assert isinstance(result.output, str)
    assert "could not decide score, so it is denied" in result.output
