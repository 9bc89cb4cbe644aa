"""The gateway over its real transports: ``charter gateway mcp`` as a process speaking
stdio to an MCP client (and stdio to the example upstream), and the gateway over
Streamable HTTP on loopback, where each client's bearer is its Charter agent token."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
import uvicorn
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from charter.gateway.config import GatewayConfig, read_config
from charter.gateway.run import serve_http
from charter.gateway.upstream import Target
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from tests.gateway_helpers import Desk, desk_config, running_gateway
from tests.servers import Served, free_port
from tests.waiting import PATIENCE, join_all, wait_until

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
DESK_SERVER = ROOT / "examples" / "mcp" / "desk_server.py"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def gateway_token(services: Services) -> str:
    services.humans.add(
        SYSTEM, human_id="user:gateway", email="gw@example.com", roles=[HumanRole.ENFORCER]
    )
    return services.tokens.issue_for_human(SYSTEM, "user:gateway").token


def _text(result: types.CallToolResult) -> str:
    return " ".join(b.text for b in result.content if isinstance(b, types.TextContent))


async def test_stdio_gateway_process_in_front_of_a_stdio_upstream(
    served: Served, gateway_token: str, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"""\
charter: {{url: "{served.url}", timeout: 30s}}
agent: desk-assistant
upstreams:
  desk:
    command: ["{sys.executable}", "{DESK_SERVER}"]
    tools:
      lookup_status: {{capability: request, resource: "desk/services/{{service}}"}}
      read_secret: {{capability: request, resource: "vault/{{env}}/{{name}}"}}
      delete_service: {{capability: do, resource: "desk/services/{{service}}"}}
""",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "CHARTER_GATEWAY_TOKEN": gateway_token,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-c",
            "from charter.cli.main import main; main()",
            "gateway",
            "mcp",
            "-c",
            str(config),
        ],
        env=env,
    )
    async with Client(params, mode="legacy", read_timeout_seconds=30) as client:
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        allowed = await client.call_tool("lookup_status", {"service": "mail"})
        denied = await client.call_tool("read_secret", {"env": "prod", "name": "db-password"})
        dev = await client.call_tool("read_secret", {"env": "dev", "name": "db-password"})
    assert names == ["lookup_status", "read_secret"]
    assert not allowed.is_error, _text(allowed)
    assert "running" in _text(allowed)
    assert denied.is_error
    assert "guardrail" in _text(denied)
    assert "correct-horse" not in denied.model_dump_json()
    assert not dev.is_error
    assert "dev-only-password" in _text(dev)


@contextmanager
def http_gateway(config: GatewayConfig, targets: dict[str, Target]) -> Iterator[str]:
    """The gateway over Streamable HTTP in its own thread and event loop; yields its URL."""
    port = free_port()
    started: list[uvicorn.Server] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            anyio.run(lambda: serve_http(config, "127.0.0.1", port, targets, started=started))
        except BaseException as error:
            failed.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_until(lambda: bool(failed) or (bool(started) and started[0].started), "gateway up")
    assert not failed, failed
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        started[0].should_exit = True
        join_all([thread])


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


async def _as(url: str, token: str | None, work: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        return await work(client)


async def test_http_gateway_decides_for_the_agent_of_the_bearer_token(
    served: Served, gateway_token: str, services: Services
) -> None:
    desk = Desk()
    assistant = services.tokens.issue_for_agent(SYSTEM, "desk-assistant").token
    scanner = services.tokens.issue_for_agent(SYSTEM, "secrets-scanner").token

    async def list_and_call(client: Client) -> tuple[list[str], types.CallToolResult]:
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        return names, await client.call_tool("lookup_status", {"service": "mail"})

    with (
        _env("CHARTER_GATEWAY_TOKEN", gateway_token),
        http_gateway(desk_config(served.url), {"desk": desk.server()}) as url,
    ):
        names, result = await _as(url, assistant, list_and_call)
        assert names == ["lookup_status", "read_secret", "restart_service"]
        assert not result.is_error, _text(result)
        # Another agent sees what its own policy allows: nothing of the desk.
        other_names, other = await _as(url, scanner, list_and_call)
        assert other_names == []
        assert other.is_error
        assert "no_permission" in _text(other)
        # No token, a bad token, a human's token: 401, before any MCP message.
        for token in (None, "cht_aaaaaaaaaaaaaaaa_" + "A" * 43, gateway_token):
            async with httpx2.AsyncClient(timeout=10) as http:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                answer = await http.post(
                    url,
                    headers={**headers, "Accept": "application/json, text/event-stream"},
                    json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                )
            assert answer.status_code == 401
    assert desk.calls == [("lookup_status", {"service": "mail"})]


FRAGILE = '''\
import os

from mcp.server.mcpserver import MCPServer

desk = MCPServer("desk")


@desk.tool()
def lookup_status(service: str) -> str:
    """The status of a service; "crash" makes the server exit mid-call."""
    if service == "crash":
        os._exit(1)
    return f"{service} is running"


desk.run()
'''


async def test_a_stdio_upstream_that_exits_is_started_again(
    served: Served, gateway_token: str, tmp_path: Path
) -> None:
    script = tmp_path / "fragile.py"
    script.write_text(FRAGILE, encoding="utf-8")
    text = f"""\
charter: {{url: "{served.url}", timeout: 30s}}
upstreams:
  desk:
    command: ["{sys.executable}", "{script}"]
    timeout: 10s
    tools:
      lookup_status: {{capability: request, resource: "desk/services/{{service}}"}}
"""
    config = read_config(text, "gw.yaml")
    async with (
        running_gateway(config, gateway_token) as server,
        Client(server, mode="legacy") as client,
    ):
        before = await client.call_tool("lookup_status", {"service": "mail"})
        crashed = await client.call_tool("lookup_status", {"service": "crash"})
        deadline = anyio.current_time() + PATIENCE
        while True:  # the keeper starts the server again at once
            after = await client.call_tool("lookup_status", {"service": "mail"})
            if not after.is_error or anyio.current_time() > deadline:
                break
            await anyio.sleep(0.01)
    assert not before.is_error, _text(before)
    assert crashed.is_error
    assert "upstream_unavailable" in _text(crashed)
    assert not after.is_error, _text(after)
    assert "mail is running" in _text(after)
