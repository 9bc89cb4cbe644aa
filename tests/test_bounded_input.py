"""Every value that reaches a parser is bounded and answered with a 4xx, never a 500,
through the real app on both backends: durations (on the wire, in a stored approval, in
a policy, in settings and the CLI), JSON numbers that do not round-trip (anywhere in any
body, and never sent by the SDK), policy integers and times, and webhook targets
(metadata, link-local and private addresses in every spelling, at registration and at
delivery)."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from charter import Client, InvalidInput
from charter.approvals.grants import grant_duration
from charter.cli.main import app as cli_app
from charter.clock import ManualClock
from charter.identity.agents import LifecycleAction, RiskTier
from charter.identity.humans import HumanRole
from charter.server.app import create_app
from charter.server.outbound import HttpSender
from charter.service import SYSTEM, Services
from charter.service.dispatch import Dispatcher
from charter.settings import MAX_DURATION, Settings, parse_duration
from charter.storage.sql import SqlStore
from charter.storage.sql.schema import approvals
from charter.webhooks.targets import host_address
from tests.helpers import people
from tests.scenes import RESTART
from tests.scenes import Scene as ApprovalScene
from tests.servers import Receiver, free_port


@pytest.fixture
def scene(api: TestClient, services: Services) -> ApprovalScene:
    return ApprovalScene(api, services)


# -- durations ------------------------------------------------------------------------

BAD_DURATIONS: list[Any] = [
    "1000000000d",
    "999999999d",
    "99999999d",
    "3661d",
    "87865h",
    "5271841m",
    "316224001s",
    "9" * 40 + "s",
    "9" * 5000 + "d",
    "\uff11\uff10m",  # fullwidth digits
    "\u0661\u0660m",  # Arabic-Indic digits
    "10 m",
    "-5m",
    "+5m",
    "0s",
    "00m",
    "",
    "   ",
    "10w",
    "10M",
    "1e3s",
    "0x10m",
    "10.5h",
    "PT10M",
    "10m10s",
    10,
    10.5,
    None,
    True,
    ["10m"],
    {"minutes": 10},
]


@pytest.mark.parametrize("text", [d for d in BAD_DURATIONS if isinstance(d, str)])
def test_parse_duration_refuses_what_it_cannot_bound(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_duration(text)
    assert refused.value.code == "invalid_duration"


def test_parse_duration_accepts_up_to_its_bound() -> None:
    assert parse_duration(f"{MAX_DURATION.days}d") == MAX_DURATION
    assert parse_duration(f"{int(MAX_DURATION.total_seconds())}s") == MAX_DURATION
    assert parse_duration(" 15m ") == timedelta(minutes=15)


def test_an_unreadable_context_duration_is_refused_on_the_wire(
    scene: ApprovalScene, services: Services
) -> None:
    for duration in BAD_DURATIONS:
        request = {**RESTART, "context": {"duration": duration}}
        answer = scene.api.post("/v1/decisions", json=request, headers=scene.tokens["ops-bot"])
        assert answer.status_code == 422, (duration, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "invalid_request", duration
        assert any(f["path"] == "body.context" for f in error["fields"]), (duration, error)
        batch = {"requests": [RESTART, request]}
        answer = scene.api.post("/v1/decisions/batch", json=batch, headers=scene.tokens["ops-bot"])
        assert answer.status_code == 422, (duration, answer.text)
    # Nothing was decided, so no approval waits with a value no one can read.
    assert services.approvals.list(SYSTEM) == []
    good = scene.decide({**RESTART, "context": {"duration": "10m"}})
    assert good["decision"] == "approval_required"


@pytest.mark.parametrize("stored", ["1000000000d", "999999999d", "99999999d", "3661d", 36000])
def test_an_approval_holding_an_unreadable_duration_can_still_be_decided(
    scene: ApprovalScene, store: SqlStore, stored: Any
) -> None:
    """A value stored before the wire refused it (or by an older server) never makes an
    approval undecidable: the grant lasts the binding's maximum."""
    approval_id = scene.decide({**RESTART, "context": {"duration": "10m"}})["approval"]["id"]
    with store.engine.begin() as conn:
        text = conn.execute(
            sa.select(approvals.c.request).where(approvals.c.id == approval_id)
        ).scalar_one()
        request = json.loads(text)
        request["context"]["duration"] = stored
        conn.execute(
            approvals.update()
            .where(approvals.c.id == approval_id)
            .values(request=json.dumps(request))
        )
    voted = scene.vote(approval_id, "user:opal")
    assert voted.status_code == 200, voted.text
    assert voted.json()["status"] == "approved"
    grant = scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"][0]
    span = datetime.fromisoformat(grant["expires_at"]) - datetime.fromisoformat(grant["issued_at"])
    assert span == timedelta(minutes=30)  # the binding's maxDuration


