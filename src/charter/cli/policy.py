"""``charter policy``: validate, test and check offline; apply, diff, simulate, roll back on
a server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

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
    err,
    fail,
    group,
    json_option,
    out,
    parsing,
    table,
)
from charter.codes import ErrorCode

__all__ = ["app"]

app = group(
    "Policy as code: validate, test, check and schema offline; apply, diff, simulate, "
    "rollback and revisions on a server."
)

_ROLLBACK_KEEPS_AGENTS = (
    "note: applying registers every agent the policy declares that is not registered yet; "
    "a later rollback does not unregister them (retire one with 'charter agents retire ID')"
)

Directory = Annotated[Path, typer.Argument(help="Policy directory.", show_default=False)]


def _refuse(invalid: Any, as_json: bool, summary: str) -> typer.Exit:
    """Print every diagnostic of an invalid policy; return the exit (code 3) to raise."""
    if as_json:
        diagnostics = [d.to_json() for d in invalid.diagnostics]
        sys.stdout.write(json.dumps({"valid": False, "diagnostics": diagnostics}, indent=2) + "\n")
    else:
        for diagnostic in invalid.diagnostics:
            err.print(str(diagnostic), markup=False)
        err.print(summary, markup=False)
    return typer.Exit(Exit.NO)


def _load(directory: Path, as_json: bool) -> Any:
    """The engine for ``directory``, or print every diagnostic and exit 3."""
    from charter.errors import CharterError
    from charter.policy import Engine, PolicyInvalid

    try:
        return Engine.from_directory(directory)
    except PolicyInvalid as invalid:
        errors = sum(1 for d in invalid.diagnostics if d.severity.value == "error")
        raise _refuse(
            invalid, as_json, f"{directory}: {errors} error(s); the policy is not valid"
        ) from None
    except CharterError as error:
        raise fail(error) from None


@app.command()
def validate(directory: Directory, as_json: AsJson = False) -> None:
    """Check a policy directory; print every problem with file:line:col (exit 3 if invalid)."""
    engine = _load(directory, as_json)
    report = {
        "valid": True,
        "revision": engine.revision,
        "diagnostics": [d.to_json() for d in engine.diagnostics],
    }

    def human() -> None:
        for diagnostic in engine.diagnostics:
            err.print(str(diagnostic), markup=False)
        policy = engine.policy
        out.print(
            f"{directory}: valid, revision {engine.revision} ({len(policy.agents)} agents, "
            f"{len(policy.roles)} roles, {len(policy.bindings)} bindings, "
            f"{len(policy.guardrails)} guardrails, {len(policy.separations)} separations of "
            f"duty; {len(engine.diagnostics)} warning(s))",
            markup=False,
        )

    emit(report, as_json=as_json, human=human)


@app.command("test")
def run_tests(directory: Directory, as_json: AsJson = False) -> None:
    """Run the directory's PolicyTest cases (exit 3 if any fails or the policy is invalid)."""
    engine = _load(directory, as_json)
    results = engine.run_tests()
    failed = [result for result in results if not result.passed]

    def human() -> None:
        for result in results:
            mark = "PASS" if result.passed else "FAIL"
            out.print(f"{mark}  {result.test}: {result.case.name}", markup=False)
            for failure in result.failures:
                out.print(f"      {result.case.source}: {failure}", markup=False)
        out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed", markup=False)

    emit(
        {
            "passed": len(results) - len(failed),
            "failed": len(failed),
            "cases": [
                {
                    "test": r.test,
                    "case": r.case.name,
                    "passed": r.passed,
                    "failures": list(r.failures),
                    "decision": r.decision.effect.value,
                    "code": r.decision.code,
                }
                for r in results
            ],
        },
        as_json=as_json,
        human=human,
    )
    if not results:
        err.print(f"{directory} has no PolicyTest cases", markup=False)
        raise typer.Exit(Exit.ERROR)
    if failed:
        raise typer.Exit(Exit.NO)


@app.command()
def check(
    directory: Annotated[Path, typer.Option("--dir", help="Policy directory.")],
    agent: Annotated[str, typer.Option(help="Agent id.")],
    capability: CapabilityName,
    action: ActionName,
    resource: ResourcePath,
    field: Fields = None,
    context: ContextJson = "{}",
    as_json: AsJson = False,
) -> None:
    """Decide one request offline and explain it (exit 0 allow; 3 otherwise, or invalid)."""
    from charter.policy import Request

    engine = _load(directory, as_json)
    with parsing():
        parsed = json_option(context, option="--context", code=ErrorCode.INVALID_CONTEXT)
        request = Request(
            agent=agent,
            capability=capability_option(capability),
            action=action,
            resource=resource,
            fields=tuple(field or ()),
            context=parsed,
        )
    decision = engine.decide(request)
    explanation = engine.explain(request)
    emit(
        decision.to_json(),
        as_json=as_json,
        human=lambda: out.print(explanation, markup=False),
    )
    if not decision.allowed:
        raise typer.Exit(Exit.NO)


