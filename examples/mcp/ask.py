"""A minimal MCP client for trying the gateway from a shell: it starts
``charter gateway mcp`` over stdio (as Claude Desktop would) and lists the tools or
calls one.

    python examples/mcp/ask.py list
    python examples/mcp/ask.py call lookup_status service=mail

The gateway reads its enforcer token from ``CHARTER_GATEWAY_TOKEN``; ``--config`` names
its configuration (default: examples/mcp/gateway.yaml).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters


def _gateway(config: str) -> StdioServerParameters:
    charter = shutil.which("charter") or "charter"
    return StdioServerParameters(
        command=charter, args=["gateway", "mcp", "--config", config], env=dict(os.environ)
    )


def _show(result: types.CallToolResult) -> int:
    for block in result.content:
        if isinstance(block, types.TextContent):
            print(block.text)
    meta = {k: v for k, v in (result.meta or {}).items() if k.startswith("charter/")}
    print(json.dumps(meta, indent=2), file=sys.stderr)
    return 3 if result.is_error else 0


async def _main(args: argparse.Namespace) -> int:
    async with Client(_gateway(args.config), mode="legacy", read_timeout_seconds=120) as client:
        if args.command == "list":
            for tool in (await client.list_tools()).tools:
                print(f"{tool.name}: {tool.description or ''}")
            return 0
        arguments = dict(pair.split("=", 1) for pair in args.arguments)
        return _show(await client.call_tool(args.tool, arguments))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="examples/mcp/gateway.yaml")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the tools the agent may call")
    call = commands.add_parser("call", help="call a tool: NAME key=value...")
    call.add_argument("tool")
    call.add_argument("arguments", nargs="*")
    sys.exit(anyio.run(_main, parser.parse_args()))


if __name__ == "__main__":
    main()