def test_an_approval_holding_an_overlong_maximum_grants_no_more_than_the_bound(
    scene: ApprovalScene, store: SqlStore
) -> None:
    """A binding maximum stored before policies were bounded (63 years here) yields a
    grant of at most ``MAX_DURATION`` and the binding's maximum in the active policy
    (30 minutes), and the vote still succeeds."""
    approval_id = scene.decide(RESTART)["approval"]["id"]
    with store.engine.begin() as conn:
        conn.execute(
            approvals.update()
            .where(approvals.c.id == approval_id)
            .values(max_duration_s=2_000_000_000)
        )
    voted = scene.vote(approval_id, "user:opal")
    assert voted.status_code == 200, voted.text
    grant = scene.api.get("/v1/grants", headers=scene.tokens["user:rita"]).json()["grants"][0]
    span = datetime.fromisoformat(grant["expires_at"]) - datetime.fromisoformat(grant["issued_at"])
    assert span == timedelta(minutes=30) < MAX_DURATION


def test_grant_duration_never_raises_and_never_exceeds_the_bound() -> None:
    binding = timedelta(minutes=30)
    for asked in [*BAD_DURATIONS, "\x00", "9" * 10**5]:
        assert grant_duration(binding, asked) == binding, asked
    assert grant_duration(binding, "10m") == timedelta(minutes=10)
    assert grant_duration(None, None) == timedelta(hours=1)
    assert grant_duration(timedelta.max, None) == MAX_DURATION


# -- policy numbers, times and durations ------------------------------------------------

BINDING = """
apiVersion: charter/v1
kind: Role
metadata: {name: r}
spec:
  permissions:
    - {capability: do, actions: [x.y]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: b}
spec:
  role: r
  agents: [a-bot]
  activation: eligible
  %s
"""

BAD_POLICY_VALUES = [
    ("maxDuration: 1000000000d", "invalid_duration"),
    ("maxDuration: 99999999d", "invalid_duration"),
    ("maxDuration: 3661d", "invalid_duration"),
    ("maxDuration: " + "9" * 5000 + "s", "invalid_duration"),
    ("approval: {approvers: [group:ops], expiresIn: 1000000000d}", "invalid_duration"),
    ("expiresAt: 0001-01-01T00:00:00+05:00", "expected_timestamp"),
    ("expiresAt: 9999-12-31T23:00:00-05:00", "expected_timestamp"),
    ("expiresAt: '" + "2" * 5000 + "'", "expected_timestamp"),
    ("approval: {approvers: [group:ops], quorum: 0x10}", "expected_integer"),
    ("approval: {approvers: [group:ops], quorum: 0o17}", "expected_integer"),
    ("approval: {approvers: [group:ops], quorum: 1_0}", "expected_integer"),
    ("approval: {approvers: [group:ops], quorum: 190:20:30}", "expected_integer"),
    ("approval: {approvers: [group:ops], quorum: " + "9" * 5000 + "}", "expected_integer"),
    ("approval: {approvers: [group:ops], quorum: " + "9" * 30 + "}", "expected_integer"),
    ("approval: {approvers: [group:ops], quorum: 100000}", "invalid_value"),
    ("approval: {approvers: [group:ops], quorum: 0}", "invalid_value"),
]


