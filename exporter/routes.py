"""The exporter's endpoints, listed once: the handler dispatches from this table, the landing page (GET /) links
to it, and the config refuses a telemetry path that would shadow one of them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    path: str
    endpoint: str  # the Handler method that serves it
    title: str = ""  # its link on the landing page; none for the landing page itself
    probe: bool = False  # liveness/readiness: answered even when scrapes pile up, and without a password
    stream: bool = False  # long-lived: counted against --web.max-streams, not --web.max-requests


METRICS = "/metrics"  # always served, whatever --web.telemetry-path says

ROUTES = (
    Route("/", "landing"),
    Route(METRICS, "metrics", "Metrics (fixed path)"),
    Route("/api/metrics/summary", "summary", "Summary (JSON)"),
    Route("/api/metrics/stream", "stream", "Summary stream (SSE)", stream=True),
    Route("/health", "health", "Health"),
    Route("/health/live", "live", "Liveness", probe=True),
    Route("/health/ready", "ready", "Readiness", probe=True),
    Route("/health/detailed", "detailed", "Collector status"),
    Route("/health/performance", "performance", "Exporter performance"),
)

# Paths --web.telemetry-path may not take (it may repeat /metrics).
RESERVED_PATHS = tuple(r.path for r in ROUTES if r.path != METRICS)


def route_table(telemetry_path: str = METRICS) -> dict[str, Route]:
    """Path -> Route, with the configured telemetry path serving the metrics too."""
    table = {r.path: r for r in ROUTES}
    table.setdefault(telemetry_path, Route(telemetry_path, "metrics", "Metrics"))
    return table


def landing_links(telemetry_path: str) -> dict[str, str]:
    """Path -> title of every endpoint the landing page lists, the telemetry path first."""
    return dict([(telemetry_path, "Metrics"), *((r.path, r.title) for r in ROUTES if r.title)])
