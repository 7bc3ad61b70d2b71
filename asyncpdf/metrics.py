"""Prometheus metrics, in a registry of the app's own (no module-level state), served in the
text format 0.0.4 that `promtool check metrics` reads: counters end in `_total`, and none has
a `_created` series beside it (its start time says nothing a scraper needs)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from asyncpdf.domain.lifecycle import DeliveryState, JobState

STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        # prometheus_client's switch is for the whole process; set before any metric is made.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.jobs = Gauge(
            "asyncpdf_jobs", "Jobs in the store by state", ["state"], registry=self.registry
        )
        self.deliveries = Gauge(
            "asyncpdf_deliveries",
            "Deliveries in the store by state",
            ["state"],
            registry=self.registry,
        )
        self.finished = Counter(
            "asyncpdf_jobs_finished",
            "Jobs finished by this process",
            ["state"],
            registry=self.registry,
        )
        self.warnings = Counter(
            "asyncpdf_job_warnings",
            "Warnings written to job logs (a fallback taken, a retry, a notification not sent)",
            registry=self.registry,
        )
        self.target_files = Counter(
            "asyncpdf_target_files_sent",
            "Files delivered, per target",
            ["target"],
            registry=self.registry,
        )
        self.target_bytes = Counter(
            "asyncpdf_target_bytes_sent",
            "Bytes delivered, per target",
            ["target"],
            registry=self.registry,
        )
        self.target_last_sent = Gauge(
            "asyncpdf_target_last_sent_timestamp_seconds",
            "When the target last took a file (Unix time)",
            ["target"],
            registry=self.registry,
        )
        self.target_failures = Gauge(
            "asyncpdf_target_failures_in_a_row",
            "Delivery attempts to the target that failed since its last success",
            ["target"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "asyncpdf_queue_depth", "Jobs waiting for a job task", registry=self.registry
        )
        self.stage_seconds = Histogram(
            "asyncpdf_stage_seconds",
            "Time spent per job stage",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.websocket_clients = Gauge(
            "asyncpdf_websocket_clients", "Open live-log websockets", registry=self.registry
        )
        self.websocket_refused = Counter(
            "asyncpdf_websocket_refused",
            "Live-log websockets refused: too many open (limit) or a foreign page (origin)",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("limit", "origin"):
            self.websocket_refused.labels(reason=reason)
        self.websocket_dropped = Counter(
            "asyncpdf_websocket_dropped",
            "Live websockets closed because the client fell too far behind (it reconnects)",
            registry=self.registry,
        )
        self.connections_refused = Counter(
            "asyncpdf_connections_refused",
            "Connections closed at once because web.max_connections were open",
            registry=self.registry,
        )
        self.connections_dropped = Counter(
            "asyncpdf_connections_dropped",
            "Connections refused because their client address held "
            "web.max_connections_per_address (per_address), or closed because no request head "
            "came within web.header_timeout_s (headers)",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("per_address", "headers"):
            self.connections_dropped.labels(reason=reason)
        self.login_failures = Counter(
            "asyncpdf_login_failures",
            "Credentials refused: not right (wrong), or not checked because their address "
            "failed too often lately (throttled)",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("wrong", "throttled"):
            self.login_failures.labels(reason=reason)
        self.accept_failures = Counter(
            "asyncpdf_accept_failures",
            "Times accepting a connection failed for want of file descriptors",
            registry=self.registry,
        )
        self.pool_replacements = Counter(
            "asyncpdf_pool_replacements",
            "Process pools replaced after a crash or hang",
            registry=self.registry,
        )
        self._pool_replacements_seen = 0

    def set_job_counts(self, counts: dict[JobState, int]) -> None:
        for state, count in counts.items():
            self.jobs.labels(state=state.value).set(count)

    def set_delivery_counts(self, counts: dict[DeliveryState, int]) -> None:
        for state, count in counts.items():
            self.deliveries.labels(state=state.value).set(count)

    def connection_dropped(self, reason: str) -> None:
        self.connections_dropped.labels(reason=reason).inc()

    def count_pool_replacements(self, total: int) -> None:
        """Bring the counter up to the pool's own count (which only grows)."""
        if total > self._pool_replacements_seen:
            self.pool_replacements.inc(total - self._pool_replacements_seen)
            self._pool_replacements_seen = total

    def render(self) -> bytes:
        return generate_latest(self.registry)
