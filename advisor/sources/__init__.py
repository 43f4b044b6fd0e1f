"""Data sources, registered by name. ``choose(config)`` is the one place that picks the source for a run."""
from __future__ import annotations

from typing import Callable

from ..errors import ConfigError
from .base import QueryError, QueryResult, Series, Source, SourceError

__all__ = ["QueryError", "QueryResult", "Series", "Source", "SourceError", "SOURCES", "register", "choose",
           "local_mode"]

SOURCES: dict[str, Callable] = {}


def register(name: str):
    """Register a factory ``f(config, storage) -> Source`` under `name` (storage: local samples, or None)."""
    def deco(fn: Callable) -> Callable:
        SOURCES[name] = fn
        return fn
    return deco


@register("prometheus")
def _prometheus(config, storage=None) -> Source:
    from .prometheus import PrometheusSource
    return PrometheusSource(config.prometheus)


def local_mode(config) -> bool:
    """True when no Prometheus is configured: the run samples this machine into a storage, and ``choose``
    then answers with the embedded engine over it."""
    return config.prometheus is None


def choose(config, storage=None) -> Source:
    """A configured Prometheus if there is one, else the embedded engine over `storage` (local mode's samples)."""
    if not local_mode(config):
        return SOURCES["prometheus"](config, None)
    if "embedded" not in SOURCES:
        try:
            from . import embedded  # noqa: F401 - registers "embedded"; imported lazily, it loads the engine
        except ImportError:
            pass
    if "embedded" in SOURCES:
        return SOURCES["embedded"](config, storage)
    raise ConfigError("no Prometheus configured: pass --prometheus URL, set PERFADVISOR_PROMETHEUS_URL, "
                      "or set prometheus.url in the config file (local mode is not available yet)")
