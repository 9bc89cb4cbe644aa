"""``charter approvals`` (list, show, approve, deny, wait) and ``charter grants`` (list,
revoke): the human side of approvals and JIT grants."""

from __future__ import annotations

import json
import re
import time
from typing import Annotated, Any

import typer

from charter.approvals.model import ApprovalStatus
from charter.cli.common import (
    AsJson,
    Exit,
    Server,
    Token,
    client,
    emit,
    err,
    group,
    out,
    parsing,
    table,
)
from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.sdk.decisions import MAX_POLL_SECONDS
from charter.wire_approvals import ApprovalOut, GrantOut

__all__ = ["app", "grants_app"]

app = group("Approvals: list, show, approve, deny, wait (for an answer), stats.")
grants_app = group("Just-in-time grants issued by approvals: list, revoke.")

ApprovalId = Annotated[str, typer.Argument(help="Approval id, e.g. apr_...", show_default=False)]
_APPROVAL_ID = re.compile(r"apr_[a-z2-7]{16}")
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


def _approval_id(text: str) -> str:
    """``text`` if it is an approval id, else ``InvalidInput`` saying what one looks like."""
    if _APPROVAL_ID.fullmatch(text) is None:
        raise InvalidInput(
            f"{text[:64]!r} is not an approval id",
            code=ErrorCode.INVALID_REQUEST,
            help="an approval id is apr_ and 16 letters or digits, e.g. apr_fawg2hjhztitm46e; "
            "'charter approvals list' shows them",
        )
    return text


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def show_approval(approval: ApprovalOut) -> None:
    """Print one approval, what the agent sent (secrets masked by the server) and its
    votes."""
    request = approval.request
    secrets = [
        f"{found.get('type')} at {found.get('path')} ({found.get('fingerprint')}"
        f"{', registered leak' if found.get('leaked') else ''})"
        for found in request.get("secrets") or []
    ]
    rows = [
        ("id", approval.id),
        ("kind", approval.kind),
        ("status", approval.status),
        ("agent", approval.agent),
        ("request", _what(approval)),
        ("fields", ", ".join(str(f) for f in request.get("fields") or [])),
        ("context", _compact(request.get("context") or {})),
        ("input", "" if request.get("input") is None else _compact(request.get("input"))),
        ("secrets masked", "; ".join(secrets)),
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
    table(["field", "value"], rows, wrap={"value"})


@app.command("list")
def list_approvals(
    status: Annotated[
        ApprovalStatus, typer.Option(help="Only approvals in this status.")
    ] = ApprovalStatus.PENDING,
    agent: AgentFilter = None,
    resource: Annotated[
        str | None,
        typer.Option("--resource", help="Only those for this resource.", show_default=False),
    ] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only those asking me to decide.")] = False,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List approvals (pending by default), following every page."""
    with client(server, token) as charter:
        approvals = list(
            charter.iter_approvals(status=status.value, agent=agent, resource=resource, mine=mine)
        )

    def show() -> None:
        table(
            ["id", "kind", "status", "agent", "request", "expires"],
            [
                (
                    a.id,
                    a.kind,
                    a.status,
                    a.agent,
                    _what(a),
                    a.expires_at.isoformat(timespec="seconds"),
                )
                for a in approvals
            ],
            wrap={"request"},
        )

    emit(approvals, as_json=as_json, human=show)


@app.command()
def show(
    approval_id: ApprovalId,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show one approval: what the agent asked, its context and input (secrets masked),
    and its votes."""
    with parsing():
        _approval_id(approval_id)
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
    with parsing():
        _approval_id(approval_id)
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
    with parsing():
        _approval_id(approval_id)
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
    """Wait until an approval is decided (exit 0 approved, 3 anything else); says on
    standard error that it waits, and how long it has waited."""
    with parsing():
        _approval_id(approval_id)
    with client(server, token) as charter:
        approval = _wait(charter, approval_id, timeout)
    _show_vote(approval, as_json=as_json)
    if approval.status != "approved":
        raise typer.Exit(Exit.NO)


def _wait(charter: Any, approval_id: str, timeout: float) -> ApprovalOut:
    """Long-poll ``approval_id`` for up to ``timeout`` seconds, a line on standard error
    before each poll."""
    started = time.monotonic()
    err.print(f"waiting for {approval_id} (up to {timeout:g}s)...", markup=False)
    while True:
        left = timeout - (time.monotonic() - started)
        approval: ApprovalOut = charter.wait_for_approval(
            approval_id, timeout=max(0.0, min(left, float(MAX_POLL_SECONDS)))
        )
        waited = time.monotonic() - started
        if approval.status != "pending" or waited >= timeout:
            return approval
        err.print(f"still pending after {waited:.0f}s...", markup=False)


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
