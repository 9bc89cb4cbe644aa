"""The published JSON Schema of policy documents (``charter policy schema``).

Editors and CI can check documents against it; the loader remains the authority (it
also checks references, globs, CEL and separation of duty, which a schema cannot).
"""

from __future__ import annotations

from typing import Any

from charter.identity.agents import RiskTier
from charter.identity.names import AGENT_ID_PATTERN, HUMAN_ID_PATTERN
from charter.policy.loader import API_VERSION, APPROVER_PATTERN, NAME_PATTERN
from charter.policy.model import Activation, Capability, ExcessFields, GuardrailEffect

__all__ = ["policy_schema"]

_DURATION = {"type": "string", "pattern": r"^[1-9][0-9]*[smhd]$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_CONDITION = {"type": "string", "description": "a CEL expression"}


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [value.value for value in values]}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def _document(kind: str, spec: dict[str, Any], name_pattern: str) -> dict[str, Any]:
    return _object(
        {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": kind},
            "metadata": _object(
                {
                    "name": {"type": "string", "pattern": f"^{name_pattern}$"},
                    "labels": _LABELS,
                    "description": {"type": "string"},
                },
                ["name"],
            ),
            "spec": spec,
        },
        ["apiVersion", "kind", "metadata", "spec"],
    )


_APPROVAL = _object(
    {
        "approvers": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": f"^({APPROVER_PATTERN})$"},
        },
        "quorum": {"type": "integer", "minimum": 1},
        "expiresIn": _DURATION,
    }
)
_MATCH = _object(
    {
        "capabilities": {"type": "array", "items": _enum(Capability)},
        "actions": _STRINGS,
        "resources": _STRINGS,
    }
)
_PERMISSION = _object(
    {
        "capability": _enum(Capability),
        "actions": {**_STRINGS, "minItems": 1},
        "resources": _STRINGS,
        "fields": _STRINGS,
        "when": _CONDITION,
        "onExcessFields": _enum(ExcessFields),
    },
    ["capability", "actions"],
)
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}

_SPECS: dict[str, dict[str, Any]] = {
    "Agent": _object(
        {
            "owner": {"type": "string", "pattern": HUMAN_ID_PATTERN},
            "purpose": {"type": "string"},
            "riskTier": _enum(RiskTier),
        },
        ["owner"],
    ),
    "Role": _object({"permissions": {"type": "array", "items": _PERMISSION}}, ["permissions"]),
    "Binding": _object(
        {
            "role": {"type": "string", "pattern": f"^{NAME_PATTERN}$"},
            "agents": _STRINGS,
            "selector": _object({"labels": _LABELS}, ["labels"]),
            "excludeAgents": _STRINGS,
            "activation": _enum(Activation),
            "expiresAt": {"type": "string", "format": "date-time"},
            "maxDuration": _DURATION,
            "approval": _APPROVAL,
        },
        ["role"],
    ),
    "Guardrail": _object(
        {
            "effect": _enum(GuardrailEffect),
            "match": _MATCH,
            "when": _CONDITION,
            "require": _CONDITION,
            "message": {"type": "string"},
            "approval": _APPROVAL,
        },
        ["effect", "match"],
    ),
    "SeparationOfDuty": _object(
        {
            "conflicting": {"type": "array", "items": _MATCH, "minItems": 2, "maxItems": 2},
            "message": {"type": "string"},
        },
        ["conflicting"],
    ),
    "PolicyTest": _object(
        {"now": {"type": "string"}, "cases": {"type": "array", "minItems": 1}}, ["cases"]
    ),
}
"""Each kind's ``spec``; every kind but Agent is named like a policy document."""


def policy_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) that every policy document satisfies."""
    documents = [
        _document(kind, spec, AGENT_ID_PATTERN[1:-1] if kind == "Agent" else NAME_PATTERN)
        for kind, spec in _SPECS.items()
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:charter:policy:v1",
        "title": "Charter policy document (charter/v1)",
        "oneOf": documents,
    }
