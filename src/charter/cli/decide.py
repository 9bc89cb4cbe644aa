"""``charter decide``: ask the server for one decision, as an agent or an enforcer."""

from __future__ import annotations

from typing import Annotated

import typer

from charter.cli.common import (
    ActionName,
    AsJson,
    CapabilityName,
    ContextJson,
    Exit,
    Fields,
    ResourcePath,
    Server,
    Token,
    capability_option,
    client,
    emit,
    fail,
    json_option,
    out,
    parsing,
)
from charter.codes import ErrorCode
from charter.errors import CharterError
from charter.wire import DecisionOut

__all__ = ["decide", "show_decision"]


def show_decision(decision: DecisionOut) -> None:
    """Print a decision for people: the outcome, then what it released and why."""
    out.print(f"{decision.decision.upper()} ({decision.code}) {decision.decision_id}", markup=False)
    if decision.message:
        out.print(f"  {decision.message}", markup=False)
    if decision.released_fields or decision.redacted_fields:
        out.print(f"  released: {', '.join(decision.released_fields) or '-'}", markup=False)
        out.print(f"  redacted: {', '.join(decision.redacted_fields) or '-'}", markup=False)
    for reason in decision.reasons:
        rule = f"{reason.get('policy', '?')} {reason.get('rule', '')}".strip()
        out.print(f"  because: {rule} ({reason.get('effect', '?')})", markup=False)
    for error in decision.errors:
        out.print(f"  condition error: {error}", markup=False)
    for finding in decision.secrets:
        leaked = ", registered leak" if finding.get("leaked") else ""
        out.print(
            f"  secret: {finding.get('type')} at {finding.get('path')} "
            f"[{finding.get('start')}:{finding.get('end')}] ({finding.get('fingerprint')}{leaked})",
            markup=False,
        )
    approval = decision.approval
    if approval is not None:
        approvers = ", ".join(str(a) for a in approval.get("approvers") or []) or "-"
        out.print(
            f"  approval: {approval.get('id') or '(none created)'} {approval.get('status')}, "
            f"approvers {approvers}, expires {approval.get('expires_at') or '-'}",
            markup=False,
        )


def decide(
    capability: CapabilityName,
    action: ActionName,
    resource: ResourcePath,
    agent: Annotated[
        str | None,
        typer.Option(
            help="Agent to decide for (an enforcer's token must name one; an agent's token "
            "decides for itself).",
            show_default=False,
        ),
    ] = None,
    field: Fields = None,
    context: ContextJson = "{}",
    input: Annotated[
        str | None,
        typer.Option(
            "--input", help="Tool input as JSON (scanned for secrets).", show_default=False
        ),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Ask the server for a decision (exit 0 allow; 3 deny, approval or step-up required)."""
    with parsing():
        wanted = capability_option(capability)
        parsed_context = json_option(context, option="--context", code=ErrorCode.INVALID_CONTEXT)
        parsed_input = (
            None
            if input is None
            else json_option(
                input, option="--input", code=ErrorCode.INVALID_INPUT_JSON, object_only=False
            )
        )
    with client(server, token) as charter:
        try:
            decision = charter.decide(
                wanted,
                action,
                resource=resource,
                agent=agent,
                fields=field or (),
                context=parsed_context,
                input=parsed_input,
            )
        except CharterError as error:
            if error.code != ErrorCode.FORBIDDEN:
                raise
            raise fail(error, hint=_WHO_DECIDES) from None
    emit(decision, as_json=as_json, human=lambda: show_decision(decision))
    if decision.decision != "allow":
        raise typer.Exit(Exit.NO)


_WHO_DECIDES = (
    "decisions are asked with an agent's token (for itself) or an enforcer's token "
    "(with --agent); an admin's token cannot: 'charter tokens issue --agent ID' issues one"
)
