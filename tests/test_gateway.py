"""The MCP gateway end to end: a real MCP client, the gateway's MCP server and a real
upstream MCP server (in process), deciding through a live Charter with the example pack."""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from charter.gateway.config import read_config
from charter.identity.humans import HumanRole
from charter.sdk.client import AsyncClient
from charter.service import SYSTEM, Services
from tests.gateway_helpers import CONFIG, Desk, desk_config, running_gateway
from tests.servers import Served, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def gateway_token(services: Services) -> str:
    """The gateway's own account, with the enforcer role."""
    services.humans.add(
        SYSTEM, human_id="user:gateway", email="gw@example.com", roles=[HumanRole.ENFORCER]
    )
    return services.tokens.issue_for_human(SYSTEM, "user:gateway").token


@pytest.fixture
def alice(served: Served, services: Services) -> str:
    """The desk assistant's owner (its approver): a token."""
    return services.tokens.issue_for_human(SYSTEM, "user:alice").token


def _human(served: Served, token: str) -> AsyncClient:
    """The SDK client of a human acting beside the gateway (an owner approving, an admin
    reporting a leak). It is not what these tests are about, so its bound is generous:
    the SDK's default of 2 s is a gateway's and an agent's, and a loaded machine
    running the suite can pass it."""
    return AsyncClient(served.url, token, timeout=30.0)


def _text(result: types.CallToolResult) -> str:
    return " ".join(b.text for b in result.content if isinstance(b, types.TextContent))


async def test_tools_list_shows_only_what_the_agent_could_call(
    served: Served, gateway_token: str
) -> None:
    desk = Desk()
    config = desk_config(served.url)
    async with (
        running_gateway(config, gateway_token, {"desk": desk.server()}) as server,
        Client(server, mode="legacy") as client,
    ):
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
    # No permission covers delete_service: it is hidden, not merely refused.
    assert names == ["lookup_status", "read_secret", "restart_service"]


async def test_an_allowed_call_reaches_the_upstream_with_the_decision_in_meta(
    served: Served, gateway_token: str
) -> None:
    desk = Desk()
    async with (
        running_gateway(desk_config(served.url), gateway_token, {"desk": desk.server()}) as server,
        Client(server, mode="legacy") as client,
    ):
        result = await client.call_tool("lookup_status", {"service": "mail"})
    assert not result.is_error, _text(result)
    assert desk.calls == [("lookup_status", {"service": "mail"})]
    assert result.structured_content == {"service": "mail", "status": "running", "owner": "it-desk"}
    meta = result.meta or {}
    assert meta["charter/decision"] == "allow"
    assert str(meta["charter/decision_id"]).startswith("dec_")
    assert str(meta["charter/policy_revision"]).startswith("rev_")


async def test_a_denied_call_never_reaches_the_upstream(served: Served, gateway_token: str) -> None:
    desk = Desk()
    async with (
        running_gateway(desk_config(served.url), gateway_token, {"desk": desk.server()}) as server,
        Client(server, mode="legacy") as client,
    ):
        result = await client.call_tool("read_secret", {"env": "prod", "name": "db-password"})
        hidden = await client.call_tool("delete_service", {"service": "mail"})
    assert result.is_error
    assert "guardrail" in _text(result)
    assert "Production secrets are never read" in _text(result)
    assert (result.meta or {})["charter/code"] == "guardrail"
    assert hidden.is_error
    assert "no_permission" in _text(hidden)
    assert desk.calls == []


@pytest.mark.parametrize(
    "name",
    [
        "../prod/db-password",
        "..",
        "x/../../prod",
        "%2e%2e%2fprod",
        "..%2fprod",
        "prod\\db",
        "\uff0e\uff0e",
        "db\x00",
        "db password",
        "",
        "prod/db-password",
    ],
)
async def test_an_argument_that_leaves_its_segment_is_refused(
    served: Served, gateway_token: str, name: str
) -> None:
    desk = Desk()
    async with (
        running_gateway(desk_config(served.url), gateway_token, {"desk": desk.server()}) as server,
        Client(server, mode="legacy") as client,
    ):
        result = await client.call_tool("read_secret", {"env": "dev", "name": name})
    assert result.is_error
    assert "unsafe_resource_argument" in _text(result)
    assert desk.calls == []


