"""Decision spans through the real app, recorded by the SDK's in-memory exporter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from charter.errors import InvalidInput
from charter.identity.credentials import mint_token
from charter.server.app import create_app
from charter.server.tracing import SPAN_NAME, tracer_provider
from charter.service import Services
from charter.settings import Settings
from tests.scenes import CONFIG, Scene

GITHUB_TOKEN = "ghp_" + "T7rQ2mXv9Lk4Pz8Wn1Bc6Hd3Jf5Gs0Ya2Ue7"
SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced(services: Services, exporter: InMemorySpanExporter) -> Iterator[TestClient]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TestClient(create_app(services, tracing=provider), raise_server_exceptions=False) as api:
        yield api
    provider.shutdown()


@pytest.fixture
def scene(traced: TestClient, services: Services) -> Scene:
    return Scene(traced, services)


def _spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == SPAN_NAME]


def test_each_decision_is_a_span_with_what_was_decided_and_nothing_asked_inside(
    scene: Scene, traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    asked = {
        **CONFIG,
        "resource": {"id": "prod/web", "attributes": {"region": "zone-attr-value"}},
        "context": {"ticket": "ctx-value-42"},
        "input": {"note": "input-value-17"},
    }
    body = scene.decide(asked)
    [span] = _spans(exporter)
    assert dict(span.attributes or {}) == {
        "charter.agent": "ops-bot",
        "charter.capability": "do",
        "charter.action": "config.change",
        "charter.effect": "approval_required",
        "charter.code": "approval_required",
        "charter.policy_revision": body["policy_revision"],
        "charter.decision_id": body["decision_id"],
    }
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.end_time >= span.start_time
    # Nothing the request carried inside, and no token, is in any span.
    recorded = json.dumps([dict(s.attributes or {}) for s in exporter.get_finished_spans()])
    for inside in ("zone-attr-value", "ctx-value-42", "input-value-17", "prod/web"):
        assert inside not in recorded
    for headers in scene.tokens.values():
        assert headers["Authorization"].split()[1] not in recorded


def test_a_batch_is_a_span_per_decision_and_an_enforcer_names_the_agent(
    scene: Scene, traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    answer = traced.post(
        "/v1/decisions/batch",
        json={"requests": [{**CONFIG, "action": "review.draft"}, {**CONFIG, "action": "x.y"}]},
        headers=scene.tokens["ops-bot"],
    )
    assert answer.status_code == 200, answer.text
    spans = _spans(exporter)
    assert [(s.attributes or {}).get("charter.effect") for s in spans] == ["allow", "deny"]
    exporter.clear()
    scene.decide({**CONFIG, "agent": "ops-bot"}, as_="user:gate")
    [span] = _spans(exporter)
    assert (span.attributes or {})["charter.agent"] == "ops-bot"


def test_a_request_carrying_a_secret_leaves_its_action_out(
    scene: Scene, exporter: InMemorySpanExporter
) -> None:
    scene.decide({**CONFIG, "action": "review.draft", "input": {"key": GITHUB_TOKEN}})
    [span] = _spans(exporter)
    attributes = dict(span.attributes or {})
    assert attributes["charter.action"] == "[masked]"
    assert GITHUB_TOKEN not in json.dumps(attributes)


def test_a_callers_traceparent_makes_the_decision_its_child(
    scene: Scene, traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    answer = traced.post(
        "/v1/decisions",
        json={**CONFIG, "action": "review.draft"},
        headers={**scene.tokens["ops-bot"], "traceparent": f"00-{trace_id}-{parent_id}-01"},
    )
    assert answer.status_code == 200, answer.text
    [span] = _spans(exporter)
    assert span.context is not None
    assert span.parent is not None
    assert format(span.context.trace_id, "032x") == trace_id
    assert format(span.parent.span_id, "016x") == parent_id
    exporter.clear()
    # Without one, a decision starts its own trace; a bad one is ignored.
    traced.post(
        "/v1/decisions",
        json={**CONFIG, "action": "review.draft"},
        headers={**scene.tokens["ops-bot"], "traceparent": "not-a-trace"},
    )
    [alone] = _spans(exporter)
    assert alone.parent is None


@pytest.mark.parametrize(
    "secret",
    [
        GITHUB_TOKEN,
        mint_token()[2],
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    ],
)
def test_a_tracestate_holding_a_secret_is_not_carried_on(
    scene: Scene, traced: TestClient, exporter: InMemorySpanExporter, secret: str
) -> None:
    # tracestate goes out with every span to the collector: kept as sent when it holds
    # nothing secret, dropped whole when it does (the trace and parent stay).
    assert _carried(traced, scene, exporter, "vendor=abc123,other=x") == "vendor=abc123,other=x"
    assert _carried(traced, scene, exporter, f"vendor=abc,key={secret}") == ""


def test_a_tracestate_holding_a_registered_leak_is_not_carried_on(
    scene: Scene, traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    leak = "Plum-Orchard-Lantern-8842"  # no detector's: only the registry knows it
    state = f"vendor=abc,key={leak}"
    assert _carried(traced, scene, exporter, state) == state
    reported = traced.post(
        "/v1/leaks", json={"value": leak, "note": "x"}, headers=scene.tokens["user:rita"]
    )
    assert reported.status_code == 201, reported.text
    assert _carried(traced, scene, exporter, state) == ""


def _carried(traced: TestClient, scene: Scene, exporter: InMemorySpanExporter, state: str) -> str:
    """The tracestate a decision's span carries when the request sent ``state``."""
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    parent = {"traceparent": f"00-{trace_id}-{parent_id}-01"}
    answer = traced.post(
        "/v1/decisions",
        json={**CONFIG, "action": "review.draft"},
        headers={**scene.tokens["ops-bot"], **parent, "tracestate": state},
    )
    assert answer.status_code == 200, answer.text
    [span] = _spans(exporter)
    exporter.clear()
    assert span.context is not None
    assert format(span.context.trace_id, "032x") == trace_id
    carried: str = span.context.trace_state.to_header()
    return carried


