"""The audit log: search, one record in full, verification status and export."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
