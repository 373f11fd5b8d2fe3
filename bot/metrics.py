"""Prometheus metrics: what operators watch. One registry, served at GET /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()

RUNS = Counter(
    "actions_runs_total",
    "Runs that reached a final status",
    ["action", "status"],
    registry=REGISTRY,
)
WEBHOOK_SECONDS = Histogram(
    "actions_webhook_duration_seconds",
    "Time for the receiver to answer one attempt",
    ["action"],
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RETRIES = Counter(
    "actions_webhook_retries_total",
    "Delivery attempts scheduled again",
    ["action"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "actions_queue_depth", "Jobs not done yet (due or scheduled)", registry=REGISTRY
)
SLACK_ERRORS = Counter(
    "actions_slack_api_errors_total",
    "Slack Web API calls that failed",
    ["method"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "actions_slack_ack_seconds",
    "Time to answer a request from Slack",
    ["kind"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3),
)

AUDIT_SINK_LAG = Gauge(
    "actions_audit_sink_lag_events",
    "Audit events the sink has not received yet",
    ["sink"],
    registry=REGISTRY,
)
AUDIT_SINK_ERRORS = Counter(
    "actions_audit_sink_errors_total",
    "Failed attempts to send audit events to a sink",
    ["sink"],
    registry=REGISTRY,
)


def render(queue_depth: int) -> bytes:
    QUEUE_DEPTH.set(queue_depth)
    return generate_latest(REGISTRY)
