"""``charter posture``: the posture findings, as a table or JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from charter.cli.common import AsJson, Server, Token, client, emit, out, table

__all__ = ["posture"]


def posture(
    severity: Annotated[
        list[str] | None,
        typer.Option(
            "--severity", help="Only this severity (repeatable): critical, high, medium, low."
        ),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only this kind of finding (repeatable)."),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Only findings about this agent.", show_default=False),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Posture findings, the most severe first (admins, auditors): what to fix, the
    evidence, and the OWASP and NIST CSF controls each bears on."""
    with client(server, token) as charter:
        report = charter.posture(severity=severity or (), kind=kind or (), agent=agent)

    def show() -> None:
        if not report.findings:
            out.print("no findings", markup=False)
            return
        table(
            ["severity", "kind", "finding", "controls", "remediation", "id"],
            [
                (
                    f.severity,
                    f.kind,
                    f.title,
                    " ".join(f.controls),
                    f.remediation,
                    f.id,
                )
                for f in report.findings
            ],
            wrap={"finding", "controls", "remediation"},
        )
        counts = ", ".join(f"{n} {s}" for s, n in report.by_severity.items() if n)
        out.print(f"{len(report.findings)} finding(s): {counts}", markup=False)

    emit(report, as_json=as_json, human=show)
