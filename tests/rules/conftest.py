"""End-to-end harness for the service packs: our exporter probing real servers, a real Prometheus scraping it
(1 s interval), and ``advisor run --pack rules/<pack>.yaml --format json`` run in-process against it."""
from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import yaml
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from tests.support.exporter import exporter_binary, scraped_exporter
from tests.support.prometheus import PrometheusServer

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
SERVICE_PACKS = ("cache", "database", "network", "loadbalancer")
JOB = "services"


@contextlib.contextmanager
def exporter_and_prometheus(tmp: Path, collectors: dict[str, dict], keep_defaults: tuple[str, ...] = ()
                            ) -> Iterator[PrometheusServer]:
    """Our exporter with only `collectors` (name → collectors_config section) enabled, scraped by Prometheus."""
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = {"disable_default_collectors": True, "log": {"level": "warn"},
           "collectors": {name: True for name in (*collectors, *keep_defaults)},
           "collectors_config": {k: v for k, v in collectors.items() if v}}
    path = tmp / "exporter.yml"
    path.write_text(yaml.safe_dump(cfg))
    with scraped_exporter(tmp, exporter_binary(), "--config", str(path), job=JOB, metrics_path="/api/metrics") as s:
        yield s.prometheus


def advisor_json(prom_url: str, pack: str, *sets: str) -> dict:
    """`advisor run --no-builtin --pack rules/PACK.yaml --set … --format json` against prom_url, parsed."""
    args = ["run", "--prometheus", prom_url, "--no-builtin", "--pack", str(RULES / f"{pack}.yaml"),
            "--format", "json"]
    for s in sets:
        args += ["--set", s]
    result = CliRunner().invoke(cli, args, catch_exceptions=False,
                                env={"PERFADVISOR_PROMETHEUS_URL": None, "PERFADVISOR_CONFIG": None})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def findings(report: dict, rule_id: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule_id"] == rule_id]


def poll_report(prom_url: str, pack: str, sets: tuple[str, ...], ready: Callable[[dict], bool],
                timeout: float = 90.0) -> dict:
    """Run the advisor until `ready(report)` holds (the workload needs a few scrapes to show); the last report."""
    deadline = time.monotonic() + timeout
    while True:
        report = advisor_json(prom_url, pack, *sets)
        if ready(report) or time.monotonic() > deadline:
            return report
        time.sleep(2)


class Workload:
    """A loop run in a daemon thread until stopped; errors are kept and re-raised by stop()."""

    def __init__(self, step: Callable[[], None], pause: float = 0.0):
        self._step, self._pause = step, pause
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.rounds = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._step()
                self.rounds += 1
                if self._pause:
                    self._stop.wait(self._pause)
        except BaseException as e:  # surfaced by stop()
            self.error = e

    def __enter__(self) -> "Workload":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        if self.error is not None:
            raise self.error
