"""``charter approvals stats`` and ``charter agents investigate``: the audit log read back
as approval analytics and as one agent's incident view (registered in ``cli/main.py``)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from charter.audit.evidence import MAX_CITED
from charter.cli.common import AsJson, Server, Token, client, emit, out, table

__all__ = ["investigate", "stats"]

Since = Annotated[
    str,
    typer.Option(help="A duration back from now (30d, 12h) or an RFC 3339 time."),
]


class Format(StrEnum):
    """How ``charter agents investigate`` writes its report."""

    MARKDOWN = "markdown"
    JSON = "json"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g}s"


def _groups(title: str, rows: list[dict[str, Any]]) -> None:
    out.print(f"\n{title}", markup=False)
    table(
        ["", "total", "approved", "denied", "expired", "abandoned", "p50", "p90", "deny rate"],
        [
            (
                row["key"],
                row["total"],
                row["approved"],
                row["denied"],
                row["expired"],
                row["abandoned"],
                _seconds(row["p50_seconds"]),
                _seconds(row["p90_seconds"]),
                _share(row["deny_rate"]),
            )
            for row in rows
        ],
    )


def show_stats(body: dict[str, Any]) -> None:
    """Print approval analytics: the overview, each breakdown, flags and suggestions."""
    overall = body["overall"]
    out.print(f"approvals opened since {body['since']}: {overall['total']}", markup=False)
    if not overall["total"]:
        return
    out.print(
        f"time to decide: p50 {_seconds(overall['p50_seconds'])}, "
        f"p90 {_seconds(overall['p90_seconds'])}; deny rate {_share(overall['deny_rate'])}; "
        f"expired {_share(overall['expired_share'])}; "
        f"abandoned {_share(overall['abandoned_share'])}",
        markup=False,
    )
    _groups("by guardrail or eligible binding", body["by_policy"])
    _groups("by agent", body["by_agent"])
    out.print("\nby approver", markup=False)
    table(
        ["human", "votes", "approve rate", "fast", "p50 to vote", "rubber stamp?"],
        [
            (
                row["human"],
                row["votes"],
                _share(row["approve_rate"]),
                _share(row["fast_share"]),
                _seconds(row["p50_seconds_to_vote"]),
                "yes" if row["rubber_stamp"] else "",
            )
            for row in body["by_approver"]
        ],
    )
    for suggestion in body["suggestions"]:
        out.print(f"\nsuggestion: {suggestion['policy']}: {suggestion['message']}", markup=False)


def stats(
    since: Since = "30d",
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Approval analytics: volumes, time to decide, expiries, deny rates, rubber stamps
    and tuning suggestions (admins and auditors)."""
    with client(server, token) as charter:
        body = charter.approval_stats(since=since)
    emit(body, as_json=as_json, human=lambda: show_stats(body))


def investigate(
    agent_id: Annotated[str, typer.Argument(help="The agent's id.", show_default=False)],
    since: Since = "7d",
    format: Annotated[
        Format, typer.Option("--format", help="markdown (a report) or json.")
    ] = Format.MARKDOWN,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (default stdout).", show_default=False),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle",
            help="Also write the evidence bundle of the records it cites, for 'charter "
            "audit verify-evidence' (admins and auditors).",
            show_default=False,
        ),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
) -> None:
    """An agent's incident view: its timeline, what allowed each step, secrets seen, and
    the blast radius (admins, auditors, the agent's owner)."""
    with client(server, token) as charter:
        found = charter.investigate_agent(agent_id, since=since)
        if format is Format.JSON:
            text = json.dumps(found, indent=2) + "\n"
        else:
            text = charter.investigate_agent_markdown(agent_id, since=since)
        cited = [int(seq) for seq in found.get("audit_seqs", [])]
        if bundle is not None and len(cited) > MAX_CITED:
            raise typer.BadParameter(
                f"the investigation cites {len(cited)} audit records and a bundle holds at "
                f"most {MAX_CITED}: narrow --since",
                param_hint="--bundle",
            )
        evidence = charter.audit_evidence(cited) if bundle is not None and cited else None
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    if bundle is not None:
        if evidence is None:
            typer.echo("no records are cited, so no evidence bundle was written", err=True)
        else:
            bundle.write_text(json.dumps(evidence, indent=2, sort_keys=True) + "\n", "utf-8")
