"""Prometheus metrics shared by the whole service (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("rmmbridge_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "rmmbridge_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SYNC_RUNS = Counter("rmmbridge_sync_runs_total", "Finished sync runs", ["provider", "kind", "status"])
SYNC_DEVICES = Counter("rmmbridge_sync_devices_total", "Devices processed by syncs", ["provider", "outcome"])
WEBHOOKS = Counter("rmmbridge_webhooks_total", "Webhook deliveries", ["provider", "outcome"])
WEBHOOK_BATCHES = Histogram(
    "rmmbridge_webhook_batch_size",
    "Webhook deliveries written per group-committed transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
ORCHESTRATOR_UP = Gauge(
    "rmmbridge_orchestrator_up", "1 when the sync orchestrator is reachable (direct: always)", ["orchestrator"]
)
SYNC_SUBMISSIONS_PENDING = Gauge(
    "rmmbridge_sync_submissions_pending", "Runs queued while the orchestrator could not be reached"
)
DELIVERY_ATTEMPTS = Counter("rmmbridge_event_delivery_attempts_total", "Outbound webhook attempts", ["outcome"])
for _outcome in ("ok", "error", "gone"):  # every series exists from the start: rate() sees the first attempt
    DELIVERY_ATTEMPTS.labels(_outcome)
DELIVERY_LAG = Histogram(
    "rmmbridge_event_delivery_lag_seconds",
    "From an event's commit to its successful webhook delivery",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
NATS_PUBLISHED = Counter("rmmbridge_nats_published_total", "Events published to NATS JetStream (acknowledged)")
NATS_PUBLISH_LAG = Gauge(
    "rmmbridge_nats_publish_lag_seconds", "Age of the oldest event not yet acknowledged by NATS (0: caught up)"
)
