"""Dashboard sources: each module's build() returns a Dashboard; scripts/generate writes them as JSON.

This folder is not installed with the package; it is the source of grafana/dashboards/*.json.
"""
from __future__ import annotations

from typing import Callable

from . import advisor, exporter_health, host, processes, runtime, services
from .core import Dashboard

# file name (without .json) -> builder; one line per dashboard.
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "host": host.build,
    "processes": processes.build,
    "services": services.build,
    "runtime": runtime.build,
    "exporter": exporter_health.build,
    "advisor": advisor.build,
}
