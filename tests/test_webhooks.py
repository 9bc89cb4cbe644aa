"""Webhooks through the real app, a real dispatcher and a real HTTP receiver on loopback,
on both backends: events are written with the change they report, signed, retried with
backoff on the manual clock, logged, and never in the way of a decision."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from charter import Client, InvalidInput, Unavailable
from charter.cli.main import app as cli_app
from charter.clock import ManualClock
from charter.identity.agents import RiskTier
from charter.identity.humans import HumanRole
from charter.server.app import create_app
from charter.server.outbound import HttpSender
from charter.service import SYSTEM, Services
from charter.service.dispatch import Dispatcher
from charter.service.webhooks import publish
from charter.settings import Settings
from charter.storage.sql import SqlStore, open_store
from charter.storage.sql.schema import metadata
from charter.webhooks import WebhookEvent, verify_signature
from charter.webhooks.model import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    DeliveryStatus,
    Webhook,
    check_url,
    events_of,
)
from charter.webhooks.signing import WebhookSecrets, signature_header
from tests.helpers import Admin, bearer
from tests.servers import Received, Receiver, free_port
from tests.test_secrets_scenarios import _stored_text
from tests.waiting import barrier, join_all


@pytest.fixture
def services(store: SqlStore, clock: ManualClock, signing_key: Ed25519PrivateKey) -> Services:
    """Every use case, with webhooks allowed to reach the loopback receivers below."""
    return Services.build(
        store,
        clock=clock,
        signing_key=signing_key,
        settings=Settings(webhook_allow_private_targets=True),
    )


POLICY = """
apiVersion: charter/v1
kind: Agent
metadata: {name: ops-bot}
spec: {owner: "user:olga"}
---
apiVersion: charter/v1
kind: Role
metadata: {name: configurer}
spec:
  permissions:
    - {capability: do, actions: [config.change]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: configurer-standing}
spec: {role: configurer, agents: [ops-bot]}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: config-needs-owner}
spec:
  effect: require_approval
  match: {capabilities: [do], actions: [config.change]}
  approval: {approvers: [owner], expiresIn: 1h}
---
apiVersion: charter/v1
kind: Role
metadata: {name: restarter}
spec:
  permissions:
    - {capability: do, actions: [service.restart]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: restarter-eligible}
spec:
  role: restarter
  agents: [ops-bot]
  activation: eligible
  approval: {approvers: [owner]}
