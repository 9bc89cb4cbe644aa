"""``charter humans``: add, list, deactivate."""

from __future__ import annotations

from typing import Annotated

import typer

from charter.cli.common import AsJson, Server, Token, client, emit, err, group, out, table
from charter.identity.humans import HumanRole

__all__ = ["app"]

app = group("The people who own agents, approve, write policy and audit: add, list, deactivate.")

HumanId = Annotated[str, typer.Argument(help="Human id, e.g. user:alice.", show_default=False)]


@app.command()
def add(
    human_id: HumanId,
    email: Annotated[str, typer.Option(help="Email address.")],
    display_name: Annotated[str | None, typer.Option(show_default=False)] = None,
    group: Annotated[list[str] | None, typer.Option(help="Group (repeatable).")] = None,
    role: Annotated[list[HumanRole] | None, typer.Option(help="Role (repeatable).")] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Add a human."""
    with client(server, token) as charter:
        human = charter.add_human(
            human_id,
            email=email,
            display_name=display_name,
            groups=group or [],
            roles=list(role or []),
        )
    emit(human, as_json=as_json, human=lambda: out.print(f"added {human.id}", markup=False))


@app.command("list")
def list_humans(
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List humans."""
    with client(server, token) as charter:
        humans = []
        cursor: str | None = None
        while True:
            page = charter.list_humans(cursor=cursor)
            humans.extend(page.humans)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor

    emit(
        humans,
        as_json=as_json,
        human=lambda: table(
            ["id", "email", "roles", "groups", "active"],
            [
                (h.id, h.email, ",".join(h.roles), ",".join(h.groups), "yes" if h.active else "no")
                for h in humans
            ],
            wrap={"groups"},
        ),
    )


@app.command()
def deactivate(
    human_id: HumanId,
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit log).")] = "",
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Deactivate a human; the agents they own are reported as orphaned."""
    with client(server, token) as charter:
        result = charter.deactivate_human(human_id, reason=reason)

    def human() -> None:
        out.print(f"deactivated {result.human.id}", markup=False)
        if result.revoked_tokens:
            out.print(f"revoked tokens: {', '.join(result.revoked_tokens)}", markup=False)
        if result.orphaned_agents:
            err.print(
                f"warning: {len(result.orphaned_agents)} agent(s) now have no active owner; "
                "give them a new one with 'charter agents update ID --owner user:...'",
                markup=False,
            )
            table(
                ["orphaned agent", "status", "risk"],
                [(a.id, a.status.value, a.risk_tier.value) for a in result.orphaned_agents],
            )

    emit(result, as_json=as_json, human=human)
