"""The public surface is pinned: what ``__all__`` says is exactly what the modules offer.

Like httpx's ``tests/test_exported_members.py``: a name added to or dropped from a public
module without updating its ``__all__`` (and this file) fails here.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import types

import pytest

import charter
import charter.errors
import charter.sdk
import charter.secrets
import charter.webhooks
import charter.wire
import charter.wire.base
import charter.wire.pagination
import charter.wire_approvals

EXPECTED: dict[types.ModuleType, list[str]] = {
    charter: [
        "ApprovalPending",
        "AsyncClient",
        "AuthenticationError",
        "Capability",
        "CharterError",
        "Client",
        "Conflict",
        "Decision",
        "Denied",
        "Effect",
        "Engine",
        "Facts",
        "InvalidInput",
        "ManualClock",
        "NotFound",
        "PayloadTooLarge",
        "PermissionDenied",
        "PolicyInvalid",
        "Request",
        "StoreError",
        "Unavailable",
        "cite",
        "guard",
        "redact",
    ],
    charter.errors: [
        "ApprovalPending",
        "AuthenticationError",
        "CharterError",
        "Conflict",
        "Denied",
        "InvalidInput",
        "NotFound",
        "PayloadTooLarge",
        "PermissionDenied",
        "StoreError",
        "Unavailable",
    ],
    charter.secrets: [
        "LEAKED_SECRET",
        "MAX_DEPTH",
        "SECRET_TYPES",
        "Finding",
        "LeakSet",
        "Scanner",
        "placeholder",
        "redact",
    ],
    charter.webhooks: [
        "Delivery",
        "DeliveryStatus",
        "Webhook",
        "WebhookEvent",
        "WebhookSecrets",
        "verify_signature",
    ],
    charter.wire: [
        "MAX_JSON_DEPTH",
        "AgentIn",
        "AgentOut",
        "AgentPage",
        "AgentPatch",
        "AuditPage",
        "DeactivationOut",
        "DecisionBatchIn",
        "DecisionBatchOut",
        "DecisionIn",
        "DecisionOut",
        "HumanIn",
        "HumanOut",
        "HumanPage",
        "HumanPatch",
        "IssuedTokenOut",
        "LifecycleIn",
        "LifecycleOut",
        "PolicyApplied",
        "PolicyFiles",
        "ResourceIn",
        "TokenIn",
        "TokenOut",
        "UsageOut",
        "UsagePage",
        "UtcDateTime",
        "WhoAmI",
        "printable",
        "printable_json",
        "unicode_json",
    ],
    charter.wire_approvals: [
        "APPROVAL_STATUSES",
        "ApprovalOut",
        "ApprovalPage",
        "ApprovalTicket",
        "BallotOut",
        "GrantOut",
        "GrantPage",
        "VoteIn",
    ],
    charter.sdk: ["AsyncClient", "Client", "guard"],
    charter.wire.base: [
        "MAX_JSON_DEPTH",
        "MAX_TTL_SECONDS",
        "AgentId",
        "Email",
        "Group",
        "Groups",
        "HumanId",
        "InModel",
        "LabelKey",
        "LabelValue",
        "Labels",
        "Name",
        "NotSecret",
        "Printable",
        "PrintableJson",
        "Purpose",
        "Reason",
        "Roles",
        "UtcDateTime",
        "masked_within",
        "not_a_secret",
        "printable",
        "printable_json",
        "unicode_json",
    ],
    charter.wire.pagination: ["bad_cursor", "decode_cursor", "encode_cursor", "next_cursor"],
}

MODULES = pytest.mark.parametrize("module", list(EXPECTED), ids=lambda module: module.__name__)


def _defined_names(module: types.ModuleType) -> set[str]:
    """Public names a module binds itself at top level (not those it imports)."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


def _public_attributes(module: types.ModuleType) -> set[str]:
    """Every public attribute a module offers, submodules aside."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's order (RUF022): CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


@MODULES
def test_all_is_pinned_and_sorted(module: types.ModuleType) -> None:
    assert module.__all__ == EXPECTED[module]
    assert module.__all__ == sorted(module.__all__, key=_isort_style)
    assert len(set(module.__all__)) == len(module.__all__)


@MODULES
def test_every_listed_name_exists(module: types.ModuleType) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@MODULES
def test_every_public_name_is_listed(module: types.ModuleType) -> None:
    assert _defined_names(module) - set(module.__all__) == set()


def test_the_package_exports_everything_it_imports() -> None:
    # The package root only re-exports: anything reachable on it is public API.
    assert _public_attributes(charter) == set(charter.__all__)


def test_star_import_gives_exactly_all() -> None:
    for module in EXPECTED:
        namespace: dict[str, object] = {}
        exec(f"from {module.__name__} import *", namespace)
        assert {name for name in namespace if name != "__builtins__"} == set(module.__all__)


def test_exported_errors_are_the_same_objects_everywhere() -> None:
    for name in charter.errors.__all__:
        assert getattr(charter, name) is getattr(charter.errors, name)
        assert issubclass(getattr(charter, name), charter.CharterError)
    assert charter.Client is charter.sdk.Client
    assert charter.AsyncClient is charter.sdk.AsyncClient
    assert charter.guard is charter.sdk.guard


def test_importing_charter_loads_neither_the_engine_nor_the_server() -> None:
    """``import charter`` is light: the engine, CEL, the scanner, the SDK's HTTP client and
    the server's stack are loaded only when a name that needs them is first used."""
    heavy = ["charter.policy", "charter.secrets", "charter.sdk", "cel", "re2", "httpx"]
    heavy += ["fastapi", "sqlalchemy", "alembic", "psycopg", "uvicorn", "pydantic"]
    probe = (
        "import sys, charter; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules)); "
        "charter.Engine; "
        "print('charter.policy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True"
