"""A registered leak that no detector recognises (a password, a passphrase) is masked in
free text as the detectors' secrets are: wherever it is written, however it is spelled,
and in the leak report that registers it. Label values, request ids and the call an
audit record names are checked against the registry too."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.secrets import redact
from charter.secrets.leaks import Leak
from charter.server.app import create_app
from charter.service import Services
from charter.storage.sql import SqlStore
from tests.scenes import Scene
from tests.test_redteam_free_text import WRITES, _text, console_suspend
from tests.test_secrets_scenarios import _stored_text

LEAK = "Plum-Orchard-Lantern-8842"
"""A secret no detector recognises, registered as leaked."""
MASK = "[REDACTED:leaked_secret]"


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    scene = Scene(api, services)
    assert redact(_text(LEAK)) == _text(LEAK)  # only the registry knows it
    reported = api.post(
        "/v1/leaks",
        json={"value": LEAK, "note": "pasted in #ops"},
        headers=scene.tokens["user:rita"],
    )
    assert reported.status_code == 201, reported.text
    return scene


def _audit(scene: Scene) -> str:
    records = scene.api.get(
        "/v1/audit", params={"limit": 500}, headers=scene.tokens["user:rita"]
    ).json()["records"]
    return json.dumps(records)


def _kept(scene: Scene, store: SqlStore, database_url: str, secret: str) -> list[str]:
    """Where ``secret`` is still found: the audit log as read, the store's bytes."""
    found = ["audit"] if secret in _audit(scene) else []
    return found + (["store"] if secret.encode() in _stored_text(store, database_url) else [])


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_registered_leak_in_free_text_is_masked_everywhere(
    scene: Scene,
    store: SqlStore,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    write: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = WRITES[write](scene, LEAK)
    assert answer.status_code in {200, 201}, answer.text
    assert LEAK not in answer.text
    assert MASK in _audit(scene)  # as kept
    assert _kept(scene, store, database_url, LEAK) == []
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("charter"))
    assert LEAK not in logged


