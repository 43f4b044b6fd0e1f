"""An exporter (ours, node_exporter, process-exporter) on a free loopback port, alone or scraped by Prometheus."""
from __future__ import annotations

import contextlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .procs import free_port, need_binary, stop, wait_http
from .prometheus import PrometheusServer, start_prometheus

REPO = Path(__file__).resolve().parents[2]


def exporter_binary() -> str:
    """Our perfadvisor-exporter console script, from the venv running the tests (or this worktree's .venv)."""
    return need_binary(str(Path(sys.executable).with_name("perfadvisor-exporter")),
                       str(REPO / ".venv" / "bin" / "perfadvisor-exporter"), hint="scripts/bootstrap --test")


@dataclass(frozen=True)
class Exporter:
    address: str  # host:port, also the instance label Prometheus gives it
    proc: subprocess.Popen


@contextlib.contextmanager
def start_exporter(tmp: Path, binary: str, *args: str, listen_flag: str = "--web.listen-address",
                   metrics_path: str = "/metrics", timeout: float = 60.0) -> Iterator[Exporter]:
    """Run `binary --web.listen-address=127.0.0.1:PORT *args` until metrics_path answers; stop it after.

    Output goes to tmp/exporter.log, not a pipe, so a session-long exporter can never block on a full pipe.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "exporter.log"
    address = f"127.0.0.1:{free_port()}"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, f"{listen_flag}={address}", *args], stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            wait_http(f"http://{address}{metrics_path}", proc=proc, timeout=timeout)
        except (RuntimeError, TimeoutError) as e:
            raise RuntimeError(f"{binary}: {e}\n{log.read_text(errors='replace')[-2000:]}") from None
        yield Exporter(address, proc)
    finally:
        stop(proc)


@dataclass(frozen=True)
class Scraped:
    prometheus: PrometheusServer
    exporter: Exporter


@contextlib.contextmanager
def scraped_exporter(tmp: Path, binary: str, *args: str, job: str, listen_flag: str = "--web.listen-address",
                     metrics_path: str = "/metrics", **prometheus) -> Iterator[Scraped]:
    """start_exporter, and a Prometheus scraping it as `job` (**prometheus go to start_prometheus)."""
    with start_exporter(tmp / "exporter", binary, *args, listen_flag=listen_flag, metrics_path=metrics_path) as exp, \
            start_prometheus(tmp / "prometheus", {job: [exp.address]}, metrics_path=metrics_path, **prometheus) as prom:
        yield Scraped(prom, exp)
