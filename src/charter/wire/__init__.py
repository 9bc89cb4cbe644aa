"""The HTTP API's request and response bodies, shared by the server and the SDK.

One module per part of the API (``agents``, ``humans``, ``tokens``, ``decisions``,
``policies``, ``audit``, ``approvals``, ``secrets``, ``webhooks``), on one base
(``base``: the input models' config and the checks on text) and one paging helper
(``pagination``). This package re-exports what the single ``charter.wire`` module
offered; ``charter.wire_approvals``, ``charter.wire_secrets`` and
``charter.wire_webhooks`` stay as aliases of the matching modules here.
"""

from __future__ import annotations

from charter.wire.agents import (
    AgentIn,
    AgentOut,
    AgentPage,
    AgentPatch,
    LifecycleIn,
    LifecycleOut,
    UsageOut,
    UsagePage,
)
from charter.wire.audit import AuditPage
from charter.wire.base import MAX_JSON_DEPTH, UtcDateTime, printable, printable_json, unicode_json
from charter.wire.decisions import (
    DecisionBatchIn,
    DecisionBatchOut,
    DecisionIn,
    DecisionOut,
    ResourceIn,
)
from charter.wire.humans import DeactivationOut, HumanIn, HumanOut, HumanPage, HumanPatch
from charter.wire.policies import PolicyApplied, PolicyFiles
from charter.wire.tokens import IssuedTokenOut, TokenIn, TokenOut, WhoAmI

__all__ = [
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
]
