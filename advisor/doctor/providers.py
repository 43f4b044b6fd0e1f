"""Who provides a metric: our exporter's collector (from its Family declarations), an external convention, or
an upstream exporter known by the metric's prefix — so a missing metric comes with what to turn on."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# Metrics the packs read that no exporter publishes, each with where its convention is documented.
CONVENTIONS = {
    "cache_requests_total": ("your application's cache metrics",
                             "docs/packs.md#application-cache-metric-convention"),
}

# Upstream exporters, by the prefix of the names they publish (our collectors use the same names).
UPSTREAM = (
    ("namedprocess_", "process-exporter"),
    ("node_", "node_exporter"),
    ("redis_", "redis_exporter"),
    ("pg_", "postgres_exporter"),
    ("probe_", "blackbox_exporter"),
    ("haproxy_", "haproxy_exporter (or HAProxy's built-in Prometheus endpoint)"),
    ("nginx_", "nginx-prometheus-exporter"),
    # application runtimes: their client libraries' default metrics (docs/packs.md#runtime-pack)
    ("nodejs_", "Node.js prom-client (collectDefaultMetrics())"),
    ("go_", "Go client_golang (default registry)"),
    ("python_", "Python prometheus_client (default collectors)"),
    ("jvm_", "JVM simpleclient_hotspot or the Java client's JVM metrics"),
    ("process_", "the application's Prometheus client library (process metrics)"),
)


@dataclass(frozen=True)
class Provider:
    """One way to get a metric: ``kind`` is collector (ours), convention or exporter (upstream)."""

    kind: str
    name: str
    default_enabled: bool | None = None   # collectors: whether the exporter runs it without a flag
    configurable: bool = False            # collectors: has a config section (targets to probe, credentials)
    doc: str | None = None                # conventions: where they are documented

    @property
    def text(self) -> str:
        if self.kind == "collector":
            how = ("on by default" if self.default_enabled else
                   f"off by default: enable with --collector.{self.name}")
            if self.configurable:
                how += f"; settings under collectors_config.{self.name}"
            return f"perfadvisor-exporter collector {self.name} ({how})"
        if self.kind == "convention":
            return f"{self.name} (see {self.doc})"
        return self.name

    def to_dict(self) -> dict:
        out: dict = {"kind": self.kind, "name": self.name}
        if self.kind == "collector":
            out["default_enabled"] = self.default_enabled
            out["flag"] = f"--collector.{self.name}"
        if self.doc:
            out["doc"] = self.doc
        return out


@lru_cache(maxsize=1)
def _families() -> tuple:
    from ...exporter.registry import all_collectors
    return tuple((spec.name, spec.default_enabled, bool(spec.config_schema), f) for spec in all_collectors().values()
                 for f in spec.factory.families if f.name)


def providers(metric: str) -> tuple[Provider, ...]:
    """Every provider of `metric`: our collectors first, then a documented convention, then an upstream exporter."""
    out: list[Provider] = []
    for name, default, configurable, fam in _families():
        if fam.matches(metric) and not any(p.name == name for p in out):
            out.append(Provider("collector", name, default, configurable))
    if metric in CONVENTIONS:
        what, doc = CONVENTIONS[metric]
        out.append(Provider("convention", what, doc=doc))
    for prefix, exporter in UPSTREAM:
        if metric.startswith(prefix):
            out.append(Provider("exporter", exporter))
            break
    return tuple(out)


def describe(metric: str) -> str:
    """One line: who provides `metric` ("no known provider" when nothing does)."""
    found = providers(metric)
    return " or ".join(p.text for p in found) if found else "no known provider"
