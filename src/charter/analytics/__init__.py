"""Reading the audit log back: approval analytics and the investigation of one agent.

Pure functions over audit records (``charter.audit.records.AuditRecord``) and the
approvals they describe: no store, no clock read. The service gathers the records in
one read transaction and hands them here, so every figure can be traced to the seqs of
the records it was computed from.
"""

from __future__ import annotations

from charter.analytics.approvals import (
    ApprovalHistory,
    ApprovalStats,
    Thresholds,
    approval_stats,
    histories,
)
from charter.analytics.investigation import Investigation, investigate, to_markdown

__all__ = [
    "ApprovalHistory",
    "ApprovalStats",
    "Investigation",
    "Thresholds",
    "approval_stats",
    "histories",
    "investigate",
    "to_markdown",
]
