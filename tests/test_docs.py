"""The user documentation keeps up with the code: settings, routes, commands, codes.

Each test derives a list from the code (the source text, the app's routes, the Typer
command tree) and fails naming whatever ``docs/`` does not mention yet.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from charter.cli.main import app as cli_app
from charter.codes import DecisionCode, ErrorCode
from charter.server.app import create_app
from charter.server.console.pages import PAGES
from charter.server.console.web import CONSOLE_PREFIX
from charter.service import Services
from charter.storage.sql.store import SqlStore, create_sql_engine

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "charter"
DOCS = ROOT / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _missing(expected: set[str], text: str) -> list[str]:
    return sorted(item for item in expected if item not in text)


# -- configuration ---------------------------------------------------------------------


def test_every_environment_variable_is_documented() -> None:
    sources = [SRC / "settings.py", *sorted((SRC / "cli").glob("*.py"))]
    variables = {
        name
        for path in sources
        for name in re.findall(r"CHARTER_[A-Z_]+", path.read_text(encoding="utf-8"))
    }
    assert "CHARTER_DATABASE_URL" in variables, "the scan found no settings at all"
    assert _missing(variables, _doc("configuration.md")) == []


# -- HTTP API --------------------------------------------------------------------------


def _routes(tmp_path: Path) -> set[str]:
    # Building the app reads no data: the engine is created but never connected.
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    try:
        app = create_app(Services.build(SqlStore(engine)))
        found = {
            f"{method.upper()} {path}"
            for path, operations in app.openapi()["paths"].items()
            for method in operations
        }
        # Routes outside the schema (the OpenAPI document and its viewers).
        for route in app.routes:
            path = getattr(route, "path", None)
            for method in getattr(route, "methods", None) or ():
                if path is not None and method != "HEAD":
                    found.add(f"{method} {path}")
    finally:
        engine.dispose()
    assert not (tmp_path / "unused.db").exists()
    return found


def test_every_route_is_documented(tmp_path: Path) -> None:
    routes = _routes(tmp_path)
    assert {"GET /v1/whoami", "GET /openapi.json"} <= routes, "the route scan found too little"
    assert _missing(routes - {"GET /ui"}, _doc("api.md")) == []
    console = {
        f"{method} {CONSOLE_PREFIX}{route.path}"
        for page in PAGES
        for route in page.router.routes
        for method in getattr(route, "methods", None) or ()
    }
    assert "GET /ui/inbox" in console, "the route scan found no console page"
    assert _missing(console | {"GET /ui"}, _doc("console.md")) == []


def _table_codes(text: str, section: str) -> set[str]:
    """The codes in the ``code`` (or ``default code``) column of the tables in ``section``
    (a ``## `` heading) of a document."""
    lines = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0].splitlines()
    codes: set[str] = set()
    column: int | None = None
    for line in lines:
        if not line.startswith("|"):
            column = None
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if column is None:
            named = [i for i, cell in enumerate(cells) if cell in {"code", "default code"}]
            column = named[0] if named else -1
        elif column >= 0 and not set(cells[column]) <= set("-"):
            codes |= set(re.findall(r"`([a-z_]+)`", cells[column]))
    return codes


def _documented_error_codes() -> set[str]:
    text = _doc("api.md")
    return _table_codes(text, "Authentication") | _table_codes(text, "Errors")


def test_every_error_code_is_documented() -> None:
    documented = _documented_error_codes()
    assert {"token_missing", "forbidden", "agent_suspended"} <= documented, "the table scan failed"
    codes = {code.value for code in ErrorCode}
    assert sorted(codes - documented) == []
    assert sorted(documented - codes) == [], "documented, not a code"


def test_every_decision_code_is_documented() -> None:
    documented = _table_codes(_doc("policy.md"), "Decision codes")
    assert {"allowed", "no_permission"} <= documented, "the table scan failed"
    codes = {code.value for code in DecisionCode}
    assert sorted(codes - documented) == []
    assert sorted(documented - codes) == [], "documented, not a code"


# The secrets guard's two codes are still spelled out; they move to ErrorCode next.
_LITERAL_CODES_LEFT: set[str] = set()


def test_codes_are_named_not_spelled() -> None:
    """A code is an ``ErrorCode`` or ``DecisionCode`` member, never a string literal."""
    spelled = {
        f"{path.relative_to(SRC)}: {match}"
        for path in SRC.rglob("*.py")
        if str(path.relative_to(SRC)) not in _LITERAL_CODES_LEFT
        for match in re.findall(
            r'\b(?:code=f?|default_code = )"[a-z_{}.]*"', path.read_text(encoding="utf-8")
        )
    }
    assert sorted(spelled) == []


POLICY = SRC / "policy"


def _policy_literals(pattern: str) -> set[str]:
    return {
        match
        for path in POLICY.rglob("*.py")
        for match in re.findall(pattern, path.read_text(encoding="utf-8"))
    }


