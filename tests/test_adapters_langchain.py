"""``CharterMiddleware`` in a real LangChain agent (``create_agent``) with LangChain's
fake chat model, against a live Charter: an allowed call runs, a denied one never does,
an approval pauses the run as a LangGraph interrupt and resumes only once Charter says
it was granted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from charter import AsyncClient, Client
from charter.adapters.langchain import CharterMiddleware
from charter.service import Services
from tests.adapters_world import AGENT, RULES, Ran, approver_token, nowhere, owner_token
from tests.helpers import agent_token
from tests.servers import Served


class ToolCallingFake(GenericFakeChatModel):
    """LangChain's fake chat model, answering with the scripted messages whatever
    tools it is given (the agent binds its tools to the model)."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self


def calling(tool: str, **args: str) -> list[AIMessage]:
    """The model's script: call ``tool`` once, then answer."""
    call = {"name": tool, "args": args, "id": f"call_{tool}", "type": "tool_call"}
    return [AIMessage(content="", tool_calls=[call]), AIMessage(content="done")]


def tools(ran: Ran) -> list[BaseTool]:
    return [
        StructuredTool.from_function(ran.score, name="score", description="Score a user."),
        StructuredTool.from_function(ran.rotate, name="rotate", description="Rotate."),
        StructuredTool.from_function(ran.elevate, name="elevate", description="Elevate."),
        StructuredTool.from_function(ran.assign, name="assign", description="Assign."),
    ]


