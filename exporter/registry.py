"""The collector registry: every collector registers here by name, with its default state.

node_exporter's model: a collector is enabled by default or not, the CLI turns each name into
``--collector.NAME`` / ``--no-collector.NAME``, and ``?collect[]=NAME`` filters one scrape.
A collector module may also declare the JSON Schema of its own config section, so the exporter's
config schema is assembled from the collectors that exist instead of being kept in a second place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from prometheus_client.core import Metric

from .families import Family


@dataclass(frozen=True)
class CollectorContext:
    """What a collector is built from: its validated config section, and where to read the OS from.

    The paths default to the real ones; tests hand in fixture directories (node_exporter's --path.procfs,
    --path.sysfs, --path.rootfs).
    """

    settings: dict[str, Any] = field(default_factory=dict)
    procfs: str = "/proc"
    sysfs: str = "/sys"
    rootfs: str = "/"


class Collector(Protocol):
    """What a collector is: built once from the config, asked for fresh families every scrape.

    Its class declares what it exports as ``families: tuple[Family, ...]`` (the reference documentation).
    """

    def collect(self) -> Iterable[Metric]: ...

    # Optional: ``close()`` releases what the collector keeps open between scrapes (files, connections);
    # the scrape layer calls it when it shuts down.


@dataclass(frozen=True)
class CollectorSpec:
    name: str
    factory: Callable[[CollectorContext], Collector]
    default_enabled: bool
    help: str
    # JSON Schema of the collector's section under `collectors_config.<name>` in the YAML config.
    config_schema: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, CollectorSpec] = {}


def register(name: str, *, default: bool = True, help: str = "", config_schema: dict[str, Any] | None = None):
    """Class decorator: ``@register("cpu")`` makes the class available as collector ``cpu``."""

    def wrap(factory):
        if name in _REGISTRY:
            raise ValueError(f"collector {name!r} registered twice")
        doc = help or (factory.__doc__ or "").strip().splitlines()[0] if (help or factory.__doc__) else ""
        _REGISTRY[name] = CollectorSpec(name, factory, default, doc, config_schema or {})
        return factory

    return wrap


__all__ = ["Collector", "CollectorContext", "CollectorSpec", "Family", "all_collectors", "register"]


def all_collectors() -> dict[str, CollectorSpec]:
    """Every registered collector, by name (importing the collectors package registers them)."""
    from . import collectors  # noqa: F401  (registration happens on import)

    return dict(sorted(_REGISTRY.items()))
