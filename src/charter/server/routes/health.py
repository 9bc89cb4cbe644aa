"""Liveness and readiness probes (unauthenticated).

``/healthz`` is liveness only: it runs on the event loop, touches neither the store nor
the worker threads, and answers while the store is frozen or every worker is busy.
``/readyz`` pings the store within the store timeout and answers 503
``store_unavailable`` when it cannot.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from charter.codes import ErrorCode
from charter.errors import Unavailable
from charter.server.errors import error_response
from charter.service import Services
from charter.version import __version__

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> dict[str, str | None] | JSONResponse:
    """The store is reachable and migrated; says which policy revision is loaded."""
    services: Services = request.app.state.services
    bound: float = request.app.state.store_timeout
    try:
        # Bounded here too: a ping waiting for a free worker thread counts.
        await asyncio.wait_for(run_in_threadpool(services.store.ping), bound)
    except Unavailable as error:
        return error_response(503, error.code, error.message, help=error.help)
    except TimeoutError:
        return error_response(
            503,
            ErrorCode.STORE_UNAVAILABLE,
            f"the store did not answer within {bound:g}s",
            help="retry shortly; the server's log says why",
        )
    compiled = services.policies.compiled
    if compiled.engine is None and compiled.unusable is not None:
        return error_response(
            503,
            ErrorCode.POLICY_UNUSABLE,
            f"the active policy revision {compiled.unusable} cannot be compiled: this server "
            "allows nothing",
            help="the server's log says why; activate another revision (charter policy "
            "rollback) or apply a corrected policy",
        )
    policy = compiled.engine
    return {"status": "ready", "policy_revision": policy.revision if policy else None}
