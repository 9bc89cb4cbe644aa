"""``charter approvals`` (list, show, approve, deny, wait) and ``charter grants`` (list,
revoke): the human side of approvals and JIT grants."""

from __future__ import annotations

from typing import Annotated

import typer

from charter.cli.common import AsJson, Server, Token, client, emit, out, table
from charter.cli.policy import EXIT_DENIED
from charter.sdk.decisions import MAX_POLL_SECONDS
from charter.wire_approvals import ApprovalOut, GrantOut

__all__ = ["app", "grants_app"]

app = typer.Typer(
    help="Approve or deny what agents asked for; wait for an answer.", no_args_is_help=True
)
grants_app = typer.Typer(help="Just-in-time grants issued by approvals.", no_args_is_help=True)

ApprovalId = Annotated[str, typer.Argument(help="Approval id, e.g. apr_...", show_default=False)]
GrantId = Annotated[str, typer.Argument(help="Grant id.", show_default=False)]
AgentFilter = Annotated[
    str | None, typer.Option("--agent", help="Only this agent's.", show_default=False)
]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]
"""Required for votes; optional for revoking a grant."""


def _what(approval: ApprovalOut) -> str:
    request = approval.request
    resource = request.get("resource", "?")
    if isinstance(resource, dict):
        resource = resource.get("id", "?")
    return f"{request.get('capability', '?')} {request.get('action', '?')} {resource}"


def show_approval(approval: ApprovalOut) -> None:
    """Print one approval and its votes."""
    rows = [
        ("id", approval.id),
        ("kind", approval.kind),
        ("status", approval.status),
        ("agent", approval.agent),
        ("request", _what(approval)),
        ("fields", ", ".join(str(f) for f in approval.request.get("fields") or [])),
        ("policy", approval.policy),
        ("role", approval.role),
        ("approvers", ", ".join(approval.approvers)),
        ("quorum", approval.quorum),
        ("on behalf of", approval.on_behalf_of),
        ("created", approval.created_at.isoformat()),
        ("expires", approval.expires_at.isoformat()),
        ("decided", approval.decided_at.isoformat() if approval.decided_at else ""),
        ("closed because", approval.closed_reason),
    ]
    rows += [
        (f"vote {number}", f"{vote.vote} by {vote.human} at {vote.at.isoformat()}: {vote.reason}")
        for number, vote in enumerate(approval.votes, 1)
    ]
    table(["field", "value"], rows)


@app.command("list")
def list_approvals(
    status: Annotated[
        str,
        typer.Option(help="pending, approved, denied, expired or cancelled."),
    ] = "pending",
    agent: AgentFilter = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List approvals (pending by default), following every page."""
    with client(server, token) as charter:
        approvals = list(charter.iter_approvals(status=status, agent=agent))

    def show() -> None:
        table(
            ["id", "kind", "status", "agent", "request", "expires"],
            [
                (a.id, a.kind, a.status, a.agent, _what(a), a.expires_at.isoformat())
                for a in approvals
            ],
        )

    emit(approvals, as_json=as_json, human=show)


@app.command()
def show(
    approval_id: ApprovalId,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show one approval with its votes."""
    with client(server, token) as charter:
        approval = charter.get_approval(approval_id)
    emit(approval, as_json=as_json, human=lambda: show_approval(approval))


@app.command()
def approve(
    approval_id: ApprovalId,
    reason: Reason,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Vote to approve; at quorum the agent's identical request is allowed once (an
    eligible binding's approval issues a grant instead)."""
    with client(server, token) as charter:
        _show_vote(charter.approve(approval_id, reason=reason), as_json=as_json)


@app.command()
def deny(
    approval_id: ApprovalId,
    reason: Reason,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Vote to deny: the first deny decides."""
    with client(server, token) as charter:
        _show_vote(charter.deny(approval_id, reason=reason), as_json=as_json)


def _show_vote(approval: ApprovalOut, *, as_json: bool) -> None:
    """The approval as a vote or a wait leaves it: one line, or its JSON."""
    votes = f"{len(approval.votes)}/{approval.quorum} votes"
    line = f"{approval.id} is {approval.status} ({votes})"
    emit(approval, as_json=as_json, human=lambda: out.print(line, markup=False))


@app.command()
def wait(
    approval_id: ApprovalId,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait in all (long-polls of up to 60 s each).")
    ] = float(MAX_POLL_SECONDS),
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Wait until an approval is decided (exit 0 approved, 2 anything else)."""
    with client(server, token) as charter:
        approval = charter.wait_for_approval(approval_id, timeout=timeout)
    _show_vote(approval, as_json=as_json)
    if approval.status != "approved":
        raise typer.Exit(EXIT_DENIED)


@grants_app.command("list")
def list_grants(
    agent: AgentFilter = None,
    status: Annotated[
        str | None, typer.Option(help="Only grants in this status.", show_default=False)
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List grants, following every page."""
    with client(server, token) as charter:
        grants = list(charter.iter_grants(agent=agent, status=status))

    def show() -> None:
        table(
            ["id", "agent", "role", "status", "issued", "expires", "approval"],
            [
                (g.id, g.agent, g.role, g.status, g.issued_at, g.expires_at, g.approval)
                for g in grants
            ],
        )

    emit(grants, as_json=as_json, human=show)


@grants_app.command()
def revoke(
    grant_id: GrantId,
    reason: Reason = "",
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Revoke a grant before it expires; it stops counting on the next decision."""
    with client(server, token) as charter:
        grant: GrantOut = charter.revoke_grant(grant_id, reason=reason)
    emit(grant, as_json=as_json, human=lambda: out.print(f"revoked {grant.id}", markup=False))
