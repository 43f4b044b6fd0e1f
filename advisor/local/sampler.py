"""Samplers for local mode: the exporter's collectors run in this process, or a running exporter over HTTP.

Both return a ``Batch`` per call with the labels Prometheus would attach when scraping (``job``,
``instance``; a sample's own ``instance``/``job`` label becomes ``exported_instance``/``exported_job``, as
with ``honor_labels: false``), so the packs' PromQL sees the same series it would see in Prometheus.
"""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Iterable, Protocol

from ...exporter.registry import all_collectors
from ..errors import ConfigError, SourceError
from .store import Batch

JOB = "perfadvisor-local"


class Sampler(Protocol):
    instance: str

    def sample(self) -> Batch: ...

    def close(self) -> None: ...


def _target_labels(labels: dict[str, str], name: str, job: str, instance: str) -> dict[str, str]:
    out = {"__name__": name}
    for k, v in labels.items():
        out[f"exported_{k}" if k in ("job", "instance") else k] = v
    out["job"], out["instance"] = job, instance
    return out


def _batch(ts_ms: int, samples: Iterable[tuple[str, dict[str, str], float]], job: str, instance: str) -> Batch:
    out = [(_target_labels(lb, name, job, instance), float(v)) for name, lb, v in samples]
    out.append(({"__name__": "up", "job": job, "instance": instance}, 1.0))
    return Batch(ts_ms, tuple(out))


class InProcessSampler:
    """Runs the exporter's enabled collectors through its own scrape layer (timeouts, failures as metrics)."""

    def __init__(self, collectors: tuple[str, ...] = (), instance: str | None = None, job: str = JOB):
        from ...exporter.config import build_config
        from ...exporter.scrape import Scraper, build_collectors
        specs = all_collectors()
        unknown = [c for c in collectors if c not in specs]
        if unknown:
            raise ConfigError(f"unknown collector(s) {', '.join(unknown)} (known: {', '.join(specs)})")
        explicit = {f"collectors_{c}": True for c in collectors}
        config = build_config(specs, explicit)
        if collectors:
            config = _only(config, collectors)
        self.instance = instance or socket.gethostname()
        self.job = job
        self._scraper = Scraper(build_collectors(specs, config), timeout=config.scrape_timeout,
                                workers=config.scrape_workers)

    def sample(self) -> Batch:
        c = self._scraper.collect()
        samples = ((s.name, s.labels, s.value) for fam in c.families for s in fam.samples)
        return _batch(int(c.started_at * 1000), samples, self.job, self.instance)

    def close(self) -> None:
        self._scraper.close()


def _only(config, collectors: tuple[str, ...]):
    from dataclasses import replace
    return replace(config, collectors=tuple(c for c in config.collectors if c in collectors))


class HttpSampler:
    """Scrapes a running exporter (ours, node_exporter, process-exporter) at ``url``."""

    def __init__(self, url: str, timeout: float = 10.0, job: str = JOB):
        parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"--exporter {url!r}: expected an http(s) URL like http://127.0.0.1:3018")
        path = parts.path if parts.path not in ("", "/") else "/api/metrics"
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        self.instance = parts.netloc.rpartition("@")[2]
        self.job, self.timeout = job, timeout

    def sample(self) -> Batch:
        from prometheus_client.parser import text_string_to_metric_families
        ts = int(time.time() * 1000)
        req = urllib.request.Request(self.url, headers={"Accept": "text/plain;version=0.0.4"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                text = resp.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise SourceError(f"cannot scrape exporter {self.url}: {reason}") from None
        try:
            samples = [(s.name, s.labels, s.value) for fam in text_string_to_metric_families(text)
                       for s in fam.samples]
        except ValueError as e:
            raise SourceError(f"exporter {self.url} returned invalid metrics: {e}") from None
        return _batch(ts, samples, self.job, self.instance)

    def close(self) -> None:
        pass
