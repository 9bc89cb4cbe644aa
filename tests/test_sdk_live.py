"""``guard`` and ``charter decide`` against a live uvicorn server, and failing closed:
a stopped server, one that never answers, and one that is not Charter."""

from __future__ import annotations

import http.server
import json
import socket
from collections.abc import Iterator
from typing import Any, ClassVar, TypedDict

import pytest

from charter import AsyncClient, Client, Unavailable, guard
from charter.service import Services
from tests.helpers import agent_token
from tests.helpers import charter_cli as charter
from tests.servers import Served, serving_handler


class Asked(TypedDict):
    """The capability and action a guard or a decision asks for."""

    capability: str
    action: str


RECOVERY = {"purpose": "account_recovery", "on_behalf_of": "user:bob"}
READ: Asked = {"capability": "request", "action": "crm.customer.read"}


class Tool:
    """Counts how often the guarded function really ran."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, customer_id: str) -> dict[str, Any]:
        self.calls += 1
        return {"id": customer_id, "name": "Ann", "ssn": "078-05-1120"}


def guarded(decider: Client, tool: Tool) -> Any:
    @guard(
        decider,
        **READ,
        resource="crm/customer/{customer_id}",
        fields=["name", "ssn"],
        context=RECOVERY,
    )
    def read(customer_id: str) -> dict[str, Any]:
        return tool.run(customer_id)

    return read


def test_a_stopped_server_fails_closed(served: Served, services: Services) -> None:
    tool = Tool()
    with Client(served.url, agent_token(services, "support-bot")) as bot:
        read = guarded(bot, tool)
        assert read("42") == {"id": "42", "name": "Ann"}
        assert tool.calls == 1
        served.stop()
        with pytest.raises(Unavailable) as down:
            read("42")
    assert down.value.code == "unreachable"
    assert tool.calls == 1


@pytest.mark.anyio
async def test_an_async_tool_fails_closed_too(served: Served, services: Services) -> None:
    tool = Tool()
    async with AsyncClient(served.url, agent_token(services, "support-bot")) as bot:

        @guard(bot, **READ, resource="crm/customer/{customer_id}", fields=["ssn"], context=RECOVERY)
        async def read(customer_id: str) -> dict[str, Any]:
            return tool.run(customer_id)

        assert await read("7") == {"id": "7", "name": "Ann"}
        answer = await bot.decide(**READ, resource="crm/customer/7", context={})
        assert answer.decision == "deny"
        served.stop()
        with pytest.raises(Unavailable):
            await read("7")
    assert tool.calls == 1


def test_a_server_that_never_answers_is_a_deny() -> None:
    tool = Tool()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        with Client(url, "cht_x", timeout=0.2) as client, pytest.raises(Unavailable) as slow:
            guarded(client, tool)("42")
    assert slow.value.code == "timeout"
    assert tool.calls == 0


class _Impostor(http.server.BaseHTTPRequestHandler):
    """A web server that answers every POST with a 200 that is not a decision Charter
    would give: first HTML, then a JSON 'decision' no Charter server makes."""

    answers: ClassVar[list[tuple[bytes, str]]] = [
        (b"<html>hello</html>", "text/html"),
        (
            json.dumps(
                {
                    "decision": "maybe",
                    "code": "allowed",
                    "decision_id": "dec_x",
                    "policy_revision": None,
                    "reasons": [],
                    "errors": [],
                    "released_fields": [],
                    "redacted_fields": [],
                    "approval": None,
                    "message": None,
                }
            ).encode(),
            "application/json",
        ),
    ]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body, kind = self.answers[int(self.path.startswith("/odd/"))]
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def impostor() -> Iterator[str]:
    with serving_handler(_Impostor) as url:
        yield url


def test_an_answer_that_is_not_a_decision_never_runs_the_tool(impostor: str) -> None:
    tool = Tool()
    with Client(impostor, "cht_x") as client:
        with pytest.raises(Unavailable) as html:
            guarded(client, tool)("42")
        assert html.value.code == "invalid_response"
        # An unknown outcome is not an allow, however the rest of the answer looks.
        with Client(impostor + "/odd", "cht_x") as odd, pytest.raises(Unavailable) as unknown:
            guarded(odd, tool)("42")
    assert unknown.value.code == "invalid_response"
    assert tool.calls == 0


# -- charter decide -------------------------------------------------------------------


def test_charter_decide_exit_codes(
    served: Served, services: Services, enforcer: dict[str, str]
) -> None:
    bot = ["--server", served.url, "--token", agent_token(services, "support-bot")]
    read = ["--capability", "request", "--action", "crm.customer.read"]
    code, out, _ = charter(
        "decide",
        *bot,
        *read,
        "--resource",
        "crm/customer/42",
        "--field",
        "name",
        "--field",
        "ssn",
        "--context",
        json.dumps(RECOVERY),
        "--input",
        '{"id": 42}',
        "--json",
    )
    assert code == 0, out
    answer = json.loads(out)
    assert (answer["decision"], answer["redacted_fields"]) == ("allow", ["ssn"])

    code, out, _ = charter("decide", *bot, *read, "--resource", "crm/customer/42")
    assert code == 3
    assert out.startswith("DENY (guardrail) dec_")
    assert "Guardrail/customer-data-on-behalf-of-someone" in out

    gateway = ["--server", served.url, "--token", enforcer["Authorization"][7:]]
    elevate = ["--capability", "do", "--action", "pam.elevate", "--resource", "pam/hosts/db-1"]
    ticket = json.dumps({"ticket": {"id": "INC-1", "status": "open"}})
    code, out, _ = charter(
        "decide", *gateway, "--agent", "identity-ops-agent", *elevate, "--context", ticket
    )
    assert code == 3
    assert out.startswith("APPROVAL_REQUIRED")
    assert "approval:" in out

    for bad in (["--context", "[1]"], ["--input", "{"], ["--capability", "act"]):
        code, _, err = charter("decide", *bot, *read, "--resource", "crm/customer/1", *bad)
        assert code == 2
        assert "error:" in err
    served.stop()
    code, _, err = charter("decide", *bot, *read, "--resource", "crm/customer/1")
    assert (code, "[unreachable]" in err) == (1, True)
