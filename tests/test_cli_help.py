"""The CLI's help and its documentation cover every command: walked from the Typer app
itself, so a new command cannot go undocumented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from charter.cli.main import app
from tests.helpers import charter_cli as charter

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = (ROOT / "docs" / "cli.md").read_text()
README = (ROOT / "README.md").read_text()

ROOT_COMMAND = typer.main.get_command(app)
assert isinstance(ROOT_COMMAND, TyperGroup)


def _walk(group: TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*path, name))
        if isinstance(command, TyperGroup):
            found.extend(_walk(command, (*path, name)))
    return found


COMMANDS = _walk(ROOT_COMMAND)
GROUPS: dict[tuple[str, ...], object] = {
    path: ROOT_COMMAND.commands[path[0]] for path in COMMANDS if len(path) == 1
}
LEAVES = [path for path in COMMANDS if not isinstance(GROUPS.get(path), TyperGroup)]


def test_the_walk_finds_the_commands() -> None:
    assert ("decide",) in LEAVES
    assert ("approvals", "wait") in LEAVES
    assert ("secrets", "scan") in LEAVES
    assert len(LEAVES) > 40


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_docs_cli_md_documents_every_command(path: tuple[str, ...]) -> None:
    assert f"### `charter {' '.join(path)}`" in CLI_DOC


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda path: " ".join(path) or "charter")
def test_help_shows_no_type_placeholder_for_flags(path: tuple[str, ...]) -> None:
    code, out, _ = charter(*path, "--help")
    assert code == 0
    assert "<bool>" not in out
    assert "--no-" not in out  # a flag is on or off: no --no-X twin


@pytest.mark.parametrize(
    "name", [name for name, group in GROUPS.items() if isinstance(group, TyperGroup)]
)
def test_group_help_names_every_subcommand(name: tuple[str, ...]) -> None:
    group = GROUPS[name]
    assert isinstance(group, TyperGroup)
    summary = group.help or ""
    _, listed, _ = charter(*name, "--help")
    _, top, _ = charter("--help")
    for sub in group.commands:
        assert re.search(rf"\b{re.escape(sub)}\b", summary), f"{name[0]} help lacks {sub}"
        assert re.search(rf"^\s+{re.escape(sub)}\s", listed, re.M), f"--help lacks {sub}"
    assert " ".join(summary.split()) in " ".join(top.split())  # whole, not cut with "..."
    assert "..." not in listed.partition("Commands:")[2]


def test_every_group_is_in_the_overview_table() -> None:
    for name, command in GROUPS.items():
        suffix = " …" if isinstance(command, TyperGroup) else ""
        assert f"| `charter {name[0]}{suffix}` |" in CLI_DOC


def test_the_readme_tours_write_no_scratch_file_into_the_repository() -> None:
    blocks = re.findall(r"<!-- ([a-z-]+):start -->\s*```bash\n(.*?)```", README, re.S)
    assert {name for name, _ in blocks} >= {"quickstart", "guard-tour", "secrets-tour"}
    for name, block in blocks:
        for target in re.findall(r"(?<![-<>&0-9])>>?\s*(\S+)", block):
            assert target.startswith(('"$', "$", "/", "&")), f"{name} writes {target}"