async def test_charter_down_fails_closed(services: Services, gateway_token: str) -> None:
    desk = Desk()
    with serving(services) as charter:
        url = charter.url
    # The server is stopped: nothing answers at its address any more.
    async with (
        running_gateway(desk_config(url), gateway_token, {"desk": desk.server()}) as server,
        Client(server, mode="legacy") as client,
    ):
        result = await client.call_tool("lookup_status", {"service": "mail"})
        with pytest.raises(Exception, match="Charter could not be asked"):
            await client.list_tools()
    assert result.is_error
    assert "unreachable" in _text(result) or "timeout" in _text(result)
    assert desk.calls == []


async def test_fallback_approval_then_the_same_call_succeeds(
    served: Served, gateway_token: str, alice: str
) -> None:
    desk = Desk()
    async with (
        running_gateway(desk_config(served.url), gateway_token, {"desk": desk.server()}) as server,
        Client(server, mode="legacy") as client,
    ):
        first = await client.call_tool("restart_service", {"service": "mail"})
        assert first.is_error
        meta = first.meta or {}
        approval = str(meta["charter/approval_id"])
        assert approval.startswith("apr_")
        assert meta["charter/approval_url"] == f"{served.url}/ui/approvals/{approval}"
        assert approval in _text(first)
        assert "approval_required" in _text(first)
        assert desk.calls == []
        async with _human(served, alice) as owner:
            await owner.approve(approval, reason="planned restart")
        second = await client.call_tool("restart_service", {"service": "mail"})
        assert not second.is_error, _text(second)
        assert desk.calls == [("restart_service", {"service": "mail"})]
        # The approval allowed one call: the next one asks again.
        third = await client.call_tool("restart_service", {"service": "mail"})
        assert third.is_error
        assert "approval_required" in _text(third)


