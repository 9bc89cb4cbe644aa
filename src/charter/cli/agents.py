"""``charter agents``: register, list, show, update, usage, suspend, reinstate, retire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from charter.cli.common import AsJson, Server, Token, client, emit, group, out, parsing, table
from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.identity.agents import AgentStatus, LifecycleAction, RiskTier
from charter.wire import AgentOut, LifecycleOut, UsagePage

__all__ = ["app", "parse_labels"]

app = group(
    "Agents and their lifecycle: register, list, show, update, usage, investigate, suspend, "
    "reinstate, retire."
)

AgentId = Annotated[str, typer.Argument(help="Agent id, e.g. support-bot.", show_default=False)]
Labels = Annotated[
    list[str] | None, typer.Option("--label", help="key=value (repeatable).", show_default=False)
]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]


def parse_labels(pairs: list[str] | None) -> dict[str, str] | None:
    """Turn ``key=value`` options into a mapping."""
    if pairs is None:
        return None
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(f"label {pair!r} is not key=value", code=ErrorCode.INVALID_LABELS)
        labels[key] = value
    return labels


def show_agent(agent: AgentOut) -> None:
    """Print one agent as a two-column list."""
    labels = ", ".join(f"{key}={value}" for key, value in sorted(agent.labels.items()))
    table(
        ["field", "value"],
        [
            ("id", agent.id),
            ("display name", agent.display_name),
            ("owner", agent.owner),
            ("purpose", agent.purpose),
            ("risk tier", agent.risk_tier.value),
            ("status", agent.status.value),
            ("labels", labels),
            ("created", agent.created_at.isoformat()),
            ("updated", agent.updated_at.isoformat()),
            ("last seen", agent.last_seen_at.isoformat() if agent.last_seen_at else "never"),
            ("recertify by", agent.recertify_by.date().isoformat() if agent.recertify_by else ""),
        ],
        wrap={"value"},
    )


@app.command()
def register(
    agent_id: AgentId,
    owner: Annotated[str, typer.Option(help="Accountable human, e.g. user:alice.")],
    purpose: Annotated[str, typer.Option(help="What the agent is for.")],
    risk_tier: Annotated[
        RiskTier, typer.Option(help="How much harm it could do.")
    ] = RiskTier.MEDIUM,
    display_name: Annotated[str | None, typer.Option(show_default=False)] = None,
    label: Labels = None,
    recertify_by: Annotated[
        datetime | None, typer.Option(help="Date its access must be recertified by.")
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Register an agent with an accountable owner."""
    with parsing():
        labels = parse_labels(label)
    with client(server, token) as charter:
        agent = charter.register_agent(
            agent_id,
            owner=owner,
            purpose=purpose,
            risk_tier=risk_tier,
            display_name=display_name,
            labels=labels,
            recertify_by=recertify_by,
        )
    emit(
        agent,
        as_json=as_json,
        human=lambda: out.print(f"registered agent {agent.id} (owner {agent.owner})", markup=False),
    )


