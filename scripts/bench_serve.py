#!/usr/bin/env python3
"""Benchmark: `advisor serve` — API latency under concurrent clients, steady-state memory over many cycles, and
the cost of one evaluation cycle against the number of targets.

1. API: 50 clients hammer /api/performance/optimize and /metrics of a serve whose last run holds a synthetic
   fleet's findings; p50/p99 and errors, beside the exporter's own /metrics under the same load (the peer).
2. Steady state: serve on the embedded engine (local sampling), evaluating back to back; RSS and store size
   after the first cycles, every 100 cycles and after --cycles (or what fits in --time-limit), and their ratio
   (no growth beyond the store).
3. Cycle cost: 10, 100, 1,000 synthetic hosts' node_exporter + process-exporter series (2 h at 15 s) backfilled
   into a real Prometheus (promtool tsdb create-blocks-from openmetrics); one scheduled serve cycle, beside
   `advisor run`'s in-process `execute` of the same packs on the same Prometheus (the peer). With
   --cycles-source fleet: against the synthetic fleet API (tests/support/fleet.py) instead.

    .venv/bin/python scripts/bench_serve.py                       # all three
    .venv/bin/python scripts/bench_serve.py --only api --clients 50 --requests 40
    .venv/bin/python scripts/bench_serve.py --only cycles --targets 10,100
    .venv/bin/python scripts/bench_serve.py --only steady --cycles 1000 --time-limit 1200
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfadvisor.advisor import config as C  # noqa: E402
from perfadvisor.advisor.run import execute  # noqa: E402
from tests.support.backfill import History, backfill, node_host, process_group, prometheus_on  # noqa: E402
from tests.support.fleet import Fleet  # noqa: E402
from tests.support.procs import free_port, stop, wait_http  # noqa: E402

BIN = Path(sys.executable).with_name("advisor")
EXPORTER = Path(sys.executable).with_name("perfadvisor-exporter")


def start_serve(tmp: Path, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (tmp / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen([str(BIN), "serve", f"--web.listen-address=127.0.0.1:{port}",
                             f"--storage.path={tmp / f'serve-{port}.db'}", *args], stdout=log, stderr=log, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health/live", proc=proc, timeout=120)
    return proc, url


def runs(url: str) -> list[dict]:
    return requests.get(url + "/api/performance/runs?limit=1000", timeout=30).json()["runs"]


def wait_runs(url: str, n: int, timeout: float = 3600) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [r for r in runs(url) if r["trigger"] == "schedule"]
        if len(got) >= n:
            return got
        time.sleep(0.5)
    raise TimeoutError(f"{n} runs not done in {timeout}s")


def load(url: str, clients: int, requests_each: int) -> tuple[list[float], int]:
    """`clients` threads, each sending `requests_each` GETs on one keep-alive session; latencies (s), errors."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client():
        s = requests.Session()
        mine = []
        for _ in range(requests_each):
            t = time.perf_counter()
            try:
                r = s.get(url, timeout=60)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - t)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            lat.extend(mine)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors[0]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def bench_api(tmp: Path, clients: int, requests_each: int, targets: int) -> None:
    print(f"## API: {clients} clients × {requests_each} requests each, last run over a {targets}-target fleet")
    with Fleet(targets) as fleet:
        proc, url = start_serve(tmp, "--prometheus", fleet.url, "--interval", "1h")
        exp = None
        try:
            wait_runs(url, 1)
            body = requests.get(url + "/api/performance/optimize", timeout=60)
            print(f"   /api/performance/optimize answer: {len(body.content) / 1e6:.2f} MB, "
                  f"{len(body.json()['findings'])} findings")
            eport = free_port()
            exp = subprocess.Popen([str(EXPORTER), f"--web.listen-address=127.0.0.1:{eport}", "--log.level=warn"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_http(f"http://127.0.0.1:{eport}/metrics", proc=exp, timeout=120)
            rows = []
            for name, target in (("serve /api/performance/optimize", url + "/api/performance/optimize"),
                                 ("serve /metrics", url + "/metrics"),
                                 ("exporter /metrics (peer)", f"http://127.0.0.1:{eport}/metrics")):
                lat, err = load(target, clients, requests_each)
                rows.append((name, pct(lat, 50), pct(lat, 99), err, len(lat)))
            print(f"   {'endpoint':34} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'requests':>9}")
            for name, p50, p99, err, n in rows:
                print(f"   {name:34} {p50 * 1e3:8.1f} {p99 * 1e3:8.1f} {err:7d} {n:9d}")
            print(f"   ratio serve /metrics p50 / exporter /metrics p50: {rows[1][1] / rows[2][1]:.2f}")
        finally:
            stop(proc)
            if exp:
                stop(exp)


def bench_steady(tmp: Path, cycles: int, fleet: int = 0, time_limit: float = 0, interval: str = "10ms",
                 every: int = 100) -> None:
    """Cycles every `interval` (10ms: back to back): on the embedded engine with local sampling, or (fleet > 0)
    against a synthetic fleet, where nothing accumulates but the history store."""
    pace = "back-to-back" if interval == "10ms" else f"every {interval}"
    if fleet:
        print(f"## Steady state: a {fleet}-target synthetic fleet, {cycles} cycles {pace}")
        with Fleet(fleet) as f:
            proc, url = start_serve(tmp, "--prometheus", f.url, "--interval", interval, "--log.level", "warn")
            _steady(proc, url, cycles, time_limit, every)
        return
    print(f"## Steady state: embedded engine, local sampling every 1s, {cycles} cycles {pace}")
    proc, url = start_serve(tmp, "--interval", interval, "--sample-interval", "1s", "--log.level", "warn")
    _steady(proc, url, cycles, time_limit, every)


def _steady(proc: subprocess.Popen, url: str, cycles: int, time_limit: float = 0, every: int = 100) -> None:
    """RSS and store size after the first cycles, every `every` cycles, and after `cycles` — or after as many as fit
    in `time_limit` seconds (0: no limit), whichever comes first."""
    try:
        ps = psutil.Process(proc.pid)
        early = min(10, cycles)
        wait_runs(url, early)
        rss0 = ps.memory_info().rss
        store0 = requests.get(url + "/health/detailed", timeout=30).json()["store"]["bytes"]
        print(f"   after {early} cycles: RSS {rss0 / 2**20:.0f} MiB, store {store0 / 2**20:.1f} MiB", flush=True)
        t0 = time.monotonic()
        stop_at = t0 + time_limit if time_limit else float("inf")
        done = shown = early
        while done < cycles and time.monotonic() < stop_at:
            time.sleep(1)
            done = len([r for r in runs(url) if r["trigger"] == "schedule"])
            if done // every > shown // every or done >= cycles or time.monotonic() >= stop_at:
                _steady_line(ps, url, done, t0, early, rss0)
                shown = done
    finally:
        stop(proc)


def _steady_line(ps: psutil.Process, url: str, done: int, t0: float, early: int, rss0: int) -> None:
    took = time.monotonic() - t0
    rss1 = ps.memory_info().rss
    detail = requests.get(url + "/health/detailed", timeout=30).json()
    samples = f"{detail['local']['samples_taken']} samples, " if "local" in detail else ""
    print(f"   after {done} cycles: RSS {rss1 / 2**20:.0f} MiB (x{rss1 / rss0:.2f} of after {early}), store "
          f"{detail['store']['bytes'] / 2**20:.1f} MiB ({samples}{took / max(1, done - early):.2f} s per cycle, "
          f"load average {' '.join(f'{x:.1f}' for x in psutil.getloadavg())})", flush=True)


def bench_cycles(tmp: Path, sizes: list[int], source: str = "prometheus") -> None:
    if source == "prometheus":
        return bench_cycles_prometheus(tmp, sizes)
    print("## Cycle cost against the number of targets (synthetic fleet API; all built-in packs)")
    print(f"   {'targets':>8} {'serve cycle s':>14} {'advisor run s':>14} {'ratio':>6} {'findings':>9}")
    for n in sizes:
        with Fleet(n) as fleet:
            cfg = C.build(prometheus_url=fleet.url, env={})
            t = time.perf_counter()
            report = execute(cfg)
            peer = time.perf_counter() - t
            proc, url = start_serve(tmp, "--prometheus", fleet.url, "--interval", "1h", "--log.level", "warn")
            try:
                run = wait_runs(url, 1)[0]
            finally:
                stop(proc)
        print(f"   {n:8d} {run['duration_seconds']:14.2f} {peer:14.2f} {run['duration_seconds'] / peer:6.2f} "
              f"{len(report.findings):9d}")


def synthetic_hosts(n: int, end: float, hours: float = 2.0, step: float = 15.0) -> History:
    """`n` hosts' node_exporter and process-exporter series (exact metric names) over `hours` at `step`: 2 cores,
    8 GiB, one filesystem, two process groups; busy, memory and disk vary per host, every tenth host's service
    grows steadily (a leak) and every seventh host runs hot, so the packs have something to find."""
    GiB = 1024.0 ** 3
    h = History(end, hours * 3600, step=step, seed=n)
    t_h = h.t / 3600.0
    for i in range(n):
        inst = f"host-{i:04d}:9100"
        busy = (0.9 if i % 7 == 0 else 0.05 + 0.4 * (i % 10) / 10) + h.noise(0.01)
        node_host(h, inst, cores=2, busy=busy, mem_total=8 * GiB, mem_used=(3 + (i % 5)) * GiB + h.noise(0.01) * GiB,
                  filesystems=(("/", "/dev/sda1", 100 * GiB, (60 - (i % 50)) * GiB - t_h * (i % 3) * GiB),))
        rss = (0.5 + (0.4 * t_h if i % 10 == 0 else 0.0)) * GiB * (1 + h.noise(0.0025))
        process_group(h, inst, "app", cores=busy * 1.5, rss=rss, procs=4, threads=40, fds=200)
        process_group(h, inst, "sshd", cores=np.full_like(busy, 0.001), rss=np.full_like(busy, 8e6))
    return h


def bench_cycles_prometheus(tmp: Path, sizes: list[int]) -> None:
    print("## Cycle cost against the number of hosts (real Prometheus, backfilled: 2 h at 15 s of node_exporter + "
          "process-exporter series per host; all built-in packs)")
    print(f"   {'hosts':>6} {'series':>7} {'samples':>10} {'backfill s':>10} {'serve cycle s':>13} "
          f"{'execute s':>9} {'ratio':>6} {'serve peak RSS MiB':>18} {'findings serve/run':>18} {'load avg':>8}",
          flush=True)
    for n in sizes:
        d = tmp / f"prom-{n}"
        t = time.perf_counter()
        end = float(int(time.time()) // 15 * 15)
        h = synthetic_hosts(n, end)
        series = sum(len(v[1]) for v in h.families.values())
        d.mkdir(parents=True)
        samples = h.write(d / "history.om")
        backfill(d / "history.om", d / "data")
        (d / "history.om").unlink()
        took_backfill = time.perf_counter() - t
        with prometheus_on(d / "data", d / "prometheus") as prom:
            cfg = C.build(prometheus_url=prom.url, env={})
            execute(cfg)            # warm-up: Prometheus loads the blocks' index and chunks on first use
            t = time.perf_counter()
            report = execute(cfg)
            peer = time.perf_counter() - t
            proc, url = start_serve(tmp, "--prometheus", prom.url, "--interval", "1h", "--log.level", "warn")
            try:
                run = wait_runs(url, 1)[0]
                rss = _peak_rss(proc.pid)
            finally:
                stop(proc)
        cycle = run["duration_seconds"]
        print(f"   {n:6d} {series:7d} {samples:10d} {took_backfill:10.1f} {cycle:13.2f} {peer:9.2f} "
              f"{cycle / peer:6.2f} {rss / 2**20:18.0f} {run['findings']:>9d}/{len(report.findings):<8d} "
              f"{psutil.getloadavg()[0]:8.1f}", flush=True)


def _peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return psutil.Process(pid).memory_info().rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["api", "steady", "cycles"])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=40, help="per client and endpoint")
    ap.add_argument("--api-targets", type=int, default=100)
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=0, metavar="S",
                    help="steady state: stop after S seconds and report the cycles reached (0: no limit)")
    ap.add_argument("--steady-interval", default="10ms", metavar="DURATION",
                    help="steady state: serve's --interval (default 10ms: cycles back to back)")
    ap.add_argument("--steady-every", type=int, default=100, metavar="N", help="steady state: a line every N cycles")
    ap.add_argument("--steady-fleet", type=int, default=0, metavar="N",
                    help="steady state against an N-target synthetic fleet instead of the embedded engine")
    ap.add_argument("--targets", default="10,100,1000")
    ap.add_argument("--cycles-source", choices=["prometheus", "fleet"], default="prometheus",
                    help="cycle cost against a real Prometheus with backfilled hosts (default) or the synthetic "
                         "fleet API (tests/support/fleet.py)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as d:
        tmp = Path(d)
        if a.only in (None, "api"):
            bench_api(tmp, a.clients, a.requests, a.api_targets)
        if a.only in (None, "cycles"):
            bench_cycles(tmp, [int(x) for x in a.targets.split(",")], a.cycles_source)
        if a.only in (None, "steady"):
            bench_steady(tmp, a.cycles, a.steady_fleet, a.time_limit, a.steady_interval, a.steady_every)


if __name__ == "__main__":
    main()
