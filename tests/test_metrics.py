"""``/metrics``: what the real app counts, who may read it, and that labels stay bounded."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from charter.clock import ManualClock
from charter.errors import InvalidInput, Unavailable
from charter.identity.humans import HumanRole
from charter.server.app import _checkpoint, _every, create_app
from charter.server.metrics import Metrics, store_error_kind
from charter.server.outbound import HttpSender
from charter.service import SYSTEM, Services
from charter.service.dispatch import Dispatcher
from charter.settings import Settings
from charter.settings_file import read_config_file
from charter.storage.sql import SqlStore, open_store
from charter.storage.sql.bounds import StoreBounds
from charter.webhooks.model import RETRY_DELAYS
from tests.helpers import bearer, log_size, register
from tests.scenes import CONFIG, Scene
from tests.servers import Receiver

METRICS_TOKEN = "m" * 40


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(api: TestClient, headers: dict[str, str]) -> str:
    answer = api.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    return Scene(api, services)


def test_decisions_are_counted_by_effect_and_code_with_their_latency(
    scene: Scene, api: TestClient, services: Services
) -> None:
    admin = scene.tokens["user:rita"]
    before = scrape(api, admin)
    assert value(before, "charter_approvals_pending") == 0
    assert scene.decide(CONFIG)["decision"] == "approval_required"
    assert scene.decide({**CONFIG, "action": "review.draft"})["decision"] == "allow"
    assert scene.decide({**CONFIG, "action": "nothing.here"})["decision"] == "deny"
    refused = api.post("/v1/decisions", json=CONFIG, headers=bearer("ch_bad.token"))
    assert refused.status_code == 401
    batch = api.post(
        "/v1/decisions/batch",
        json={"requests": [{**CONFIG, "action": "review.draft"}] * 3},
        headers=scene.tokens["ops-bot"],
    )
    assert batch.status_code == 200, batch.text

    text = scrape(api, admin)
    assert value(text, "charter_decisions_total", effect="allow", code="allowed") == 4
    assert (
        value(text, "charter_decisions_total", effect="approval_required", code="approval_required")
        == 1
    )
    assert value(text, "charter_decisions_total", effect="deny", code="no_permission") == 1
    assert value(text, "charter_decisions_total", effect="refused", code="token_invalid") == 1
    assert value(text, "charter_decision_duration_seconds_count", route="/v1/decisions") == 4
    assert value(text, "charter_decision_duration_seconds_count", route="/v1/decisions/batch") == 1
    assert value(text, "charter_decision_duration_seconds_sum", route="/v1/decisions") > 0
    assert (
        value(
            text, "charter_http_requests_total", method="POST", route="/v1/decisions", status="200"
        )
        == 3
    )
    # Group commit: every decision request's transaction observed, the batch's 3 at once.
    assert value(text, "charter_group_commit_batch_size_count") >= 5
    assert value(text, "charter_group_commit_batch_size_bucket", le="4.0") >= 1
    assert value(text, "charter_group_commit_transactions_total") >= 5
    # Read at scrape time: the pending approval and the log's size.
    assert value(text, "charter_approvals_pending") == 1
    assert value(text, "charter_audit_records") == log_size(services.store)  # type: ignore[arg-type]
    assert value(text, "charter_store_up") == 1
    assert value(text, "charter_build_info", version="0.1.0", python=_python()) == 1
    assert "process_cpu_seconds_total" in text


def _python() -> str:
    import platform

    return platform.python_version()


def test_labels_never_carry_agents_resources_or_what_a_caller_chose(
    scene: Scene, api: TestClient
) -> None:
    odd = {"capability": "do", "action": "secret.action.xyzzy", "resource": "res/plugh-42"}
    scene.decide(odd)
    api.post(
        "/v1/decisions", json={**odd, "agent": "agent-frobozz"}, headers=scene.tokens["user:gate"]
    )
    api.get("/v1/agents/agent-frobozz", headers=scene.tokens["user:rita"])
    api.get("/no/such/path/quux", headers={"X-Request-ID": "rid-zork"})
    api.request("BREW", "/v1/agents")
    text = scrape(api, scene.tokens["user:rita"])
    for chosen in ("xyzzy", "plugh", "frobozz", "ops-bot", "quux", "zork", "BREW", "olga"):
        assert chosen not in text
    assert value(text, "charter_http_requests_total", method="GET", route="unmatched", status="404")
    assert (
        value(
            text,
            "charter_http_requests_total",
            method="GET",
            route="/v1/agents/{agent_id}",
            status="404",
        )
        == 1
    )
    assert value(
        text, "charter_http_requests_total", method="other", route="/v1/agents", status="405"
    )


def test_who_may_read_metrics(scene: Scene, api: TestClient, services: Services) -> None:
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", headers=bearer("not-a-token")).status_code == 401
    assert api.get("/metrics", headers=scene.tokens["ops-bot"]).status_code == 403
    assert api.get("/metrics", headers=scene.tokens["user:olga"]).status_code == 403
    assert api.get("/metrics", headers=scene.tokens["user:rita"]).status_code == 200
    services.humans.add(SYSTEM, human_id="user:aud", email="aud@x.test", roles=[HumanRole.AUDITOR])
    auditor = bearer(services.tokens.issue_for_human(SYSTEM, "user:aud").token)
    assert api.get("/metrics", headers=auditor).status_code == 200
    # Without a metrics token configured, no string reads it.
    assert api.get("/metrics", headers=bearer(METRICS_TOKEN)).status_code == 401
    metrics = api.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    assert "text/plain" in metrics["responses"]["200"]["content"]


def _client(services: Services, settings: Settings) -> TestClient:
    return TestClient(create_app(services, settings), raise_server_exceptions=False)


def test_a_metrics_token_public_metrics_and_none(services: Services) -> None:
    with _client(services, Settings(metrics_token=METRICS_TOKEN)) as api:
        assert api.get("/metrics", headers=bearer(METRICS_TOKEN)).status_code == 200
        assert api.get("/metrics", headers=bearer(METRICS_TOKEN[:-1] + "x")).status_code == 401
        assert api.get("/metrics").status_code == 401
        # The metrics token reads metrics and nothing else.
        assert api.get("/v1/agents", headers=bearer(METRICS_TOKEN)).status_code == 401
    with _client(services, Settings(metrics="public")) as api:
        assert api.get("/metrics").status_code == 200
    with _client(services, Settings(metrics="off", metrics_token=METRICS_TOKEN)) as api:
        assert api.get("/metrics", headers=bearer(METRICS_TOKEN)).status_code == 404


def test_metrics_settings_are_checked_and_the_token_never_shown() -> None:
    settings = Settings.from_env(
        {
            "CHARTER_METRICS": "Public",
            "CHARTER_METRICS_TOKEN": METRICS_TOKEN,
            "CHARTER_TRACING": "otlp",
            "CHARTER_LOG_FORMAT": "JSON",
        }
    )
    assert (settings.metrics, settings.tracing, settings.log_format) == ("public", "otlp", "json")
    assert settings.metrics_token == METRICS_TOKEN
    assert METRICS_TOKEN not in repr(settings)
    assert Settings.from_env({}).metrics == "token"
    for name, bad in (
        ("CHARTER_METRICS", "open"),
        ("CHARTER_TRACING", "jaeger"),
        ("CHARTER_LOG_FORMAT", "xml"),
        ("CHARTER_METRICS_TOKEN", "short-secret-value"),
    ):
        with pytest.raises(InvalidInput) as refused:
            Settings.from_env({name: bad})
        assert refused.value.code == "invalid_setting"
        assert "short-secret-value" not in refused.value.message


def test_apps_in_one_process_keep_their_own_counters(services: Services) -> None:
    settings = Settings(metrics="public")
    with _client(services, settings) as first, _client(services, settings) as second:
        for _ in range(3):
            first.get("/healthz")
        second.get("/healthz")
        ones = value(
            first.get("/metrics").text,
            "charter_http_requests_total",
            method="GET",
            route="/healthz",
            status="200",
        )
        twos = value(
            second.get("/metrics").text,
            "charter_http_requests_total",
            method="GET",
            route="/healthz",
            status="200",
        )
    assert (ones, twos) == (3, 1)


def test_store_failures_are_counted_by_kind(
    tmp_path: Path, sqlite_template: Path, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    path = tmp_path / "charter.db"
    path.write_bytes(sqlite_template.read_bytes())
    store = open_store(f"sqlite:///{path}", migrate=False, bounds=StoreBounds(0.2))
    services = Services.build(store, clock=clock, signing_key=signing_key)
    try:
        services.humans.add(SYSTEM, human_id="user:rita", email="r@x.test", roles=[HumanRole.ADMIN])
        admin = bearer(services.tokens.issue_for_human(SYSTEM, "user:rita").token)
        with _client(services, Settings(store_timeout=timedelta(seconds=0.2))) as api:
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                answer = api.post("/v1/decisions", json=CONFIG, headers=admin)
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"]["code"] == "store_unavailable"
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            text = scrape(api, admin)
    finally:
        store.close()
    assert value(text, "charter_store_errors_total", kind="locked") == 1
    assert value(text, "charter_store_up") == 1


def test_background_store_failures_are_counted(
    tmp_path: Path, sqlite_template: Path, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    # A checkpoint pass while another process holds SQLite's write lock fails on the
    # store: the loop counts it and goes on (no request was answered 503).
    path = tmp_path / "charter.db"
    path.write_bytes(sqlite_template.read_bytes())
    store = open_store(f"sqlite:///{path}", migrate=False, bounds=StoreBounds(0.2))
    services = Services.build(store, clock=clock, signing_key=signing_key)
    metrics = Metrics()

    def failures() -> float:
        return value(
            generate_latest(metrics.registry).decode(), "charter_store_errors_total", kind="locked"
        )

    async def two_failed_passes() -> None:
        task = asyncio.create_task(
            _every(0.0, "audit checkpoint", partial(_checkpoint, services), metrics.store_failed)
        )
        try:
            while failures() < 2:
                await asyncio.sleep(0.01)
        finally:
            task.cancel()

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        asyncio.run(asyncio.wait_for(two_failed_passes(), timeout=30))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.close()
    counted = failures()
    assert counted >= 2  # the loop went on after the first failure
    metrics.store_failed(InvalidInput("not the store's"))  # other failures are not counted
    assert failures() == counted


def test_store_error_kinds() -> None:
    def unavailable(cause: BaseException) -> Unavailable:
        error = Unavailable("down", code="store_unavailable")
        error.__cause__ = cause
        return error

    assert store_error_kind(unavailable(PoolTimeout("full"))) == "pool_timeout"
    locked = OperationalError("BEGIN", {}, Exception("database is locked"))
    assert store_error_kind(unavailable(locked)) == "locked"
    slow = OperationalError("x", {}, Exception("canceling statement due to statement timeout"))
    assert store_error_kind(slow) == "timeout"
    gone = OperationalError("x", {}, Exception("server closed the connection unexpectedly"))
    assert store_error_kind(unavailable(gone)) == "connection"


@pytest.fixture
def private_services(
    store: SqlStore, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> Services:
    return Services.build(
        store,
        clock=clock,
        signing_key=signing_key,
        settings=Settings(webhook_allow_private_targets=True),
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    opened = Receiver()
    yield opened
    opened.close()


def test_webhook_deliveries_are_counted_by_result(
    private_services: Services, clock: ManualClock, receiver: Receiver
) -> None:
    services = private_services
    settings = Settings(deliver_webhooks=False, metrics="public")
    app = create_app(services, settings)
    sender = HttpSender(timeout=5.0, allow_private=True)
    dispatcher = Dispatcher(
        services.store,
        clock,
        services.webhooks.keys,
        sender,
        on_result=app.state.metrics.webhook_result,
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as api:
            services.humans.add(
                SYSTEM, human_id="user:rita", email="r@x.test", roles=[HumanRole.ADMIN]
            )
            admin = bearer(services.tokens.issue_for_human(SYSTEM, "user:rita").token)
            added = api.post(
                "/v1/webhooks",
                json={"url": receiver.url(), "events": ["agent.suspended"]},
                headers=admin,
            )
            assert added.status_code == 201, added.text
            register(services, "bot", "user:rita")
            suspended = api.post("/v1/agents/bot/suspend", json={"reason": "odd"}, headers=admin)
            assert suspended.status_code == 200, suspended.text
            receiver.answers = [500]
            assert dispatcher.run_once() == 1
            clock.advance(RETRY_DELAYS[0])
            assert dispatcher.run_once() == 1
            text = api.get("/metrics").text
    finally:
        dispatcher.close()
        sender.close()
    assert value(text, "charter_webhook_deliveries_total", result="retrying") == 1
    assert value(text, "charter_webhook_deliveries_total", result="delivered") == 1
    assert value(text, "charter_webhook_deliveries_total", result="given_up") == 0


def test_an_app_built_again_over_the_same_services_counts_each_decision_once(
    services: Services,
) -> None:
    settings = Settings(metrics="public")
    decide = {"capability": "do", "action": "a.b", "resource": "r"}
    with _client(services, settings) as first, _client(services, settings) as second:
        for api in (first, second):
            assert api.post("/v1/decisions", json=decide).status_code == 401
        counted = [
            value(
                api.get("/metrics").text,
                "charter_decisions_total",
                effect="refused",
                code="token_missing",
            )
            for api in (first, second)
        ]
    # The app built last counts them, and no decision is counted twice.
    assert counted == [0, 2]


def test_a_client_that_leaves_before_the_answer_is_counted_as_499(services: Services) -> None:
    app = create_app(services, Settings(metrics="public"))
    sent: list[dict[str, object]] = []

    async def leave() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/agents",
        "raw_path": b"/v1/agents",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, leave, send))  # type: ignore[arg-type]
    assert sent == []
    text = generate_latest(app.state.metrics.registry).decode()
    assert (
        value(text, "charter_http_requests_total", method="POST", route="unmatched", status="499")
        == 1
    )


def test_a_config_file_sets_metrics_and_never_repeats_the_token(tmp_path: Path) -> None:
    path = tmp_path / "charter.toml"
    path.write_text(
        f'metrics = "public"\nmetrics_token = "{METRICS_TOKEN}"\n[log]\nformat = "json"\n'
    )
    settings = Settings.layered(read_config_file(path))
    assert (settings.metrics, settings.metrics_token, settings.log_format) == (
        "public",
        METRICS_TOKEN,
        "json",
    )
    path.write_text('metrics_token = "short-secret-value"\n')
    with pytest.raises(InvalidInput) as refused:
        read_config_file(path)
    assert refused.value.code == "invalid_setting"
    assert "short-secret-value" not in refused.value.message