@app.command("list")
def list_agents(
    owner: Annotated[str | None, typer.Option(show_default=False)] = None,
    status: Annotated[AgentStatus | None, typer.Option(show_default=False)] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List agents (admins and auditors see all; owners see their own)."""
    with client(server, token) as charter:
        agents = list(charter.iter_agents(owner=owner, status=status))

    def human() -> None:
        table(
            ["id", "owner", "risk", "status", "last seen", "purpose"],
            [
                (
                    a.id,
                    a.owner,
                    a.risk_tier.value,
                    a.status.value,
                    a.last_seen_at.isoformat(timespec="seconds") if a.last_seen_at else "never",
                    a.purpose,
                )
                for a in agents
            ],
            wrap={"purpose"},
        )

    emit(agents, as_json=as_json, human=human)


@app.command()
def show(
    agent_id: AgentId,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show one agent."""
    with client(server, token) as charter:
        agent = charter.get_agent(agent_id)
    emit(agent, as_json=as_json, human=lambda: show_agent(agent))


@app.command()
def update(
    agent_id: AgentId,
    owner: Annotated[str | None, typer.Option(show_default=False)] = None,
    purpose: Annotated[str | None, typer.Option(show_default=False)] = None,
    risk_tier: Annotated[RiskTier | None, typer.Option(show_default=False)] = None,
    display_name: Annotated[str | None, typer.Option(show_default=False)] = None,
    label: Labels = None,
    recertify_by: Annotated[datetime | None, typer.Option(show_default=False)] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Change an agent's owner, purpose, risk tier, name, labels or recertify-by date."""
    with parsing():
        labels = parse_labels(label)
    with client(server, token) as charter:
        agent = charter.update_agent(
            agent_id,
            owner=owner,
            purpose=purpose,
            risk_tier=risk_tier.value if risk_tier else None,
            display_name=display_name,
            labels=labels,
            recertify_by=recertify_by,
        )
    emit(agent, as_json=as_json, human=lambda: show_agent(agent))


@app.command()
def usage(
    agent_id: AgentId,
    since: Annotated[
        datetime | None,
        typer.Option(help="Only permissions last used at or after this time.", show_default=False),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Which permission of which role, through which binding or grant, allowed what the
    agent did: uses, first and last use, and the actions and resources used."""
    with client(server, token) as charter:
        page = charter.agent_usage(agent_id, since=since)
    emit(page, as_json=as_json, human=lambda: show_usage(page))


def show_usage(page: UsagePage) -> None:
    """Print an agent's usage: a table of the permissions used, then what each was used
    for (whole ids, never cut to fit)."""
    if not page.usage:
        out.print(f"no recorded use for agent {page.agent}", markup=False)
        return
    table(
        ["role", "permission", "via", "uses", "first use", "last use", "actions", "resources"],
        [
            (
                one.role,
                f"permissions[{one.permission}]",
                one.source,
                one.count,
                one.first_at.isoformat(timespec="seconds"),
                one.last_at.isoformat(timespec="seconds"),
                _sampled(one.actions, one.sample_full),
                _sampled(one.resources, one.sample_full),
            )
            for one in page.usage
        ],
    )
    for one in page.usage:
        out.print(f"\n{one.role} permissions[{one.permission}] via {one.source}", markup=False)
        out.print(f"  actions:   {', '.join(one.actions)}", markup=False)
        out.print(f"  resources: {', '.join(one.resources)}", markup=False)
        if one.sample_full:
            out.print("  (sample full: more were used than these first ones)", markup=False)


def _sampled(items: list[str], full: bool) -> str:
    return f"{len(items)}+" if full else str(len(items))


def _lifecycle_command(action: LifecycleAction, summary: str) -> None:
    def move(
        agent_id: AgentId,
        reason: Reason = "",
        server: Server = "http://127.0.0.1:8080",
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        with client(server, token) as charter:
            moved: LifecycleOut = {
                LifecycleAction.SUSPEND: charter.suspend_agent,
                LifecycleAction.REINSTATE: charter.reinstate_agent,
                LifecycleAction.RETIRE: charter.retire_agent,
            }[action](agent_id, reason=reason)

        def human() -> None:
            out.print(f"agent {moved.agent.id} is now {moved.agent.status.value}", markup=False)
            if moved.revoked_tokens:
                out.print(f"revoked tokens: {', '.join(moved.revoked_tokens)}", markup=False)

        emit(moved, as_json=as_json, human=human)

    move.__doc__ = summary
    app.command(action.value)(move)


_lifecycle_command(
    LifecycleAction.SUSPEND, "Suspend an agent: its tokens are refused until it is reinstated."
)
_lifecycle_command(LifecycleAction.REINSTATE, "Reinstate a suspended agent.")
_lifecycle_command(LifecycleAction.RETIRE, "Retire an agent for good; all its tokens are revoked.")
