"""The role table's invariants, over HTTP with the real app, on SQLite and PostgreSQL:
no role widens its own powers through another door (policy apply, rollback, the agents,
humans and tokens APIs).

What confers rights over an agent is its owner (who mints its tokens, lifts the
suspensions they made, approves as ``owner``); what decisions about it read is its risk
tier and labels (binding selectors and conditions). Through a policy, only an admin may
change those of an existing agent, as through the agents API.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.identity.agents import RiskTier
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from tests.helpers import bearer, people

MINUTE = timedelta(minutes=1)


def policy(
    owner: str = "user:olga",
    tier: str = "high",
    labels: str = "{team: ops}",
    purpose: str = "deploys",
    extra: str = "",
) -> str:
    """A policy declaring ops-bot (as registered, by default) and giving it a role."""
    return f"""
apiVersion: charter/v1
kind: Agent
metadata: {{name: ops-bot, labels: {labels}}}
spec: {{owner: "{owner}", purpose: {purpose}, riskTier: {tier}}}
---
apiVersion: charter/v1
kind: Role
metadata: {{name: reader}}
spec:
  permissions:
    - {{capability: do, actions: [docs.read], resources: ["docs/**"]}}
---
apiVersion: charter/v1
kind: Binding
metadata: {{name: reader-ops}}
spec: {{role: reader, agents: [ops-bot]}}
{extra}"""


class Cast:
    """admin rita, policy admin pat (of group policy), owner olga, auditor audrey, enforcer
    gate, approver abe, oscar (another human, no role); ops-bot owned by olga, registered
    by an admin."""

    def __init__(self, api: TestClient, services: Services) -> None:
        self.api, self.services = api, services
        self.headers = people(
            services,
            [
                ("user:rita", (), (HumanRole.ADMIN,)),
                ("user:pat", ("policy",), (HumanRole.POLICY_ADMIN,)),
                ("user:olga", (), ()),
                ("user:audrey", (), (HumanRole.AUDITOR,)),
                ("user:gate", (), (HumanRole.ENFORCER,)),
                ("user:abe", ("ops",), (HumanRole.APPROVER,)),
                ("user:oscar", (), ()),
            ],
        )
        services.agents.register(
            SYSTEM,
            agent_id="ops-bot",
            display_name=None,
            owner="user:olga",
            purpose="deploys",
            risk_tier=RiskTier.HIGH,
            labels={"team": "ops"},
        )
        self.headers["ops-bot"] = bearer(services.tokens.issue_for_agent(SYSTEM, "ops-bot").token)

    def call(self, method: str, path: str, who: str, body: Any = None) -> Any:
        return self.api.request(method, path, json=body, headers=self.headers[who])

    def apply(self, text: str, who: str = "user:pat") -> Any:
        return self.call("POST", "/v1/policies", who, {"files": {"policy.yaml": text}})

    def agent(self) -> dict[str, Any]:
        answer = self.call("GET", "/v1/agents/ops-bot", "user:rita")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def active(self) -> str | None:
        answer = self.call("GET", "/v1/policies/active", "user:rita").json()
        return None if answer is None else str(answer["revision"])

    def lifecycle(self, action: str, who: str) -> Any:
        return self.call("POST", f"/v1/agents/ops-bot/{action}", who, {"reason": "test"})


@pytest.fixture
def cast(api: TestClient, services: Services) -> Cast:
    return Cast(api, services)


def governed(agent: dict[str, Any]) -> tuple[Any, ...]:
    return agent["owner"], agent["risk_tier"], agent["labels"], agent["status"]


CHANGES = {
    "owner to the policy admin": {"owner": "user:pat"},
    "owner to someone else": {"owner": "user:oscar"},
    "risk tier": {"tier": "low"},
    "labels changed": {"labels": "{team: payments}"},
    "labels added": {"labels": "{team: ops, tier: gold}"},
    "labels removed": {"labels": "{}"},
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_policy_admin_cannot_change_an_existing_agents_rights(
    cast: Cast, change: dict[str, str]
) -> None:
    assert cast.apply(policy()).status_code == 201
    before, revision = cast.agent(), cast.active()
    refused = cast.apply(policy(**change))
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "policy_changes_agent"
    assert "Agent/ops-bot" in error["message"]
    if "labels" in change:
        assert "labels {'team': 'ops'} -> " in error["message"]
    # Nothing written: the agent, the active revision, the stored revisions.
    assert cast.agent() == before
    assert cast.active() == revision
    listed = cast.call("GET", "/v1/policies/revisions", "user:rita").json()
    assert len(listed) == 1
    # The rights of the direct API: an admin may.
    allowed = cast.apply(policy(**change), who="user:rita")
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["agents_updated"] == ["ops-bot"]


def test_the_refusal_names_each_agent_and_what_changed(cast: Cast) -> None:
    second = """
