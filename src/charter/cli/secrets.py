"""``charter secrets``: register leaked secrets, list them, and scan files locally."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from charter.cli.common import AsJson, Exit, Server, Token, client, emit, err, group, out, table
from charter.secrets import Scanner

__all__ = ["app"]

app = group(
    "The secrets guard: report-leak, rotated (mark a leak rotated), leaks (list them), "
    "scan (text, locally)."
)


@app.command("report-leak")
def report_leak(
    note: Annotated[str, typer.Option("--note", help="Why it is leaked (recorded).")],
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            help="Report by fingerprint instead of reading the value.",
            show_default=False,
        ),
    ] = None,
    ticket: Annotated[
        str | None, typer.Option("--ticket", help="Incident or ticket id.", show_default=False)
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Where it was exposed.", show_default=False),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Register an exposed secret: its value is read from standard input (never from an
    option, so it stays out of shell history) and only its fingerprint is kept."""
    value = None
    if fingerprint is None:
        if sys.stdin.isatty():
            err.print("paste the secret, then press Ctrl-D:", markup=False)
        value = sys.stdin.read().strip()
    with client(server, token) as charter:
        leak = charter.report_leak(
            note=note, value=value, fingerprint=fingerprint, ticket=ticket, source=source
        )

    def show() -> None:
        state = "registered" if leak.created else "already registered"
        kind = f" ({leak.type})" if leak.type else ""
        out.print(f"{state}: {leak.fingerprint}{kind}", markup=False)

    emit(leak, as_json=as_json, human=show)


@app.command("rotated")
def rotated(
    fingerprint: Annotated[str, typer.Argument(help="The leak's fingerprint (fp_...).")],
    note: Annotated[str, typer.Option("--note", help="How it was rotated (recorded).")],
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Mark a leaked secret rotated at its issuer (admins; audited): posture stops
    reporting it, and its old value stays refused."""
    with client(server, token) as charter:
        marked = charter.mark_leak_rotated(fingerprint, note=note)

    def show() -> None:
        out.print(f"marked rotated: {marked.fingerprint} (audit seq {marked.seq})", markup=False)

    emit(marked, as_json=as_json, human=show)


@app.command("leaks")
def list_leaks(
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List registered leaks (fingerprints, never values)."""
    with client(server, token) as charter:
        leaks = list(charter.iter_leaks())

    def show() -> None:
        table(
            ["fingerprint", "type", "reported", "by", "ticket", "note"],
            [
                (
                    leak.fingerprint,
                    leak.type,
                    leak.reported_at,
                    leak.reported_by,
                    leak.ticket,
                    leak.note,
                )
                for leak in leaks
            ],
            wrap={"note", "ticket"},
        )

    emit(leaks, as_json=as_json, human=show)


@app.command("scan")
def scan(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="File to scan (standard input if left out).",
            show_default=False,
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    redact: Annotated[
        bool, typer.Option("--redact", help="Print the text with its secrets masked.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Scan a file (or standard input) on this machine: print what was found, never the
    values (exit 3 if anything was). No server is asked, so registered leaks are not
    known here: `POST /v1/secrets/scan` knows them."""
    text = sys.stdin.read() if path is None else path.read_text(encoding="utf-8")
    masked, findings = Scanner().mask(text)
    if redact:
        sys.stdout.write(masked)
    elif as_json:
        sys.stdout.write(json.dumps([f.to_json() for f in findings], indent=2) + "\n")
    else:
        lines = [0]
        for number, char in enumerate(text):
            if char == "\n":
                lines.append(number + 1)
        rows = []
        for finding in findings:
            line = sum(1 for start in lines if start <= finding.start)
            column = finding.start - lines[line - 1] + 1
            encoding = f" ({finding.encoding})" if finding.encoding else ""
            rows.append((f"{line}:{column}", finding.type + encoding, finding.confidence))
        table(["where", "type", "confidence"], rows)
        if not findings:
            err.print("no secrets found", markup=False)
    if findings:
        raise typer.Exit(Exit.NO)
