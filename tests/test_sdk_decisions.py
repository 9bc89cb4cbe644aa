"""The SDK's decision side: ``Client``/``AsyncClient.decide``, ``guard`` and ``charter
decide``, through the real ASGI app, a live uvicorn server and the embedded ``Engine``.

Approvals that a server creates and waits on are in ``test_sdk_approvals.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient

from charter import (
    ApprovalPending,
    AsyncClient,
    Client,
    Denied,
    Engine,
    InvalidInput,
    PermissionDenied,
    guard,
)
from charter.service import Services
from charter.wire import DecisionIn
from tests.helpers import PACK, Admin, agent_token

RECOVERY = {"purpose": "account_recovery", "on_behalf_of": "user:bob"}
CUSTOMER = {"name": "Ann", "email": "ann@example.com", "ssn": "078-05-1120", "tier": "gold"}


def decision_count(api: TestClient, admin: Admin) -> int:
    page = api.get("/v1/audit", params={"type": "decision"}, headers=admin.headers)
    return len(page.json()["records"])


def pool(api: TestClient) -> httpx.Client:
    """``api`` as the SDK's connection pool, so the SDK calls the real ASGI app.

    Starlette's TestClient is an ``httpx2.Client``: the SDK makes the same calls on it as on
    an ``httpx.Client``, but to mypy the two classes are unrelated.
    """
    return cast(httpx.Client, api)


@pytest.fixture
def bot(api: TestClient, services: Services, pack: None) -> Client:
    """support-bot's client, over the real ASGI app."""
    return Client("http://testserver", agent_token(services, "support-bot"), http=pool(api))


@pytest.fixture
async def async_bot(api: TestClient, services: Services, pack: None) -> AsyncIterator[AsyncClient]:
    """support-bot's async client, over the same app through httpx's ASGI transport."""
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield AsyncClient("http://testserver", agent_token(services, "support-bot"), http=http)


class Customers:
    """A CRM tool that counts how often it really ran."""

    def __init__(self) -> None:
        self.calls = 0

    def read(self, customer_id: str, fields: list[str]) -> dict[str, Any]:
        self.calls += 1
        return {"id": customer_id, **CUSTOMER}


def guarded_read(decider: Any, customers: Customers, **options: Any) -> Any:
    """``customers.read`` guarded as the example pack expects support-bot to read."""

    settings = {
        "capability": "request",
        "action": "crm.customer.read",
        "resource": "crm/customer/{customer_id}",
        "fields": "fields",
        "context": RECOVERY,
        **options,
    }

    @guard(decider, **settings)
    def read_customer(customer_id: str, fields: list[str]) -> dict[str, Any]:
        return customers.read(customer_id, fields)

    return read_customer


# -- the clients ----------------------------------------------------------------------


def test_decide_and_decide_batch_through_the_app(
    bot: Client, api: TestClient, enforcer: dict[str, str]
) -> None:
    answer = bot.decide(
        "request",
        "crm.customer.read",
        resource="crm/customer/42",
        resource_attributes={"region": "eu"},
        fields=["name", "email", "ssn"],
        context=RECOVERY,
        input={"customer_id": "42"},
    )
    assert (answer.decision, answer.code) == ("allow", "allowed")
    assert (answer.released_fields, answer.redacted_fields) == (["name", "email"], ["ssn"])
    assert answer.decision_id.startswith("dec_")

    rotate = {"capability": "do", "action": "secrets.rotate", "resource": "vault/prod/payments"}
    gateway = Client("http://testserver", enforcer["Authorization"][7:], http=pool(api))
    batch = gateway.decide_batch(
        [
            DecisionIn.model_validate({**rotate, "agent": "secrets-scanner"}),
            {**rotate, "agent": "secrets-scanner", "resource": "vault/dev/payments"},
        ]
    )
    assert [(d.decision, d.code) for d in batch] == [("deny", "guardrail"), ("allow", "allowed")]
    # A deny is an answer, not an error; asking for another agent is the error.
    with pytest.raises(PermissionDenied) as other:
        bot.decide("do", "ticket.create", resource="ticketing/queue/support", agent="other")
    assert other.value.code == "forbidden"


