"""Synthetic multi-day histories under the exporter's metric names, backfilled into a real Prometheus.

``History`` holds samples at a fixed step (gauges as given, counters integrated from a rate) and writes them as
OpenMetrics text with timestamps; ``backfill`` turns that into TSDB blocks with ``promtool tsdb
create-blocks-from openmetrics``; ``prometheus_on`` serves a data directory. ``node_host`` and ``process_group``
write the families our exporter publishes (node_exporter and process-exporter names, docs/collectors.md).
"""
from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import yaml

from .procs import free_port, need_binary, stop, wait_http
from .prometheus import PrometheusServer

Shape = Callable[[np.ndarray], np.ndarray]   # seconds since the start of the history → values


class History:
    """Samples every `step` seconds from `end - span` to `end` (unix seconds)."""

    def __init__(self, end: float, span: float, step: float = 60.0, seed: int = 10):
        self.end, self.step = float(end), float(step)
        self.times = np.arange(end - span, end + step / 2, step)
        self.rng = np.random.default_rng(seed)
        self.families: dict[str, tuple[str, list[tuple[dict, np.ndarray, np.ndarray]]]] = {}

    @property
    def t(self) -> np.ndarray:
        """Seconds since the start, the argument of every shape."""
        return self.times - self.times[0]

    def noise(self, sd: float) -> np.ndarray:
        """Gaussian noise with standard deviation `sd` (relative noise: multiply a shape by 1 + noise(0.0025))."""
        return self.rng.normal(0.0, sd, len(self.times))

    def gauge(self, name: str, labels: dict[str, str], values, since: float | None = None) -> None:
        self._add(name, "gauge", labels, np.broadcast_to(np.asarray(values, float), self.times.shape), since)

    def counter(self, name: str, labels: dict[str, str], rate, since: float | None = None) -> None:
        """A counter (name ends in _total) increasing at `rate` per second."""
        per_step = np.clip(np.broadcast_to(np.asarray(rate, float), self.times.shape), 0, None) * self.step
        self._add(name, "counter", labels, 1e4 + np.cumsum(per_step), since)

    def _add(self, name, kind, labels, values, since) -> None:
        times = self.times
        if since is not None:   # a series that only starts at `since` (a new host)
            keep = times >= since
            times, values = times[keep], values[keep]
        family = name[:-len("_total")] if kind == "counter" else name
        self.families.setdefault(family, (kind, []))[1].append((labels, times, values))

    def write(self, path: Path) -> int:
        """Write OpenMetrics text (one block per family, `# EOF` last); the number of samples."""
        n = 0
        with path.open("w") as out:
            for family, (kind, series) in self.families.items():
                out.write(f"# TYPE {family} {kind}\n")
                name = family + "_total" if kind == "counter" else family
                for labels, times, values in series:
                    head = name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
                    out.writelines(f"{head} {v:.12g} {int(t)}\n" for t, v in zip(times, values))
                    n += len(times)
            out.write("# EOF\n")
        return n


def node_host(h: History, instance: str, *, cores: int, busy: np.ndarray, mem_total: float, mem_used: np.ndarray,
              filesystems: tuple[tuple[str, str, float, np.ndarray], ...] = (), job: str = "node",
              since: float | None = None) -> None:
    """node_exporter series of one host: per-CPU mode counters for a busy ratio (0..1), memory, filesystems
    given as (mountpoint, device, size, available)."""
    base = {"instance": instance, "job": job}
    busy = np.clip(busy, 0.0, 1.0)
    for cpu in range(cores):
        jitter = np.clip(busy + h.noise(0.01), 0.0, 1.0)
        labels = {**base, "cpu": str(cpu)}
        h.counter("node_cpu_seconds_total", {**labels, "mode": "idle"}, 1.0 - jitter, since)
        h.counter("node_cpu_seconds_total", {**labels, "mode": "user"}, jitter * 0.8, since)
        h.counter("node_cpu_seconds_total", {**labels, "mode": "system"}, jitter * 0.2, since)
    h.gauge("node_memory_MemTotal_bytes", base, mem_total, since)
    h.gauge("node_memory_MemAvailable_bytes", base, np.clip(mem_total - mem_used, 0, mem_total), since)
    for mountpoint, device, size, avail in filesystems:
        labels = {**base, "mountpoint": mountpoint, "device": device, "fstype": "ext4"}
        h.gauge("node_filesystem_size_bytes", labels, size, since)
        h.gauge("node_filesystem_avail_bytes", labels, np.clip(avail, 0, size), since)
        h.gauge("node_filesystem_free_bytes", labels, np.clip(avail, 0, size), since)


def process_group(h: History, instance: str, groupname: str, *, cores: np.ndarray, rss: np.ndarray,
                  procs: int = 1, threads: float = 8, fds: float = 40, job: str = "node") -> None:
    """process-exporter series of one group: CPU seconds (user/system), resident memory, processes, threads,
    descriptors."""
    labels = {"instance": instance, "job": job, "groupname": groupname}
    cores = np.clip(cores, 0, None)
    h.counter("namedprocess_namegroup_cpu_seconds_total", {**labels, "mode": "user"}, cores * 0.85)
    h.counter("namedprocess_namegroup_cpu_seconds_total", {**labels, "mode": "system"}, cores * 0.15)
    h.gauge("namedprocess_namegroup_memory_bytes", {**labels, "memtype": "resident"}, rss)
    h.gauge("namedprocess_namegroup_num_procs", labels, procs)
    h.gauge("namedprocess_namegroup_num_threads", labels, threads)
    h.gauge("namedprocess_namegroup_open_filedesc", labels, fds)
    h.gauge("namedprocess_namegroup_worst_fd_ratio", labels, fds / procs / 65536)


def backfill(openmetrics: Path, data_dir: Path) -> None:
    """TSDB blocks in `data_dir` from an OpenMetrics file (promtool tsdb create-blocks-from openmetrics)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([need_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                        str(openmetrics), str(data_dir)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"promtool create-blocks-from failed: {r.stdout[-2000:]}{r.stderr[-2000:]}")


@contextlib.contextmanager
def prometheus_on(data_dir: Path, tmp: Path, retention: str = "30d") -> Iterator[PrometheusServer]:
    """A Prometheus serving an existing TSDB (backfilled blocks), scraping nothing; stopped after."""
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "15s"}, "scrape_configs": []}))
    port = free_port()
    log = tmp / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([need_binary("prometheus"), f"--config.file={config}",
                                 f"--storage.tsdb.path={data_dir}", f"--storage.tsdb.retention.time={retention}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/-/ready", proc=proc, timeout=120)
        except (RuntimeError, TimeoutError) as e:
            raise RuntimeError(f"prometheus on {data_dir}: {e}\n{log.read_text(errors='replace')[-2000:]}") from None
        yield PrometheusServer(url, proc, config)
    finally:
        stop(proc)
