"""``/metrics``: the server's counters in the Prometheus text format.

Each app has its own registry, so apps built side by side (tests, embedding) never
share a counter; with several worker processes each has its own too, and a scrape sees
the process that answered it (``docs/operations.md``). Labels take values from small
fixed sets only (effect, decision or error code, route template, method, status,
result): never an agent, a resource, a token or anything a caller chose.

Who may read it is ``CHARTER_METRICS``: ``token`` (the default) asks for an admin's or
an auditor's bearer token, or ``CHARTER_METRICS_TOKEN`` (compared in constant time);
``public`` asks for nothing; ``off`` answers 404.
"""

from __future__ import annotations

import hmac
import logging
import platform
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool

from charter.approvals.model import ApprovalStatus
from charter.codes import DecisionCode, ErrorCode
from charter.errors import CharterError, PermissionDenied, Unavailable
from charter.identity.humans import HumanRole
from charter.server.deps import bearer_token, where
from charter.service import Services
from charter.service.commits import MAX_BATCH
from charter.settings import Settings
from charter.version import __version__

__all__ = ["PENDING_CAP", "Metrics", "install_metrics", "store_error_kind"]

log = logging.getLogger("charter.server")

PENDING_CAP = 1000
"""The pending approvals gauge counts at most this many (one bounded read a scrape)."""

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_BATCH_BUCKETS = tuple(float(2**i) for i in range(9) if 2**i <= MAX_BATCH)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_DECISION_CODES = frozenset(str(code) for code in DecisionCode)
_ERROR_CODES = frozenset(str(code) for code in ErrorCode)
DECISION_ROUTES = frozenset({"/v1/decisions", "/v1/decisions/batch"})
"""The routes whose latency ``charter_decision_duration_seconds`` measures."""


def _bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"