@pytest.mark.parametrize(("line", "code"), BAD_POLICY_VALUES)
def test_policy_values_beyond_their_bounds_are_diagnosed_not_crashed_on(
    api: TestClient, services: Services, line: str, code: str
) -> None:
    tokens = people(services, [("user:pat", (), (HumanRole.POLICY_ADMIN,))])
    body = {"files": {"p.yaml": BINDING % line}}
    for path in ("/v1/policies", "/v1/policies/diff"):
        answer = api.post(path, json=body, headers=tokens["user:pat"])
        assert answer.status_code == 422, (line[:60], answer.text[:300])
        error = answer.json()["error"]
        assert error["code"] == "invalid_policy"
        assert code in [d["code"] for d in error["diagnostics"]], (line[:60], error)


# -- JSON numbers that do not round-trip --------------------------------------------------

NOT_ROUND_TRIPPING = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1E400",
    "1e999999",
    "123456789e999999",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "9" * 30,
    "-" + "9" * 30,
    "9" * 5000,
]


def _places(value: str) -> dict[str, tuple[str, str]]:
    """Bodies with ``value`` (raw JSON text) nested somewhere, by the path they go to."""
    decision = (
        '{"capability": "do", "action": "service.restart", "resource": "prod/web", '
        '"context": {"ticket": {"ids": [1, @]}}}'.replace("@", value)
    )
    return {
        "context": ("/v1/decisions", decision),
        "input": (
            "/v1/decisions",
            '{"capability": "do", "action": "service.restart", "resource": "prod/web", '
            '"input": {"a": [{"b": @}]}}'.replace("@", value),
        ),
        "attributes": (
            "/v1/decisions",
            '{"capability": "do", "action": "service.restart", '
            '"resource": {"id": "prod/web", "attributes": {"size": @}}}'.replace("@", value),
        ),
        "batch": ("/v1/decisions/batch", '{"requests": [@]}'.replace("@", decision)),
        "policy": ("/v1/policies", '{"files": {"p.yaml": "x: 1"}, "n": @}'.replace("@", value)),
        "webhook": (
            "/v1/webhooks",
            '{"url": "https://hooks.example.com/", "description": [@]}'.replace("@", value),
        ),
        "token": ("/v1/agents/ops-bot/tokens", '{"ttl_seconds": @}'.replace("@", value)),
        "lifecycle": (
            "/v1/agents/ops-bot/suspend",
            '{"reason": "x", "why": {"n": @}}'.replace("@", value),
        ),
    }


def test_non_finite_and_oversized_numbers_are_refused_in_every_body(
    scene: ApprovalScene, services: Services
) -> None:
    approval = scene.decide(RESTART)["approval"]["id"]
    tokens = {
        "/v1/decisions": scene.tokens["ops-bot"],
        "/v1/decisions/batch": scene.tokens["ops-bot"],
        "/v1/policies": scene.tokens["user:pat"],
    }
    for value in NOT_ROUND_TRIPPING:
        places = _places(value)
        places["vote"] = (
            f"/v1/approvals/{approval}/approve",
            '{"reason": "ok", "extra": [@]}'.replace("@", value),
        )
        for place, (path, body) in places.items():
            headers = {**tokens.get(path, scene.tokens["user:rita"])}
            if place == "vote":
                headers = {**scene.tokens["user:opal"]}
            for content_type in ("application/json", "text/plain", None):
                sent = {**headers} | ({"Content-Type": content_type} if content_type else {})
                answer = scene.api.post(path, content=body.encode(), headers=sent)
                assert answer.status_code == 400, (value[:30], place, answer.text[:200])
                assert answer.json()["error"]["code"] == "invalid_json", (value[:30], place)
    # None of it changed anything: the approval still waits, the agent is still active.
    assert scene.approval(approval)["status"] == "pending"
    assert services.agents.get(SYSTEM, "ops-bot").status.value == "active"


