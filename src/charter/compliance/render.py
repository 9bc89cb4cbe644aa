"""Rendering a compliance report: JSON (with the bundle), Markdown, or one self-contained
HTML file whose charts are inline SVG and whose bundle is embedded (nothing fetched)."""

from __future__ import annotations

import base64
import json
from enum import StrEnum
from functools import cache
from typing import Any

from charter.clock import format_time
from charter.compliance.charts import bar_chart, stacked_by_day, wait_histogram
from charter.compliance.report import ComplianceReport

__all__ = ["ReportFormat", "render"]


class ReportFormat(StrEnum):
    """The forms a report is rendered in."""

    HTML = "html"
    MD = "md"
    JSON = "json"


@cache
def _templates() -> Any:
    """The report's template, loaded on first use: Jinja2 comes with the ``server`` extra,
    which a client-only install (and the CLI commands that import the services) lacks."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("charter.compliance", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(report: ComplianceReport, form: ReportFormat) -> str:
    """The report as text in ``form``."""
    if form is ReportFormat.JSON:
        return json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
    if form is ReportFormat.MD:
        return _markdown(report)
    return _html(report)


def _html(report: ComplianceReport) -> str:
    bundle = None if report.bundle is None else report.bundle.to_json()
    encoded = base64.b64encode(json.dumps(bundle, sort_keys=True).encode()).decode()
    rendered: str = (
        _templates()
        .get_template("report.html")
        .render(
            report=report,
            generated=format_time(report.generated_at),
            checkpoint_at=format_time(report.bundle.checkpoint.at) if report.bundle else "",
            charts=(
                stacked_by_day(report.figures.decisions_by_day),
                wait_histogram(report.figures.approval_waits),
                bar_chart(report.findings_by_severity()),
            ),
            bundle=bundle,
            bundle_b64=encoded,
        )
    )
    return rendered


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(report: ComplianceReport) -> str:
    counts = report.counts()
    lines = [
        f"# {report.framework.title}",
        "",
        f"Charter compliance report, generated {format_time(report.generated_at)}: "
        f"{counts['met']} met, {counts['partial']} partial, {counts['gap']} gap.",
        "",
        "## Controls",
        "",
        "| Control | Status | Charter mechanisms | Live figures | Findings | Evidence |",
        "|---|---|---|---|---|---|",
    ]
    for result in report.controls:
        figures = "; ".join(f"{f.label}: {f.display} ({f.state.value})" for f in result.figures)
        findings = "; ".join(f"[{f.severity.value}] {f.title}" for f in result.findings)
        lines.append(
            f"| {result.control.id} {_cell(result.control.title)} | {result.status.value} | "
            f"{_cell('; '.join(result.control.mechanisms))} | {_cell(figures) or '-'} | "
            f"{_cell(findings) or 'none'} | {len(result.evidence)} record(s) |"
        )
    lines += ["", "## Live figures", "", "| Figure | Value | Reading | Cited records |"]
    lines.append("|---|---|---|---|")
    for figure in report.figures.by_id.values():
        cited = ", ".join(str(s) for s in figure.evidence) or "-"
        lines.append(
            f"| {_cell(figure.label)} | {_cell(figure.display)} | {figure.state.value} | {cited} |"
        )
    if report.findings:
        lines += ["", "## Findings", "", "| Finding | Severity | Controls | Cited records |"]
        lines.append("|---|---|---|---|")
        for finding in report.findings:
            lines.append(
                f"| {_cell(finding.title)} (`{finding.id}`) | {finding.severity.value} | "
                f"{', '.join(finding.controls)} | {', '.join(map(str, finding.evidence)) or '-'} |"
            )
    lines += ["", "## Evidence", ""]
    if report.bundle is None:
        lines.append("No records are cited, so there is no evidence bundle.")
    else:
        checkpoint = report.bundle.checkpoint
        lines += [
            f"{len(report.bundle.records)} audit record(s) cited, each with an inclusion proof "
            f"against the checkpoint of {checkpoint.tree_size} records signed at "
            f"{format_time(checkpoint.at)} by key `{checkpoint.key_id}`. Save the bundle "
            "below as `evidence.json` and check it offline with the public key only:",
            "",
            "    charter audit verify-evidence evidence.json --public-key audit.pub",
            "",
            "```json",
            json.dumps(report.bundle.to_json(), indent=2, sort_keys=True),
            "```",
        ]
    return "\n".join(lines) + "\n"
