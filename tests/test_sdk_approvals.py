"""The SDK and CLI with the server's approvals: ``ApprovalPending`` carries an approval to
wait on, ``wait_for_approval`` and ``guard(wait=True)`` wait for it, approvers answer it
from the SDK and the CLI, grants are listed and revoked.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypedDict

import pytest

from charter import ApprovalPending, AsyncClient, Client, Denied, guard
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from charter.wire_approvals import ApprovalOut
from tests.helpers import Admin, agent_token
from tests.helpers import charter_cli as charter
from tests.servers import Served
from tests.waiting import join_all, spawn


class Asked(TypedDict):
    """What a decision asks for: a capability and an action on a resource."""

    capability: str
    action: str
    resource: str


OPEN_TICKET = {"ticket": {"id": "INC-1", "status": "open"}}


@pytest.fixture
def ops(served: Served, services: Services) -> Iterator[Client]:
    """identity-ops-agent's client: its elevations need group:identity-ops to approve."""
    with Client(served.url, agent_token(services, "identity-ops-agent")) as client:
        yield client


@pytest.fixture
def ivan(served: Served, services: Services) -> Iterator[Client]:
    """An approver in group identity-ops."""
    services.humans.add(
        SYSTEM,
        human_id="user:ivan",
        email="ivan@example.com",
        groups=["identity-ops"],
        roles=[HumanRole.APPROVER],
    )
    with Client(served.url, services.tokens.issue_for_human(SYSTEM, "user:ivan").token) as client:
        yield client


class Elevations:
    """A PAM tool that records the elevations that really happened."""

    def __init__(self) -> None:
        self.done: list[str] = []

    def guarded(self, client: Client, **options: Any) -> Callable[[str], str]:
        @guard(
            client,
            capability="do",
            action="pam.elevate",
            resource="pam/hosts/{host}",
            context=OPEN_TICKET,
            **options,
        )
        def elevate(host: str) -> str:
            self.done.append(host)
            return f"elevated on {host}"

        return elevate


def pending_approval(ops: Client, elevations: Elevations, host: str = "db-1") -> str:
    with pytest.raises(ApprovalPending) as pending:
        elevations.guarded(ops)(host)
    approval_id = pending.value.approval_id
    assert approval_id is not None
    assert approval_id.startswith("apr_")
    assert pending.value.kind == "approval"
    assert pending.value.expires_at is not None
    return approval_id


def test_a_decision_names_its_approval_and_approving_lets_one_call_through(
    ops: Client, ivan: Client
) -> None:
    answer = ops.decide("do", "pam.elevate", resource="pam/hosts/db-1", context=OPEN_TICKET)
    assert answer.decision == "approval_required"
    assert answer.approval is not None
    assert answer.approval["status"] == "pending"
    elevations = Elevations()
    approval_id = pending_approval(ops, elevations)
    assert elevations.done == []

    inbox = ivan.list_approvals(status="pending", agent="identity-ops-agent")
    assert approval_id in [a.id for a in inbox.approvals]
    approved = ivan.approve(approval_id, reason="INC-1 is real")
    assert approved.status == "approved"
    assert [(v.human, v.vote) for v in approved.votes] == [("user:ivan", "approve")]
    assert ivan.get_approval(approval_id).status == "approved"
    assert ops.wait_for_approval(approval_id, timeout=5).status == "approved"

    assert elevations.guarded(ops)("db-1") == "elevated on db-1"
    assert elevations.done == ["db-1"]
    # PAM elevation is an eligible binding: its approval issued a grant of the role, so
    # further elevations go through without asking again while the grant lasts.
    grant = ivan.get_approval(approval_id).grant
    assert grant is not None
    assert elevations.guarded(ops)("db-9") == "elevated on db-9"
    assert elevations.done == ["db-1", "db-9"]


def _first_pending(approver: Client, agent: str, deadline: float = 10.0) -> ApprovalOut:
    """The agent's pending approval, as soon as the approver's inbox shows it."""
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        items = approver.list_approvals(status="pending", agent=agent).approvals
        if items:
            return items[0]
        threading.Event().wait(0.05)
    raise AssertionError(f"no pending approval for {agent}")


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as error:
            outcome["error"] = error

    return spawn(run), outcome


def test_guard_waits_for_the_approval_then_runs_the_tool(ops: Client, ivan: Client) -> None:
    elevations = Elevations()
    elevate = elevations.guarded(ops, wait_timeout=30)
    thread, outcome = _in_thread(lambda: elevate("db-2"))
    approval = _first_pending(ivan, "identity-ops-agent")
    assert elevations.done == []
    ivan.approve(approval.id, reason="ok")
    join_all([thread], timeout=30)
    assert outcome == {"value": "elevated on db-2"}
    assert elevations.done == ["db-2"]


