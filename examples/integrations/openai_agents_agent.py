"""An OpenAI Agents SDK agent whose tool calls Charter decides (docs/integrations.md).

Run against a Charter server with the example policy pack (`make run`):

    CHARTER_SERVER=http://127.0.0.1:8080 OPS_TOKEN=... BOB_TOKEN=... \
        python examples/integrations/openai_agents_agent.py

OPS_TOKEN is identity-ops-agent's token, BOB_TOKEN user:bob's (he owns the agent and
approves its RBAC changes). The model is the Agents SDK's ScriptedModel, scripted to
call two tools: put your own model in its place.
"""

import asyncio
import os

from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.items import ToolCallOutputItem
from agents.testing import ScriptedModel, assistant_message, function_call

import charter
from charter.adapters import Gate, ToolRule
from charter.adapters.openai_agents import CharterApprovals

set_tracing_disabled(True)  # the scripted model has no OpenAI account to trace to


@function_tool
def rotate_secret(environment: str) -> str:
    """Rotate the payments credentials of an environment."""
    return f"rotated {environment}"


@function_tool
def add_to_group(user: str, group: str) -> str:
    """Add a user to a group."""
    return f"added {user} to {group}"


# How each tool call is asked about: the action, and the resource built from the arguments.
RULES = {
    "rotate_secret": ToolRule(action="secrets.rotate", resource="vault/{environment}/payments"),
    "add_to_group": ToolRule(action="rbac.assign", resource="iam/groups/{group}"),
}


def told(result, tool):
    """What the model was told about the last call of `tool`."""
    return [i.output for i in result.new_items
            if isinstance(i, ToolCallOutputItem) and i.raw_item["call_id"] == f"call_{tool}"][-1]


async def main():
    server = os.environ["CHARTER_SERVER"]
    async with charter.AsyncClient(server, os.environ["OPS_TOKEN"]) as ops:
        approvals = CharterApprovals(Gate(ops, tools=RULES))
        agent = Agent(
            name="identity-ops",
            model=ScriptedModel([
                [function_call("rotate_secret", {"environment": "prod"},
                               call_id="call_rotate_secret")],
                [function_call("add_to_group", {"user": "dev-7", "group": "developers"},
                               call_id="call_add_to_group")],
                [assistant_message("dev-7 is in developers")],
            ]),
            tools=[approvals.govern(rotate_secret), approvals.govern(add_to_group)],
        )
        first = await Runner.run(agent, "add dev-7")
        print("rotate_secret:", told(first, "rotate_secret"))   # denied by the guardrail
        asked = approvals.pending(first.interruptions[0])       # add_to_group waits for Bob
        print("waiting for", asked.approval_id, "at", asked.link)

        with charter.Client(server, os.environ["BOB_TOKEN"]) as bob:
            bob.approve(asked.approval_id, reason="dev-7 joins the developers")

        state = await approvals.aresolve(first)   # state.approve only what Charter approved
        second = await Runner.run(agent, state)
        print("add_to_group:", told(second, "add_to_group"))
        print("model:", second.final_output)


asyncio.run(main())
