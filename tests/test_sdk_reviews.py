"""The review calls of ``charter.Client`` and ``charter.AsyncClient`` against the real
server over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL: every call, typed
with the wire models, and the server's refusals back in their family with their code."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from charter import AsyncClient, Client, InvalidInput, NotFound, PermissionDenied
from charter.clock import ManualClock
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from charter.wire.reviews import CampaignOut, ItemOut, ItemPage, ProposalOut, SweepOut
from tests.helpers import people
from tests.scenes import POLICY, RESTART
from tests.test_reviews import COPILOT, DRAFT

REVIEW_CALLS = {
    "start_campaign",
    "list_campaigns",
    "get_campaign",
    "close_campaign",
    "review_queue",
    "get_review_item",
    "decide_review_item",
    "decide_review_items",
    "propose_review",
    "review_outcomes",
    "run_review_sweep",
}


class Clients:
    def __init__(self, url: str, services: Services) -> None:
        headers = people(
            services,
            [
                ("user:olga", (), ()),
                ("user:rita", (), (HumanRole.ADMIN,)),
                ("user:pat", (), (HumanRole.POLICY_ADMIN,)),
            ],
        )
        tokens = {who: h["Authorization"].removeprefix("Bearer ") for who, h in headers.items()}
        self.url = url
        self.olga = Client(url, tokens["user:olga"])
        self.rita = Client(url, tokens["user:rita"])
        # Applying a policy compiles it: room for a loaded CI machine past the 2 s default.
        self.pat = Client(url, tokens["user:pat"], timeout=10.0)
        self.pat.apply_policy({"policy.yaml": POLICY + COPILOT})
        self.bot = Client(url, services.tokens.issue_for_agent(SYSTEM, "ops-bot").token)
        self.copilot = Client(url, services.tokens.issue_for_agent(SYSTEM, "copilot").token)
        self.rita_token = tokens["user:rita"]

    def close(self) -> None:
        for client in (self.olga, self.rita, self.pat, self.bot, self.copilot):
            client.close()


@pytest.fixture
def clients(live_server: str, services: Services):  # type: ignore[no-untyped-def]
    opened = Clients(live_server, services)
    yield opened
    opened.close()


def _item(campaign: CampaignOut, agent: str, source: str) -> ItemOut:
    found = [i for i in campaign.items or [] if i.agent == agent and i.source == source]
    assert len(found) == 1
    return found[0]


def test_every_review_call_is_on_both_clients() -> None:
    assert set(dir(Client)) >= REVIEW_CALLS
    assert set(dir(AsyncClient)) >= REVIEW_CALLS


def test_every_review_call(clients: Clients, clock: ManualClock) -> None:
    draft = DRAFT
    for _ in range(2):
        assert clients.bot.decide(draft["capability"], draft["action"], resource=draft["resource"])
    started = clients.rita.start_campaign(
        "Q4 agent access",
        agents=["ops-bot"],
        window=timedelta(days=30),
        due_at=clock() + timedelta(days=14),
        overdue="revoke_high_risk",
    )
    assert isinstance(started, CampaignOut)
    assert started.counts["items"] == 4
    assert started.window_days == 30
    assert [c.id for c in clients.rita.list_campaigns().campaigns] == [started.id]
    assert clients.rita.list_campaigns(status="closed").campaigns == []
    campaign = clients.rita.get_campaign(started.id)
    restarter = _item(campaign, "ops-bot", "Binding/restarter-eligible")
    deployer = _item(campaign, "ops-bot", "Binding/deployer-standing")

    queue = clients.olga.review_queue()
    assert isinstance(queue, ItemPage)
    assert restarter.id in {i.id for i in queue.items}

    proposal = clients.copilot.propose_review(restarter.id, "revoke", "unused", ["usage: none"])
    assert isinstance(proposal, ProposalOut)
    assert proposal.ai_drafted
    assert proposal.evidence == ["usage: none"]
    shown = clients.olga.get_review_item(restarter.id)
    assert [p.id for p in shown.proposals] == [proposal.id]
    with pytest.raises(PermissionDenied):
        clients.copilot.decide_review_item(restarter.id, "revoke", "mine")

    decided = clients.olga.decide_review_item(
        restarter.id, "revoke", "not needed", accept_proposal=proposal.id
    )
    assert decided.accepted_proposal == proposal.id
    assert decided.outcome == "in_force"
    denied = clients.bot.decide(
        RESTART["capability"], RESTART["action"], resource=RESTART["resource"]
    )
    assert denied.decision == "deny"
    assert denied.code == "revoked_by_review"
    assert [i.id for i in clients.pat.review_outcomes().items] == [restarter.id]

    others = [_item(campaign, "ops-bot", s).id for s in ("agent", "Binding/reviewer-eligible")]
    bulk = clients.olga.decide_review_items(others, "keep", "still needed")
    assert [i.id for i in bulk.items] == others
    assert all(i.bulk for i in bulk.items)

    sweep = clients.rita.run_review_sweep()
    assert isinstance(sweep, SweepOut)
    assert sweep.settled == []
    closed = clients.rita.close_campaign(started.id, reason="done")
    assert closed.status == "closed"
    assert clients.rita.get_review_item(deployer.id).status == "decided"


def test_review_refusals_come_back_with_their_codes(clients: Clients) -> None:
    with pytest.raises(NotFound) as missing:
        clients.rita.get_campaign("rvc_nothere")
    assert missing.value.code == "campaign_not_found"
    with pytest.raises(NotFound) as no_item:
        clients.rita.get_review_item("rvi_aaaaaaaaaaaaaaaa")
    assert no_item.value.code == "review_item_not_found"
    with pytest.raises(InvalidInput):
        clients.rita.start_campaign("x", window="a month")
    with pytest.raises(PermissionDenied) as agent:
        clients.copilot.start_campaign("mine")
    assert agent.value.code == "forbidden"
    with pytest.raises(PermissionDenied):
        clients.olga.run_review_sweep()
    with pytest.raises(PermissionDenied):
        clients.olga.review_outcomes()


@pytest.mark.parametrize("bad_id", ["../campaigns", "..", "a/b", "x/../../sweep", "a?b=1"])
def test_a_review_id_cannot_steer_a_call_elsewhere(clients: Clients, bad_id: str) -> None:
    for call in (
        lambda: clients.rita.get_campaign(bad_id),
        lambda: clients.rita.close_campaign(bad_id, reason="x"),
        lambda: clients.rita.get_review_item(bad_id),
        lambda: clients.rita.decide_review_item(bad_id, "keep", "x"),
        lambda: clients.copilot.propose_review(bad_id, "keep", "x"),
    ):
        with pytest.raises((InvalidInput, NotFound)):
            call()


def test_the_async_client_offers_the_same_calls(clients: Clients) -> None:
    async def run() -> tuple[CampaignOut, ItemPage]:
        async with AsyncClient(clients.url, clients.rita_token) as rita:
            started = await rita.start_campaign("async", agents=["ops-bot"], window="7d")
            return started, await rita.review_queue()

    started, queue = asyncio.run(run())
    assert started.window_days == 7
    assert isinstance(queue, ItemPage)
