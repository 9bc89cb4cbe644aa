"""Scenes shared by several test modules: the approvals policy with its people (``Scene``)
and the example pack on a live server with a client per person and agent (``Charter``)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from charter.identity.humans import HumanRole
from charter.policy.loader import read_files
from charter.service import SYSTEM, Services
from tests.helpers import PACK, Person, bearer, people

POLICY = """
apiVersion: charter/v1
kind: Agent
metadata: {name: ops-bot}
spec: {owner: "user:olga"}
---
apiVersion: charter/v1
kind: Role
metadata: {name: deployer}
spec:
  permissions:
    - {capability: do, actions: [deploy.run], resources: ["prod/**"]}
    - {capability: do, actions: [review.draft]}
    - {capability: do, actions: [config.change]}
    - {capability: do, actions: [account.close]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: deployer-standing}
spec: {role: deployer, agents: [ops-bot]}
---
apiVersion: charter/v1
kind: Role
metadata: {name: reviewer}
spec:
  permissions:
    - {capability: do, actions: [review.decide]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: reviewer-eligible}
spec:
  role: reviewer
  agents: [ops-bot]
  activation: eligible
  approval: {approvers: ["group:ops"]}
---
apiVersion: charter/v1
kind: Role
metadata: {name: restarter}
spec:
  permissions:
    - {capability: do, actions: [service.restart], resources: ["prod/**"]}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: restarter-eligible}
spec:
  role: restarter
  agents: [ops-bot]
  activation: eligible
  maxDuration: 30m
  approval: {approvers: ["group:ops"], expiresIn: 15m}
---
apiVersion: charter/v1
kind: Guardrail
metadata: {name: deploys-need-two}
spec:
  effect: require_approval
  match: {capabilities: [do], actions: [deploy.run]}
  approval: {approvers: ["group:ops"], quorum: 2, expiresIn: 15m}
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
kind: Guardrail
metadata: {name: confirm-closing}
spec:
  effect: require_step_up
  match: {capabilities: [do], actions: [account.close]}
  approval: {expiresIn: 10m}
---
apiVersion: charter/v1
kind: SeparationOfDuty
metadata: {name: draft-versus-decide}
spec:
  conflicting:
    - {actions: [review.draft]}
    - {actions: [review.decide]}
"""
DEPLOY = {"capability": "do", "action": "deploy.run", "resource": "prod/web"}
CONFIG = {"capability": "do", "action": "config.change", "resource": "prod/web"}
RESTART = {"capability": "do", "action": "service.restart", "resource": "prod/web"}
CLOSE = {"capability": "do", "action": "account.close", "resource": "accounts/7"}


class Scene:
    """The policy above applied, its people, and a token for each of them."""

    def __init__(self, api: TestClient, services: Services) -> None:
        self.api, self.services = api, services
        self.tokens = people(
            services,
            [
                ("user:olga", (), ()),
                ("user:oscar", ("ops",), ()),
                ("user:otto", ("ops",), ()),
                ("user:opal", ("ops",), ()),
                ("user:rita", (), (HumanRole.ADMIN,)),
                ("user:gate", ("ops",), (HumanRole.ENFORCER,)),
                ("user:pat", (), (HumanRole.POLICY_ADMIN,)),
            ],
        )
        self.apply(POLICY)
        self.tokens["ops-bot"] = bearer(services.tokens.issue_for_agent(SYSTEM, "ops-bot").token)

    def apply(self, policy: str) -> None:
        body = {"files": {"policy.yaml": policy}}
        answer = self.api.post("/v1/policies", json=body, headers=self.tokens["user:pat"])
        assert answer.status_code == 201, answer.text

    def decide(self, request: dict[str, Any], as_: str = "ops-bot") -> dict[str, Any]:
        answer = self.api.post("/v1/decisions", json=request, headers=self.tokens[as_])
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def vote(self, approval_id: str, human: str, vote: str = "approve") -> Any:
        return self.api.post(
            f"/v1/approvals/{approval_id}/{vote}",
            json={"reason": f"{vote} by {human}"},
            headers=self.tokens[human],
        )

    def approval(self, approval_id: str, as_: str = "user:rita") -> dict[str, Any]:
        answer = self.api.get(f"/v1/approvals/{approval_id}", headers=self.tokens[as_])
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def records(self, kind: str) -> list[dict[str, Any]]:
        answer = self.api.get("/v1/audit", params={"type": kind}, headers=self.tokens["user:rita"])
        found: list[dict[str, Any]] = answer.json()["records"]
        return found


PEOPLE: list[Person] = [
    ("user:alice", (), ()),  # owns support-bot
    ("user:bob", (), ()),  # owns identity-ops-agent
    ("user:carol", (), ()),  # owns compliance-copilot
    ("user:dave", (), ()),  # owns secrets-scanner
    ("user:ivy", ("identity-ops",), ()),  # approves elevations
    ("user:erin", (), ()),  # a customer support acts for
    ("user:pat", (), (HumanRole.POLICY_ADMIN,)),
    ("user:gate", (), (HumanRole.ENFORCER,)),  # the tool gateway
    ("user:audrey", (), (HumanRole.AUDITOR,)),
    ("user:sam", (), (HumanRole.ADMIN,)),  # security engineer on incident duty
]
AGENTS = ("support-bot", "compliance-copilot", "secrets-scanner", "identity-ops-agent")


class Charter:
    """A client per person and per agent, all against the live server."""

    def __init__(self, url: str, services: Services) -> None:
        self.headers = people(services, PEOPLE)
        self.http = httpx.Client(base_url=url, timeout=30)
        applied = self.http.post(
            "/v1/policies", json={"files": read_files(PACK)}, headers=self.headers["user:pat"]
        )
        assert applied.status_code == 201, applied.text
        for agent in AGENTS:
            self.headers[agent] = bearer(services.tokens.issue_for_agent(SYSTEM, agent).token)

    def decide(self, agent: str, request: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post("/v1/decisions", json=request, headers=self.headers[agent])
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def post(self, path: str, who: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers[who])

    def get(self, path: str, who: str, **params: Any) -> Any:
        answer = self.http.get(path, params=params, headers=self.headers[who])
        assert answer.status_code == 200, answer.text
        return answer.json()