DUPLICATED_KEYS = [
    # Each names one key twice in one object: read last-wins here, first-wins elsewhere.
    '{"capability": "do", "capability": "request", "action": "service.restart", '
    '"resource": "prod/web"}',
    '{"capability": "do", "action": "service.restart", "action": "service.status", '
    '"resource": "prod/web"}',
    '{"capability": "do", "action": "service.restart", "resource": "prod/web", '
    '"resource": "dev/web"}',
    '{"capability": "do", "action": "service.restart", "resource": "prod/web", '
    '"context": {"on_behalf_of": "user:rita", "on_behalf_of": "user:opal"}}',
    '{"capability": "do", "action": "service.restart", "resource": "prod/web", '
    '"context": {"a": "x", "\\u0061": "y"}}',
    '{"capability": "do", "action": "service.restart", "resource": "prod/web", '
    '"context": {"a": 1, "a": "\\u003a"}}',
    '{"capability": "do", "action": "service.restart", "resource": "prod/web", '
    '"input": {"deep": [{"cmd": "ls", "cmd": "rm -rf /"}]}}',
    '{"capability": "do", "action": "service.restart", '
    '"resource": {"id": "prod/web", "attributes": {"env": "dev", "env": "prod"}}}',
    '{"capability": "do", "action": "service.restart", "resource": {"id": "dev/web", '
    '"id": "prod/web"}}',
]


def test_a_key_named_twice_in_one_object_is_refused_in_every_body(
    scene: ApprovalScene, services: Services
) -> None:
    approval = scene.decide(RESTART)["approval"]["id"]
    for body in DUPLICATED_KEYS:
        for path, headers in (
            ("/v1/decisions", scene.tokens["ops-bot"]),
            ("/v1/decisions/batch", scene.tokens["ops-bot"]),
        ):
            sent = body if path == "/v1/decisions" else f'{{"requests": [{body}]}}'
            for content_type in ("application/json", None):
                own = {**headers} | ({"Content-Type": content_type} if content_type else {})
                answer = scene.api.post(path, content=sent.encode(), headers=own)
                assert answer.status_code == 400, (body, path, answer.text[:300])
                error = answer.json()["error"]
                assert error["code"] == "invalid_json", (body, error)
                assert "twice" in error["message"], error
    others = [
        (f"/v1/approvals/{approval}/approve", '{"reason": "ok", "reason": "no"}', "user:opal"),
        ("/v1/agents/ops-bot/suspend", '{"reason": "a", "reason": "b"}', "user:rita"),
        ("/v1/policies", '{"files": {"p.yaml": "x: 1", "p.yaml": "y: 2"}}', "user:pat"),
    ]
    for path, body, who in others:
        answer = scene.api.post(path, content=body.encode(), headers=scene.tokens[who])
        assert answer.status_code == 400, (path, answer.text[:300])
        assert answer.json()["error"]["code"] == "invalid_json", (path, answer.text)
    # None of it changed anything: the approval still waits, the agent is still active.
    assert scene.approval(approval)["status"] == "pending"
    assert services.agents.get(SYSTEM, "ops-bot").status.value == "active"


def test_the_same_key_in_different_objects_and_colons_in_strings_are_fine(
    scene: ApprovalScene,
) -> None:
    for context in (
        '{"on_behalf_of": "user:rita", "note": "a:b::c", "n": {"note": 1}}',
        '{"url": "https://x.example:8443/a?b=c:d", "list": [{"k": 1}, {"k": 2}]}',
        '{"escaped": "\\u003a\\u0061", "a": "\\u0062"}',
        '{"\\u003a": 1, ":": 2}',
    ):
        body = (
            '{"capability": "do", "action": "service.restart", "resource": "prod/web", '
            f'"context": {context}}}'
        )
        answer = scene.api.post(
            "/v1/decisions",
            content=body.encode(),
            headers={**scene.tokens["ops-bot"], "Content-Type": "application/json"},
        )
        if context.startswith('{"\\u003a"'):  # the same key, ':', spelled twice
            assert answer.status_code == 400, answer.text
            continue
        assert answer.status_code == 200, (context, answer.text)
        assert answer.json()["decision"] == "approval_required", answer.text


