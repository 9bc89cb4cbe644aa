"""``pip install charter`` without the ``server`` extra: the SDK, the embedded engine and
the scanner work in a fresh virtual environment that has no FastAPI, SQLAlchemy, psycopg,
Alembic or uvicorn (nor any agent framework), and the commands that need them say what to
install."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER_PACKAGES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg")
# The framework adapters' extras (charter[langchain], [pydantic-ai], [openai-agents]).
FRAMEWORK_PACKAGES = ("langchain", "langchain_core", "langgraph", "pydantic_ai", "agents")

PROBE = """
import importlib.util, sys
import charter
engine = charter.Engine.from_directory(sys.argv[1])
decision = engine.decide(charter.Request(
    agent="support-bot", capability=charter.Capability.REQUEST, action="crm.customer.read",
    resource="crm/customer/42", fields=("name", "email", "ssn"),
    context={"purpose": "account_recovery", "on_behalf_of": "user:alice"},
))
print(decision.effect.value, ",".join(decision.released_fields))
print(charter.redact("aws AKIAZ7Q3VX5KB2MN4PLD"))
print([name for name in sys.argv[2:] if importlib.util.find_spec(name)])
print(type(charter.Client("http://127.0.0.1:9")).__name__)
"""


@pytest.fixture(scope="module")
def sdk_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with Charter installed as an SDK user would: no extras."""
    home = tmp_path_factory.mktemp("sdk-only") / "venv"
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--constraint",
         str(ROOT / "constraints.txt"), str(ROOT)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return home


def test_the_sdk_and_the_engine_need_no_server_packages(sdk_only: Path) -> None:
    done = subprocess.run(
        [str(sdk_only / "bin" / "python"), "-c", PROBE, str(ROOT / "examples" / "policies"),
         *SERVER_PACKAGES, *FRAMEWORK_PACKAGES],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    effect, redacted, present, client = done.stdout.splitlines()
    assert effect == "allow name,email"
    assert redacted == "aws [REDACTED:aws_access_key]"
    assert present == "[]"
    assert client == "Client"


def test_a_server_command_says_what_to_install(sdk_only: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(sdk_only / "bin" / "charter"), "init", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "pip install 'charter[server]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_running_interpreter_is_not_the_sdk_venv(sdk_only: Path) -> None:
    # The probes above ran in the fresh venv, not in the one running the tests.
    assert Path(sys.prefix).resolve() != sdk_only.resolve()
