"""Liveness and readiness probes (unauthenticated)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from charter import __version__
from charter.errors import Unavailable
from charter.server.deps import Wired
from charter.server.errors import error_response

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", response_model=None)
def readyz(services: Wired) -> dict[str, str | None] | JSONResponse:
    """The store is reachable and migrated; says which policy revision is loaded."""
    try:
        services.store.ping()
    except Unavailable as error:
        return error_response(503, error.code, error.message)
    policy = services.policies.compiled.engine
    return {"status": "ready", "policy_revision": policy.revision if policy else None}
