"""docs/integrations.md's examples (examples/integrations/*.py) run as a reader would
run them: each in its own Python process, against a real Charter server with the example
pack, with the framework's fake model; what they print shows the tool calls Charter
denied and held for Bob's approval, and the call his approval let through. The guide's
own commands are pasted into bash against ``make run``'s demo, as the README's are."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from charter.service import SYSTEM, Services
from tests.helpers import agent_token
from tests.servers import Served
from tests.test_readme import _paste
from tests.test_readme import served as demo  # noqa: F401  (the README's demo server)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "integrations"
DOC = (ROOT / "docs" / "integrations.md").read_text()
SCRIPTS = ["langchain_agent.py", "pydantic_ai_agent.py", "openai_agents_agent.py"]


def _check(out: str, server: str) -> str:
    """The approval the example waited for, after checking what it printed."""
    assert re.search(r"^rotate_secret: .*Charter denied rotate_secret", out, re.M), out
    waiting = re.search(r"^waiting for (apr_[a-z2-7]{16}) at (\S+)$", out, re.M)
    assert waiting is not None, out
    assert waiting.group(2) == f"{server}/ui/approvals/{waiting.group(1)}"
    assert re.search(r"^add_to_group: added dev-7 to developers$", out, re.M), out
    assert re.search(r"^model: dev-7 is in developers$", out, re.M), out
    return waiting.group(1)


def run_example(name: str, served: Served, services: Services) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHARTER_", "OPENAI_"))}
    env |= {
        "CHARTER_SERVER": served.url,
        "OPS_TOKEN": agent_token(services, "identity-ops-agent"),
        "BOB_TOKEN": services.tokens.issue_for_human(SYSTEM, "user:bob").token,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", str(EXAMPLES / name)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_example_runs_against_a_real_server(
    name: str, served: Served, services: Services
) -> None:
    approval_id = _check(run_example(name, served, services), served.url)
    with services.store.read() as unit:
        approval = unit.approvals.get(approval_id)
    assert approval is not None
    assert approval.used_by is not None  # the approval was spent on the one call


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_guide_shows_each_example_as_it_is(name: str) -> None:
    source = (EXAMPLES / name).read_text()
    assert f"examples/integrations/{name}" in DOC
    body = source.split('"""', 2)[2].strip()  # the file less its docstring
    assert body in DOC, f"docs/integrations.md does not show {name} as it is"


def test_the_guides_commands_work_verbatim(demo: tuple[Path, int]) -> None:  # noqa: F811
    block = re.search(
        r"<!-- integrations:start -->\s*```bash\n(.*?)```\s*<!-- integrations:end -->", DOC, re.S
    )
    assert block is not None, "docs/integrations.md has lost its commands"
    _, port = demo
    out = _paste(block.group(1), demo).stdout
    runs = re.split(r"^(?=rotate_secret: )", out, flags=re.M)[1:]
    assert len(runs) == len(SCRIPTS), out
    approvals = {_check(run, f"http://127.0.0.1:{port}") for run in runs}
    assert len(approvals) == len(SCRIPTS)  # each run asked Bob anew
