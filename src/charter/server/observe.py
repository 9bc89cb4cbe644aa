"""What every request and decision leaves for operators: request ids, metrics, access
lines and decision spans, added to an app by ``install_observability``.

``Observe`` is plain ASGI and the outermost layer of the app (outside the framework's
own error layer, so a 500 has its request id too). Per request it reads one header,
sets a context variable, adds one response header and counts the answer: a few
microseconds (``docs/operations.md`` has the measurement).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.errors import CharterError
from charter.identity.principals import Principal
from charter.server.logs import (
    ACCESS_FLUSH_SECONDS,
    ACCESS_LOGGER,
    batch_access_lines,
    install_json_logs,
    request_id,
    request_id_from,
    unbatch_access_lines,
)
from charter.server.metrics import Metrics, install_metrics
from charter.server.tracing import DecisionTracer, tracer_provider
from charter.service import Services
from charter.service.decisions import Asked, Decided
from charter.settings import Settings

__all__ = ["NO_RESPONSE", "Observe", "install_observability"]

_HEADER = b"x-request-id"
NO_RESPONSE = 499
"""The status counted and logged for a request answered with nothing (the client left)."""
_access = logging.getLogger(ACCESS_LOGGER)


class Observe:
    """ASGI middleware: request id, request count and decision latency, access line."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        *,
        access_log: bool,
        tracer: DecisionTracer | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        supplied = traceparent = tracestate = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                supplied = value
            elif name == b"traceparent":
                traceparent = value
            elif name == b"tracestate":
                tracestate = value
        rid = request_id_from(supplied)
        header = (_HEADER, rid.encode("ascii"))
        status = NO_RESPONSE

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = request_id.set(rid)
        attached = None
        if self.tracer is not None and traceparent is not None:
            attached = _attach(self.tracer.parent_from(traceparent, tracestate))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if attached is not None:
                _detach(attached)
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = self.metrics.method(scope["method"])
            self.metrics.count_request(method, template, status)
            latency = self.metrics.decision_latency.get(template)
            if latency is not None:
                latency.observe(elapsed)
            if self.access_log:
                _access.info(
                    "%s %s %d",
                    method,
                    template,
                    status,
                    extra={
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                    },
                )
            request_id.reset(token)


def _attach(context: Any) -> object:
    from opentelemetry import context as otel_context

    return otel_context.attach(context)


def _detach(token: Any) -> None:
    from opentelemetry import context as otel_context

    otel_context.detach(token)


class _DecisionsSeen:
    """Counts every decision the API answers, and traces it if tracing is on."""

    def __init__(self, metrics: Metrics, tracer: DecisionTracer | None) -> None:
        self.metrics, self.tracer = metrics, tracer

    def refused(self, error: CharterError) -> None:
        self.metrics.count_refusal(str(error.code))

    def decided(
        self, caller: Principal | None, batch: list[Asked], decided: list[Decided], started_ns: int
    ) -> None:
        for item in decided:
            self.metrics.count_decision(item.decision.effect.value, str(item.decision.code))
        tracer = self.tracer
        if tracer is None:
            return
        end = time.time_ns()
        agent = caller.id if caller is not None and not caller.is_human else None
        tracer.decisions(
            (
                DecisionTracer.attributes(
                    agent=agent or (None if item.secrets else asked.agent),
                    capability=asked.capability.value,
                    action=asked.action,
                    effect=item.decision.effect.value,
                    code=str(item.decision.code),
                    revision=item.decision.policy_revision,
                    decision_id=item.decision_id,
                    carried_secret=bool(item.secrets),
                ),
                started_ns,
                end,
            )
            for asked, item in zip(batch, decided, strict=False)
        )


def install_observability(
    app: FastAPI,
    services: Services,
    settings: Settings,
    *,
    tracing: Any = None,
    batched_access: bool = False,
) -> Metrics:
    """Add request ids, metrics (and ``/metrics``), access lines and, with a
    tracer provider (``tracing``, or built from ``CHARTER_TRACING``), decision spans.
    ``batched_access``: while the app runs, its access lines are written in batches
    (``charter.server.logs.AccessLines``), as a server process writes them."""
    metrics = install_metrics(app, services, settings)
    provider = tracing if tracing is not None else tracer_provider(settings)
    tracer = DecisionTracer(provider) if provider is not None else None
    # Services shared by several apps (tests) count for the app built last.
    services.decisions.observer = _DecisionsSeen(metrics, tracer)
    json_logs = settings.log_format == "json"
    build = app.build_middleware_stack

    def outermost() -> ASGIApp:
        # Charter's own access line (route template, no query string) in both formats,
        # unless CHARTER_ACCESS_LOG=false: uvicorn's would log the path and query string
        # as sent, secrets and all.
        return Observe(build(), metrics, access_log=settings.access_log, tracer=tracer)

    # Outside ServerErrorMiddleware too: even the bare 500 carries the request id.
    app.build_middleware_stack = outermost  # type: ignore[method-assign]
    app.state.metrics = metrics
    batched = batched_access and settings.access_log
    if json_logs or provider is not None or batched:
        undo: list[Callable[[], None]] = []
        previous = app.router.lifespan_context

        @_lifespan_wrapper(previous)
        def around(started: bool) -> None:
            if started:
                if json_logs:
                    undo.append(install_json_logs())
                if batched:
                    undo.extend(_batching())
            else:
                while undo:
                    undo.pop()()
                if tracing is None and provider is not None:
                    # Built here from the settings: send what is left, then stop.
                    getattr(provider, "shutdown", lambda: None)()

        app.router.lifespan_context = around
    return metrics


def _batching() -> list[Callable[[], None]]:
    """Start writing access lines in batches, every ``ACCESS_FLUSH_SECONDS`` on the
    running event loop; what undoes it (after writing what is kept)."""
    flush = batch_access_lines()
    if flush is None:
        return []
    loop = asyncio.get_running_loop()
    timer: list[asyncio.TimerHandle] = []

    def tick() -> None:
        try:
            flush()
        finally:
            timer[:] = [loop.call_later(ACCESS_FLUSH_SECONDS, tick)]

    tick()
    return [unbatch_access_lines, lambda: timer[0].cancel()]


def _lifespan_wrapper(previous: Any) -> Callable[[Callable[[bool], None]], Any]:
    """Run a hook before the app's lifespan starts and after it ends."""
    import contextlib

    def decorate(hook: Callable[[bool], None]) -> Any:
        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> Any:
            hook(True)
            try:
                async with previous(app) as state:
                    yield state
            finally:
                hook(False)

        return lifespan

    return decorate
