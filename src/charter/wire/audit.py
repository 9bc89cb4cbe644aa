"""The API's bodies for the audit log, page by page."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["AuditPage"]


class AuditPage(BaseModel):
    """A page of audit records (each as exported: body fields plus hashes)."""

    records: list[dict[str, Any]]
    next_cursor: str | None
