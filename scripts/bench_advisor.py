#!/usr/bin/env python3
"""Benchmark: `advisor run` over all built-in packs against a Prometheus holding many synthetic targets.

Generates an OpenMetrics file (node_exporter + process-exporter series for N instances over a window),
backfills it with `promtool tsdb create-blocks-from openmetrics`, starts Prometheus on the blocks, runs the
advisor, then replays every query the advisor sent with `stats=all` and sums Prometheus' own
`evalTotalTime`. Prints the advisor's wall time, that sum, and their ratio per run, then the median
and the best ratio (target ≤ 1.5), with each run's CPU seconds (the advisor; Prometheus while the advisor ran
and while the queries were replayed) and the load average, which moves the wall-clock ratio on a shared machine.

    .venv/bin/python scripts/bench_advisor.py --instances 60 --groups 10 --hours 2
    .venv/bin/python scripts/bench_advisor.py --data /tmp/blocks --report after.json   # keep and reuse the blocks
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfadvisor.advisor import config as C  # noqa: E402
from perfadvisor.advisor.run import execute  # noqa: E402
from perfadvisor.advisor.sources.prometheus import PrometheusSource  # noqa: E402
from tests.support.procs import free_port, stop, wait_http  # noqa: E402

CPU_MODES = ("idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice")


def series_for(i: int, groups: int):
    """(family, labels, kind, start, rate/level, noise) for one synthetic instance."""
    inst = {"instance": f"host-{i:04d}:9100", "job": "node"}
    busy = 0.05 + 0.9 * ((i * 37) % 100) / 100
    for cpu in range(2):
        for mode in CPU_MODES:
            share = (1 - busy) if mode == "idle" else busy / 6 if mode in ("user", "system") else busy / 40
            yield "node_cpu_seconds_total", {**inst, "cpu": str(cpu), "mode": mode}, "counter", 1e5, share, 0.1
    total = 8 * 2 ** 30
    yield "node_memory_MemTotal_bytes", inst, "gauge", total, 0, 0
    yield "node_memory_MemAvailable_bytes", inst, "gauge", total * (0.05 + (i % 10) / 11), 0, 0.02
    yield "node_load1", inst, "gauge", 0.5 + (i % 7) / 2, 0, 0.2
    for fs, size in (("/", 100e9), ("/var", 200e9)):
        lab = {**inst, "mountpoint": fs, "device": f"/dev/sd{fs[-1] if fs != '/' else 'a'}", "fstype": "ext4"}
        yield "node_filesystem_size_bytes", lab, "gauge", size, 0, 0
        yield "node_filesystem_avail_bytes", lab, "gauge", size * 0.3, -size * 1e-6 * (i % 3), 0.001
    yield "node_disk_io_time_seconds_total", {**inst, "device": "sda"}, "counter", 1e4, 0.3 + (i % 5) / 8, 0.05
    for d in ("eth0",):
        lab = {**inst, "device": d}
        for name, r in (("receive_packets", 1000), ("transmit_packets", 900), ("receive_errs", 0.1),
                        ("transmit_errs", 0.0), ("receive_drop", 0.5), ("transmit_drop", 0.0)):
            yield f"node_network_{name}_total", lab, "counter", 1e6, r, 0.05
    yield "node_netstat_Tcp_RetransSegs", inst, "counter", 1e3, 2 + i % 4, 0.1
    yield "node_netstat_Tcp_OutSegs", inst, "counter", 1e6, 900, 0.05
    yield "node_filefd_allocated", inst, "gauge", 2000 + 50 * i, 0, 0.01
    yield "node_filefd_maximum", inst, "gauge", 9.2e18, 0, 0
    for name, r in (("pgmajfault", 3), ("pswpin", 0.1), ("pswpout", 0.1), ("oom_kill", 0)):
        yield f"node_vmstat_{name}", inst, "counter", 100, r, 0.1
    for g in range(groups):
        lab = {"instance": inst["instance"], "job": "node", "groupname": f"svc{g:02d}"}
        leak = 2e3 * (g == 0)
        yield "namedprocess_namegroup_memory_bytes", {**lab, "memtype": "resident"}, "gauge", 2e8 + 1e7 * g, leak, 0.01
        yield "namedprocess_namegroup_open_filedesc", lab, "gauge", 100 + g, 0, 0.01
        yield "namedprocess_namegroup_num_threads", lab, "gauge", 10 + g, 0, 0
        yield "namedprocess_namegroup_cpu_seconds_total", {**lab, "mode": "user"}, "counter", 1e3, 0.05 * g, 0.1
        yield "namedprocess_namegroup_cpu_seconds_total", {**lab, "mode": "system"}, "counter", 1e3, 0.01 * g, 0.1
        yield "namedprocess_namegroup_worst_fd_ratio", lab, "gauge", 0.1, 0, 0
        yield "namedprocess_namegroup_major_page_faults_total", lab, "counter", 10, 0.1, 0.1
        yield "namedprocess_namegroup_num_procs", lab, "gauge", 1 + g % 3, 0, 0


def write_openmetrics(path: Path, instances: int, groups: int, start: int, end: int, interval: int) -> int:
    rnd = random.Random(42)
    families: dict[str, list] = {}
    for i in range(instances):
        for fam, labels, kind, base, slope, noise in series_for(i, groups):
            families.setdefault(fam, []).append((labels, kind, base, slope, noise))
    n = 0
    with path.open("w") as out:
        for fam, items in families.items():
            out.write(f"# TYPE {fam} unknown\n")
            for labels, kind, base, slope, noise in items:
                lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
                value = base
                for t in range(start, end + 1, interval):
                    if kind == "counter":
                        value += max(0.0, slope * interval * (1 + noise * rnd.uniform(-1, 1)))
                        v = value
                    else:
                        v = base + slope * (t - start) + base * noise * math.sin(t / 600 + rnd.random())
                    out.write(f"{fam}{{{lab}}} {v:.6g} {t}\n")
                    n += 1
        out.write("# EOF\n")
    return n


class Recording(PrometheusSource):
    """The Prometheus source, remembering every query it sent."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.log: list[tuple[str, dict]] = []
        self.fetch = 0.0     # seconds inside requests (HTTP + JSON decode + parsing), summed over threads
        self.points = 0

    def _timed(self, call):
        t0 = time.perf_counter()
        res = call()
        self.fetch += time.perf_counter() - t0
        self.points += sum(len(s.points) for s in res.series)
        return res

    def instant(self, query, time):
        self.log.append(("/api/v1/query", {"query": query, "time": f"{time:.3f}"}))
        return self._timed(lambda: super(Recording, self).instant(query, time))

    def range(self, query, start, end, step):
        self.log.append(("/api/v1/query_range", {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step:g}"}))
        return self._timed(lambda: super(Recording, self).range(query, start, end, step))


def what_if_server_side(src: Recording) -> None:
    """The range queries of a run, timed as sent (every point fetched, reduced client-side) and as the two
    instant subqueries a server-side reduction needs at least (the reduced value, and the point count for
    coverage); sequential, wall time including decoding, and Prometheus' own evaluation time."""
    fetched = fetched_eval = pushed = pushed_eval = 0.0
    for path, form in src.log:
        if not path.endswith("query_range"):
            continue
        window = f"[{float(form['end']) - float(form['start']):g}s:{form['step']}s]"
        t0 = time.perf_counter()
        fetched_eval += src.raw(path, {**form, "stats": "all"})["data"]["stats"]["timings"]["evalTotalTime"]
        fetched += time.perf_counter() - t0
        q = form["query"]
        for pushed_q in (f"quantile_over_time(0.95, ({q}){window})", f"count_over_time(({q}){window})"):
            t0 = time.perf_counter()
            body = src.raw("/api/v1/query", {"query": pushed_q, "time": form["end"], "stats": "all"})
            pushed += time.perf_counter() - t0
            pushed_eval += body["data"]["stats"]["timings"]["evalTotalTime"]
    print(f"range queries fetched: {fetched:.3f}s (Prometheus eval {fetched_eval:.3f}s); reduced server-side "
          f"(value + coverage subqueries): {pushed:.3f}s (Prometheus eval {pushed_eval:.3f}s)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=60)
    ap.add_argument("--groups", type=int, default=10)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--interval", type=int, default=60, help="seconds between synthetic samples")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--data", type=Path, help="keep the backfilled blocks in this directory and reuse them on later "
                    "runs (same evaluation time, so reports compare field by field)")
    ap.add_argument("--report", type=Path, help="write the last run's JSON report here (generated_at removed)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-advisor-"))
    prom = None
    try:
        data = args.data or tmp / "data"
        shape = f"{args.instances} {args.groups} {args.hours:g} {args.interval}"
        stamp = data / "bench-advisor.end"
        if args.data and stamp.exists() and stamp.read_text().split(" ", 1)[1] == shape:
            end = int(stamp.read_text().split(" ", 1)[0])
            print(f"reusing the blocks in {data} (evaluation time {end})")
        else:
            shutil.rmtree(data, ignore_errors=True)
            end = int(time.time()) // 60 * 60
            start = end - int(args.hours * 3600)
            om = tmp / "data.om"
            t0 = time.perf_counter()
            n = write_openmetrics(om, args.instances, args.groups, start, end, args.interval)
            print(f"generated {n:,} samples for {args.instances} instances × {args.groups} groups "
                  f"in {time.perf_counter() - t0:.1f}s")
            subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(data)],
                           check=True, stdout=subprocess.DEVNULL)
            om.unlink()
            stamp.write_text(f"{end} {shape}")
        port = free_port()
        (tmp / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
        prom = subprocess.Popen(["prometheus", f"--config.file={tmp / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
                                 "--storage.tsdb.retention.time=30d", "--log.level=warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", proc=prom, timeout=120)
        sets = ("lookback=1h", "step=1m", "scaling.lookback=2h", "scaling.step=2m")
        cfg = C.build(prometheus_url=url, sets=sets, concurrency=args.concurrency, env={})
        best = None
        ratios = []
        # One sequential pass first: where the time goes without overlap.
        seq = C.build(prometheus_url=url, sets=sets, concurrency=1, env={})
        src = Recording(seq.prometheus)
        t0 = time.perf_counter()
        execute(seq, source=src, now=float(end))
        wall = time.perf_counter() - t0
        import requests
        raw = 0.0
        with requests.Session() as http:
            http.headers["Accept-Encoding"] = "identity"
            for path, form in src.log:
                t1 = time.perf_counter()
                http.post(url + path, data=form).content
                raw += time.perf_counter() - t1
        print(f"sequential: {wall:.3f}s = fetching {src.fetch:.3f}s ({src.points:,} points; of which the HTTP "
              f"exchange alone, without decoding, {raw:.3f}s) + analysis/rendering {wall - src.fetch:.3f}s")
        for run in range(args.runs):
            src = Recording(cfg.prometheus)
            t0, c0, p0 = time.perf_counter(), time.process_time(), cpu_seconds(prom.pid)
            report = execute(cfg, source=src, now=float(end))
            wall = time.perf_counter() - t0
            ours, theirs = time.process_time() - c0, cpu_seconds(prom.pid) - p0
            eval_total = 0.0
            p0 = cpu_seconds(prom.pid)
            for path, form in src.log:
                body = src.raw(path, {**form, "stats": "all"})
                eval_total += body["data"]["stats"]["timings"]["evalTotalTime"]
            replay = cpu_seconds(prom.pid) - p0
            ratio = wall / eval_total if eval_total else float("inf")
            print(f"run {run + 1}: advisor {wall:.3f}s for {len(src.log)} queries; Prometheus evalTotalTime sum "
                  f"{eval_total:.3f}s; ratio {ratio:.2f}; findings {len(report.findings)}, "
                  f"evaluated {report.evaluated_count}/{len(report.results)}; CPU: advisor {ours:.2f}s, Prometheus "
                  f"{theirs:.2f}s (replay {replay:.2f}s); load {os.getloadavg()[0]:.1f}")
            best = ratio if best is None else min(best, ratio)
            ratios.append(ratio)
        if args.report:
            from perfadvisor.advisor.reports.json_report import as_dict
            body = as_dict(report)
            body.pop("generated_at", None)
            args.report.write_text(json.dumps(body, indent=1, sort_keys=True, default=str))
        ratios.sort()
        median = ratios[len(ratios) // 2] if len(ratios) % 2 else sum(ratios[len(ratios) // 2 - 1:][:2]) / 2
        print(f"advisor wall / Prometheus eval: median {median:.2f}, best {best:.2f} over {len(ratios)} runs "
              "(target ≤ 1.5)")
        what_if_server_side(src)
    finally:
        if prom:
            stop(prom)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