async def test_approval_through_url_elicitation(
    served: Served, gateway_token: str, alice: str
) -> None:
    desk = Desk()
    shown: list[types.ElicitRequestURLParams] = []

    async def user_opens_link_and_owner_approves(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        shown.append(params)
        approval = params.url.rsplit("/", 1)[1]
        async with _human(served, alice) as owner:
            await owner.approve(approval, reason="planned restart")
        return types.ElicitResult(action="accept")

    async with (
        running_gateway(desk_config(served.url), gateway_token, {"desk": desk.server()}) as server,
        Client(
            server, mode="legacy", elicitation_callback=user_opens_link_and_owner_approves
        ) as client,
    ):
        result = await client.call_tool("restart_service", {"service": "mail"})
    assert not result.is_error, _text(result)
    assert len(shown) == 1
    assert shown[0].url.startswith(f"{served.url}/ui/approvals/apr_")
    assert desk.calls == [("restart_service", {"service": "mail"})]


async def test_accepting_the_link_is_not_an_approval(served: Served, gateway_token: str) -> None:
    desk = Desk()

    async def user_just_accepts(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        return types.ElicitResult(action="accept")

    async with (
        running_gateway(
            desk_config(served.url, wait="1s"), gateway_token, {"desk": desk.server()}
        ) as server,
        Client(server, mode="legacy", elicitation_callback=user_just_accepts) as client,
    ):
        result = await client.call_tool("restart_service", {"service": "mail"})
    assert result.is_error
    assert "still pending" in _text(result)
    assert desk.calls == []


async def test_approval_through_input_required_on_a_2026_connection(
    served: Served, gateway_token: str, alice: str
) -> None:
    desk = Desk()
    shown: list[str] = []

    async def owner_approves(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        shown.append(params.url)
        async with _human(served, alice) as owner:
            await owner.approve(params.url.rsplit("/", 1)[1], reason="planned restart")
        return types.ElicitResult(action="accept")

    async with (
        running_gateway(desk_config(served.url), gateway_token, {"desk": desk.server()}) as server,
        Client(server, elicitation_callback=owner_approves) as client,
    ):
        assert client.protocol_version in MODERN_PROTOCOL_VERSIONS
        # The SDK's client fulfils the input_required result and calls again by itself.
        result = await client.call_tool("restart_service", {"service": "mail"})
    assert not result.is_error, _text(result)
    assert len(shown) == 1
    assert shown[0].startswith(f"{served.url}/ui/approvals/apr_")
    assert desk.calls == [("restart_service", {"service": "mail"})]


async def test_a_leaked_secret_in_arguments_is_denied_and_in_results_masked(
    served: Served, gateway_token: str, services: Services
) -> None:
    leaked = "ghp_" + "R8sLq2vXn4TzW7yPk1MbC9dFhJ3gA6eU0iO5"
    admin = services.tokens.issue_for_human(SYSTEM, "user:admin").token
    async with _human(served, admin) as charter:
        await charter.report_leak(value=leaked, note="pasted in a chat")
    desk = Desk(secrets={("dev", "token"): leaked})
    async with (
        running_gateway(desk_config(served.url), gateway_token, {"desk": desk.server()}) as server,
        Client(server, mode="legacy") as client,
    ):
        # An argument carrying the leak never reaches the upstream.
        refused = await client.call_tool("lookup_status", {"service": leaked})
        assert refused.is_error
        assert "leaked_secret" in _text(refused)
        assert desk.calls == []
        read = await client.call_tool("read_secret", {"env": "dev", "name": "token"})
    assert not read.is_error, _text(read)
    assert leaked not in read.model_dump_json()
    assert isinstance(read.structured_content, dict)
    assert read.structured_content["value"].startswith("[REDACTED:")
    assert "[REDACTED:" in _text(read)


CRM = """\
charter:
  url: {url}
upstreams:
  crm:
    command: [unused]
    tools:
      read_customer:
        capability: request
        action: crm.customer.read
        resource: crm/customer/{{customer_id}}
        fields: [name, email, ssn]
        context: {{purpose: account_recovery, on_behalf_of: "user:bob"}}
"""


async def test_redacted_fields_are_dropped_from_the_result(
    served: Served, gateway_token: str
) -> None:
    crm = MCPServer("crm")

    @crm.tool()
    def read_customer(customer_id: str) -> dict[str, Any]:
        """A customer record."""
        return {"name": "Bob", "email": "bob@example.com", "ssn": "078-05-1120"}

    config = read_config(CRM.format(url=served.url), "crm.yaml")
    async with (
        running_gateway(config, gateway_token, {"crm": crm}, agent="support-bot") as server,
        Client(server, mode="legacy") as client,
    ):
        result = await client.call_tool("read_customer", {"customer_id": "42"})
    assert not result.is_error, _text(result)
    assert result.structured_content == {"name": "Bob", "email": "bob@example.com"}
    assert "078-05-1120" not in result.model_dump_json()


async def test_an_upstream_that_is_down_or_hangs_fails_closed(
    served: Served, gateway_token: str
) -> None:
    slow = MCPServer("desk")
    never = anyio.Event()

    @slow.tool()
    async def lookup_status(service: str) -> str:
        """Never answers."""
        await never.wait()
        return "late"

    text = CONFIG_SLOW.format(url=served.url)
    async with (
        running_gateway(read_config(text, "gw.yaml"), gateway_token, {"desk": slow}) as server,
        Client(server, mode="legacy") as client,
    ):
        hung = await client.call_tool("lookup_status", {"service": "mail"})
    assert hung.is_error
    assert "upstream_unavailable" in _text(hung)
    assert "did not answer in time" in _text(hung)
    assert (hung.meta or {})["charter/decision"] == "allow"  # decided, then not answered

    missing = text.replace("command: [unused]", "command: [/nonexistent/desk-server]")
    async with (
        running_gateway(read_config(missing, "gw.yaml"), gateway_token) as server,
        Client(server, mode="legacy") as client,
    ):
        assert (await client.list_tools()).tools == []
        down = await client.call_tool("lookup_status", {"service": "mail"})
    assert down.is_error
    assert "upstream_unavailable" in _text(down)


CONFIG_SLOW = """\
charter:
  url: {url}
agent: desk-assistant
upstreams:
  desk:
    command: [unused]
    timeout: 1s
    tools:
      lookup_status:
        capability: request
        resource: desk/services/{{service}}
"""


async def test_a_declined_link_ends_the_call_with_the_approval_still_open(
    served: Served, gateway_token: str
) -> None:
    desk = Desk()
    asked: list[str] = []

    async def user_declines(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="decline")

    async with (
        running_gateway(desk_config(served.url), gateway_token, {"desk": desk.server()}) as server,
        Client(server, elicitation_callback=user_declines) as modern,
        Client(server, mode="legacy", elicitation_callback=user_declines) as legacy,
    ):
        for client in (modern, legacy):
            result = await client.call_tool("restart_service", {"service": "mail"})
            assert result.is_error
            assert "the link was not opened" in _text(result)
            assert str((result.meta or {})["charter/approval_id"]).startswith("apr_")
    assert len(asked) == 2
    assert "Restarting a service needs the agent owner's approval" in asked[0]
    assert desk.calls == []


TWO_UPSTREAMS = """\
charter:
  url: {url}
upstreams:
  desk:
    command: [unused]
    tools:
      "*": {{capability: request, resource: "desk/services/{{service}}"}}
  tickets:
    url: http://127.0.0.1:1/unused
    prefix: tk_
    tools:
      "create_*": {{capability: do, action: ticket.create, resource: "ticketing/queue/{{queue}}"}}
"""


async def test_two_upstreams_each_tool_under_its_rule_and_prefix(
    served: Served, gateway_token: str
) -> None:
    desk = Desk()
    tickets = MCPServer("tickets")
    opened: list[str] = []

    @tickets.tool()
    def create_ticket(queue: str, title: str) -> str:
        """Open a ticket."""
        opened.append(queue)
        return f"ticket opened in {queue}"

    @tickets.tool()
    def close_ticket(queue: str) -> str:
        """No rule names it: hidden."""
        return "closed"

    config = read_config(TWO_UPSTREAMS.format(url=served.url), "gw.yaml")
    targets: dict[str, Any] = {"desk": desk.server(), "tickets": tickets}
    async with (
        running_gateway(config, gateway_token, targets, agent="support-bot") as server,
        Client(server, mode="legacy") as client,
    ):
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        allowed = await client.call_tool("tk_create_ticket", {"queue": "support", "title": "x"})
        denied = await client.call_tool("tk_create_ticket", {"queue": "remediation", "title": "x"})
        unknown = await client.call_tool("create_ticket", {"queue": "support", "title": "x"})
    # support-bot may open support tickets; nothing lets it use the desk's tools.
    assert names == ["tk_create_ticket"]
    assert not allowed.is_error, _text(allowed)
    assert denied.is_error
    assert "no_permission" in _text(denied)
    assert unknown.is_error
    assert "unknown_tool" in _text(unknown)
    assert opened == ["support"]
    assert desk.calls == []


async def test_results_mask_secrets_masks_what_the_detectors_find(
    served: Served, gateway_token: str
) -> None:
    found = "ghp_" + "Z9yXw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa98"
    desk = Desk(secrets={("dev", "token"): found})
    plain = desk_config(served.url)
    strict = read_config(
        CONFIG.format(url=served.url, wait="5s").replace(
            "upstreams:", "results: {mask: secrets}\nupstreams:"
        ),
        "gw.yaml",
    )
    for config, masked in ((plain, False), (strict, True)):
        async with (
            running_gateway(config, gateway_token, {"desk": desk.server()}) as server,
            Client(server, mode="legacy") as client,
        ):
            result = await client.call_tool("read_secret", {"env": "dev", "name": "token"})
        assert not result.is_error, _text(result)
        # Not a registered leak: shown unless the configuration masks every secret.
        assert (found in result.model_dump_json()) is not masked