@pytest.mark.anyio
async def test_the_async_client_decides_through_the_app(async_bot: AsyncClient) -> None:
    assert (await async_bot.whoami()).id == "support-bot"
    answer = await async_bot.decide(
        "request", "crm.customer.read", resource="crm/customer/7", fields="email", context=RECOVERY
    )
    assert (answer.decision, answer.released_fields) == ("allow", ["email"])
    [denied] = await async_bot.decide_batch(
        [{"capability": "request", "action": "crm.customer.read", "resource": "crm/customer/7"}]
    )
    assert (denied.decision, denied.code) == ("deny", "guardrail")  # no on_behalf_of


def test_both_clients_offer_the_same_calls() -> None:
    def public(kind: type) -> set[str]:
        return {name for name in dir(kind) if not name.startswith("_")}

    sync_only = {"close", "iter_agents", "iter_audit", "iter_approvals", "iter_grants"}
    sync_only |= {"iter_leaks"}
    assert public(AsyncClient) == public(Client) - sync_only | {"aclose"}
    assert Client.decide.__doc__ == AsyncClient.decide.__doc__
    assert Client(url="http://x").decide.__name__ == "decide"


# -- guard through the app ------------------------------------------------------------


def test_guard_runs_the_tool_only_on_allow_and_drops_redacted_fields(
    bot: Client, api: TestClient, admin: Admin
) -> None:
    customers = Customers()
    read = guarded_read(bot, customers)
    assert read("42", ["name", "email", "ssn"]) == {
        "id": "42",
        "name": "Ann",
        "email": "ann@example.com",
        "tier": "gold",  # never asked for, so never redacted: only redacted keys go
    }
    assert customers.calls == 1
    assert decision_count(api, admin) == 1

    with pytest.raises(Denied) as denied:
        guarded_read(bot, customers, context={})("42", ["name"])
    assert denied.value.code == "guardrail"
    assert denied.value.reasons[0]["policy"] == "Guardrail/customer-data-on-behalf-of-someone"
    assert denied.value.decision_id is not None
    assert isinstance(denied.value, PermissionDenied)
    assert customers.calls == 1


def test_guard_sends_the_calls_arguments_as_input(bot: Client, api: TestClient) -> None:
    customers = Customers()
    # The server refuses a NUL in any string of the input: proof that the input is sent.
    with pytest.raises(InvalidInput) as refused:
        guarded_read(bot, customers)("4\x002", ["name"])
    assert refused.value.code == "invalid_request"
    assert customers.calls == 0
    without_input = guarded_read(bot, customers, input=False, resource="crm/customer/1")
    assert without_input("4\x002", ["name"])["name"] == "Ann"


def test_guard_refuses_an_argument_that_would_change_the_resource(
    bot: Client, api: TestClient, admin: Admin
) -> None:
    customers = Customers()
    read = guarded_read(bot, customers)
    for steering in ("42/../43", "..", ""):
        with pytest.raises(InvalidInput) as unsafe:
            read(steering, ["name"])
        assert unsafe.value.code == "unsafe_resource_argument"
    assert customers.calls == 0
    assert decision_count(api, admin) == 0


@pytest.mark.usefixtures("pack")
def test_approval_required_raises_approval_pending(api: TestClient, services: Services) -> None:
    ops = Client("http://testserver", agent_token(services, "identity-ops-agent"), http=pool(api))
    ran = []

    @guard(
        ops,
        capability="do",
        action="pam.elevate",
        resource="pam/hosts/{host}",
        context=lambda args: {"ticket": {"id": args["ticket"], "status": "open"}},
    )
    def elevate(host: str, ticket: str) -> None:
        ran.append(host)

    with pytest.raises(ApprovalPending) as pending:
        elevate("db-1", "INC-1")
    assert (pending.value.code, pending.value.kind) == ("approval_required", "approval")
    assert pending.value.decision_id is not None
    assert ran == []


