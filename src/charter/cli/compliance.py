"""``charter compliance report``: a framework report with live figures and evidence."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from charter.cli.common import Server, Token, client, group, handled
from charter.codes import ErrorCode
from charter.errors import InvalidInput

__all__ = ["app"]

app = group("Compliance: report (control status, live figures, verifiable evidence).")


class FrameworkId(StrEnum):
    """The frameworks a report can be made for (the keys of charter.posture.controls.FRAMEWORKS)."""

    OWASP_AGENTIC = "owasp-agentic"
    OWASP_NHI = "owasp-nhi"
    NIST_CSF = "nist-csf"


class Form(StrEnum):
    """How the report is written."""

    HTML = "html"
    MD = "md"
    JSON = "json"


def _write(path: Path, text: str) -> None:
    with handled():
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"cannot write {path}: {exc.strerror}", code=ErrorCode.INVALID_INPUT
            ) from None


@app.command()
def report(
    framework: Annotated[FrameworkId, typer.Option("--framework", help="The framework.")],
    form: Annotated[Form, typer.Option("--format", help="html, md or json.")] = Form.HTML,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (default stdout).", show_default=False),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle",
            help="Also write the report's evidence bundle here, for 'charter audit "
            "verify-evidence'.",
            show_default=False,
        ),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
) -> None:
    """Write a compliance report: each control's status, mechanisms, figures, findings."""
    with client(server, token) as charter:
        text = charter.compliance_report(framework.value, form.value)
        evidence = None
        if bundle is not None:
            as_json = text if form is Form.JSON else charter.compliance_report(framework.value)
            evidence = json.loads(as_json).get("evidence")
    if output is None:
        sys.stdout.write(text)
    else:
        _write(output, text)
    if bundle is not None:
        if evidence is None:
            typer.echo("no records are cited, so no evidence bundle was written", err=True)
        else:
            _write(bundle, json.dumps(evidence, indent=2, sort_keys=True) + "\n")
