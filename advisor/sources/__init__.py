"""Data sources, registered by name. ``choose(config)`` is the one place that picks the source for a run."""
from __future__ import annotations

from typing import Callable

from .base import QueryError, QueryResult, Series, Source, SourceError

__all__ = ["QueryError", "QueryResult", "Series", "Source", "SourceError", "SOURCES", "register", "choose"]

SOURCES: dict[str, Callable] = {}


def register(name: str):
    """Register a factory ``f(config) -> Source`` under `name`."""
    def deco(fn: Callable) -> Callable:
        SOURCES[name] = fn
        return fn
    return deco


@register("prometheus")
def _prometheus(config) -> Source:
    from .prometheus import PrometheusSource
    return PrometheusSource(config.prometheus)


def choose(config) -> Source:
    """A configured Prometheus if there is one, else the embedded engine (local mode) when it is available."""
    if config.prometheus is not None:
        return SOURCES["prometheus"](config)
    if "embedded" not in SOURCES:
        try:
            from . import embedded  # noqa: F401 - registers "embedded" when the local mode is installed
        except ImportError:
            pass
    if "embedded" in SOURCES:
        return SOURCES["embedded"](config)
    from ..errors import ConfigError
    raise ConfigError("no Prometheus configured: pass --prometheus URL, set PERFADVISOR_PROMETHEUS_URL, "
                      "or set prometheus.url in the config file (local mode is not available yet)")