def store_error_kind(error: BaseException) -> str:
    """``pool_timeout``, ``timeout``, ``locked`` or ``connection``: why the store failed."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, SQLAlchemyError):
        cause = cause.__cause__
    if isinstance(cause, PoolTimeout):
        return "pool_timeout"
    text = str(getattr(cause, "orig", None) or cause or "").lower()
    if "locked" in text or "lock timeout" in text:
        return "locked"
    if "timeout" in text or "timed out" in text or "canceling statement" in text:
        return "timeout"
    return "connection"


class Metrics:
    """The app's registry and the metrics the middleware and hooks update."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry(auto_describe=True)
        # Counted by the middleware on the event loop's one thread: a plain dict is
        # enough there, and costs a tenth of a labelled counter.
        self.requests: dict[tuple[str, str, int], int] = {}
        registry.register(_RequestCounts(self.requests))
        self.decision_seconds = Histogram(
            "charter_decision_duration_seconds",
            "Server-side time to answer a decision request (its audit record committed).",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.decisions = Counter(
            "charter_decisions",
            "Decisions answered by effect and code; effect 'refused' counts requests "
            "refused before deciding (code: the error code).",
            ["effect", "code"],
            registry=registry,
        )
        self.commit_batch = Histogram(
            "charter_group_commit_batch_size",
            "Decisions written per group-commit transaction.",
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.store_errors = Counter(
            "charter_store_errors",
            "Store failures by kind (pool_timeout, timeout, locked, connection): "
            "requests answered 503 for them, and failed background passes (sweeps, "
            "reviews, webhook deliveries, checkpoints).",
            ["kind"],
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "charter_webhook_deliveries",
            "Webhook delivery attempts by result "
            "(delivered, retrying, given_up, lost, unrecorded).",
            ["result"],
            registry=registry,
        )
        Info("charter_build", "The running Charter build.", registry=registry).info(
            {"version": __version__, "python": platform.python_version()}
        )
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        # Labelled children, looked up once: ``labels()`` costs microseconds each time.
        self.decision_latency = {
            route: self.decision_seconds.labels(route) for route in DECISION_ROUTES
        }
        self._decision_children: dict[tuple[str, str], Any] = {}

    def count_request(self, method: str, route: str, status: int) -> None:
        """One answered request (labels bounded by the caller); event loop thread only."""
        key = (method, route, status)
        self.requests[key] = self.requests.get(key, 0) + 1

    def _decided(self, effect: str, code: str) -> None:
        key = (effect, code)
        child = self._decision_children.get(key)
        if child is None:
            child = self._decision_children[key] = self.decisions.labels(effect, code)
        child.inc()

    def count_decision(self, effect: str, code: str) -> None:
        """One decision answered."""
        self._decided(effect, _bounded(code, _DECISION_CODES))

    def count_refusal(self, code: str) -> None:
        """One decision request refused before deciding (bad token, wrong agent...)."""
        self._decided("refused", _bounded(code, _ERROR_CODES))

    def store_failed(self, error: BaseException) -> None:
        """Count ``error`` if the store caused it (a request answered 503 for it, or a
        background pass: sweeps, reviews, deliveries, checkpoints)."""
        if isinstance(error, SQLAlchemyError) or (
            isinstance(error, Unavailable) and error.code == ErrorCode.STORE_UNAVAILABLE
        ):
            self.store_errors.labels(store_error_kind(error)).inc()

    def webhook_result(self, result: str) -> None:
        """How one webhook delivery attempt ended."""
        self.webhook_deliveries.labels(result).inc()

    def method(self, method: str) -> str:
        """The method as a label: one of the standard ones, or ``other``."""
        return method if method in _METHODS else "other"


class _RequestCounts(Collector):
    """``charter_http_requests_total`` from the middleware's counts."""

    def __init__(self, counts: dict[tuple[str, str, int], int]) -> None:
        self._counts = counts

    def describe(self) -> Iterator[Any]:
        return iter(())

    def collect(self) -> Iterator[Any]:
        family = CounterMetricFamily(
            "charter_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in list(self._counts.items()):
            family.add_metric([method, route, str(status)], count)
        yield family


class _StoreGauges(Collector):
    """Read at scrape time: pending approvals (capped), the audit log's size, the store's
    answer and the group-commit counters."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def describe(self) -> Iterator[Any]:
        """Nothing: registering must not read the store (building an app reads no data)."""
        return iter(())

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("charter_store_up", "1 when the scrape could read the store.")
        try:
            with self._services.store.read() as unit:
                pending = len(unit.approvals.list(status=ApprovalStatus.PENDING, limit=PENDING_CAP))
                size = unit.audit.head().size
        except (CharterError, SQLAlchemyError) as error:
            log.warning("metrics: the store could not be read: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield GaugeMetricFamily(
                "charter_approvals_pending",
                f"Approvals and step-up confirmations waiting for a vote (at most {PENDING_CAP}).",
                value=pending,
            )
            yield GaugeMetricFamily(
                "charter_audit_records", "Records in the audit log (its Merkle tree's size).", size
            )
        committer = getattr(self._services.decisions, "_committer", None)
        if committer is not None:
            yield CounterMetricFamily(
                "charter_group_commit_transactions",
                "Group-commit transactions committed.",
                value=committer.transactions,
            )


def _metrics_reader(services: Services, settings: Settings) -> Callable[[Request], None]:
    """Raise unless the request may read ``/metrics``."""
    expected = settings.metrics_token.encode() if settings.metrics_token else None

    def check(request: Request) -> None:
        if settings.metrics == "public":
            return
        token = bearer_token(request)
        if expected is not None and token and hmac.compare_digest(token.encode(), expected):
            return
        principal = services.tokens.authenticate(token, where=where(request))
        request.state.principal = principal
        if not principal.has_any(HumanRole.ADMIN, HumanRole.AUDITOR):
            raise PermissionDenied(
                f"{principal.ref} may not read metrics",
                code=ErrorCode.FORBIDDEN,
                help="metrics are for admins, auditors and CHARTER_METRICS_TOKEN",
            )

    return check


def _count_store_errors(app: FastAPI, metrics: Metrics) -> None:
    """Count the store failures the error handlers answer with 503."""
    handlers = app.exception_handlers
    for kind, handler in list(handlers.items()):
        if not isinstance(kind, type):
            continue
        if issubclass(kind, CharterError) or issubclass(kind, SQLAlchemyError):
            handlers[kind] = _counting(handler, metrics)


def _counting(
    handler: Callable[[Request, Any], Response | Awaitable[Response]], metrics: Metrics
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def counted(request: Request, error: Exception) -> Response:
        answered = handler(request, error)
        response = answered if isinstance(answered, Response) else await answered
        if response.status_code == 503:
            metrics.store_failed(error)
        return response

    return counted


def install_metrics(app: FastAPI, services: Services, settings: Settings) -> Metrics:
    """Create the app's metrics, hook them to the group committer and the error
    handlers, and add ``/metrics`` unless ``CHARTER_METRICS=off``."""
    metrics = Metrics()
    metrics.registry.register(_StoreGauges(services))
    committer = getattr(services.decisions, "_committer", None)
    if committer is not None:
        committer.on_commit = metrics.commit_batch.observe
    _count_store_errors(app, metrics)
    if settings.metrics == "off":
        return metrics
    may_read = _metrics_reader(services, settings)

    def scrape(request: Request) -> bytes:
        may_read(request)
        return generate_latest(metrics.registry)

    async def metrics_page(request: Request) -> Response:
        """The server's counters in the Prometheus text format (docs/operations.md)."""
        body = await run_in_threadpool(scrape, request)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        "/metrics",
        metrics_page,
        methods=["GET"],
        name="metrics",
        tags=["health"],
        response_class=PlainTextResponse,
        summary="Metrics",
    )
    return metrics
