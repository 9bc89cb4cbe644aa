"""Charter for agent frameworks: one module per framework, each a thin layer over the SDK.

- ``charter.adapters.langchain``: middleware for LangChain / LangGraph agents
  (``pip install 'charter[langchain]'``);
- ``charter.adapters.pydantic_ai``: tools for Pydantic AI agents
  (``pip install 'charter[pydantic-ai]'``);
- ``charter.adapters.openai_agents``: approvals and a tool guardrail for the OpenAI Agents
  SDK (``pip install 'charter[openai-agents]'``).

Each asks Charter for a decision on every tool call, through a ``charter.Client`` or
``charter.AsyncClient``, and runs the tool only on ``allow``. A deny, an error, or a
Charter that cannot be reached never runs the tool. ``ToolRule`` says how a tool call
becomes a decision request; this package imports no framework, so importing it is cheap.
"""

from charter.adapters.gate import Gate, Verdict
from charter.adapters.rules import ToolRule

__all__ = ["Gate", "ToolRule", "Verdict"]
