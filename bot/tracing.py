"""OpenTelemetry traces: one per Slack request, joined later by the worker's jobs.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is
set: then spans go to that collector over OTLP/HTTP, configured by the standard ``OTEL_*``
variables. Off, every helper here is a shared no-op context manager, so instrumented code
costs a flag check.

The trace context travels with the work: a job inserted while a span is current carries
that span's ``traceparent`` in its data, and the worker runs the job inside a span that
continues it. Outgoing webhooks carry ``traceparent`` too (not signed: receivers that verify
exactly the configured headers are unaffected).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

if TYPE_CHECKING:
    from bot.store.models import Job

NAME = "slack-actions"
TRACEPARENT = "traceparent"

_tracer: Tracer | None = None  # None: tracing is off
F = TypeVar("F", bound=Callable[..., Any])


def enabled() -> bool:
    return _tracer is not None


def setup() -> bool:
    """Export spans over OTLP/HTTP when the standard endpoint variable is set."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if not endpoint or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create also reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", NAME)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    use(provider)
    return True


def use(provider: trace.TracerProvider | None) -> None:
    """Trace with ``provider`` (tests pass one with an in-memory exporter); None: off."""
    global _tracer
    _tracer = provider.get_tracer(NAME) if provider is not None else None


@contextlib.contextmanager
def _recording(
    name: str, kind: SpanKind, attributes: Mapping[str, Any] | None, parent: Any
) -> Iterator[Span]:
    assert _tracer is not None
    with _tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {})
    ) as current:
        yield current


_OFF = contextlib.nullcontext(trace.INVALID_SPAN)


def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    parent: Any = None,
) -> contextlib.AbstractContextManager[Span]:
    """A span around a block, child of the current one (or of ``parent``, a Context)."""
    if _tracer is None:
        return _OFF
    return _recording(name, kind, attributes, parent)


def traced(
    name: str, describe: Callable[[Any], Mapping[str, Any]] | None = None
) -> Callable[[F], F]:
    """A span around each call (sync or async); ``describe`` gives attributes of the result."""

    def decorate(func: F) -> F:
        def finish(current: Span, result: Any) -> Any:
            if describe is not None and current.is_recording():
                current.set_attributes(dict(describe(result)))
            return result

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                if _tracer is None:
                    return await func(*args, **kwargs)
                with span(name) as current:
                    return finish(current, await func(*args, **kwargs))

            # The wrapper keeps the signature; mypy cannot see that through *args/**kwargs.
            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            if _tracer is None:
                return func(*args, **kwargs)
            with span(name) as current:
                return finish(current, func(*args, **kwargs))

        return run  # type: ignore[return-value]  # same signature, as above

    return decorate


def inject(headers: dict[str, str]) -> None:
    """Add ``traceparent`` (and ``tracestate``) for the current span, when tracing."""
    if _tracer is not None:
        propagate.inject(headers)


def job_span(job: Job) -> contextlib.AbstractContextManager[Span]:
    """The span a job runs in: a child of the span that created the job, if it was traced."""
    if _tracer is None:
        return _OFF
    parent = propagate.extract({TRACEPARENT: str((job.data or {}).get(TRACEPARENT) or "")})
    attributes = {"job.kind": job.kind, "job.id": job.id or 0, "job.attempt": job.attempts}
    if job.run_id:
        attributes["run.id"] = job.run_id
    return span(f"job {job.kind}", kind=SpanKind.CONSUMER, attributes=attributes, parent=parent)


def failed(current: Span, error_type: str, description: str = "") -> None:
    current.set_attribute("error.type", error_type)
    current.set_status(Status(StatusCode.ERROR, description or None))


def carrier() -> dict[str, str]:
    """The current trace context as ``{"traceparent": …}``; empty when there is none."""
    found: dict[str, str] = {}
    if _tracer is not None:
        propagate.inject(found)
    return {TRACEPARENT: found[TRACEPARENT]} if TRACEPARENT in found else {}
