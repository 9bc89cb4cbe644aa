"""Policy as code: documents, loading and validation, CEL, the compiler and the evaluator."""

from charter.policy.core import compiled_core
from charter.policy.decision import (
    AgentFacts,
    ApprovalNeeded,
    Decision,
    Effect,
    Facts,
    Grant,
    Reason,
    Request,
)
from charter.policy.diagnostics import Diagnostic, Severity
from charter.policy.engine import Engine, PolicyInvalid
from charter.policy.model import Capability

__all__ = [
    "AgentFacts",
    "ApprovalNeeded",
    "Capability",
    "Decision",
    "Diagnostic",
    "Effect",
    "Engine",
    "Facts",
    "Grant",
    "PolicyInvalid",
    "Reason",
    "Request",
    "Severity",
    "compiled_core",
]