SPELLINGS = {
    "as_is": LEAK,
    "quoted": f'"{LEAK}"',
    "in_a_url": f"https://wiki.example.com/login?user=ops&pass={LEAK}",
    "in_a_quoted_path": f'(kept at "vault/ops/{LEAK}")',
    "in_brackets": f"[prod/{LEAK}]",
    "assigned": f"password={LEAK};",
    "base64": base64.b64encode(LEAK.encode()).decode(),
    "hex": LEAK.encode().hex(),
    "percent_encoded": quote(LEAK, safe=""),
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_registered_leak_is_masked_however_it_is_spelled(
    scene: Scene, store: SqlStore, database_url: str, spelling: str
) -> None:
    reason = f"rotating: {SPELLINGS[spelling]} was in the runbook"
    answer = scene.api.post(
        "/v1/agents/ops-bot/suspend", json={"reason": reason}, headers=scene.tokens["user:rita"]
    )
    assert answer.status_code == 200, answer.text
    records = scene.api.get(
        "/v1/audit", params={"type": "agent.suspended"}, headers=scene.tokens["user:rita"]
    ).json()["records"]
    [kept] = [record["data"]["reason"] for record in records]
    assert kept.startswith("rotating: "), kept
    assert "[REDACTED:" in kept, kept
    assert SPELLINGS[spelling] not in kept
    assert SPELLINGS[spelling].encode() not in _stored_text(store, database_url)


def test_a_leak_report_keeps_none_of_the_secret_it_reports(
    scene: Scene, store: SqlStore, database_url: str
) -> None:
    # Registered by this very report: the wire cannot have known it when it checked.
    secret = "Quiet-Harbour-Compass-51960"  # 27 characters: base64 without padding
    wrapped = base64.b64encode(secret.encode()).decode()
    body = {
        "value": secret,
        "note": f"{secret} was pasted in #ops",
        "ticket": f"SEC-1 {secret}",
        "source": f"https://paste.example.com/raw?k={wrapped}",
    }
    answer = scene.api.post("/v1/leaks", json=body, headers=scene.tokens["user:rita"])
    assert answer.status_code == 201, answer.text
    shown = answer.json()
    assert shown["note"] == f"{MASK} was pasted in #ops"
    assert shown["ticket"] == f"SEC-1 {MASK}"
    assert shown["source"] == f"https://paste.example.com/raw?k={MASK}"
    for kept in (secret, wrapped):
        assert kept not in answer.text
        assert _kept(scene, store, database_url, kept) == []


def test_a_leak_report_by_fingerprint_masks_nothing_it_cannot_know(scene: Scene) -> None:
    listed = scene.api.get("/v1/leaks", headers=scene.tokens["user:rita"]).json()["leaks"]
    fingerprint = listed[0]["fingerprint"]
    # The note names the registered leak (masked) and text no registry holds (kept).
    body = {"fingerprint": fingerprint, "note": f"same as {LEAK} and Other-Words-1234"}
    answer = scene.api.post("/v1/leaks", json=body, headers=scene.tokens["user:rita"])
    assert answer.status_code == 200, answer.text  # registered already: nothing changes
    again = scene.api.post(
        "/v1/leaks",
        json={"fingerprint": "fp_" + "0" * 32, "note": f"like {LEAK}, and Other-Words-1234"},
        headers=scene.tokens["user:rita"],
    )
    assert again.status_code == 201, again.text
    assert again.json()["note"] == f"like {MASK}, and Other-Words-1234"


def test_a_registered_leak_as_a_label_value_is_refused(scene: Scene) -> None:
    body = {"id": "free-bot", "owner": "user:olga", "purpose": "p", "labels": {"team": LEAK}}
    answer = scene.api.post("/v1/agents", json=body, headers=scene.tokens["user:rita"])
    assert answer.status_code == 422, answer.text
    assert LEAK not in answer.text
    body["labels"] = {"team": "Plum-Orchard-Lantern-8843"}  # one character off: a name
    answer = scene.api.post("/v1/agents", json=body, headers=scene.tokens["user:rita"])
    assert answer.status_code == 201, answer.text


def test_a_registered_leak_as_a_request_id_is_replaced(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {**scene.tokens["user:rita"], "X-Request-ID": LEAK}
    answer = scene.api.get("/v1/agents/no-such-bot", headers=headers)
    assert answer.status_code == 404
    assert answer.headers["x-request-id"] != LEAK
    assert LEAK not in answer.text
    kept = {**scene.tokens["user:rita"], "X-Request-ID": "Plum-Orchard-Lantern-8843"}
    assert scene.api.get("/v1/whoami", headers=kept).headers["x-request-id"] == (
        "Plum-Orchard-Lantern-8843"
    )


def test_the_call_an_audit_record_names_has_a_registered_leak_masked(scene: Scene) -> None:
    wrong = {"Authorization": "Bearer cht_aaaaaaaaaaaaaaaa_" + "b" * 43}
    answer = scene.api.get(f"/v1/agents/{LEAK}/tokens", headers=wrong)
    assert answer.status_code == 401
    records = scene.api.get(
        "/v1/audit", params={"type": "auth.failed"}, headers=scene.tokens["user:rita"]
    ).json()["records"]
    assert [record["data"]["where"] for record in records] == [f"GET /v1/agents/{MASK}/tokens"]


def test_the_console_masks_a_registered_leak_in_a_reason(
    scene: Scene, store: SqlStore, database_url: str
) -> None:
    console_suspend(scene, _text(LEAK))
    assert _kept(scene, store, database_url, LEAK) == []


def test_a_leak_registered_elsewhere_is_masked_once_this_server_reads_it(
    scene: Scene, services: Services, store: SqlStore, database_url: str
) -> None:
    # Another server registered it: this one masks it from its next refresh (the sweep,
    # or PostgreSQL's notification), as it decides with it.
    other = "Amber-Signal-Meadow-3307"
    with store.write() as unit:
        unit.leaks.add(_leak(services, other))
    services.secrets.refresh()  # the sweep (PostgreSQL's listener may have read it already)
    answer = scene.api.post(
        "/v1/agents/ops-bot/suspend",
        json={"reason": _text(other)},
        headers=scene.tokens["user:rita"],
    )
    assert answer.status_code == 200, answer.text
    assert _kept(scene, store, database_url, other) == []


def _leak(services: Services, secret: str) -> Leak:
    fingerprint = services.secrets.scanner.fingerprint(secret)
    assert fingerprint is not None
    return Leak(fingerprint, None, len(secret), "x", None, None, "user:rita", services.clock())


NAMED = "harbour-compass-lantern-51960"
"""A registered leak in the shape of an id (lowercase, dashes)."""

# What names something, each a body whose value is a registered leak: refused (masking
# would change what it names), and nothing is kept.
NAMES: dict[str, tuple[str, dict[str, object]]] = {
    "agent_id": ("/v1/agents", {"id": NAMED, "owner": "user:olga", "purpose": "p"}),
    "label_key": (
        "/v1/agents",
        {"id": "free-bot", "owner": "user:olga", "purpose": "p", "labels": {NAMED: "x"}},
    ),
    "human_id": ("/v1/humans", {"id": f"user:{NAMED}", "email": "zed@example.com"}),
    "email": ("/v1/humans", {"id": "user:zed", "email": f"{NAMED}@example.com"}),
    "group": ("/v1/humans", {"id": "user:zed", "email": "zed@example.com", "groups": [NAMED]}),
}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_a_registered_leak_as_an_id_or_a_name_is_refused(
    scene: Scene, store: SqlStore, database_url: str, name: str
) -> None:
    rita = scene.tokens["user:rita"]
    reported = scene.api.post("/v1/leaks", json={"value": NAMED, "note": "x"}, headers=rita)
    assert reported.status_code == 201, reported.text
    path, body = NAMES[name]
    answer = scene.api.post(path, json=body, headers=rita)
    assert answer.status_code == 422, answer.text
    assert NAMED not in answer.text
    assert _kept(scene, store, database_url, NAMED) == []
    # The same body with another name is accepted: it is the registry that refused it.
    other = json.loads(json.dumps(body).replace(NAMED, "harbour-compass-lantern-51961"))
    assert scene.api.post(path, json=other, headers=rita).status_code == 201


def test_text_that_cannot_be_checked_yet_is_not_kept(
    scene: Scene, store: SqlStore, clock: ManualClock, signing_key: Ed25519PrivateKey
) -> None:
    # A server whose registry has not been read (the store was down when it started:
    # here, an app whose start-up did not run) checks nothing against it on the event
    # loop, which never waits on the store: free text is refused with a 503 until the
    # sweep reads it, and a client's request id is not taken.
    fresh = Services.build(store, clock=clock, signing_key=signing_key)
    assert fresh.secrets.held() is None
    client = TestClient(create_app(fresh), raise_server_exceptions=False)
    rita = scene.tokens["user:rita"]
    body = {"reason": _text(LEAK)}
    refused = client.post("/v1/agents/ops-bot/suspend", json=body, headers=rita)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "store_unavailable"
    assert client.get("/v1/agents/ops-bot", headers=rita).json()["status"] == "active"
    named = client.get("/v1/whoami", headers={**rita, "X-Request-ID": "abc-123"})
    assert named.headers["x-request-id"] != "abc-123"
    assert not fresh.secrets.refresh()  # the sweep, a second later: read, not changed
    done = client.post("/v1/agents/ops-bot/suspend", json=body, headers=rita)
    assert done.status_code == 200, done.text
    assert LEAK not in _audit(scene)
    named = client.get("/v1/whoami", headers={**rita, "X-Request-ID": "abc-123"})
    assert named.headers["x-request-id"] == "abc-123"
