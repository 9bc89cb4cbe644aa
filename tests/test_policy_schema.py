"""The published JSON Schema accepts the example pack and refuses malformed documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the dev extra
import pytest
import yaml
from typer.testing import CliRunner

from charter.cli.main import app
from charter.policy.schema import policy_schema

PACK = Path(__file__).resolve().parent.parent / "examples" / "policies"
VALIDATOR = jsonschema.Draft202012Validator(policy_schema())


def _documents() -> list[Any]:
    found = []
    for path in sorted(PACK.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            # YAML reads times as datetimes; JSON documents carry them as strings.
            found.append(json.loads(json.dumps(document, default=str)))
    return found


def test_the_schema_is_itself_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(policy_schema())


@pytest.mark.parametrize(
    "document", _documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_every_document_of_the_pack_satisfies_the_schema(document: Any) -> None:
    assert list(VALIDATOR.iter_errors(document)) == []


@pytest.mark.parametrize(
    "document",
    [
        {
            "apiVersion": "charter/v2",
            "kind": "Role",
            "metadata": {"name": "r"},
            "spec": {"permissions": []},
        },
        {
            "apiVersion": "charter/v1",
            "kind": "Role",
            "metadata": {"name": "r"},
            "spec": {"permissions": [{"capability": "write", "actions": ["a"]}]},
        },
        {
            "apiVersion": "charter/v1",
            "kind": "Binding",
            "metadata": {"name": "b"},
            "spec": {"role": "r", "agent": ["x"]},
        },
        {
            "apiVersion": "charter/v1",
            "kind": "Guardrail",
            "metadata": {"name": "g"},
            "spec": {"effect": "deny"},
        },
        {
            "apiVersion": "charter/v1",
            "kind": "Agent",
            "metadata": {"name": "a"},
            "spec": {"owner": "alice"},
        },
    ],
)
def test_malformed_documents_are_refused(document: Any) -> None:
    assert list(VALIDATOR.iter_errors(document)) != []


def test_a_binding_may_exclude_agents() -> None:
    spec: dict[str, Any] = {
        "role": "r",
        "selector": {"labels": {"team": "x"}},
        "excludeAgents": ["a-1"],
    }
    document = {
        "apiVersion": "charter/v1",
        "kind": "Binding",
        "metadata": {"name": "b"},
        "spec": spec,
    }
    assert list(VALIDATOR.iter_errors(document)) == []
    spec["excludeAgents"] = "a-1, a-2"
    assert list(VALIDATOR.iter_errors(document)) != []


def test_charter_policy_schema_prints_it() -> None:
    result = CliRunner().invoke(app, ["policy", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == policy_schema()