---
apiVersion: charter/v1
kind: Agent
metadata: {name: pay-bot}
spec: {owner: "user:oscar", riskTier: low}
"""
    cast.services.agents.register(
        SYSTEM,
        agent_id="pay-bot",
        display_name=None,
        owner="user:olga",
        purpose="pay",
        risk_tier=RiskTier.LOW,
    )
    refused = cast.apply(policy(owner="user:pat", tier="critical", extra=second))
    message = refused.json()["error"]["message"]
    assert "Agent/ops-bot: owner user:olga -> user:pat, riskTier high -> critical" in message
    assert "Agent/pay-bot: owner user:olga -> user:oscar" in message


def test_a_policy_admin_may_redeclare_an_agent_as_it_is_and_change_its_purpose(
    cast: Cast,
) -> None:
    same = cast.apply(policy())
    assert same.status_code == 201, same.text
    assert same.json()["agents_updated"] == []
    reworded = cast.apply(policy(purpose="production deploys"))
    assert reworded.status_code == 201, reworded.text
    assert cast.agent()["purpose"] == "production deploys"


def test_a_policy_admin_cannot_make_themself_owner_of_a_new_agent(cast: Cast) -> None:
    theirs = """
---
apiVersion: charter/v1
kind: Agent
metadata: {name: pat-bot}
spec: {owner: "user:pat"}
"""
    refused = cast.apply(policy(extra=theirs))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "policy_changes_agent"
    assert "Agent/pat-bot" in refused.json()["error"]["message"]
    assert cast.call("GET", "/v1/agents/pat-bot", "user:rita").status_code == 404
    # A new agent owned by someone else is registered as before; it is not the policy
    # admin's: they may not mint its tokens, read it, or run its lifecycle.
    olgas = theirs.replace("pat-bot", "new-bot").replace("user:pat", "user:olga")
    applied = cast.apply(policy(extra=olgas))
    assert applied.status_code == 201, applied.text
    assert applied.json()["agents_registered"] == ["new-bot"]
    for method, path in (
        ("POST", "/v1/agents/new-bot/tokens"),
        ("GET", "/v1/agents/new-bot"),
        ("POST", "/v1/agents/new-bot/suspend"),
    ):
        assert cast.call(method, path, "user:pat", {}).status_code == 403, path
    # An admin may make themself the owner of a new agent through a policy.
    rita = theirs.replace("pat-bot", "rita-bot").replace("user:pat", "user:rita")
    assert cast.apply(policy(extra=rita), who="user:rita").status_code == 201


def approval_rule(approver: str, kind: str = "guardrail") -> str:
    """A rule (a guardrail, or an eligible binding) that ``approver`` approves."""
    if kind == "binding":
        return f"""
---
apiVersion: charter/v1
kind: Binding
metadata: {{name: reader-jit}}
spec:
  role: reader
  agents: [ops-bot]
  activation: eligible
  approval: {{approvers: ["{approver}"]}}
"""
    return f"""
---
apiVersion: charter/v1
kind: Guardrail
metadata: {{name: reads-need-approval}}
spec:
  effect: require_approval
  match: {{capabilities: [do], actions: [docs.read]}}
  approval: {{approvers: [owner, "{approver}"]}}