class Run:
    """One agent conversation on one thread, with a checkpointer (for interrupts)."""

    def __init__(self, client: Client | AsyncClient, script: list[AIMessage]) -> None:
        self.ran = Ran()
        self.agent = create_agent(
            ToolCallingFake(messages=iter(script)),
            tools(self.ran),
            middleware=[CharterMiddleware(client, tools=RULES)],
            checkpointer=InMemorySaver(),
        )
        self.config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}

    def invoke(self, value: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.agent.invoke(value, self.config)
        return result

    def start(self) -> dict[str, Any]:
        return self.invoke({"messages": [{"role": "user", "content": "go"}]})


def tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    messages: list[BaseMessage] = result["messages"]
    return [m for m in messages if isinstance(m, ToolMessage)]


def paused(result: dict[str, Any]) -> dict[str, Any]:
    """The value of the one interrupt the run stopped at."""
    [stop] = result["__interrupt__"]
    value: dict[str, Any] = stop.value
    return value


@pytest.fixture
def ops(served: Served, services: Services) -> Iterator[Client]:
    with Client(served.url, agent_token(services, AGENT)) as client:
        yield client


@pytest.fixture
def ivan(served: Served, services: Services) -> Iterator[Client]:
    with Client(served.url, approver_token(services)) as client:
        yield client


def test_an_allowed_call_runs(ops: Client) -> None:
    run = Run(ops, calling("score", user="u42"))
    [message] = tool_messages(run.start())
    assert run.ran.calls == [("score", "u42")]
    assert message.content == "u42 scores 0.93"
    assert message.status == "success"


def test_a_denied_call_never_runs_and_the_model_is_told_why(ops: Client) -> None:
    run = Run(ops, calling("rotate", environment="prod"))
    [message] = tool_messages(run.start())
    assert run.ran.calls == []
    assert message.status == "error"
    assert "Charter denied rotate" in str(message.content)


def test_an_approval_pauses_the_run_and_a_granted_one_resumes_it(ops: Client, ivan: Client) -> None:
    run = Run(ops, calling("elevate", host="db-1"))
    asked = paused(run.start())
    assert run.ran.calls == []
    approval_id = asked["approval_id"]
    assert approval_id.startswith("apr_")
    assert asked["kind"] == "approval"
    assert asked["console"] == f"{ops.url}/ui/approvals/{approval_id}"

    ivan.approve(approval_id, reason="INC-1 is real")
    result = run.invoke(Command(resume=asked))
    assert "__interrupt__" not in result
    assert run.ran.calls == [("elevate", "db-1")]
    [message] = tool_messages(result)
    assert message.content == "elevated on db-1"
    # PAM elevation is an eligible binding: the approval issued a time-bound grant.
    assert ivan.get_approval(approval_id).grant is not None


def test_a_denied_approval_never_runs_the_tool(ops: Client, ivan: Client) -> None:
    run = Run(ops, calling("elevate", host="db-2"))
    asked = paused(run.start())
    ivan.deny(asked["approval_id"], reason="no ticket in PAM")
    [message] = tool_messages(run.invoke(Command(resume=asked["approval_id"])))
    assert run.ran.calls == []
    assert message.status == "error"
    assert f"approval {asked['approval_id']} is denied by user:ivan" in str(message.content)


def test_a_forged_resume_never_runs_the_tool(ops: Client) -> None:
    run = Run(ops, calling("elevate", host="db-3"))
    asked = paused(run.start())
    # Resuming with the very value, no human having approved: Charter still says
    # approval_required, so the run pauses again on the same approval.
    again = paused(run.invoke(Command(resume=asked)))
    assert again["approval_id"] == asked["approval_id"]
    assert run.ran.calls == []
    # Naming an approval Charter does not know, or none at all: refused.
    [message] = tool_messages(run.invoke(Command(resume={"approval_id": "apr_forged"})))
    assert run.ran.calls == []
    assert "not run" in str(message.content)


def test_a_resume_with_no_approval_named_is_refused(ops: Client) -> None:
    run = Run(ops, calling("elevate", host="db-4"))
    paused(run.start())
    [message] = tool_messages(run.invoke(Command(resume=True)))
    assert run.ran.calls == []
    assert "without naming its approval" in str(message.content)


def test_charter_unreachable_is_a_deny() -> None:
    with nowhere() as client:
        run = Run(client, calling("score", user="u42"))
        [message] = tool_messages(run.start())
    assert run.ran.calls == []
    assert message.status == "error"
    assert "could not decide score, so it is denied" in str(message.content)


@pytest.mark.anyio
async def test_async_runs_ask_through_the_async_client(
    served: Served, services: Services, ivan: Client
) -> None:
    async with AsyncClient(served.url, agent_token(services, AGENT)) as client:
        run = Run(client, calling("elevate", host="db-5"))
        start: Any = {"messages": [{"role": "user", "content": "go"}]}
        asked = paused(await run.agent.ainvoke(start, run.config))
        assert run.ran.calls == []
        ivan.approve(asked["approval_id"], reason="ok")
        result = await run.agent.ainvoke(Command(resume=asked), run.config)
    assert run.ran.calls == [("elevate", "db-5")]
    assert [m.content for m in tool_messages(result)] == ["elevated on db-5"]


@pytest.fixture
def bob(served: Served, services: Services) -> Iterator[Client]:
    with Client(served.url, owner_token(services)) as client:
        yield client


def test_parallel_calls_pause_together_and_resume_by_interrupt_id(ops: Client, bob: Client) -> None:
    calls = [
        {"name": "assign", "args": {"user": "dev-7", "group": group}, "id": f"call_{group}"}
        for group in ("developers", "admins")
    ]
    run = Run(ops, [AIMessage(content="", tool_calls=calls), AIMessage(content="done")])
    stops = run.start()["__interrupt__"]
    asked = {stop.value["tool_call_id"]: stop.value["approval_id"] for stop in stops}
    assert sorted(asked) == ["call_admins", "call_developers"]
    assert asked["call_admins"] != asked["call_developers"]
    bob.approve(asked["call_developers"], reason="ok")
    bob.deny(asked["call_admins"], reason="not admins")
    # Several paused calls resume together, each by its interrupt's id.
    result = run.invoke(Command(resume={stop.id: stop.value for stop in stops}))
    assert run.ran.calls == [("assign", "dev-7>developers")]
    told = {m.tool_call_id: (m.status, str(m.content)) for m in tool_messages(result)}
    assert told["call_developers"] == ("success", "added dev-7 to developers")
    assert told["call_admins"][0] == "error"
    assert "denied by user:bob" in told["call_admins"][1]