@pytest.mark.parametrize(
    "value", ["9223372036854775807", "-9223372036854775808", "1e308", "-1.5e-300", "0"]
)
def test_numbers_that_round_trip_are_accepted(scene: ApprovalScene, value: str) -> None:
    body = (
        '{"capability": "do", "action": "deploy.run", "resource": "prod/web", '
        '"context": {"n": @, "m": [@]}}'.replace("@", value)
    )
    answer = scene.api.post(
        "/v1/decisions",
        content=body.encode(),
        headers={**scene.tokens["ops-bot"], "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "approval_required"


def test_too_deep_a_body_is_refused_not_crashed_on(api: TestClient) -> None:
    for body in ("[" * 200_000, '{"a":' * 100_000):
        answer = api.post(
            "/v1/decisions", content=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, answer.text[:200]
        assert answer.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), 2**63, -(2**63) - 1, 10**400]
)
def test_the_sdk_never_sends_what_the_server_refuses(value: Any) -> None:
    # No server listens there: an InvalidInput (not Unavailable) proves nothing was sent.
    with Client(f"http://127.0.0.1:{free_port()}", "charter_unused") as client:
        calls: list[Callable[[], object]] = [
            lambda: client.decide("do", "x.y", resource="r/1", context={"deep": [{"n": value}]}),
            lambda: client.decide("do", "x.y", resource="r/1", input={"n": value}),
            lambda: client.decide("do", "x.y", resource="r/1", resource_attributes={"n": value}),
        ]
        for call in calls:
            with pytest.raises(InvalidInput) as refused:
                call()
            assert refused.value.code == "invalid_json"


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0])
def test_the_sdk_never_waits_for_an_unbounded_time(timeout: float) -> None:
    with (
        Client(f"http://127.0.0.1:{free_port()}", "charter_unused") as client,
        pytest.raises(InvalidInput) as refused,
    ):
        client.wait_for_approval("apr_x", timeout=timeout)
    assert refused.value.code == "invalid_timeout"


def test_the_cli_reads_no_json_the_server_refuses(tmp_path: Any) -> None:
    runner = CliRunner()
    for value in ("NaN", "Infinity", "1e999", "9" * 30):
        result = runner.invoke(
            cli_app,
            [
                "decide",
                "--server",
                f"http://127.0.0.1:{free_port()}",
                "--token",
                "charter_unused",
                "--capability",
                "do",
                "--action",
                "x.y",
                "--resource",
                "r/1",
                "--context",
                '{"n": @}'.replace("@", value),
            ],
        )
        assert result.exit_code != 0, value
        assert "Traceback" not in result.stderr
        assert "invalid_context" in result.stderr, (value, result.stderr)


