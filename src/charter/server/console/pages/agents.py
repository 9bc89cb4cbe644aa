"""Agents: the filterable list, an agent's page, its tokens and the kill switch."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
