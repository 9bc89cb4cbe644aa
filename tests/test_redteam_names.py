"""A human id or group name ending in a dot is no second spelling of one without: it is
refused wherever a human id is read (the humans API and service, a decision's
``context.on_behalf_of``), through the real app on both backends."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from charter.errors import InvalidInput
from charter.service import SYSTEM, Services
from tests.helpers import Admin, agent_token, bearer

TRAILING_DOTS = ["user:bob.", "user:bob..", "user:b.", "user:bob.smith."]
FINE = ["user:bob.smith", "user:b", "user:bob-", "user:bob_", "user:b0"]


def test_a_human_id_ending_in_a_dot_is_refused(api: TestClient, admin: Admin) -> None:
    for index, human in enumerate(TRAILING_DOTS):
        answer = api.post(
            "/v1/humans",
            json={"id": human, "email": f"t{index}@example.com"},
            headers=admin.headers,
        )
        assert answer.status_code == 422, (human, answer.text)
        assert answer.json()["error"]["code"] == "invalid_request", answer.text
        assert api.get(f"/v1/humans/{human}", headers=admin.headers).status_code == 422
    for index, group in enumerate(["eng.", "a.", "eng.ops."]):
        answer = api.post(
            "/v1/humans",
            json={"id": f"user:g{index}", "email": f"g{index}@example.com", "groups": [group]},
            headers=admin.headers,
        )
        assert answer.status_code == 422, (group, answer.text)
    for index, human in enumerate(FINE):
        answer = api.post(
            "/v1/humans",
            json={"id": human, "email": f"f{index}@example.com"},
            headers=admin.headers,
        )
        assert answer.status_code == 201, (human, answer.text)


def test_the_service_refuses_it_too(services: Services) -> None:
    for human in TRAILING_DOTS:
        with pytest.raises(InvalidInput) as refused:
            services.humans.add(SYSTEM, human_id=human, email="x@example.com")
        assert refused.value.code == "invalid_human_id"


@pytest.mark.usefixtures("pack")
def test_on_behalf_of_a_human_id_ending_in_a_dot_is_denied(
    api: TestClient, services: Services
) -> None:
    agent = bearer(agent_token(services, "support-bot"))
    request = {
        "capability": "request",
        "action": "crm.customer.read",
        "resource": "crm/customer/42",
        "fields": ["name"],
        "context": {"purpose": "account_recovery", "on_behalf_of": "user:bob"},
    }
    allowed = api.post("/v1/decisions", json=request, headers=agent)
    assert allowed.json()["decision"] == "allow", allowed.text
    for human in TRAILING_DOTS:
        context = {"purpose": "account_recovery", "on_behalf_of": human}
        answer = api.post("/v1/decisions", json={**request, "context": context}, headers=agent)
        assert answer.status_code == 200, answer.text
        decided = answer.json()
        assert (decided["decision"], decided["code"]) == ("deny", "invalid_request"), decided
