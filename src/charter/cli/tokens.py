"""``charter tokens``: issue, list, revoke, rotate."""

from __future__ import annotations

from typing import Annotated

import typer

from charter.cli.common import AsJson, Server, Token, client, emit, err, group, out, parsing, table
from charter.codes import ErrorCode
from charter.durations import parse_duration
from charter.errors import InvalidInput
from charter.wire import IssuedTokenOut, TokenOut

__all__ = ["app"]

app = group("API tokens for agents and humans: issue, list, revoke, rotate.")

Agent = Annotated[str | None, typer.Option("--agent", help="Agent id.", show_default=False)]
Human = Annotated[str | None, typer.Option("--human", help="Human id.", show_default=False)]
Ttl = Annotated[
    str | None,
    typer.Option(
        help="Lifetime such as 1h, 24h or 7d (agent default 24h, human 30d).", show_default=False
    ),
]


def _one_principal(agent: str | None, human: str | None) -> tuple[bool, str]:
    """Return ``(is_agent, id)`` for the one principal named."""
    if agent is not None and human is None:
        return True, agent
    if human is not None and agent is None:
        return False, human
    raise InvalidInput("name exactly one of --agent or --human", code=ErrorCode.INVALID_ARGUMENTS)


def _show_issued(issued: IssuedTokenOut) -> None:
    credential = issued.credential
    out.print(
        f"token {credential.id} for {credential.principal_kind.value} "
        f"{credential.principal_id}, expires {credential.expires_at.isoformat()}",
        markup=False,
    )
    err.print("This is the only time the token is shown; store it safely:", markup=False)
    out.print(issued.token, markup=False)


@app.command()
def issue(
    agent: Agent = None,
    human: Human = None,
    ttl: Ttl = None,
    description: Annotated[str, typer.Option(help="What the token is for.")] = "",
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Issue a token to an agent or a human (shown once)."""
    with parsing():
        is_agent, principal = _one_principal(agent, human)
        lifetime = parse_duration(ttl) if ttl else None
    with client(server, token) as charter:
        issue_token = charter.issue_agent_token if is_agent else charter.issue_human_token
        issued = issue_token(principal, ttl=lifetime, description=description)
    emit(issued, as_json=as_json, human=lambda: _show_issued(issued))


@app.command("list")
def list_tokens(
    agent: Agent = None,
    human: Human = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List an agent's or a human's tokens (never their secrets)."""
    with parsing():
        is_agent, principal = _one_principal(agent, human)
    with client(server, token) as charter:
        read_tokens = charter.list_agent_tokens if is_agent else charter.list_human_tokens
        tokens = read_tokens(principal)

    def show(items: list[TokenOut]) -> None:
        table(
            ["id", "state", "expires", "last used", "description"],
            [
                (
                    t.id,
                    t.state.value,
                    t.expires_at.isoformat(timespec="seconds"),
                    t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never",
                    t.description,
                )
                for t in items
            ],
            wrap={"description"},
        )

    emit(tokens, as_json=as_json, human=lambda: show(tokens))


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(help="Token id, e.g. tok_abc...", show_default=False)],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit log).")] = "",
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Revoke a token; it is refused from the next request on."""
    with client(server, token) as charter:
        revoked = charter.revoke_token(token_id, reason=reason)
    emit(revoked, as_json=as_json, human=lambda: out.print(f"revoked {revoked.id}", markup=False))


@app.command()
def rotate(
    token_id: Annotated[str, typer.Argument(help="Token id to replace.", show_default=False)],
    ttl: Ttl = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Replace a token with a new one (shown once); the old one is revoked at once."""
    with parsing():
        lifetime = parse_duration(ttl) if ttl else None
    with client(server, token) as charter:
        issued = charter.rotate_token(token_id, ttl=lifetime)
    emit(issued, as_json=as_json, human=lambda: _show_issued(issued))
