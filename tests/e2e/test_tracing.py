"""OpenTelemetry: the span tree of one run, traceparent at the receiver, logs, the exporter."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from bot import logs, tracing
from bot.testing.otlp import Collector
from tests.conftest import WEBHOOK_SECRET, Bot
from tests.fakes import verify_opslevel_style, verify_standard


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.use(None)


def wait_for_spans(exporter: InMemorySpanExporter, *names: str) -> list[ReadableSpan]:
    deadline = time.monotonic() + 10
    while True:
        finished = list(exporter.get_finished_spans())
        if set(names) <= {s.name for s in finished}:
            return finished
        assert time.monotonic() < deadline, (
            f"missing spans: {set(names) - {s.name for s in finished}}"
        )
        time.sleep(0.02)


class Tree:
    """The spans of one trace, by name, with their parents."""

    def __init__(self, spans: list[ReadableSpan], trace_id: int) -> None:
        self.spans = [s for s in spans if s.context.trace_id == trace_id]
        self.by_id = {s.context.span_id: s for s in self.spans}

    def one(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans if s.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        return self.by_id.get(span.parent.span_id) if span.parent else None

    def parent_name(self, name: str) -> str | None:
        parent = self.parent(self.one(name))
        return parent.name if parent else None

    def names(self) -> list[str]:
        return sorted(s.name for s in self.spans)


def test_one_run_is_one_trace_and_the_receiver_continues_it(
    spans: InMemorySpanExporter, bot: Bot
) -> None:
    view = bot.open_form("create-ticket")
    bot.receiver.reply("/api/tickets", status=201, body={"key": "OPS-7", "url": "https://t/7"})
    spans.clear()
    bot.submit(view, {"title": "Disk full", "prio": "high"})
    received = bot.receiver.wait(1)[0]
    # The Slack updates run after the ack and after the report; wait for them too.
    finished = wait_for_spans(
        spans,
        "job report",
        "job announce",
        "slack view_submission run_action_modal",
        "slack chat.update",
        "slack views.update",
    )
    root = next(s for s in finished if s.name == "slack view_submission run_action_modal")
    tree = Tree(finished, root.context.trace_id)

    # The request: the Slack request is the root; the listener decides, admits and acks.
    assert root.parent is None and root.kind == SpanKind.SERVER
    assert root.attributes["enduser.id"] == "U0DEV"
    assert tree.parent_name("listener submitted") == root.name
    for step in ("access decision", "run admission", "slack ack"):
        assert tree.parent_name(step) == "listener submitted"
    assert tree.one("access decision").attributes["access.allowed"] is True
    run_id = received.headers["X-Actions-Action-Uuid"]
    assert tree.one("run admission").attributes["run.id"] == run_id

    # The worker's jobs join the trace of the admission that queued them.
    for job in ("job announce", "job deliver"):
        assert tree.parent_name(job) == "run admission"
        assert tree.one(job).kind == SpanKind.CONSUMER
        assert tree.one(job).attributes["run.id"] == run_id
    assert tree.parent_name("job report") == "job deliver"
    assert "slack chat.postMessage" in [
        s.name for s in tree.spans if tree.parent(s) == tree.one("job announce")
    ]
    slack_calls = [s for s in tree.spans if s.attributes.get("rpc.system") == "slack"]
    assert {s.kind for s in slack_calls} == {SpanKind.CLIENT}
    assert {"slack chat.update", "slack views.update"} <= {s.name for s in slack_calls}

    # The webhook: rendered, then one HTTP client span with the standard attributes.
    deliver_children = {s.name for s in tree.spans if tree.parent(s) == tree.one("job deliver")}
    assert {"render request", "POST", "render response"} <= deliver_children
    post = tree.one("POST")
    assert post.kind == SpanKind.CLIENT
    assert post.attributes["http.request.method"] == "POST"
    assert post.attributes["http.response.status_code"] == 201
    assert post.attributes["server.address"] == "127.0.0.1"
    assert post.attributes["server.port"] == bot.receiver.port
    assert "url.full" not in post.attributes  # paths and queries may hold secrets

    # The receiver gets the trace, and traceparent does not disturb either signature.
    version, trace_id, parent_id, flags = received.headers["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled
    assert int(trace_id, 16) == root.context.trace_id
    assert int(parent_id, 16) == post.context.span_id
    verify_opslevel_style(
        WEBHOOK_SECRET,
        received.headers,
        received.body,
        signed_headers=["Content-Type", "Authorization"],
    )
    verify_standard(WEBHOOK_SECRET, received.headers, received.body)

    # Every span of the run is in this one trace.
    run_spans = [s for s in finished if (s.attributes or {}).get("run.id") == run_id]
    assert run_spans and all(s.context.trace_id == root.context.trace_id for s in run_spans)


def test_a_retry_is_a_resend_in_the_same_trace(spans: InMemorySpanExporter, bot: Bot) -> None:
    bot.receiver.reply("/api/tickets", status=503, times=1)
    view = bot.open_form("create-ticket")
    bot.submit(view, {"title": "Flaky"})
    first, second = bot.receiver.wait(2)[:2]
    wait_for_spans(spans, "job report")
    posts = sorted(
        (s for s in spans.get_finished_spans() if s.name == "POST"), key=lambda s: s.start_time
    )
    assert [p.attributes["http.response.status_code"] for p in posts] == [503, 200]
    assert posts[0].attributes["error.type"] == "503"
    assert "http.request.resend_count" not in posts[0].attributes
    assert posts[1].attributes["http.request.resend_count"] == 1
    trace_ids = {h.headers["traceparent"].split("-")[1] for h in (first, second)}
    assert len(trace_ids) == 1


def test_forged_requests_are_refused_and_not_named_by_the_forger(
    spans: InMemorySpanExporter, bot: Bot
) -> None:
    shapes = [
        {"type": "view_submission", "view": {"callback_id": "x" * 5000}, "user": "U1"},
        {"type": "block_actions", "actions": "not a list", "view": "not a view"},
        {"type": ["odd"], "user": {"id": 7}},
    ]
    for payload in shapes:
        body = "payload=" + urllib.parse.quote(json.dumps(payload))
        response = bot.requests.raw(body, sign=False)
        assert response.status_code == 401, response.text
    # Refused on the raw bytes, before Bolt: an unsigned request leaves no trace to fill.
    assert not [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    # A signed one is traced, and what its sender chose is cut short.
    body = "payload=" + urllib.parse.quote(json.dumps(shapes[0]))
    assert bot.requests.raw(body).status_code < 500
    roots = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert [s.name for s in roots] == ["slack view_submission"]
    assert len(roots[0].attributes["slack.callback_id"]) == 100


def test_off_by_default_nothing_is_added(bot: Bot) -> None:
    assert not tracing.enabled()
    view = bot.open_form("create-ticket")
    bot.submit(view, {"title": "Quiet"})
    received = bot.receiver.wait(1)[0]
    assert "traceparent" not in received.headers
    bot.slack.wait_for("chat.update")
    jobs = [j.data for j in bot.store.pending_jobs()]
    assert not any("traceparent" in data for data in jobs)
    with tracing.span("anything") as span:
        assert not span.is_recording()


def test_json_logs_carry_trace_and_span_ids(spans: InMemorySpanExporter) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("test.tracing")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with tracing.span("work") as span:
            logger.info("inside")
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    context = span.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in outside and "span_id" not in outside


# --- the exporter -----------------------------------------------------------------------------


EXPORT = """
import sys
from bot import tracing
print(tracing.setup())
with tracing.span("exported", attributes={"run.id": "r1"}):
    pass
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )


def test_the_exporter_sends_otlp_when_the_endpoint_is_set() -> None:
    collector = Collector()
    try:
        done = run_python(
            EXPORT, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_SERVICE_NAME="actions-test"
        )
    finally:
        collector.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    # The batch processor flushes at exit.
    assert [path for path, _ in collector.requests] == ["/v1/traces"]
    resource_spans = collector.requests[0][1].resource_spans[0]
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "actions-test"
    names = [s.name for scope in resource_spans.scope_spans for s in scope.spans]
    assert names == ["exported"]


def test_no_endpoint_no_exporter() -> None:
    done = run_python(
        EXPORT
        + "from opentelemetry import trace\nprint(type(trace.get_tracer_provider()).__name__)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "ProxyTracerProvider"]