# -- settings and CLI durations ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHARTER_AGENT_TOKEN_MAX_TTL", "1000000000d"),
        ("CHARTER_HUMAN_TOKEN_MAX_TTL", "99999999d"),
        ("CHARTER_CHECKPOINT_INTERVAL", "9" * 5000 + "s"),
        ("CHARTER_RECERTIFY_AFTER", "4000d"),
        ("CHARTER_INFERENCE_MAX_AGE", "\uff11h"),
        ("CHARTER_PORT", "9" * 5000),
        ("CHARTER_PORT", "\uff18\uff10"),
        ("CHARTER_MAX_BODY_BYTES", "1e9"),
        ("CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS", "maybe"),
    ],
)
def test_settings_refuse_values_beyond_their_bounds(name: str, value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Settings.from_env({name: value})
    assert refused.value.code in ("invalid_duration", "invalid_setting")


def test_the_private_targets_setting_is_read() -> None:
    assert not Settings.from_env({}).webhook_allow_private_targets
    for text, expected in (("true", True), ("1", True), ("YES", True), ("false", False)):
        env = {"CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS": text}
        assert Settings.from_env(env).webhook_allow_private_targets is expected


def test_token_lifetimes_given_to_the_cli_are_bounded(tmp_path: Any) -> None:
    runner = CliRunner()
    for ttl in ("1000000000d", "9" * 5000 + "s"):
        result = runner.invoke(
            cli_app,
            [
                "tokens",
                "issue",
                "--agent",
                "a-bot",
                "--ttl",
                ttl,
                "--server",
                f"http://127.0.0.1:{free_port()}",
                "--token",
                "charter_unused",
            ],
        )
        assert result.exit_code != 0
        assert "invalid_duration" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


# -- webhook targets ------------------------------------------------------------------------

METADATA_SPELLINGS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254:80/",
    "http://169.254.0.1/",
    "http://169.254.255.255/",
    "http://2852039166/",  # decimal
    "http://0xa9fea9fe/",  # hex
    "http://0xA9FEA9FE/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://0251.0376.0251.0376/",  # octal
    "http://00000251.0376.0251.0376/",
    "http://0251.254.169.254/",  # mixed
    "http://169.254.43518/",  # short forms
    "http://169.16689662/",
    "http://169.254.169.254./",  # trailing dot
    "http://%31%36%39.254.169.254/",  # percent-escaped
    # fullwidth digits
    "http://\uff11\uff16\uff19.\uff12\uff15\uff14.\uff11\uff16\uff19.\uff12\uff15\uff14/",
    "http://169\u3002254\u3002169\u3002254/",  # ideographic full stops
    "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",
    "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
    "http://[::169.254.169.254]/",  # IPv4-compatible
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
    "http://[2002:a9fe:a9fe::1]/",  # 6to4
    "http://[fd00:ec2::254]/",  # AWS over IPv6
    "http://[FD00:EC2:0:0:0:0:0:254]/",
    "http://[fe80::1]/",  # IPv6 link-local
    "http://[fe80::1%25eth0]/",
    "http://[febf::1]/",
    "http://100.100.100.200/",  # Alibaba Cloud
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./",
    "https://169.254.169.254/",
]

PRIVATE_SPELLINGS = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://0/",
    "http://0.0.0.0/",
    "http://10.0.0.1/",
    "http://10.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[fd12:3456::1]/",
    "http://[fc00::1]/",
    "http://localhost/",
    "http://LOCALHOST:8080/",
    "http://localhost./",
    "http://api.localhost/",
    "http://224.0.0.1/",  # multicast: refused always
]

INVALID_HOSTS = [
    "http://256.1.1.1/",
    "http://1.2.3.4.5/",
    "http://0x100.1.1.1/",
    "http://08.1.1.1/",  # not octal, not decimal
    "http://4294967296/",
    "http://1.2.3.999999999999999999999999999/",
    "http://169.254.169.254\\@hooks.example.com/",  # backslash: hosts differ by client
]


@pytest.fixture
def admin_headers(services: Services) -> dict[str, str]:
    return people(services, [("user:rita", (), (HumanRole.ADMIN,))])["user:rita"]


