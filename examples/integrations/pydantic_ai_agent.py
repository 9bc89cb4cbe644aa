"""A Pydantic AI agent whose tool calls Charter decides (docs/integrations.md).

Run against a Charter server with the example policy pack (`make run`):

    CHARTER_SERVER=http://127.0.0.1:8080 OPS_TOKEN=... BOB_TOKEN=... \
        python examples/integrations/pydantic_ai_agent.py

OPS_TOKEN is identity-ops-agent's token, BOB_TOKEN user:bob's (he owns the agent and
approves its RBAC changes). The model is Pydantic AI's FunctionModel, scripted to call
two tools: put your own model in its place.
"""

import asyncio
import os

from pydantic_ai import Agent, DeferredToolRequests
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.toolsets import FunctionToolset

import charter
from charter.adapters import Gate, ToolRule
from charter.adapters.pydantic_ai import CharterToolset, charter_results


def rotate_secret(environment: str) -> str:
    """Rotate the payments credentials of an environment."""
    return f"rotated {environment}"


def add_to_group(user: str, group: str) -> str:
    """Add a user to a group."""
    return f"added {user} to {group}"


# How each tool call is asked about: the action, and the resource built from the arguments.
RULES = {
    "rotate_secret": ToolRule(action="secrets.rotate", resource="vault/{environment}/payments"),
    "add_to_group": ToolRule(action="rbac.assign", resource="iam/groups/{group}"),
}

SCRIPT = [
    ToolCallPart("rotate_secret", {"environment": "prod"}),
    ToolCallPart("add_to_group", {"user": "dev-7", "group": "developers"}),
    TextPart("dev-7 is in developers"),
]


def scripted(messages, info):
    """The model's next step: one per answer it has already given."""
    return ModelResponse(parts=[SCRIPT[sum(isinstance(m, ModelResponse) for m in messages)]])


def told(messages, tool):
    """What the model was told about the last call of `tool`."""
    parts = [p for m in messages for p in m.parts if getattr(p, "tool_name", None) == tool]
    return parts[-1].content


async def main():
    server = os.environ["CHARTER_SERVER"]
    async with charter.AsyncClient(server, os.environ["OPS_TOKEN"]) as ops:
        gate = Gate(ops, tools=RULES)
        agent = Agent(
            FunctionModel(scripted),
            toolsets=[CharterToolset(FunctionToolset([rotate_secret, add_to_group]), gate)],
            output_type=[str, DeferredToolRequests],   # a call waiting for approval ends the run
        )
        first = await agent.run("add dev-7")
        print("rotate_secret:", told(first.all_messages(), "rotate_secret"))  # denied
        requests = first.output
        asked = requests.metadata[requests.approvals[0].tool_call_id]
        print("waiting for", asked["approval_id"], "at", asked["console"])

        with charter.Client(server, os.environ["BOB_TOKEN"]) as bob:
            bob.approve(asked["approval_id"], reason="dev-7 joins the developers")

        results = await charter_results(gate, requests)   # from Charter's approval state
        second = await agent.run(
            message_history=first.all_messages(), deferred_tool_results=results
        )
        print("add_to_group:", told(second.all_messages(), "add_to_group"))
        print("model:", second.output)


asyncio.run(main())