def test_guard_waits_and_a_denied_approval_is_a_deny(ops: Client, ivan: Client) -> None:
    elevations = Elevations()
    thread, outcome = _in_thread(lambda: elevations.guarded(ops, wait=True)("db-3"))
    ivan.deny(_first_pending(ivan, "identity-ops-agent").id, reason="no ticket in PAM")
    join_all([thread], timeout=70)
    denied = outcome["error"]
    assert isinstance(denied, Denied)
    assert denied.code == "approval_denied"
    assert elevations.done == []


def test_waiting_runs_out_and_the_approval_is_still_pending(ops: Client) -> None:
    elevations = Elevations()
    with pytest.raises(ApprovalPending) as still:
        elevations.guarded(ops, wait_timeout=1)("db-4")
    assert still.value.approval_id is not None
    assert ops.wait_for_approval(still.value.approval_id, timeout=0).status == "pending"
    assert elevations.done == []


@pytest.mark.anyio
async def test_the_async_client_waits_too(served: Served, services: Services, ivan: Client) -> None:
    async with AsyncClient(served.url, agent_token(services, "identity-ops-agent")) as ops:
        done = []

        @guard(
            ops,
            capability="do",
            action="pam.elevate",
            resource="pam/hosts/{host}",
            context=OPEN_TICKET,
        )
        async def elevate(host: str) -> None:
            done.append(host)

        with pytest.raises(ApprovalPending) as pending:
            await elevate("db-5")
        approval_id = pending.value.approval_id
        assert approval_id is not None
        ivan.approve(approval_id, reason="ok")
        assert (await ops.wait_for_approval(approval_id, timeout=5)).status == "approved"
        assert (await ops.get_approval(approval_id)).status == "approved"
        await elevate("db-5")
    assert done == ["db-5"]


def test_the_approvals_and_grants_commands(
    served: Served, services: Services, ops: Client, ivan: Client, admin: Admin
) -> None:
    elevations = Elevations()
    first, second = (
        pending_approval(ops, elevations, "db-6"),
        pending_approval(ops, elevations, "db-7"),
    )
    as_ivan = [
        "--server",
        served.url,
        "--token",
        services.tokens.issue_for_human(SYSTEM, "user:ivan").token,
    ]
    code, out, _ = charter("approvals", "list", "--agent", "identity-ops-agent", *as_ivan, "--json")
    assert code == 0
    assert {first, second} <= {a["id"] for a in json.loads(out)}
    code, out, _ = charter("approvals", "show", first, *as_ivan)
    assert (code, first in out, "pam.elevate" in out) == (0, True, True)
    assert charter("approvals", "approve", first, "--reason", "ok", *as_ivan)[0] == 0
    code, out, _ = charter("approvals", "deny", second, "--reason", "no", *as_ivan, "--json")
    assert (code, json.loads(out)["status"]) == (0, "denied")

    as_ops = ["--server", served.url, "--token", agent_token(services, "identity-ops-agent")]
    assert charter("approvals", "wait", first, "--timeout", "5", *as_ops)[0] == 0
    assert charter("approvals", "wait", second, "--timeout", "5", *as_ops)[0] == 3

    # An eligible binding: the approval yields a time-bound grant of the role.
    disable: Asked = {
        "capability": "do",
        "action": "idp.user.disable",
        "resource": "idp/users/mallory",
    }
    answer = ops.decide(**disable)
    assert answer.decision == "approval_required"
    assert answer.approval is not None
    ivan.approve(answer.approval["id"], reason="ok")
    assert ops.decide(**disable).decision == "allow"
    with Client(served.url, admin.token) as operator:
        listed = operator.list_grants(agent="identity-ops-agent").grants
        [grant] = [g for g in listed if g.role == "idp-responder"]
    assert (grant.role, grant.status) == ("idp-responder", "active")
    as_admin = ["--server", served.url, "--token", admin.token]
    code, out, _ = charter("grants", "list", "--agent", "identity-ops-agent", *as_admin, "--json")
    assert code == 0
    assert grant.id in {g["id"] for g in json.loads(out)}
    code, out, _ = charter("grants", "revoke", grant.id, "--reason", "done", *as_admin, "--json")
    assert (code, json.loads(out)["status"]) == (0, "revoked")
    assert ops.decide(**disable).decision != "allow"
