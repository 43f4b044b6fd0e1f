"""A real Prometheus (Debian package) on a free loopback port with a temp TSDB, for end-to-end tests."""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from .procs import free_port, need_binary, stop, wait_http


@dataclass
class PrometheusServer:
    url: str
    proc: subprocess.Popen
    config_path: Path

    def query(self, expr: str, **params) -> dict:
        r = requests.get(f"{self.url}/api/v1/query", params={"query": expr, **params}, timeout=10)
        r.raise_for_status()
        return r.json()["data"]

    def wait_for_series(self, expr: str, timeout: float = 60.0, min_results: int = 1) -> dict:
        """Poll until expr returns at least min_results series."""
        deadline = time.monotonic() + timeout
        data: dict = {}
        while time.monotonic() < deadline:
            data = self.query(expr)
            if len(data.get("result", [])) >= min_results:
                return data
            time.sleep(0.5)
        raise TimeoutError(f"{expr} returned {data} after {timeout}s")

    def stop(self) -> None:
        stop(self.proc)

    def __enter__(self) -> "PrometheusServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_prometheus(tmp: Path, scrape_targets: dict[str, list[str]] | None = None, *,
                     metrics_path: str = "/api/metrics", rule_files: list[str] | None = None,
                     alertmanager: str | None = None, interval: str = "1s",
                     extra_scrape_configs: list[dict] | None = None) -> PrometheusServer:
    """Start Prometheus scraping {job: [host:port, ...]} every `interval`; the caller stops it (or uses `with`)."""
    binary = need_binary("prometheus")
    port = free_port()
    cfg: dict = {"global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval}}
    cfg["scrape_configs"] = [
        {"job_name": job, "metrics_path": metrics_path, "static_configs": [{"targets": targets}]}
        for job, targets in (scrape_targets or {}).items()
    ] + list(extra_scrape_configs or [])
    if rule_files:
        cfg["rule_files"] = rule_files
    if alertmanager:
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    tmp.mkdir(parents=True, exist_ok=True)
    config_path = tmp / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen(
        [binary, f"--config.file={config_path}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle", "--log.level=warn"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/-/ready", proc=proc)
    except Exception:
        stop(proc)
        raise
    return PrometheusServer(url, proc, config_path)