"""


@pytest.mark.parametrize("kind", ["guardrail", "binding"])
@pytest.mark.parametrize("approver", ["user:pat", "group:policy"])
def test_a_policy_admin_cannot_make_themself_an_approver(
    cast: Cast, clock: ManualClock, approver: str, kind: str
) -> None:
    before = cast.active()
    refused = cast.apply(policy(extra=approval_rule(approver, kind)))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "policy_names_author"
    assert approver in refused.json()["error"]["message"]
    assert cast.active() == before
    # Other approvers are the policy admin's to name.
    assert cast.apply(policy(extra=approval_rule("group:ops", kind))).status_code == 201
    # An admin may name them; the policy admin may then apply what names them already.
    clock.advance(MINUTE)
    named = cast.apply(policy(extra=approval_rule(approver, kind)), who="user:rita")
    assert named.status_code == 201, named.text
    clock.advance(MINUTE)
    again = cast.apply(policy(purpose="again", extra=approval_rule(approver, kind)))
    assert again.status_code == 201, again.text
    # Once it no longer does, rolling back to the admin's revision needs an admin.
    clock.advance(MINUTE)
    assert cast.apply(policy()).status_code == 201
    revision = named.json()["revision"]
    back = cast.call("POST", f"/v1/policies/revisions/{revision}/activate", "user:pat")
    assert back.status_code == 403, back.text
    assert back.json()["error"]["code"] == "policy_names_author"
    back = cast.call("POST", f"/v1/policies/revisions/{revision}/activate", "user:rita")
    assert back.status_code == 200, back.text


def test_rollback_redeclares_agents_under_the_same_rule(cast: Cast, clock: ManualClock) -> None:
    first = cast.apply(policy()).json()["revision"]
    clock.advance(MINUTE)
    cast.apply(policy(purpose="second")).json()
    # An admin hands the agent over directly.
    moved = cast.call("PATCH", "/v1/agents/ops-bot", "user:rita", {"owner": "user:oscar"})
    assert moved.status_code == 200, moved.text
    active, before = cast.active(), cast.agent()
    clock.advance(MINUTE)
    back = cast.call("POST", f"/v1/policies/revisions/{first}/activate", "user:pat")
    assert back.status_code == 403, back.text
    assert back.json()["error"]["code"] == "policy_changes_agent"
    assert "owner user:oscar -> user:olga" in back.json()["error"]["message"]
    assert (cast.active(), cast.agent()) == (active, before)
    # An admin may: the older revision's declaration is applied again.
    back = cast.call("POST", f"/v1/policies/revisions/{first}/activate", "user:rita")
    assert back.status_code == 200, back.text
    assert cast.active() == first
    assert cast.agent()["owner"] == "user:olga"


def test_rolling_back_to_a_revision_that_matches_needs_no_admin(
    cast: Cast, clock: ManualClock
) -> None:
    first = cast.apply(policy()).json()["revision"]
    clock.advance(MINUTE)
    cast.apply(policy(purpose="second"))
    back = cast.call("POST", f"/v1/policies/revisions/{first}/activate", "user:pat")
    assert back.status_code == 200, back.text
    assert cast.agent()["purpose"] == "deploys"


@pytest.mark.parametrize("who", ["user:pat", "user:rita"])
def test_applying_or_rolling_back_never_changes_an_agents_status(
    cast: Cast, clock: ManualClock, who: str
) -> None:
    first = cast.apply(policy()).json()["revision"]
    clock.advance(MINUTE)
    assert cast.lifecycle("suspend", "user:rita").status_code == 200
    clock.advance(MINUTE)
    assert cast.apply(policy(purpose="changed"), who=who).status_code == 201
    assert cast.agent()["status"] == "suspended"
    back = cast.call("POST", f"/v1/policies/revisions/{first}/activate", who)
    assert back.status_code == 200, back.text
    assert cast.agent()["status"] == "suspended"


def test_an_owner_lifts_only_a_suspension_they_made(cast: Cast, clock: ManualClock) -> None:
    assert cast.lifecycle("suspend", "user:rita").status_code == 200
    clock.advance(MINUTE)
    refused = cast.lifecycle("reinstate", "user:olga")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "reinstate_needs_admin"
    assert "user:rita" in refused.json()["error"]["message"]
    assert cast.agent()["status"] == "suspended"
    assert cast.lifecycle("reinstate", "user:rita").status_code == 200
    clock.advance(MINUTE)
    # Their own suspension, they may lift.
    assert cast.lifecycle("suspend", "user:olga").status_code == 200
    clock.advance(MINUTE)
    assert cast.lifecycle("reinstate", "user:olga").status_code == 200
    # A new owner may not lift the former owner's suspension either.
    assert cast.lifecycle("suspend", "user:olga").status_code == 200
    moved = cast.call("PATCH", "/v1/agents/ops-bot", "user:rita", {"owner": "user:oscar"})
    assert moved.status_code == 200
    refused = cast.lifecycle("reinstate", "user:oscar")
    assert refused.json()["error"]["code"] == "reinstate_needs_admin"


@pytest.mark.parametrize("door", ["api", "policy"])
def test_a_new_owner_takes_the_agent_without_the_former_owners_tokens(
    cast: Cast, door: str
) -> None:
    cast.apply(policy())
    minted = cast.call("POST", "/v1/agents/ops-bot/tokens", "user:olga", {})
    assert minted.status_code == 201, minted.text
    olgas = bearer(minted.json()["token"])
    admins = cast.headers["ops-bot"]  # minted by the system (an admin)
    if door == "api":
        moved = cast.call("PATCH", "/v1/agents/ops-bot", "user:rita", {"owner": "user:oscar"})
        assert moved.status_code == 200, moved.text
    else:
        moved = cast.apply(policy(owner="user:oscar"), who="user:rita")
        assert moved.status_code == 201, moved.text
    gone = cast.api.get("/v1/whoami", headers=olgas)
    assert gone.status_code == 401
    assert gone.json()["error"]["code"] == "token_revoked"
    assert cast.api.get("/v1/whoami", headers=admins).status_code == 200
    changed = cast.api.get(
        "/v1/audit", params={"type": "agent.owner_changed"}, headers=cast.headers["user:rita"]
    ).json()["records"]
    assert changed[-1]["data"]["revoked_tokens"] == [minted.json()["credential"]["id"]]
    # The former owner has no door left to the agent.
    assert cast.call("POST", "/v1/agents/ops-bot/tokens", "user:olga", {}).status_code == 403


# Every non-admin role, and an agent, tries every door that could widen its powers.
WHO = ["user:pat", "user:olga", "user:audrey", "user:gate", "user:abe", "user:oscar", "ops-bot"]


def doors(who: str) -> list[tuple[str, str, Any]]:
    me = who if who.startswith("user:") else "user:oscar"
    return [
        ("POST", "/v1/policies", {"files": {"p.yaml": policy(owner=me)}}),
        ("POST", "/v1/policies", {"files": {"p.yaml": policy(tier="low")}}),
        ("POST", "/v1/policies", {"files": {"p.yaml": policy(labels="{team: x}")}}),
        ("PATCH", "/v1/agents/ops-bot", {"owner": me}),
        ("PATCH", "/v1/agents/ops-bot", {"labels": {"team": "x"}}),
        ("POST", "/v1/agents", {"id": "mine-bot", "owner": me, "purpose": "mine"}),
        ("PATCH", f"/v1/humans/{me}", {"roles": ["admin"]}),
        ("PATCH", f"/v1/humans/{me}", {"groups": ["ops", "admins"]}),
        ("POST", "/v1/humans", {"id": "user:sock", "email": "s@x.test", "roles": ["admin"]}),
        ("POST", "/v1/humans/user:rita/tokens", {}),
        ("POST", f"/v1/humans/{me}/tokens", {}),
    ]


@pytest.mark.parametrize("who", WHO)
def test_no_role_widens_its_powers_through_any_door(cast: Cast, who: str) -> None:
    first = cast.apply(policy()).json()["revision"]
    cast.apply(policy(purpose="second"))
    moved = cast.call("PATCH", "/v1/agents/ops-bot", "user:rita", {"owner": "user:oscar"})
    assert moved.status_code == 200
    before = cast.agent()
    humans = cast.call("GET", "/v1/humans", "user:rita").json()
    for method, path, body in [
        *doors(who),
        ("POST", f"/v1/policies/revisions/{first}/activate", None),
    ]:
        answer = cast.call(method, path, who, body)
        assert answer.status_code in (401, 403), (method, path, answer.text)
        code = answer.json()["error"]["code"]
        assert code in ("forbidden", "policy_changes_agent"), (method, path, code)
    # Nothing changed: the agent, the humans (roles, groups), no new agents or tokens.
    assert governed(cast.agent()) == governed(before)
    assert cast.call("GET", "/v1/humans", "user:rita").json() == humans
    assert [a["id"] for a in cast.call("GET", "/v1/agents", "user:rita").json()["agents"]] == [
        "ops-bot"
    ]
    if who.startswith("user:"):
        whoami = cast.call("GET", "/v1/whoami", who).json()
        assert "admin" not in whoami["roles"]


def test_an_owner_reaches_only_their_own_agent(cast: Cast) -> None:
    cast.services.agents.register(
        SYSTEM,
        agent_id="oscar-bot",
        display_name=None,
        owner="user:oscar",
        purpose="other",
        risk_tier=RiskTier.LOW,
    )
    for method, path in (
        ("POST", "/v1/agents/oscar-bot/tokens"),
        ("GET", "/v1/agents/oscar-bot/tokens"),
        ("POST", "/v1/agents/oscar-bot/suspend"),
        ("POST", "/v1/agents/oscar-bot/retire"),
        ("PATCH", "/v1/agents/oscar-bot"),
    ):
        body = {"owner": "user:olga"} if method == "PATCH" else {}
        assert cast.call(method, path, "user:olga", body).status_code == 403, path