def _private_app(
    store: SqlStore, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> Iterator[TestClient]:
    allowing = Services.build(
        store,
        clock=clock,
        signing_key=signing_key,
        settings=Settings(webhook_allow_private_targets=True),
    )
    app = create_app(allowing, Settings(deliver_webhooks=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def private_api(
    store: SqlStore, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> Iterator[TestClient]:
    yield from _private_app(store, clock, signing_key)


def test_metadata_link_local_and_private_targets_are_refused(
    api: TestClient, admin_headers: dict[str, str], services: Services
) -> None:
    for url in METADATA_SPELLINGS + PRIVATE_SPELLINGS:
        answer = api.post("/v1/webhooks", json={"url": url}, headers=admin_headers)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["error"]["code"] == "webhook_target_forbidden", (url, answer.text)
    for url in INVALID_HOSTS:
        answer = api.post("/v1/webhooks", json={"url": url}, headers=admin_headers)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["error"]["code"] == "invalid_webhook_url", (url, answer.text)
    assert services.webhooks.list(SYSTEM) == []
    for url in ("https://hooks.example.com/x", "http://93.184.215.14:8080/", "http://[2606::1]/"):
        answer = api.post("/v1/webhooks", json={"url": url}, headers=admin_headers)
        assert answer.status_code == 201, (url, answer.text)


def test_allowing_private_targets_never_allows_metadata_ones(
    private_api: TestClient, admin_headers: dict[str, str]
) -> None:
    for url in [*METADATA_SPELLINGS, "http://224.0.0.1/"]:
        answer = private_api.post("/v1/webhooks", json={"url": url}, headers=admin_headers)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["error"]["code"] == "webhook_target_forbidden", url
    for url in PRIVATE_SPELLINGS[:-1]:
        answer = private_api.post("/v1/webhooks", json={"url": url}, headers=admin_headers)
        assert answer.status_code == 201, (url, answer.text)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2852039166", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("169.16689662", "169.254.169.254"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:a9fe:a9fe]", "::ffff:a9fe:a9fe"),
        ("hooks.example.com", None),
        ("1.2.3.4.example.com", None),
    ],
)
def test_hosts_are_read_as_http_clients_read_them(host: str, address: str | None) -> None:
    found = host_address(host)
    assert (None if found is None else str(found)) == address


def test_a_name_that_resolves_to_a_private_address_is_not_reached(
    private_api: TestClient,
    admin_headers: dict[str, str],
    services: Services,
    clock: ManualClock,
) -> None:
    """Registered while private targets were allowed (or through a public name that now
    resolves to a private address): the sender checks what the name resolves to just
    before connecting, and the receiver is never reached."""
    # The machine's own name: not local by spelling, but it resolves to a local address.
    name = socket.gethostname()
    try:
        resolved = ipaddress.ip_address(socket.getaddrinfo(name, 80)[0][4][0])
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    if resolved.is_global or resolved.version != 4:
        pytest.skip(f"this machine's name resolves to {resolved}, not a private IPv4 address")
    receiver = Receiver(host=str(resolved))
    try:
        port = receiver.server.server_address[1]
        url = f"http://{name}:{port}/hook"
        hook = private_api.post(
            "/v1/webhooks", json={"url": url, "events": ["agent.suspended"]}, headers=admin_headers
        )
        assert hook.status_code == 201, hook.text
        services.humans.add(SYSTEM, human_id="user:olga", email="olga@x.test")
        services.agents.register(
            SYSTEM,
            agent_id="ops-bot",
            display_name=None,
            owner="user:olga",
            purpose="p",
            risk_tier=RiskTier.LOW,
        )
        services.agents.transition(SYSTEM, "ops-bot", LifecycleAction.SUSPEND, reason="x")
        for allow_private, delivered in ((False, 0), (True, 1)):
            sender = HttpSender(timeout=5.0, allow_private=allow_private)
            dispatcher = Dispatcher(services.store, clock, services.webhooks.keys, sender)
            try:
                assert dispatcher.run_once() == 1
            finally:
                dispatcher.close()
                sender.close()
            assert len(receiver.requests) == delivered
            [delivery] = services.webhooks.deliveries(SYSTEM, hook.json()["id"])
            if not allow_private:
                assert delivery.last_error is not None
                assert delivery.last_error.startswith(f"target refused: {resolved} ")
                clock.advance(timedelta(minutes=1))
    finally:
        receiver.close()


def test_the_sender_refuses_every_metadata_spelling_before_connecting() -> None:
    sender = HttpSender(timeout=2.0, allow_private=True)
    try:
        for url in METADATA_SPELLINGS:
            if "metadata.google" in url:
                continue  # a name: resolved (or not) by DNS
            outcome = sender.send(url, b"{}", {})
            assert outcome.status_code is None, url
            # Refused after resolving, or a spelling httpx will not even parse.
            assert outcome.error is not None, url
            assert outcome.error.startswith("target refused") or outcome.error == "invalid URL", (
                url,
                outcome,
            )
    finally:
        sender.close()
