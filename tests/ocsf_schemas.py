"""The OCSF JSON Schemas committed under tests/ocsf/ (see its README), one per class
Charter exports, and a check of an event against its class's schema."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

SCHEMAS = Path(__file__).resolve().parent / "ocsf"
CLASS_FILES = {
    0: "base_event.json",
    3001: "account_change.json",
    3002: "authentication.json",
    3003: "authorize_session.json",
    3004: "entity_management.json",
    6003: "api_activity.json",
}


@cache
def validator(class_uid: int) -> Any:
    """The validator of one class, with the AI-operation and security-control profiles."""
    schema = json.loads((SCHEMAS / CLASS_FILES[class_uid]).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(event: dict[str, Any]) -> list[str]:
    """Every way ``event`` breaks its class's schema (empty when it validates)."""
    found = validator(event["class_uid"]).iter_errors(event)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in found]