def test_a_refused_request_is_no_decision_span(
    traced: TestClient, scene: Scene, exporter: InMemorySpanExporter
) -> None:
    assert traced.post("/v1/decisions", json=CONFIG).status_code == 401
    assert _spans(exporter) == []


def test_tracing_is_off_unless_configured_and_otlp_needs_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tracer_provider(Settings()) is None
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    provider = tracer_provider(Settings(tracing="otlp"))
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "charter"
    provider.shutdown()  # nothing was recorded, so nothing is sent
    monkeypatch.setenv("OTEL_SERVICE_NAME", "charter-eu")
    named = tracer_provider(Settings(tracing="otlp"))
    assert isinstance(named, TracerProvider)
    assert named.resource.attributes["service.name"] == "charter-eu"
    named.shutdown()
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(InvalidInput) as refused:
        tracer_provider(Settings(tracing="otlp"))
    assert refused.value.code == "invalid_setting"
    assert "charter[tracing]" in (refused.value.help or "")
    # Settings say so first, so `charter serve` stops with one line before it starts.
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(InvalidInput) as early:
        Settings.from_env({"CHARTER_TRACING": "otlp"})
    assert early.value.code == "invalid_setting"
    assert Settings.from_env({"CHARTER_TRACING": "off"}).tracing == "off"


def test_without_tracing_the_sdk_is_never_imported(tmp_path: Path) -> None:
    script = f"""
import sys
from fastapi.testclient import TestClient
from charter.server.app import create_app
from charter.service import Services
from charter.storage.sql import open_store
store = open_store("sqlite:///{tmp_path / "charter.db"}")
with TestClient(create_app(Services.build(store))) as api:
    asked = {{"capability": "do", "action": "a", "resource": "r"}}
    assert api.post("/v1/decisions", json=asked).status_code == 401
store.close()
print(sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
