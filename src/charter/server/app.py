"""The FastAPI application, built by a factory from its settings and services."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from charter.errors import CharterError
from charter.server.console import install_console
from charter.server.errors import install_error_handlers
from charter.server.free_text import LeakRegistryScope
from charter.server.json_body import FiniteJson
from charter.server.limits import BodySizeLimit
from charter.server.observe import install_observability
from charter.server.outbound import HttpSender
from charter.server.routes import (
    agents,
    analytics,
    approvals,
    audit,
    compliance,
    decisions,
    grants,
    health,
    humans,
    policies,
    posture,
    reviews,
    secrets,
    tokens,
    webhooks,
)
from charter.server.routing import skip_foreign_routers
from charter.server.waiters import Waiters
from charter.service import Services
from charter.service.dispatch import Dispatcher
from charter.settings import Settings
from charter.storage.sql.bounds import StoreBounds
from charter.storage.sql.listen import listener_for
from charter.version import __version__

__all__ = ["create_app", "serve"]

log = logging.getLogger("charter.server")


_SWEEP_SECONDS = 1.0
"""How often pending approvals whose time is up are closed, and the active revision and
the leaked-secret registry are compared with those held (another server sharing the
store may have changed them)."""

_REVIEW_SECONDS = 60.0
"""How often the access reviews' clock runs (recertification, due dates, hand-offs), and
expired replay requests are purged."""

_DELIVER_SECONDS = 1.0
"""How often due webhook deliveries are looked for."""


async def _every(
    seconds: float, what: str, work: Callable[[], object], failed: Callable[[Exception], None]
) -> None:
    """Run ``work`` in a worker thread (requests never wait on it) every ``seconds``,
    until cancelled. A failure is logged and handed to ``failed`` (the metrics count the
    store's), and the next pass runs as usual."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(work)
        except CharterError as error:
            failed(error)
            log.warning("%s skipped: %s", what, error.message)
        except Exception as error:
            failed(error)
            log.exception("%s failed", what)


def _sweep(services: Services) -> None:
    services.approvals.expire_due()
    services.audit.advance_horizon()
    if services.policies.refresh():
        log.info("now deciding with policy revision activated elsewhere")
    if services.secrets.refresh():
        log.info("leaked-secret registry changed elsewhere; now deciding with it")


def _review(services: Services) -> None:
    # Requests kept for policy simulation past their retention, a bounded pass.
    services.simulation.purge()
    report = services.review_sweep.run()
    if report.overdue or report.suspended or report.recertification_items:
        log.info(
            "reviews: %d overdue, %d suspended, %d recertification items",
            len(report.overdue),
            len(report.suspended),
            len(report.recertification_items),
        )


def _checkpoint(services: Services) -> None:
    services.tokens.flush_suppressed_failures()
    services.audit.checkpoint()


YOUNG_COLLECTION_EVERY = 10_000
"""Container objects allocated (net) between two collections of the youngest generation,
in a server process (CPython's default is 700): a decision allocates hundreds."""


def settle_collector() -> None:
    """Tune CPython's cyclic garbage collector for a long-running server, once the objects
    it keeps for its lifetime exist (the compiled policy, the app, the modules): they are
    frozen out of every later collection's scan, and young objects are collected less
    often, so collections no longer stall the event loop for tens of milliseconds now and
    then (docs/benchmarks.md: p99 latency at 1,000 decisions/s). Process-wide: only
    ``charter serve`` and its workers call it, never a program embedding Charter."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, 50, 100)


def create_app(
    services: Services,
    settings: Settings | None = None,
    *,
    tracing: object = None,
    server_process: bool = False,
) -> FastAPI:
    """Build the API over ``services``; signs audit checkpoints while it runs, if it can.
    ``tracing``: an OpenTelemetry ``TracerProvider`` for decision spans (tests).
    ``server_process``: the app is what this process serves (``charter serve``), so the
    garbage collector is tuned for it once the policy is loaded (``settle_collector``)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The active policy, compiled once and swapped whole when this server activates
        # another; other servers' activations are followed (listener, sweep, and the
        # check every decision makes inside its transaction).
        try:
            await run_in_threadpool(services.policies.load_active)
        except (CharterError, SQLAlchemyError) as error:
            # Start anyway: /readyz reports the store, and nothing is decided without policy.
            log.error("could not load the active policy: %s", error)
        try:
            # Read now: what arrives is checked against it on the event loop, which never
            # waits on the store (until read, by this or the sweep, such writes answer 503).
            await run_in_threadpool(services.secrets.leaks)
        except (CharterError, SQLAlchemyError) as error:
            log.error("could not read the leaked-secret registry: %s", error)
        try:
            if sealed := await run_in_threadpool(services.webhooks.seal_stored):
                log.info("sealed %d webhook URLs stored in clear by an earlier Charter", sealed)
        except (CharterError, SQLAlchemyError) as error:
            log.error("could not seal the webhook URLs stored in clear: %s", error)
        if server_process:
            settle_collector()
        # PostgreSQL: other servers' changes are followed as they commit; the sweep
        # below stays as the fallback.
        listener = listener_for(services.store, services.follow_change)
        if listener is not None:
            listener.start()
        _app.state.listener = listener
        failed = metrics.store_failed
        sweeper = asyncio.create_task(
            _every(_SWEEP_SECONDS, "periodic sweep", partial(_sweep, services), failed)
        )
        reviewer = asyncio.create_task(
            _every(_REVIEW_SECONDS, "review sweep", partial(_review, services), failed)
        )
        signer = None
        if services.audit.can_sign:
            interval = settings.checkpoint_interval.total_seconds()
            signer = asyncio.create_task(
                _every(interval, "audit checkpoint", partial(_checkpoint, services), failed)
            )
        delivery: tuple[asyncio.Task[None], Dispatcher, HttpSender] | None = None
        if settings.deliver_webhooks and services.webhooks.can_sign:
            sender = HttpSender(allow_private=services.webhooks.allow_private_targets)
            dispatcher = Dispatcher(
                services.store,
                services.clock,
                services.webhooks.keys,
                sender,
                on_result=metrics.webhook_result,
            )
            delivering = _every(
                _DELIVER_SECONDS, "webhook delivery pass", dispatcher.run_once, failed
            )
            delivery = (asyncio.create_task(delivering), dispatcher, sender)
        try:
            yield
        finally:
            if listener is not None:
                await run_in_threadpool(listener.stop)
            for task in (sweeper, reviewer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if delivery is not None:
                task, dispatcher, sender = delivery
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await run_in_threadpool(dispatcher.close)
                sender.close()
            if signer is not None:
                signer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await signer
                with contextlib.suppress(CharterError):
                    await run_in_threadpool(_checkpoint, services)

    app = FastAPI(
        title="Charter",
        version=__version__,
        summary="Identity governance and administration for AI agents",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.store_timeout = max(
        settings.store_timeout.total_seconds(), StoreBounds.of(settings.store_timeout).request
    )
    app.state.waiters = Waiters()
    services.approvals.notify = app.state.waiters.wake
    install_error_handlers(app, services)
    routers = (
        health,
        agents,
        humans,
        tokens,
        audit,
        policies,
        decisions,
        analytics,  # before approvals: /v1/approvals/stats is no approval id
        approvals,
        grants,
        reviews,
        compliance,
    )
    for module in (*routers, secrets, webhooks, posture):
        app.include_router(module.router)
    # Ahead of every route: well-formed decision requests skip the route table.
    app.router.routes.insert(0, decisions.fast_route(app.router))
    install_console(app)
    skip_foreign_routers(app.router.routes)
    app.add_middleware(FiniteJson)  # inside the size limit: bodies it reads are bounded
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Request ids, /metrics, access lines, decision spans (docs/operations.md).
    metrics = install_observability(
        app, services, settings, tracing=tracing, batched_access=server_process
    )
    # Outside everything, request ids included: the registry in scope for each request.
    build = app.build_middleware_stack
    registry = services.secrets.registry()
    app.build_middleware_stack = lambda: LeakRegistryScope(  # type: ignore[method-assign]
        build(), registry
    )
    return app


def serve(application: FastAPI | str, settings: Settings, *, workers: int = 1) -> None:
    """Run ``application`` under uvicorn on the settings' host and port, as ``charter serve``.

    ``application`` is the app itself, or, for ``workers`` > 1, the import string of a
    factory each worker process calls (``charter.server.workers.FACTORY``). uvicorn runs
    on uvloop and httptools when they are installed (the ``server`` extra installs both):
    its pure-Python HTTP parser and the stock asyncio loop cost about a third more CPU per
    request.
    """
    import uvicorn

    certfile, keyfile = settings.ssl_certfile, settings.ssl_keyfile
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,  # the app writes its own, without query strings (server/logs.py)
        # In JSON mode the process's logging is already set (charter.server.logs): uvicorn's
        # own configuration would put its start-up lines back in plain text.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        ssl_certfile=None if certfile is None else str(certfile),
        ssl_keyfile=None if keyfile is None else str(keyfile),
        workers=workers if workers > 1 else None,
        factory=isinstance(application, str),
        loop=_installed("uvloop", "asyncio"),
        http=_installed("httptools", "h11"),
    )


def _installed(module: str, otherwise: str) -> str:
    """``module`` if it can be imported, else ``otherwise`` (uvicorn's names for both)."""
    import importlib.util

    return module if importlib.util.find_spec(module) is not None else otherwise
