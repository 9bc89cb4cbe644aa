"""Decision traces over OpenTelemetry (``charter[tracing]``), off unless configured.

``CHARTER_TRACING=otlp`` makes a span for every decision, exported over OTLP/HTTP to
where the standard ``OTEL_EXPORTER_OTLP_*`` variables say (``http://localhost:4318`` by
default), named by ``OTEL_SERVICE_NAME`` (``charter``) and ``OTEL_RESOURCE_ATTRIBUTES``.
A request's W3C ``traceparent`` header makes its decisions children of the caller's span;
its ``tracestate`` goes on with them unless the secrets detectors find one in it.

A span carries the agent, capability, action, effect, code, policy revision and
decision id: never the context, the input, the resource's attributes or a token, and
no action when the request carried a secret. Nothing here is imported unless tracing
is on: without the extra installed, the server runs as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.secrets.free_text import clean
from charter.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider

__all__ = ["SPAN_NAME", "DecisionTracer", "tracer_provider"]

SPAN_NAME = "charter.decision"
_ACTION_MAX = 200


def tracer_provider(settings: Settings) -> TracerProvider | None:
    """An SDK provider exporting over OTLP/HTTP when ``CHARTER_TRACING=otlp``, else None."""
    if settings.tracing != "otlp":
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise InvalidInput(
            "CHARTER_TRACING=otlp needs the tracing extra",
            code=ErrorCode.INVALID_SETTING,
            help="pip install 'charter[tracing]', or unset CHARTER_TRACING",
        ) from None
    # From OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; named "charter" if they do not.
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "charter"}))
    provider = SdkProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


class DecisionTracer:
    """Makes one span per decision with the ``TracerProvider`` it is given."""

    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry.propagate import extract
        from opentelemetry.version import __version__ as otel_version

        self._tracer: Tracer = provider.get_tracer("charter", otel_version)
        self._extract = extract

    def parent_from(self, traceparent: bytes, tracestate: bytes | None) -> Any:
        """The caller's trace context from its W3C headers (an OpenTelemetry Context).
        A ``tracestate`` holding a secret is dropped whole: it would be exported with
        every span."""
        carrier = {"traceparent": traceparent.decode("latin-1")}
        if tracestate is not None:
            state = tracestate.decode("latin-1")
            if clean(state):
                carrier["tracestate"] = state
        return self._extract(carrier)

    def decisions(
        self,
        spans: Iterable[tuple[dict[str, str], int, int]],
    ) -> None:
        """Record a span for each ``(attributes, start ns, end ns)``."""
        for attributes, start, end in spans:
            span = self._tracer.start_span(SPAN_NAME, attributes=attributes, start_time=start)
            span.end(end_time=end)

    @staticmethod
    def attributes(
        *,
        agent: str | None,
        capability: str,
        action: str,
        effect: str,
        code: str,
        revision: str,
        decision_id: str | None,
        carried_secret: bool,
    ) -> dict[str, str]:
        """A decision span's attributes (only these: nothing a request carried inside)."""
        attributes = {
            "charter.capability": capability,
            "charter.effect": effect,
            "charter.code": code,
        }
        if agent:
            attributes["charter.agent"] = agent[:_ACTION_MAX]
        attributes["charter.action"] = "[masked]" if carried_secret else action[:_ACTION_MAX]
        if revision:
            attributes["charter.policy_revision"] = revision
        if decision_id:
            attributes["charter.decision_id"] = decision_id
        return attributes