def test_every_diagnostic_code_is_documented() -> None:
    """The policy diagnostics' codes appear in policy.md."""
    codes = _policy_literals(
        r'\.(?:error|warning)\(\s*[^,()]+(?:\[[^]]*\])?,\s*"([a-z_]+)"'
    ) | _policy_literals(r'\.append\(\s*Diagnostic\(\s*Severity\.\w+,\s*"([a-z_]+)"')
    assert {"unknown_key", "cel_syntax"} <= codes, (
        f"the diagnostic code scan failed: {sorted(codes)}"
    )
    assert _missing({f"`{code}`" for code in codes}, _doc("policy.md")) == []


# -- CLI -------------------------------------------------------------------------------


def _commands(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    children = getattr(command, "commands", None)
    if children:
        for name, child in children.items():
            yield from _commands(child, (*path, name))
    else:
        yield " ".join(path), command


def _options(command: Any) -> set[str]:
    names = {
        name
        for param in command.params
        if isinstance(param, typer.core.TyperOption)
        for name in (*param.opts, *param.secondary_opts)
        if name.startswith("--")
    }
    return names - {"--help"}


def _sections(text: str) -> dict[str, str]:
    """``### `charter agents list` `` headings mapped to the text under them."""
    sections: dict[str, str] = {}
    heading: str | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip().strip("`") if line.startswith("### ") else None
            if heading is not None:
                sections[heading] = ""
        elif heading is not None:
            sections[heading] += line + "\n"
    return sections


CLI_COMMANDS = list(_commands(typer.main.get_command(cli_app), ("charter",)))


def test_the_cli_walk_finds_the_commands() -> None:
    names = {name for name, _ in CLI_COMMANDS}
    assert {"charter init", "charter agents register", "charter audit verify"} <= names


@pytest.mark.parametrize(("name", "command"), CLI_COMMANDS, ids=[n for n, _ in CLI_COMMANDS])
def test_every_cli_command_and_option_is_documented(name: str, command: Any) -> None:
    sections = _sections(_doc("cli.md"))
    if name not in sections:
        pytest.fail(f"docs/cli.md has no '### `{name}`' section")
    assert _missing(_options(command), sections[name]) == []


def test_every_cli_environment_variable_and_global_option_is_documented() -> None:
    text = _doc("cli.md")
    variables = {
        param.envvar
        for _, command in CLI_COMMANDS
        for param in command.params
        if isinstance(param.envvar, str)
    }
    assert "CHARTER_TOKEN" in variables
    root_options = _options(typer.main.get_command(cli_app))
    assert _missing(variables | root_options, text) == []


# -- audit log -------------------------------------------------------------------------


def _strings_of(node: ast.expr, names: dict[str, ast.expr], where: str) -> set[str]:
    """Every string an expression can evaluate to, following module-level names."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings_of(node.body, names, where) | _strings_of(node.orelse, names, where)
    if isinstance(node, ast.Subscript):
        return _strings_of(node.value, names, where)
    if isinstance(node, ast.Name) and node.id in names:
        return _strings_of(names[node.id], names, where)
    if isinstance(node, ast.Dict):
        return {s for value in node.values for s in _strings_of(value, names, where)}
    raise AssertionError(f"{where}: cannot tell which record types {ast.unparse(node)} makes")


def _record_types() -> set[str]:
    types: set[str] = set()
    for path in sorted((SRC / "service").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            target.id: statement.value
            for statement in tree.body
            if isinstance(statement, ast.Assign)
            for target in statement.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or ast.unparse(node.func) != "AuditEntry":
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            given = [kw.value for kw in node.keywords if kw.arg == "type"] or node.args[:1]
            assert given, f"{where}: AuditEntry without a type"
            types |= _strings_of(given[0], names, where)
    return types


def test_every_audit_record_type_is_documented() -> None:
    types = _record_types()
    assert {"agent.registered", "agent.suspended", "auth.failed"} <= types
    assert _missing({f"`{name}`" for name in types}, _doc("audit-log.md")) == []


def test_every_verification_problem_is_documented() -> None:
    source = (SRC / "audit" / "verify.py").read_text(encoding="utf-8")
    problems = set(re.findall(r'VerifyProblem\(\s*"([a-z_]+)"', source))
    assert "record_altered" in problems
    assert _missing({f"`{code}`" for code in problems}, _doc("audit-log.md")) == []


def test_no_file_keeps_merge_conflict_markers() -> None:
    """A merge left half-done shows up here, not in a reader's face."""
    markers = re.compile(r"^(<{7} |>{7} |={7}$)", re.M)
    suffixes = {".md", ".py", ".yaml", ".toml", ".txt", ".mako"}
    found = [
        str(path.relative_to(ROOT))
        for folder in ("src", "tests", "docs", "bench", "examples")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in suffixes and markers.search(path.read_text(errors="replace"))
    ]
    found += [
        name for name in ("README.md", "Makefile") if markers.search((ROOT / name).read_text())
    ]
    assert found == []