def _files(directory: Path) -> dict[str, str]:
    from charter.errors import InvalidInput
    from charter.policy.loader import read_files

    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory", code=ErrorCode.POLICY_NOT_FOUND)
    files = read_files(directory)
    if not files:
        raise InvalidInput(f"{directory} holds no .yaml files", code=ErrorCode.POLICY_NOT_FOUND)
    return files


def _send(directory: Path, server: str, token: str | None, as_json: bool, call: str) -> Any:
    """Send a policy directory to the server with the client method ``call``."""
    from charter.policy import PolicyInvalid

    with client(server, token) as charter:
        files = _files(directory)
        try:
            return getattr(charter, call)(files)
        except PolicyInvalid as invalid:
            raise _refuse(
                invalid, as_json, "the policy was refused whole; nothing changed"
            ) from None


@app.command()
def apply(
    directory: Directory,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Validate a policy directory on the server and activate it as a new revision."""
    applied = _send(directory, server, token, as_json, "apply_policy")

    def human() -> None:
        for warning in applied.warnings:
            err.print(
                f"{warning['file']}:{warning['line']}:{warning['column']}: warning"
                f"[{warning['code']}]: {warning['message']}",
                markup=False,
            )
        state = "activated" if applied.activated else "already active"
        out.print(
            f"revision {applied.revision} {state} (previous: {applied.previous})", markup=False
        )
        if applied.agents_registered:
            out.print(f"agents registered: {', '.join(applied.agents_registered)}", markup=False)
            err.print(_ROLLBACK_KEEPS_AGENTS, markup=False)
        if applied.agents_updated:
            out.print(f"agents updated: {', '.join(applied.agents_updated)}", markup=False)

    emit(applied, as_json=as_json, human=human)


@app.command()
def diff(
    directory: Directory,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show what applying a policy directory would change against the active revision,
    and which agents it would register."""
    result = _send(directory, server, token, as_json, "diff_policy")

    def human() -> None:
        if result["unchanged"]:
            out.print(f"no change: {result['revision']} is already active", markup=False)
            _show_review_outcomes(result.get("review_outcomes_not_reflected") or [])
            return
        out.print(
            f"{result['active'] or '(no active policy)'} -> {result['revision']}", markup=False
        )
        for kind, changes in result["changes"].items():
            for mark, key in (("+", "added"), ("-", "removed"), ("~", "changed")):
                for name in changes[key]:
                    out.print(
                        f"  {mark} {kind[:-1] if kind.endswith('s') else kind} {name}", markup=False
                    )
        added = result["changes"].get("agents", {}).get("added", [])
        if added:
            out.print(
                f"applying registers, unless already registered: {', '.join(added)}",
                markup=False,
            )
            err.print(_ROLLBACK_KEEPS_AGENTS, markup=False)
        _show_review_outcomes(result.get("review_outcomes_not_reflected") or [])

    emit(result, as_json=as_json, human=human)


_FLIP_KINDS = (
    "allow_to_deny",
    "deny_to_allow",
    "to_allow",
    "to_deny",
    "to_approval_required",
    "to_step_up_required",
    "fields_changed",
)
"""The flip kinds ``--fail-on`` names (``charter.simulation.FlipKind``: the CLI does not
load the evaluator to read them)."""


def _fail_on(text: str | None) -> set[str]:
    """``--fail-on``'s kinds, comma-separated; an unknown one is a usage error."""
    from charter.errors import InvalidInput

    kinds = {kind.strip() for kind in (text or "").split(",") if kind.strip()}
    unknown = sorted(kinds - set(_FLIP_KINDS))
    if unknown:
        raise InvalidInput(
            f"--fail-on: unknown flip kind {unknown[0][:64]!r}",
            code=ErrorCode.INVALID_INPUT,
            help=f"name some of: {', '.join(_FLIP_KINDS)}",
        )
    return kinds


@app.command()
def simulate(
    directory: Directory,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="How far back to replay recorded decisions: a duration (7d, 24h).",
            show_default=False,
        ),
    ],
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Replay this agent's decisions only.", show_default=False),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 3 if any flip of these kinds is found (comma-separated, e.g. "
            "deny_to_allow,allow_to_deny).",
            show_default=False,
        ),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Replay the decisions recorded in the last --since against a policy directory, and
    show which would flip, by kind and by the rule that caused them."""
    from charter.durations import parse_duration
    from charter.policy import PolicyInvalid

    with parsing():
        parse_duration(since)
        forbidden = _fail_on(fail_on)
    with client(server, token) as charter:
        files = _files(directory)
        try:
            result = charter.simulate_policy(files, since=since.strip(), agent=agent)
        except PolicyInvalid as invalid:
            raise _refuse(invalid, as_json, "the policy is not valid; nothing replayed") from None

    def human() -> None:
        _show_simulation(result)

    emit(result, as_json=as_json, human=human)
    found = sorted(kind for kind in forbidden if kind in result["flips"])
    if found:
        err.print(f"forbidden flips found: {', '.join(found)}", markup=False)
        raise typer.Exit(Exit.NO)


def _show_simulation(result: dict[str, Any]) -> None:
    """The simulation's totals, flips by kind and rule with examples, and what was not
    replayed."""
    scope = f" for {result['agent']}" if result.get("agent") else ""
    out.print(
        f"replayed {result['replayed']} of {result['considered']} decisions{scope} since "
        f"{result['since']} against {result['revision']}: {result['flipped']} flipped, "
        f"{result['unchanged']} unchanged",
        markup=False,
    )
    for kind, found in result["flips"].items():
        out.print(f"{kind}: {found['count']}", markup=False)
        for rule in found["by_rule"]:
            out.print(f"  {rule['rule']}: {rule['count']}", markup=False)
            for example in rule["examples"]:
                out.print(
                    f"    {example['decision_id']} {example['agent']} {example['action']} "
                    f"{example['resource']}: {example['before']['decision']} -> "
                    f"{example['after']['decision']} ({example['after']['code']})",
                    markup=False,
                )
    for skipped in result["not_replayed"]:
        err.print(
            f"not replayed: {skipped['count']} {skipped['reason']} "
            f"({skipped['explanation']}), e.g. {', '.join(skipped['examples'])}",
            markup=False,
        )
    if result["truncated"]:
        err.print(
            "note: the window held more decisions than one simulation replays; "
            "narrow --since or name an --agent",
            markup=False,
        )


def _show_review_outcomes(outcomes: list[dict[str, Any]]) -> None:
    """The review outcomes in force the active revision does not reflect, and whether
    the policy diffed does (applying it then marks them done)."""
    if not outcomes:
        return
    out.print(
        f"review outcomes not reflected in the active revision: {len(outcomes)}", markup=False
    )
    for outcome in outcomes:
        state = (
            "reflected by this policy"
            if outcome["reflected_by_candidate"]
            else "NOT reflected by this policy"
        )
        out.print(
            f"  {outcome['kind']} of Binding/{outcome['binding']} for {outcome['agent']} "
            f"(review {outcome['campaign']}, item {outcome['item']}): {state}",
            markup=False,
        )
    if not all(outcome["reflected_by_candidate"] for outcome in outcomes):
        err.print(
            "note: 'charter reviews patch CAMPAIGN DIR' writes the change that reflects them",
            markup=False,
        )


@app.command()
def rollback(
    revision: Annotated[str, typer.Argument(help="Revision id, e.g. rev_...", show_default=False)],
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Reactivate an earlier policy revision (agents registered since stay registered)."""
    with client(server, token) as charter:
        active = charter.activate_policy(revision)

    def human() -> None:
        out.print(f"revision {active['revision']} is active", markup=False)
        err.print(
            "note: agents registered by the revisions rolled back stay registered; "
            "'charter agents list' shows them, 'charter agents retire ID' retires one",
            markup=False,
        )

    emit(active, as_json=as_json, human=human)


@app.command()
def revisions(
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List stored policy revisions, newest first."""
    with client(server, token) as charter:
        listed = charter.policy_revisions()
        active = charter.active_policy()
    current = active["revision"] if active else None
    emit(
        listed,
        as_json=as_json,
        human=lambda: table(
            ["revision", "active", "created", "by"],
            [
                (r["id"], "*" if r["id"] == current else "", r["created_at"], r["created_by"])
                for r in listed
            ],
        ),
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of policy documents (for editors and CI)."""
    from charter.policy.schema import policy_schema

    sys.stdout.write(json.dumps(policy_schema(), indent=2) + "\n")
