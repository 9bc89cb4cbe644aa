"""A LangChain agent whose tool calls Charter decides (docs/integrations.md).

Run against a Charter server with the example policy pack (`make run`):

    CHARTER_SERVER=http://127.0.0.1:8080 OPS_TOKEN=... BOB_TOKEN=... \
        python examples/integrations/langchain_agent.py

OPS_TOKEN is identity-ops-agent's token, BOB_TOKEN user:bob's (he owns the agent and
approves its RBAC changes). The model is LangChain's fake chat model, scripted to call
two tools: put your own chat model in its place.
"""

import os
import uuid

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import charter
from charter.adapters import ToolRule
from charter.adapters.langchain import CharterMiddleware


@tool
def rotate_secret(environment: str) -> str:
    """Rotate the payments credentials of an environment."""
    return f"rotated {environment}"


@tool
def add_to_group(user: str, group: str) -> str:
    """Add a user to a group."""
    return f"added {user} to {group}"


# How each tool call is asked about: the action, and the resource built from the arguments.
RULES = {
    "rotate_secret": ToolRule(action="secrets.rotate", resource="vault/{environment}/payments"),
    "add_to_group": ToolRule(action="rbac.assign", resource="iam/groups/{group}"),
}


class ScriptedModel(GenericFakeChatModel):
    """The fake model answers from its script whatever tools it is given."""

    def bind_tools(self, tools, **kwargs):
        return self


def call(name, **args):
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call_{name}"}])


server = os.environ["CHARTER_SERVER"]
ops = charter.Client(server, os.environ["OPS_TOKEN"])
bob = charter.Client(server, os.environ["BOB_TOKEN"])

agent = create_agent(
    ScriptedModel(messages=iter([
        call("rotate_secret", environment="prod"),
        call("add_to_group", user="dev-7", group="developers"),
        AIMessage("dev-7 is in developers"),
    ])),
    [rotate_secret, add_to_group],
    middleware=[CharterMiddleware(ops, tools=RULES)],
    checkpointer=InMemorySaver(),  # interrupts need one
)
thread = {"configurable": {"thread_id": str(uuid.uuid4())}}

result = agent.invoke({"messages": [{"role": "user", "content": "add dev-7"}]}, thread)
print("rotate_secret:", result["messages"][2].content)      # denied: the tool never ran
asked = result["__interrupt__"][0].value                    # add_to_group waits for Bob
print("waiting for", asked["approval_id"], "at", asked["console"])

bob.approve(asked["approval_id"], reason="dev-7 joins the developers")
result = agent.invoke(Command(resume=asked), thread)        # Charter decides again: allow
print("add_to_group:", result["messages"][-2].content)
print("model:", result["messages"][-1].content)
