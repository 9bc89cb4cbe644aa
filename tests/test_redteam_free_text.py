"""Free text people and agents write (a purpose, a reason, a note, a description) is
stored, shown and audited: a secret pasted into it is masked on arrival, wherever it is
written, so that neither the store, nor the audit log, nor the logs ever hold it. A value
that names something (a label) is refused instead: masking it would change what it
names."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.service import Services
from charter.storage.sql import SqlStore
from tests.scenes import CONFIG, Scene
from tests.test_console import _browser, _csrf, _sign_in, _token
from tests.test_secrets_scenarios import _stored_text

SECRETS = {
    "github": "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",
    "charter": "cht_bufsdzoox2ysdp6s_p8A-GNu2HnRhKSZo0NuIqODjHw9fYaqIgYNv_xKXbeU",
    "stripe": "sk_live_9xQ2mV7LpR4tK8wZ3nB6cJ1d",
    "aws": "AKIAQWERTYUIOPASDF2G",
}

Write = Callable[[Scene, str], Any]


TEXT = "see {} for details"
"""Where the secret goes in each text field written."""


def _text(secret: str) -> str:
    return TEXT.format(secret)


# Doors that are one POST as an admin: (path, body), TEXT where the secret goes.
POSTS: dict[str, tuple[str, dict[str, str]]] = {
    "agent": (
        "/v1/agents",
        {"id": "free-bot", "owner": "user:olga", "purpose": TEXT, "display_name": TEXT},
    ),
    "suspend": ("/v1/agents/ops-bot/suspend", {"reason": TEXT}),
    "agent_token": ("/v1/agents/ops-bot/tokens", {"description": TEXT}),
    "human": ("/v1/humans", {"id": "user:zed", "email": "zed@example.com", "display_name": TEXT}),
    "human_deactivate": ("/v1/humans/user:olga/deactivate", {"reason": TEXT}),
    "leak": (
        "/v1/leaks",
        {"value": "An0ther-Unrelated-Secret-9", "note": TEXT, "ticket": TEXT, "source": TEXT},
    ),
    "webhook": ("/v1/webhooks", {"url": "https://hooks.example.com/charter", "description": TEXT}),
    "campaign": ("/v1/reviews/campaigns", {"name": TEXT}),
}


def _post(door: str) -> Write:
    path, body = POSTS[door]

    def write(scene: Scene, secret: str) -> Any:
        filled = {key: value.replace("{}", secret) for key, value in body.items()}
        return scene.api.post(path, json=filled, headers=scene.tokens["user:rita"])

    return write


def _agent_patch(scene: Scene, secret: str) -> Any:
    body = {"purpose": _text(secret), "display_name": _text(secret)}
    return scene.api.patch("/v1/agents/ops-bot", json=body, headers=scene.tokens["user:rita"])


def _revoke(scene: Scene, secret: str) -> Any:
    rita = scene.tokens["user:rita"]
    issued = scene.api.post("/v1/agents/ops-bot/tokens", json={}, headers=rita).json()
    token_id = issued["credential"]["id"]
    return scene.api.delete(
        f"/v1/tokens/{token_id}", params={"reason": _text(secret)}, headers=rita
    )


def _vote(scene: Scene, secret: str) -> Any:
    approval = scene.decide(CONFIG)["approval"]["id"]
    return scene.api.post(
        f"/v1/approvals/{approval}/approve",
        json={"reason": _text(secret)},
        headers=scene.tokens["user:olga"],
    )


WRITES: dict[str, Write] = {
    **{door: _post(door) for door in POSTS},
    "agent_patch": _agent_patch,
    "revoke": _revoke,
    "vote": _vote,
}


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    return Scene(api, services)


@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_secret_in_free_text_is_masked_everywhere(
    scene: Scene,
    store: SqlStore,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    write: str,
    kind: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = SECRETS[kind]
    answer = WRITES[write](scene, secret)
    assert answer.status_code in {200, 201}, answer.text
    assert secret not in answer.text
    records = scene.api.get(
        "/v1/audit", params={"limit": 500}, headers=scene.tokens["user:rita"]
    ).json()["records"]
    assert any("[REDACTED:" in json.dumps(record["data"]) for record in records)  # as kept
    assert secret not in json.dumps(records)
    assert secret.encode() not in _stored_text(store, database_url)
    # The server's own lines (the test client logs the URLs it calls, query included).
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("charter")]
    assert logged
    assert secret not in "\n".join(logged)


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_a_secret_as_a_label_value_is_refused(scene: Scene, kind: str) -> None:
    body = {
        "id": "free-bot",
        "owner": "user:olga",
        "purpose": "labels",
        "labels": {"team": SECRETS[kind]},
    }
    answer = scene.api.post("/v1/agents", json=body, headers=scene.tokens["user:rita"])
    assert answer.status_code == 422, answer.text
    assert SECRETS[kind] not in answer.text
    again = scene.api.get("/v1/agents/free-bot", headers=scene.tokens["user:rita"])
    assert again.status_code == 404


def console_suspend(scene: Scene, reason: str) -> None:
    """Suspend ops-bot through the console as rita, with ``reason``."""
    rita = _browser(scene.services)
    assert _sign_in(rita, _token(scene, "user:rita")).status_code == 303
    csrf = _csrf(rita, "/ui/agents/ops-bot/suspend")
    done = rita.post(
        "/ui/agents/ops-bot/suspend",
        data={"csrf": csrf, "reason": reason, "understood": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


@pytest.mark.parametrize("kind", ["github", "charter"])
def test_the_console_masks_a_secret_in_a_reason_too(
    scene: Scene, store: SqlStore, database_url: str, kind: str
) -> None:
    secret = SECRETS[kind]
    console_suspend(scene, _text(secret))
    records = scene.api.get(
        "/v1/audit", params={"type": "agent.suspended"}, headers=scene.tokens["user:rita"]
    ).json()["records"]
    assert [record["data"]["reason"] for record in records] == [
        _text(f"[REDACTED:{'github_token' if kind == 'github' else 'charter_token'}]")
    ]
    assert secret.encode() not in _stored_text(store, database_url)


def test_text_its_masks_would_take_past_its_bound_is_refused(scene: Scene) -> None:
    # A placeholder can be longer than the secret it replaces: nine AWS key ids fit in a
    # display name (200 characters), their placeholders do not. Refused, not cut short.
    name = " ".join([SECRETS["aws"]] * 9)
    assert len(name) <= 200
    body = {"id": "free-bot", "owner": "user:olga", "purpose": "p", "display_name": name}
    answer = scene.api.post("/v1/agents", json=body, headers=scene.tokens["user:rita"])
    assert answer.status_code == 422, answer.text
    assert "once the secrets in it are masked" in answer.text
    assert SECRETS["aws"] not in answer.text
    body["display_name"] = " ".join([SECRETS["aws"]] * 7)
    answer = scene.api.post("/v1/agents", json=body, headers=scene.tokens["user:rita"])
    assert answer.status_code == 201, answer.text
    assert answer.json()["display_name"] == " ".join(["[REDACTED:aws_access_key]"] * 7)


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_a_refused_key_is_named_with_its_secret_masked(scene: Scene, kind: str) -> None:
    # A refusal says where the bad value is: under a key the caller chose.
    body = {"id": "free-bot", "owner": "user:olga", "purpose": "p", "labels": {SECRETS[kind]: 1}}
    answer = scene.api.post("/v1/agents", json=body, headers=scene.tokens["user:rita"])
    assert answer.status_code == 422, answer.text
    assert SECRETS[kind] not in answer.text
    assert "body.labels.[REDACTED:" in answer.text