@pytest.mark.anyio
async def test_guard_over_the_async_client(async_bot: AsyncClient) -> None:
    customers = Customers()

    @guard(
        async_bot,
        capability="request",
        action="crm.customer.read",
        resource="crm/customer/{customer_id}",
        fields=lambda args: args["wanted"],
        context=RECOVERY,
    )
    async def read(customer_id: str, wanted: list[str]) -> dict[str, Any]:
        return customers.read(customer_id, wanted)

    assert "ssn" not in await read("9", wanted=["name", "ssn"])
    with pytest.raises(InvalidInput) as wrong:
        await read("9", wanted=[1])  # type: ignore[list-item]
    assert wrong.value.code == "invalid_fields"
    assert customers.calls == 1


# -- guard over the embedded engine ---------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_directory(PACK)


def test_guard_over_the_engine_sync_and_async(engine: Engine) -> None:
    customers = Customers()
    read = guarded_read(engine, customers, agent="support-bot")
    assert set(read("42", ["name", "email", "ssn"])) == {"id", "name", "email", "tier"}
    stranger = guarded_read(engine, customers, agent="nobody")
    with pytest.raises(Denied) as unknown:
        stranger("42", ["name"])
    assert (unknown.value.code, unknown.value.decision_id) == ("agent_unknown", None)
    assert customers.calls == 1

    rotated = []

    @guard(
        engine,
        agent="secrets-scanner",
        capability="do",
        action="secrets.rotate",
        resource="vault/{environment}/payments",
    )
    async def rotate(environment: str) -> str:
        rotated.append(environment)
        return "rotated"

    assert asyncio.run(rotate("dev")) == "rotated"
    with pytest.raises(Denied) as production:
        asyncio.run(rotate("prod"))
    assert production.value.code == "guardrail"
    assert production.value.reasons[0]["policy"] == "Guardrail/no-prod-credential-rotation"
    assert rotated == ["dev"]

    @guard(
        engine,
        agent="identity-ops-agent",
        capability="do",
        action="pam.elevate",
        resource="pam/hosts/db-1",
        context={"ticket": {"status": "open"}},
    )
    def elevate() -> None:
        rotated.append("elevated")

    with pytest.raises(ApprovalPending) as pending:
        elevate()
    assert (pending.value.approval_id, pending.value.kind) == (None, "approval")
    assert rotated == ["dev"]


def test_guard_refuses_what_it_cannot_enforce(engine: Engine, bot: Client) -> None:
    def tool(customer_id: str) -> None:
        return None

    async def async_tool(customer_id: str) -> None:
        return None

    mistakes: list[Callable[[], object]] = [
        lambda: guard(engine, capability="do", action="a", resource="r")(tool),
        lambda: guard(engine, agent="x", capability="do", action="a", resource="r", wait=True),
        lambda: guard(bot, capability="act", action="a", resource="r"),
        lambda: guard(bot, capability="do", action="a", resource="r/{nope}")(tool),
        lambda: guard(bot, capability="do", action="a", resource="r/{0}")(tool),
        lambda: guard(bot, capability="do", action="a", resource="r", fields="nope")(tool),
        lambda: guard(bot, capability="do", action="a", resource="r")(async_tool),
        lambda: guard(AsyncClient("http://x"), capability="do", action="a", resource="r")(tool),
        lambda: guard(object(), capability="do", action="a", resource="r"),  # type: ignore[arg-type]
    ]
    for mistake in mistakes:
        with pytest.raises(InvalidInput) as refused:
            mistake()
        assert refused.value.code == "invalid_guard"