"""
CONFIG = {"capability": "do", "action": "config.change", "resource": "prod/web"}


# -- a real receiver ------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    opened = Receiver()
    yield opened
    opened.close()


# -- the scene ------------------------------------------------------------------------


@pytest.fixture
def quiet_api(services: Services) -> Iterator[TestClient]:
    """The real app with its own delivery loop off: these tests drive the dispatcher."""
    app = create_app(services, Settings(deliver_webhooks=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def dispatcher(services: Services, clock: ManualClock) -> Iterator[Dispatcher]:
    sender = HttpSender(timeout=5.0, allow_private=True)
    opened = Dispatcher(services.store, clock, services.webhooks.keys, sender)
    yield opened
    opened.close()
    sender.close()


class Scene:
    """The policy above, its people (with tokens), and helpers over the API."""

    def __init__(self, api: TestClient, services: Services) -> None:
        self.api, self.services = api, services
        self.tokens: dict[str, dict[str, str]] = {}
        for human_id, roles in (
            ("user:olga", ()),
            ("user:rita", (HumanRole.ADMIN,)),
            ("user:pat", (HumanRole.POLICY_ADMIN,)),
            ("user:ada", (HumanRole.AUDITOR,)),
        ):
            services.humans.add(
                SYSTEM, human_id=human_id, email=f"{human_id[5:]}@x.test", roles=roles
            )
            self.tokens[human_id] = bearer(services.tokens.issue_for_human(SYSTEM, human_id).token)
        applied = api.post(
            "/v1/policies",
            json={"files": {"policy.yaml": POLICY}},
            headers=self.tokens["user:pat"],
        )
        assert applied.status_code == 201, applied.text
        self.tokens["ops-bot"] = bearer(services.tokens.issue_for_agent(SYSTEM, "ops-bot").token)

    def add_webhook(self, url: str, **body: Any) -> dict[str, Any]:
        answer = self.api.post(
            "/v1/webhooks", json={"url": url, **body}, headers=self.tokens["user:rita"]
        )
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def decide(self, **extra: Any) -> dict[str, Any]:
        answer = self.api.post(
            "/v1/decisions", json={**CONFIG, **extra}, headers=self.tokens["ops-bot"]
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def vote(self, approval_id: str, vote: str = "approve") -> dict[str, Any]:
        answer = self.api.post(
            f"/v1/approvals/{approval_id}/{vote}",
            json={"reason": f"{vote}d"},
            headers=self.tokens["user:olga"],
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def suspend(self) -> None:
        answer = self.api.post(
            "/v1/agents/ops-bot/suspend", json={"reason": "odd"}, headers=self.tokens["user:olga"]
        )
        assert answer.status_code == 200, answer.text

    def deliveries(self, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
        answer = self.api.get(
            f"/v1/webhooks/{webhook_id}/deliveries", params=params, headers=self.tokens["user:ada"]
        )
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["deliveries"]
        return found


@pytest.fixture
def scene(quiet_api: TestClient, services: Services) -> Scene:
    return Scene(quiet_api, services)


# -- events, payloads, signatures -----------------------------------------------------


def test_approval_and_agent_events_arrive_signed(
    scene: Scene, receiver: Receiver, dispatcher: Dispatcher, clock: ManualClock
) -> None:
    everything = scene.add_webhook(receiver.url(), description="all of it")
    assert everything["secret"].startswith("whsec_")
    assert everything["events"] == [event.value for event in WebhookEvent]
    suspensions = scene.add_webhook(receiver.url("/kill"), events=["agent.suspended"])

    approved = scene.decide(context={"ticket": "CTX-VALUE-7"})["approval"]["id"]
    scene.vote(approved)
    denied = scene.decide(input={"n": 2})["approval"]["id"]
    scene.vote(denied, "deny")
    expired = scene.decide(input={"n": 3})["approval"]["id"]
    clock.advance(timedelta(hours=1))
    assert scene.services.approvals.expire_due() == [expired]
    cancelled = scene.decide(input={"n": 4})["approval"]["id"]
    scene.suspend()
    assert receiver.requests == []  # nothing is sent inside a request

    # The approved approval was never used: the suspension voids it too.
    assert dispatcher.run_once() == 11
    assert dispatcher.run_once() == 0
    by_path: dict[str, list[Received]] = {}
    for got in receiver.requests:
        by_path.setdefault(got.path, []).append(got)
    assert [r.json["type"] for r in by_path["/kill"]] == ["agent.suspended"]
    events = [
        (r.json["type"], r.json["data"].get("approval", {}).get("id")) for r in by_path["/hook"]
    ]
    assert Counter(events) == Counter(
        [
            ("approval.created", approved),
            ("approval.approved", approved),
            ("approval.created", denied),
            ("approval.denied", denied),
            ("approval.created", expired),
            ("approval.expired", expired),
            ("approval.created", cancelled),
            ("approval.cancelled", cancelled),
            ("approval.cancelled", approved),
            ("agent.suspended", None),
        ]
    )
    secrets = {"/hook": everything["secret"], "/kill": suspensions["secret"]}
    for got in receiver.requests:
        payload = got.json
        assert payload["id"].startswith("evt_")
        assert set(payload) == {"id", "type", "created_at", "data"}
        assert got.headers["Charter-Event"] == payload["type"]
        assert got.headers["Charter-Delivery"].startswith("dlv_")
        assert got.headers["Content-Type"] == "application/json"
        signature = got.headers["Charter-Signature"]
        assert signature.startswith(f"t={int(clock().timestamp())},v1=")
        assert verify_signature(secrets[got.path], signature, got.body, clock=clock)
        other = secrets["/kill" if got.path == "/hook" else "/hook"]
        assert not verify_signature(other, signature, got.body, clock=clock)
        assert not verify_signature(secrets[got.path], signature, got.body + b" ", clock=clock)
        # Context values never leave Charter; approvers read them through the API.
        assert b"CTX-VALUE-7" not in got.body
    created = next(r.json for r in by_path["/hook"] if r.json["type"] == "approval.created")
    assert created["data"]["agent"] == "ops-bot"
    suspended = by_path["/kill"][0].json["data"]
    assert (suspended["agent"], suspended["to"], suspended["reason"]) == (
        "ops-bot",
        "suspended",
        "odd",
    )
    assert suspended["actor"] == "user:olga"
    assert suspended["cancelled_approvals"] == [cancelled, approved]
    # A replay later than the tolerance is refused.
    clock.advance(timedelta(minutes=6))
    old = receiver.requests[0]
    assert not verify_signature(
        secrets[old.path], old.headers["Charter-Signature"], old.body, clock=clock
    )


def test_one_event_id_for_every_webhook_and_none_without_subscribers(
    scene: Scene, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    scene.decide()  # no webhook yet: nothing is owed, ever
    first = scene.add_webhook(receiver.url("/a"), events=["agent.suspended"])
    second = scene.add_webhook(receiver.url("/b"), events=["agent.suspended", "grant.issued"])
    scene.decide(input={"n": 1})  # approval.created: neither subscribes
    scene.suspend()
    assert dispatcher.run_once() == 2
    assert sorted(r.path for r in receiver.requests) == ["/a", "/b"]
    assert len({r.json["id"] for r in receiver.requests}) == 1
    assert len({r.headers["Charter-Delivery"] for r in receiver.requests}) == 2
    for hook in (first, second):
        assert [d["type"] for d in scene.deliveries(hook["id"])] == ["agent.suspended"]


def test_grants_and_retirements_are_events_too(
    scene: Scene, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    scene.add_webhook(receiver.url(), events=["grant.issued", "agent.retired"])
    restart = {"action": "service.restart", "resource": "prod/web"}
    approval = scene.decide(**restart)["approval"]["id"]
    grant = scene.vote(approval)["grant"]
    assert grant.startswith("grt_")
    retired = scene.api.post(
        "/v1/agents/ops-bot/retire", json={"reason": "done"}, headers=scene.tokens["user:olga"]
    )
    assert retired.status_code == 200, retired.text
    assert dispatcher.run_once() == 2
    events = {r.json["type"]: r.json["data"] for r in receiver.requests}
    assert events["grant.issued"]["grant"]["id"] == grant
    assert events["grant.issued"]["grant"]["role"] == "restarter"
    assert events["agent.retired"]["revoked_grants"] == [grant]
    assert events["agent.retired"]["to"] == "retired"


# -- retries --------------------------------------------------------------------------


def test_failed_attempts_are_retried_with_backoff(
    scene: Scene, receiver: Receiver, dispatcher: Dispatcher, clock: ManualClock
) -> None:
    hook = scene.add_webhook(receiver.url(), events=["agent.suspended"])
    receiver.answers = [500, 503]
    scene.suspend()
    start = clock()
    assert dispatcher.run_once() == 1
    [delivery] = scene.deliveries(hook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "pending",
        1,
        500,
    )
    assert delivery["last_error"] == "HTTP 500"
    assert delivery["next_attempt_at"] == (start + RETRY_DELAYS[0]).isoformat().replace(
        "+00:00", "Z"
    )
    assert dispatcher.run_once() == 0  # not due yet
    clock.advance(RETRY_DELAYS[0] - timedelta(seconds=1))
    assert dispatcher.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert dispatcher.run_once() == 1  # 503
    clock.advance(RETRY_DELAYS[1] - timedelta(seconds=1))
    assert dispatcher.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert dispatcher.run_once() == 1  # 200
    [delivered] = scene.deliveries(hook["id"])
    assert delivered["status"] == "delivered"
    assert delivered["attempts"] == 3
    assert (delivered["last_status_code"], delivered["last_error"]) == (200, None)
    assert delivered["next_attempt_at"] is None
    assert delivered["delivered_at"] is not None
    assert len(receiver.requests) == 3
    # The same delivery each time, signed afresh at each attempt's time.
    assert len({r.headers["Charter-Delivery"] for r in receiver.requests}) == 1
    assert len({r.headers["Charter-Signature"] for r in receiver.requests}) == 3
    assert dispatcher.run_once() == 0


def test_a_dead_endpoint_never_blocks_a_decision_and_is_given_up(
    scene: Scene, dispatcher: Dispatcher, clock: ManualClock
) -> None:
    dead = scene.add_webhook(f"http://127.0.0.1:{free_port()}/gone")
    opened = scene.decide()
    assert opened["decision"] == "approval_required"
    clock.advance(timedelta(seconds=1))  # the log lists newest first
    assert scene.vote(opened["approval"]["id"])["status"] == "approved"
    assert scene.decide()["decision"] == "allow"
    attempts = 0
    while dispatcher.run_once():
        attempts += 1
        assert attempts <= MAX_ATTEMPTS, "the dispatcher kept retrying past its limit"
        if attempts < MAX_ATTEMPTS:
            clock.advance(RETRY_DELAYS[attempts - 1])
    assert attempts == MAX_ATTEMPTS
    log = scene.deliveries(dead["id"])
    assert [d["type"] for d in log] == ["approval.approved", "approval.created"]
    for delivery in log:
        assert delivery["status"] == "failed"
        assert delivery["attempts"] == MAX_ATTEMPTS
        assert delivery["last_error"] == "could not connect"
        assert (delivery["last_status_code"], delivery["next_attempt_at"]) == (None, None)
    clock.advance(timedelta(days=1))
    assert dispatcher.run_once() == 0


def test_redirects_are_not_followed(
    scene: Scene, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    hook = scene.add_webhook(receiver.url(), events=["agent.suspended"])
    receiver.answers = [302]
    scene.suspend()
    assert dispatcher.run_once() == 1
    [delivery] = scene.deliveries(hook["id"])
    assert delivery["status"] == "pending"
    assert delivery["last_error"] == "HTTP 302 (redirects are not followed)"
    assert len(receiver.requests) == 1


# -- the delivery log and the API -----------------------------------------------------


def test_the_delivery_log_pages_and_filters(
    scene: Scene, receiver: Receiver, dispatcher: Dispatcher, clock: ManualClock
) -> None:
    hook = scene.add_webhook(receiver.url())
    for n in range(3):
        scene.decide(input={"n": n})
        clock.advance(timedelta(seconds=1))
    receiver.answers = [500]
    assert dispatcher.run_once() == 3
    headers = scene.tokens["user:ada"]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = scene.api.get(
            f"/v1/webhooks/{hook['id']}/deliveries", params=params, headers=headers
        ).json()
        seen += [d["id"] for d in page["deliveries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    newest_first = [d["id"] for d in scene.deliveries(hook["id"])]
    assert seen == newest_first
    assert len(seen) == 3
    assert [d["status"] for d in scene.deliveries(hook["id"], status="pending")] == ["pending"]
    assert len(scene.deliveries(hook["id"], status="delivered")) == 2
    payloads = [d["payload"]["type"] for d in scene.deliveries(hook["id"])]
    assert payloads == ["approval.created"] * 3


def test_who_may_manage_and_read_webhooks(scene: Scene, receiver: Receiver) -> None:
    hook = scene.add_webhook(receiver.url())
    for who, add, read in (
        ("user:rita", 201, 200),
        ("user:ada", 403, 200),
        ("user:olga", 403, 403),
        ("ops-bot", 403, 403),
    ):
        headers = scene.tokens[who]
        added = scene.api.post("/v1/webhooks", json={"url": receiver.url()}, headers=headers)
        assert added.status_code == add, who
        assert scene.api.get("/v1/webhooks", headers=headers).status_code == read, who
        assert scene.api.get(f"/v1/webhooks/{hook['id']}", headers=headers).status_code == read
        deliveries = scene.api.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=headers)
        assert deliveries.status_code == read, who
    removed = scene.api.delete(f"/v1/webhooks/{hook['id']}", headers=scene.tokens["user:ada"])
    assert removed.status_code == 403
    assert scene.api.get("/v1/webhooks", headers=scene.tokens["user:rita"]).json()["webhooks"]
    listed = scene.api.get("/v1/webhooks", headers=scene.tokens["user:ada"]).json()["webhooks"]
    assert all("secret" not in webhook for webhook in listed)
    assert len(listed) == 2


def test_removing_a_webhook_gives_up_its_pending_deliveries(
    scene: Scene, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    hook = scene.add_webhook(receiver.url("/path/with-a-secret-in-it?key=shh"))
    scene.decide()
    admin = scene.tokens["user:rita"]
    removed = scene.api.delete(f"/v1/webhooks/{hook['id']}", headers=admin)
    assert removed.status_code == 200
    assert (removed.json()["active"], removed.json()["removed_by"]) == (False, "user:rita")
    again = scene.api.delete(f"/v1/webhooks/{hook['id']}", headers=admin)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "webhook_removed")
    [delivery] = scene.deliveries(hook["id"])
    assert (delivery["status"], delivery["last_error"]) == ("failed", "webhook removed")
    scene.decide(input={"after": "removal"})
    assert dispatcher.run_once() == 0
    assert receiver.requests == []
    unknown = scene.api.delete("/v1/webhooks/whk_aaaaaaaaaaaaaaaa", headers=admin)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "webhook_not_found")
    records = scene.api.get(
        "/v1/audit", params={"type": ["webhook.added", "webhook.removed"]}, headers=admin
    ).json()["records"]
    assert [r["type"] for r in records] == ["webhook.added", "webhook.removed"]
    added = records[0]["data"]
    assert added["url_origin"] == receiver.url("")
    assert records[1]["data"]["dropped_deliveries"] == 1
    assert "shh" not in json.dumps(records)
    assert "with-a-secret" not in json.dumps(records)


def test_the_url_is_stored_sealed_and_still_delivered_to(
    scene: Scene, store: SqlStore, database_url: str, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    # A chat's incoming-webhook URL posts to the channel for anyone who has it.
    url = receiver.url("/services/T0AB12/B0CD34/kQ7vN2pX9sR4tW8yZ1")
    hook = scene.add_webhook(url)
    assert hook["url"] == url
    kept = _stored_text(store, database_url)
    assert b"kQ7vN2pX9sR4tW8yZ1" not in kept
    assert b"sealed:v1:" in kept
    for who in ("user:rita", "user:ada"):
        shown = scene.api.get(f"/v1/webhooks/{hook['id']}", headers=scene.tokens[who])
        assert shown.json()["url"] == url
    listed = scene.api.get("/v1/webhooks", headers=scene.tokens["user:rita"]).json()
    assert [w["url"] for w in listed["webhooks"]] == [url]
    scene.suspend()
    assert dispatcher.run_once() == 1
    assert [got.path for got in receiver.requests] == ["/services/T0AB12/B0CD34/kQ7vN2pX9sR4tW8yZ1"]
    added = scene.api.get(
        "/v1/audit", params={"type": "webhook.added"}, headers=scene.tokens["user:rita"]
    ).json()["records"][0]["data"]
    assert set(added) >= {"url_origin", "url_digest"}
    assert added["url_digest"] != hashlib.sha256(url.encode()).hexdigest()  # keyed
    removed = scene.api.delete(f"/v1/webhooks/{hook['id']}", headers=scene.tokens["user:rita"])
    assert removed.json()["url"] == url


def test_a_url_stored_in_clear_is_sealed_when_a_server_starts(
    services: Services, store: SqlStore, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    url = receiver.url("/services/T0AB12/B0CD34/older-secret-path-5h")
    earlier = Webhook(
        "whk_aaaaaaaaaaaaaaaa", url, (WebhookEvent.AGENT_SUSPENDED,), "", "ab" * 16,
        services.clock(), "user:rita",
    )  # fmt: skip
    with store.write() as unit:
        unit.webhooks.add(earlier)  # as an earlier Charter stored it
    with TestClient(create_app(services, Settings(deliver_webhooks=False))) as client:
        scene = Scene(client, services)
        with store.read() as unit:
            kept = unit.webhooks.get(earlier.id)
        assert kept is not None
        assert kept.url.startswith("sealed:v1:")
        assert "older-secret-path-5h" not in kept.url
        shown = client.get(f"/v1/webhooks/{earlier.id}", headers=scene.tokens["user:rita"])
        assert shown.json()["url"] == url
        scene.suspend()
    assert dispatcher.run_once() == 1
    assert [got.path for got in receiver.requests] == [
        "/services/T0AB12/B0CD34/older-secret-path-5h"
    ]
    assert services.webhooks.seal_stored() == 0  # the next server finds nothing to do


def test_a_sealed_url_changed_in_the_store_is_refused_not_sent(
    scene: Scene, store: SqlStore, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    hook = scene.add_webhook(receiver.url("/hook"))
    other = scene.add_webhook(receiver.url("/elsewhere"))
    with store.write() as unit:
        moved = unit.webhooks.get(other["id"])
        assert moved is not None
        unit.webhooks.set_url(hook["id"], moved.url)  # sealed for another webhook
    answer = scene.api.get(f"/v1/webhooks/{hook['id']}", headers=scene.tokens["user:rita"])
    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "webhook_key_missing")
    scene.suspend()
    assert dispatcher.run_once() == 2
    assert [got.path for got in receiver.requests] == ["/elsewhere"]  # never the other's


def test_the_secret_is_shown_once_and_stored_nowhere(
    scene: Scene, store: SqlStore, services: Services
) -> None:
    hook = scene.add_webhook("https://hooks.example.com/charter")
    secret = hook["secret"]
    # Each read on its own: no transaction left idle between them (PostgreSQL ends one).
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                assert secret not in repr(tuple(row)), table.name
    shown = scene.api.get(f"/v1/webhooks/{hook['id']}", headers=scene.tokens["user:rita"])
    assert secret not in shown.text
    # It is derived again, identically, from the server key.
    with store.read() as unit:
        stored = unit.webhooks.get(hook["id"])
    assert stored is not None
    assert services.webhooks.keys.for_webhook(stored.id, stored.secret_salt) == secret


def test_bad_webhook_input_is_refused(scene: Scene) -> None:
    admin = scene.tokens["user:rita"]
    for body, code in (
        ({"url": "ftp://files.example.com/x"}, "invalid_webhook_url"),
        ({"url": "https://user:pw@hooks.example.com/"}, "invalid_webhook_url"),
        ({"url": "hooks.example.com/charter"}, "invalid_webhook_url"),
        ({"url": "https://"}, "invalid_webhook_url"),
        ({"url": "https://hooks.example.com:99999/"}, "invalid_webhook_url"),
        ({"url": "https://hooks.example.com/a b"}, "invalid_webhook_url"),
        ({"url": "https://hooks.example.com/" + "x" * 2000}, "invalid_request"),
        ({"url": "https://hooks.example.com/", "events": []}, "invalid_request"),
        ({"url": "https://hooks.example.com/", "events": ["approval.voted"]}, "invalid_request"),
        ({"url": "https://hooks.example.com/", "secret": "mine"}, "invalid_request"),
        ({"events": ["agent.suspended"]}, "invalid_request"),
    ):
        answer = scene.api.post("/v1/webhooks", json=body, headers=admin)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["code"] == code, body
    hook = scene.add_webhook("https://hooks.example.com/")
    deliveries = f"/v1/webhooks/{hook['id']}/deliveries"
    for params, code in (
        ({"status": "bogus"}, "invalid_request"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "invalid_cursor"),
        ({"limit": 0}, "invalid_request"),
    ):
        answer = scene.api.get(deliveries, params=params, headers=admin)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), params
    assert scene.api.get("/v1/webhooks/whk_NOPE", headers=admin).status_code == 422
    listed = scene.api.get("/v1/webhooks", headers=admin).json()["webhooks"]
    assert [w["id"] for w in listed] == [hook["id"]]


def test_urls_are_checked_and_events_deduplicated_in_the_domain() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_url("javascript:alert(1)")
    assert refused.value.code == "invalid_webhook_url"
    assert check_url("http://127.0.0.1:8080/x", allow_private=True) == "http://127.0.0.1:8080/x"
    twice = [WebhookEvent.GRANT_ISSUED, WebhookEvent.APPROVAL_CREATED, WebhookEvent.GRANT_ISSUED]
    assert events_of(twice) == (WebhookEvent.APPROVAL_CREATED, WebhookEvent.GRANT_ISSUED)
    assert events_of(None) == tuple(WebhookEvent)
    with pytest.raises(InvalidInput):
        events_of([])


def test_without_a_key_no_webhook_can_be_added(store: SqlStore) -> None:
    keyless = Services.build(store)
    assert not keyless.webhooks.can_sign
    with pytest.raises(Unavailable) as missing:
        keyless.webhooks.add(SYSTEM, url="https://hooks.example.com/")
    assert missing.value.code == "webhook_key_missing"


# -- claiming, with two dispatchers ---------------------------------------------------


def test_two_dispatchers_deliver_each_delivery_once(
    services: Services, database_url: str, receiver: Receiver, clock: ManualClock
) -> None:
    services.webhooks.add(SYSTEM, url=receiver.url(), events=[WebhookEvent.AGENT_SUSPENDED])
    with services.store.write() as unit:
        for n in range(60):
            publish(unit, WebhookEvent.AGENT_SUSPENDED, {"n": n}, clock())
    # Two stores, two connection pools: as two server processes would be.
    stores = [open_store(database_url, migrate=False) for _ in range(2)]
    senders = [HttpSender(allow_private=True) for _ in stores]
    dispatchers = [
        Dispatcher(s, clock, services.webhooks.keys, sender, batch=7, workers=2)
        for s, sender in zip(stores, senders, strict=True)
    ]
    # Both claim at the same moment, round after round, until neither finds anything.
    step = barrier(2)
    sent = [0, 0]
    counts = [0, 0]

    def drain(index: int) -> None:
        while True:
            step.wait()
            sent[index] = dispatchers[index].run_once()
            step.wait()
            if sum(sent) == 0:
                return
            counts[index] += sent[index]

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        join_all(threads)
    finally:
        for dispatcher, sender, opened in zip(dispatchers, senders, stores, strict=True):
            dispatcher.close()
            sender.close()
            opened.close()
    ids = [r.headers["Charter-Delivery"] for r in receiver.requests]
    assert len(ids) == 60
    assert len(set(ids)) == 60
    assert sum(counts) == 60
    assert sorted(r.json["data"]["n"] for r in receiver.requests) == list(range(60))


def test_a_claim_whose_dispatcher_died_comes_back_after_its_lease(
    services: Services, receiver: Receiver, dispatcher: Dispatcher, clock: ManualClock
) -> None:
    services.webhooks.add(SYSTEM, url=receiver.url(), events=[WebhookEvent.AGENT_SUSPENDED])
    with services.store.write() as unit:
        publish(unit, WebhookEvent.AGENT_SUSPENDED, {"n": 1}, clock())
    # A dispatcher claims it and dies before sending: nothing else takes it meanwhile.
    with services.store.write() as unit:
        [(claimed, _)] = unit.webhooks.claim_due(
            clock(), lease_until=clock() + timedelta(minutes=2), limit=10
        )
    assert dispatcher.run_once() == 0
    clock.advance(timedelta(minutes=2))
    assert dispatcher.run_once() == 1
    assert [r.headers["Charter-Delivery"] for r in receiver.requests] == [claimed.id]
    with services.store.read() as unit:
        [delivery] = unit.webhooks.deliveries(claimed.webhook_id)
    assert (delivery.status.value, delivery.attempts) == ("delivered", 2)
    # The dead dispatcher's late outcome cannot overwrite the newer one.
    with services.store.write() as unit:
        assert not unit.webhooks.finish(
            claimed,
            status=DeliveryStatus.FAILED,
            at=clock(),
            next_attempt_at=None,
            status_code=None,
            error="late",
        )


# -- the server's own loop, the SDK and the CLI ---------------------------------------


def test_the_server_delivers_in_the_background(
    api: TestClient, admin: Admin, services: Services, receiver: Receiver
) -> None:
    created = api.post(
        "/v1/webhooks",
        json={"url": receiver.url(), "events": ["agent.suspended"]},
        headers=admin.headers,
    )
    assert created.status_code == 201
    services.humans.add(SYSTEM, human_id="user:olga", email="olga@x.test")
    services.agents.register(
        SYSTEM,
        agent_id="ops-bot",
        display_name=None,
        owner="user:olga",
        purpose="be suspended",
        risk_tier=RiskTier.LOW,
    )
    suspended = api.post("/v1/agents/ops-bot/suspend", json={"reason": "x"}, headers=admin.headers)
    assert suspended.status_code == 200
    assert receiver.wait_for(1)
    got = receiver.requests[0]
    assert got.json["type"] == "agent.suspended"
    assert verify_signature(
        created.json()["secret"], got.headers["Charter-Signature"], got.body, clock=services.clock
    )


def test_the_sdk_and_the_cli_manage_webhooks(
    live_server: str, admin: Admin, receiver: Receiver
) -> None:
    with Client(live_server, admin.token) as client:
        created = client.add_webhook(receiver.url(), events=["agent.suspended"], description="d")
        assert created.secret.startswith("whsec_")
        assert [w.id for w in client.list_webhooks().webhooks] == [created.id]
        assert client.webhook_deliveries(created.id).deliveries == []
        assert client.webhook_deliveries(created.id, status="failed", limit=5).next_cursor is None

        runner = CliRunner()
        common = ["--server", live_server, "--token", admin.token]
        result = runner.invoke(
            cli_app,
            ["webhooks", "add", receiver.url("/cli"), "--event", "approval.created", *common],
        )
        assert result.exit_code == 0, result.stderr
        secret = result.stdout.strip().splitlines()[-1]
        assert secret.startswith("whsec_")
        listed = runner.invoke(cli_app, ["webhooks", "list", "--json", *common])
        assert listed.exit_code == 0
        hooks = json.loads(listed.stdout)
        assert sorted(h["url"] for h in hooks) == sorted([receiver.url(), receiver.url("/cli")])
        assert all("secret" not in h for h in hooks)
        cli_hook = next(h["id"] for h in hooks if h["url"].endswith("/cli"))
        log = runner.invoke(
            cli_app, ["webhooks", "deliveries", cli_hook, "--status", "pending", "--json", *common]
        )
        assert (log.exit_code, json.loads(log.stdout)) == (0, [])
        gone = runner.invoke(cli_app, ["webhooks", "remove", cli_hook, *common])
        assert gone.exit_code == 0
        assert f"webhook {cli_hook} removed" in gone.stdout
        bad = runner.invoke(cli_app, ["webhooks", "add", "ftp://x", *common])
        assert bad.exit_code == 1
        assert "invalid_webhook_url" in bad.stderr

        removed = client.remove_webhook(created.id)
        assert not removed.active
        states = {w.id: w.active for w in client.list_webhooks().webhooks}
        assert states == {created.id: False, cli_hook: False}


# -- signatures as a receiver checks them ---------------------------------------------


def test_verify_signature_refuses_anything_off(clock: ManualClock) -> None:
    secret = WebhookSecrets(b"k" * 32).for_webhook("whk_x", "salt")
    body = b'{"id":"evt_1"}'
    now = int(clock().timestamp())
    good = signature_header(secret, now, body)
    assert verify_signature(secret, good, body, clock=clock)
    assert verify_signature(secret, good, body.decode(), clock=clock)
    # Two signatures (a receiver mid-rotation): either one may match.
    assert verify_signature(secret, f"{good},v1={'0' * 64}", body, clock=clock)
    stale = signature_header(secret, now - 301, body)
    early = signature_header(secret, now + 301, body)
    for header in (stale, early, "", "t=,v1=", f"v1={good.split('v1=')[1]}", "garbage", f"t={now}"):
        assert not verify_signature(secret, header, body, clock=clock), header
    assert verify_signature(secret, stale, body, clock=clock, tolerance=timedelta(minutes=6))
    assert WebhookSecrets(b"k" * 32).for_webhook("whk_x", "salt") == secret
    assert WebhookSecrets(b"j" * 32).for_webhook("whk_x", "salt") != secret
    assert WebhookSecrets(b"k" * 32).for_webhook("whk_x", "other") != secret
    with pytest.raises(ValueError, match="256 bits"):
        WebhookSecrets(b"short")
