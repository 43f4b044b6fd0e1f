#!/usr/bin/env python3
"""Benchmark perfadvisor-exporter against prometheus-node-exporter on this machine, side by side.

Starts both on free loopback ports with their default collectors (ours includes the process groups), warms
them, then for each: N sequential scrapes (server CPU seconds per scrape from /proc/<pid>/stat utime+stime,
median and p90 wall time, series count, RSS), the same with P parallel scrapers, and prints the ratios
ours/node_exporter. Scrapes send the headers Prometheus sends (gzip, OpenMetrics preferred, scrape timeout),
so each exporter pays for what a real scrape asks of it; one more run sends none (uncompressed text).
--procs adds the per-process cost of the processes collector: it spawns that many sleeping processes (and
removes them), measured in-process as µs of CPU per process per collection. --baseline adds another build of
perfadvisor-exporter (e.g. main's) to the same interleaved runs: an A/B of two versions under the same load.

Example:
    .venv/bin/python scripts/bench_exporter.py --scrapes 200 --parallel 10 --procs 500
    .venv/bin/python scripts/bench_exporter.py --procs 0 --baseline /work/main/.venv/bin/perfadvisor-exporter
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

TICKS = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEADLINE = time.monotonic() + 900  # the whole run is bounded, whatever the arguments


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What Prometheus 2.x sends with every scrape (scrape/scrape.go): it asks for gzip and prefers OpenMetrics.
PROMETHEUS_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
              "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
    "X-Prometheus-Scrape-Timeout-Seconds": "10",
}


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(utime, stime) of the process in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Target:
    def __init__(self, name: str, argv: list[str], port: int):
        self.name, self.argv, self.port = name, argv, port
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Target":
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"{self.name} exited with {self.proc.returncode} at start: {' '.join(self.argv)}")
            try:
                self.scrape(http.client.HTTPConnection("127.0.0.1", self.port, timeout=10))
                return self
            except OSError:
                time.sleep(0.1)
        sys.exit(f"{self.name} did not answer on 127.0.0.1:{self.port} within 30 s")

    def scrape(self, conn: http.client.HTTPConnection, path: str = "/metrics",
               headers: dict[str, str] | None = None) -> bytes:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{self.name}: HTTP {resp.status}")
        return gzip.decompress(body) if resp.getheader("Content-Encoding") == "gzip" else body

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def run_scrapes(t: Target, n: int, parallel: int, path: str = "/metrics", headers: dict[str, str] | None = None
                ) -> tuple[tuple[float, float], list[float], float, int]:
    """n scrapes spread over `parallel` clients (one keep-alive connection each)
    → ((utime s, stime s), walls, elapsed, series)."""
    walls: list[float] = []
    series = [0]
    lock = threading.Lock()

    def worker(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=30)
        for _ in range(count):
            if time.monotonic() > DEADLINE:
                return
            t0 = time.perf_counter()
            body = t.scrape(conn, path, headers)
            dt = time.perf_counter() - t0
            with lock:
                walls.append(dt)
                if series[0] == 0:
                    series[0] = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        conn.close()

    per = [n // parallel + (1 if i < n % parallel else 0) for i in range(parallel)]
    (u0, s0), w0 = cpu_seconds(t.proc.pid), time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in per]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    u1, s1 = cpu_seconds(t.proc.pid)
    return (u1 - u0, s1 - s0), walls, time.perf_counter() - w0, series[0]


def compare(targets: list[Target], n: int, parallel: int, batch: int = 20,
            paths: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> dict[str, dict]:
    """n scrapes of each target, interleaved in batches so all see the same background load."""
    acc = {t.name: [0.0, 0.0, [], 0.0, 0] for t in targets}
    done = 0
    while done < n and time.monotonic() < DEADLINE:
        step = min(batch, n - done)
        for t in targets:
            (ut, st), walls, elapsed, series = run_scrapes(t, step, parallel, (paths or {}).get(t.name, "/metrics"),
                                                           headers)
            a = acc[t.name]
            a[0] += ut
            a[1] += st
            a[2] += walls
            a[3] += elapsed
            a[4] = series
        done += step
    out = {}
    for t in targets:
        ut, st, walls, elapsed, series = acc[t.name]
        walls.sort()
        per = max(len(walls), 1)
        out[t.name] = {
            "cpu_ms": (ut + st) / per * 1000,
            "utime_ms": ut / per * 1000,
            "stime_ms": st / per * 1000,
            "p50_ms": statistics.median(walls) * 1000,
            "p90_ms": walls[max(int(len(walls) * 0.9) - 1, 0)] * 1000,
            "rps": len(walls) / elapsed,
            "series": series,
            "rss_mb": rss_mb(t.proc.pid),
        }
    return out


@contextmanager
def sleepers(count: int):
    """count sleeping child processes, always removed afterwards."""
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(count):
            procs.append(subprocess.Popen(["sleep", "900"], stdin=subprocess.DEVNULL))
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def per_process_cost(extra: int, rounds: int = 50) -> dict[str, float]:
    """µs of CPU per process per collection of the processes collector (difference with and without extras).

    "idle": the steady state for sleeping processes (their status/io/fd reads are skipped while they are not
    scheduled in). "busy": every process read in full each time, as if all of them had run since the last scrape.
    """
    sys.path.insert(0, REPO)
    from perfadvisor.exporter.registry import CollectorContext, all_collectors

    factory = all_collectors()["processes"].factory

    def measure(busy: bool) -> tuple[float, int]:
        c = factory(CollectorContext(settings={}))
        list(c.collect())  # first pass fills the caches, as a long-running exporter has them
        if busy:
            c.scanner._gate = False
        n = sum(1 for d in os.listdir("/proc") if d.isdigit())
        t0 = time.process_time()
        for _ in range(rounds):
            if busy:
                for entry in c.scanner._pids.values():
                    entry[9] = None  # forget the last stat line: parse it again
            list(c.collect())
        return (time.process_time() - t0) / rounds, n

    out = {}
    for mode in ("idle", "busy"):
        base, n0 = measure(mode == "busy")
        with sleepers(extra):
            more, n1 = measure(mode == "busy")
        out[mode] = (more - base) / max(n1 - n0, 1) * 1e6
        out["n0"], out["n1"] = n0, n1
    return out


def table(rows: list[tuple[str, dict]], a: str = "node_exporter", b: str = "perfadvisor",
          keys: tuple[str, ...] = ("cpu_ms", "utime_ms", "stime_ms", "p50_ms", "p90_ms", "rps", "series",
                                   "rss_mb")) -> None:
    print(f"{'run':<22}{'metric':<12}{a:>15}{b:>14}{'ratio':>8}")
    for label, res in rows:
        for key in keys:
            ratio = res[b][key] / res[a][key] if res[a][key] else float("nan")
            print(f"{label:<22}{key:<12}{res[a][key]:>15.2f}{res[b][key]:>14.2f}{ratio:>8.2f}")
            label = ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scrapes", type=int, default=200, help="scrapes per run (max 2000)")
    ap.add_argument("--parallel", type=int, default=10, help="concurrent scrapers in the parallel run (max 50)")
    ap.add_argument("--procs", type=int, default=500, help="sleeping processes for the per-process run (0 = skip)")
    ap.add_argument("--node-exporter", default=shutil.which("prometheus-node-exporter") or "prometheus-node-exporter")
    ap.add_argument("--ours", default=os.path.join(REPO, ".venv", "bin", "perfadvisor-exporter"))
    ap.add_argument("--ours-arg", action="append", default=[], metavar="ARG",
                    help="extra flag for our exporter, repeatable (e.g. --ours-arg=--scrape.workers=1)")
    ap.add_argument("--baseline", metavar="PATH",
                    help="another perfadvisor-exporter (e.g. /work/main/.venv/bin/perfadvisor-exporter), scraped "
                         "in the same interleaved runs: prints baseline vs ours")
    a = ap.parse_args()
    n, par, procs = min(a.scrapes, 2000), max(1, min(a.parallel, 50)), min(a.procs, 2000)

    targets = [
        Target("node_exporter", [a.node_exporter, f"--web.listen-address=127.0.0.1:{(p := free_port())}"], p),
        Target("perfadvisor", [a.ours, f"--web.listen-address=127.0.0.1:{(q := free_port())}", *a.ours_arg], q),
    ]
    if a.baseline:
        targets.append(Target("baseline", [a.baseline, f"--web.listen-address=127.0.0.1:{(r := free_port())}",
                                           *a.ours_arg], r))
    prom = PROMETHEUS_HEADERS
    rows: list[tuple[str, dict]] = []
    try:
        for t in targets:
            t.start()
            run_scrapes(t, 20, 1, headers=prom)  # warm caches, JIT-free but allocator and page cache warm
            run_scrapes(t, 5, 1)
        rows.append((f"sequential x{n}", compare(targets, n, 1, headers=prom)))
        # what a scrape costs us before any collector runs: HTTP, orchestration, self metrics, one tiny collector
        (ut, st), walls, _, _ = run_scrapes(targets[1], n // 2, 1, "/metrics?collect[]=loadavg", prom)
        fixed_ms = (ut + st) / max(len(walls), 1) * 1000
        # the same set of work node_exporter does: host collectors only, no process groups
        host = compare(targets, n // 2, 1, headers=prom,
                       paths={"perfadvisor": "/metrics?exclude[]=processes", "baseline": "/metrics?exclude[]=processes"})
        rows.append(("host only (no procs)", host))
        # a client that asks for nothing: uncompressed text 0.0.4
        rows.append((f"no gzip x{n}", compare(targets, n, 1)))
        rows.append((f"{par} parallel x{n}", compare(targets, n, par, batch=10 * par, headers=prom)))
        if procs:
            with sleepers(procs):
                for t in targets:
                    run_scrapes(t, 5, 1, headers=prom)
                many = compare(targets, max(n // 4, 20), 1, headers=prom)
            rows.append((f"+{procs} procs x{max(n // 4, 20)}", many))
    finally:
        for t in targets:
            t.stop()
    nprocs = sum(1 for d in os.listdir("/proc") if d.isdigit())
    load = os.getloadavg()
    print(f"\n{os.cpu_count()} CPUs, {nprocs} processes, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"CPU per scrape is the server's utime+stime / scrapes; scrapes send Prometheus' headers (gzip) except "
          f"the 'no gzip' run\n")
    table(rows)
    seq = rows[0][1]
    print(f"\nperfadvisor fixed cost per scrape (?collect[]=loadavg): {fixed_ms:.2f} ms CPU — the rest of its "
          f"sequential figure is the collectors ({seq['perfadvisor']['cpu_ms'] - fixed_ms:.2f} ms)")
    print(f"default ratio (sequential, CPU per scrape, perfadvisor / node_exporter): "
          f"{seq['perfadvisor']['cpu_ms'] / seq['node_exporter']['cpu_ms']:.2f}")
    if a.baseline:
        print(f"\nA/B, same interleaved runs: {a.baseline} (baseline) vs {a.ours}\n")
        table(rows, "baseline", "perfadvisor", ("cpu_ms", "utime_ms", "stime_ms", "series"))
    if procs:
        c = per_process_cost(procs)
        print(f"\nprocesses collector, µs CPU per process per collection ({c['n0']} → {c['n1']} processes): "
              f"{c['idle']:.1f} idle, {c['busy']:.1f} busy (every process read in full)")


if __name__ == "__main__":
    main()
