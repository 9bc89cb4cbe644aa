"""Set-up helpers shared by the service-level tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from typer.testing import CliRunner

from charter.cli.main import app as cli_app
from charter.identity.agents import Agent, RiskTier
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore


class HttpResponse(Protocol):
    """What the tests read of an HTTP answer, from ``httpx`` or from Starlette's TestClient.

    The TestClient answers with ``httpx2`` responses while live clients use ``httpx``: the
    two classes are unrelated to mypy, so helpers that check either take this instead.
    """

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


def add_human(
    services: Services, human_id: str, *roles: HumanRole, actor: Principal = SYSTEM
) -> None:
    """Add a human with ``roles`` (email ``<name>@x.test``)."""
    services.humans.add(
        actor, human_id=human_id, email=f"{human_id.removeprefix('user:')}@x.test", roles=roles
    )


def login(services: Services, human_id: str) -> Principal:
    """The human as authenticated by a real token."""
    issued = services.tokens.issue_for_human(SYSTEM, human_id)
    return services.tokens.authenticate(issued.token, where="test")


def human(services: Services, human_id: str, *roles: HumanRole) -> Principal:
    """Add a human with ``roles`` and return them as authenticated by a real token."""
    add_human(services, human_id, *roles)
    return login(services, human_id)


def register(
    services: Services,
    agent_id: str,
    owner: str,
    *,
    actor: Principal = SYSTEM,
    labels: dict[str, str] | None = None,
    purpose: str = "testing",
) -> Agent:
    """Register a low-risk agent."""
    return services.agents.register(
        actor,
        agent_id=agent_id,
        display_name=None,
        owner=owner,
        purpose=purpose,
        risk_tier=RiskTier.LOW,
        labels=labels,
    )


def log_size(store: SqlStore) -> int:
    """How many records the audit log holds."""
    with store.read() as unit:
        return unit.audit.head().size


Person = tuple[str, tuple[str, ...], tuple[HumanRole, ...]]
"""A human to add: id, groups, roles."""


def people(services: Services, who: list[Person]) -> dict[str, dict[str, str]]:
    """Add each human with their groups and roles; their bearer headers, by id."""
    headers = {}
    for human_id, groups, roles in who:
        services.humans.add(
            SYSTEM,
            human_id=human_id,
            email=f"{human_id.removeprefix('user:')}@x.test",
            groups=groups,
            roles=roles,
        )
        token = services.tokens.issue_for_human(SYSTEM, human_id).token
        headers[human_id] = {"Authorization": f"Bearer {token}"}
    return headers


def agent_token(services: Services, agent_id: str) -> str:
    """A fresh token for the agent."""
    return services.tokens.issue_for_agent(SYSTEM, agent_id).token


def charter_cli(*args: str, input: str | None = None) -> tuple[int, str, str]:
    """Run the ``charter`` command in-process (``input`` on its standard input); return
    (exit code, stdout, stderr)."""
    # Room for a loaded machine past the CLI's 10 s default wait for an answer.
    result = CliRunner().invoke(cli_app, list(args), input=input, env={"CHARTER_TIMEOUT": "60s"})
    return result.exit_code, result.stdout, result.stderr


POSTGRES_URL = os.environ.get("CHARTER_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"]
PACK = Path(__file__).resolve().parent.parent / "examples" / "policies"
PACK_OWNERS = ("user:alice", "user:bob", "user:carol", "user:dave")


@dataclass(frozen=True)
class Admin:
    """The first admin and their bearer token."""

    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def bearer(token: str) -> dict[str, str]:
    """Authorization headers for ``token``."""
    return {"Authorization": f"Bearer {token}"}
