#!/usr/bin/env python3
"""The embedded PromQL engine vs a real Prometheus on the same data, query by query.

Usage: .venv/bin/python scripts/bench_promql.py [--instances 5000] [--repeat 3] [--prometheus PATH]

Generates OpenMetrics data (by default 10k counter series, 5k info series and a 1.2k-series classic
histogram family, 1 h at 15 s), backfills it with ``promtool tsdb create-blocks-from openmetrics`` into a
temp TSDB, starts Prometheus on a free loopback port over it, loads the same file into the embedded engine,
then runs each query as an instant and a range query (1 h, step 15 s). Prometheus' time is its own
``stats=all`` evalTotalTime; ours is wall time of the engine call (best of --repeat). Results are checked
to agree. Samples sit at .25 s so no sample falls on a window edge (the Debian Prometheus is 2.x, whose
windows are closed on the left; the engine follows Prometheus 3's left-open windows).
"""
from __future__ import annotations

import argparse
import math
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfadvisor.advisor.promql import engine  # noqa: E402
from perfadvisor.advisor.promql.loaders import load_file  # noqa: E402

QUERIES = [
    ("rate", "rate(bench_requests_total[5m])"),
    ("sum by rate", "sum by (job) (rate(bench_requests_total[5m]))"),
    ("quantile_over_time", "quantile_over_time(0.9, bench_requests_total[5m])"),
    ("histogram_quantile", "histogram_quantile(0.9, sum by (le) (rate(bench_latency_seconds_bucket[5m])))"),
    ("group_left join", "rate(bench_requests_total[5m]) * on (instance) group_left (team) bench_instance_info"),
    ("topk", "topk(10, rate(bench_requests_total[5m]))"),
]
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generate(path: Path, instances: int, start: float, points: int, step: float) -> int:
    """Write the OpenMetrics file; returns the number of series."""
    rnd = random.Random(42)
    n = 0
    with path.open("w") as f:
        f.write("# TYPE bench_requests counter\n")
        for i in range(instances):
            for h in range(2):
                labels = f'instance="i{i}",job="job{i % 10}",handler="h{h}"'
                v = rnd.uniform(0, 1000)
                lines = []
                for p in range(points):
                    v += rnd.uniform(0, 10)
                    lines.append(f"bench_requests_total{{{labels}}} {v:.6f} {start + p * step:.3f}\n")
                f.writelines(lines)
                n += 1
        f.write("# TYPE bench_instance_info gauge\n")
        for i in range(instances):
            labels = f'instance="i{i}",team="t{i % 7}"'
            f.writelines(f"bench_instance_info{{{labels}}} 1 {start + p * step:.3f}\n" for p in range(points))
            n += 1
        f.write("# TYPE bench_latency_seconds histogram\n")
        for i in range(max(1, instances // 50)):
            counts = [0.0] * len(BUCKETS)
            rows: dict[str, list[str]] = {le: [] for le in BUCKETS}
            for p in range(points):
                cum = 0.0
                for b, le in enumerate(BUCKETS):
                    cum += rnd.randint(0, 5)
                    counts[b] += cum
                    rows[le].append(f'bench_latency_seconds_bucket{{instance="i{i}",le="{le}"}} {counts[b]:g} '
                                    f"{start + p * step:.3f}\n")
            for le in BUCKETS:
                f.writelines(rows[le])
                n += 1
        f.write("# EOF\n")
    return n


def prom_query(url: str, path: str, params: dict) -> dict:
    r = requests.post(url + path, data={**params, "stats": "all"}, timeout=600)
    r.raise_for_status()
    body = r.json()
    if body.get("status") != "success":
        raise RuntimeError(body)
    return body["data"]


def ours(storage, query: str, kind: str, t: dict):
    if kind == "instant":
        return engine.instant(storage, query, int(t["time"] * 1000))
    return engine.range_query(storage, query, int(t["start"] * 1000), int(t["end"] * 1000), int(t["step"] * 1000))


def agree(res, data: dict) -> str:
    """'ok' when both sides return the same series and values within 1e-6 relative."""
    theirs = {}
    for item in data["result"]:
        pts = [item["value"]] if "value" in item else item["values"]
        theirs[tuple(sorted(item["metric"].items()))] = [(round(float(t) * 1000), float(v)) for t, v in pts]
    mine = {tuple(sorted(lb.items())): pts for lb, pts in res.series}
    if set(theirs) != set(mine):
        only_mine = [dict(k) for k in set(mine) - set(theirs)][:2]
        only_theirs = [dict(k) for k in set(theirs) - set(mine)][:2]
        return f"series differ ({len(mine)} vs {len(theirs)}; only embedded {only_mine}, only Prometheus {only_theirs})"
    for key, pts in mine.items():
        other = theirs[key]
        if len(pts) != len(other):
            return f"point count differs for {dict(key)}"
        for (t1, v1), (t2, v2) in zip(pts, other):
            if t1 != t2 or not (v1 == v2 or (math.isnan(v1) and math.isnan(v2))
                                or abs(v1 - v2) <= 1e-6 * max(abs(v1), abs(v2))):
                return f"value differs for {dict(key)} at {t1}: {v1} vs {v2}"
    return "ok"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=5000, help="instances (2 counter series each)")
    ap.add_argument("--points", type=int, default=240, help="samples per series (15 s apart)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", help="run only queries whose label contains this text")
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    args = ap.parse_args()
    step = 15.0
    now = math.floor(time.time())
    start = now - 3 * 3600 + 0.25 - (now % 60)
    tmp = Path(tempfile.mkdtemp(prefix="bench-promql-"))
    proc = None
    try:
        om = tmp / "data.om"
        t0 = time.perf_counter()
        nseries = generate(om, args.instances, start, args.points, step)
        print(f"generated {nseries} series x {args.points} samples in {time.perf_counter() - t0:.1f}s", flush=True)
        t0 = time.perf_counter()
        subprocess.run([args.promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(om), str(tmp / "tsdb")],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"promtool backfill {time.perf_counter() - t0:.1f}s", flush=True)
        port = free_port()
        (tmp / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\n")
        proc = subprocess.Popen([args.prometheus, f"--config.file={tmp / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
                                 "--log.level=warn", "--query.max-samples=500000000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        storage = load_file(om)
        storage.flat()
        print(f"embedded load {time.perf_counter() - t0:.1f}s", flush=True)
        for _ in range(300):
            try:
                if requests.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        last = start + (args.points - 1) * step
        t_end = math.floor(last) - 1
        times = {"instant": {"time": t_end},
                 "range": {"start": t_end - 3600 + 15 * 21, "end": t_end, "step": step}}
        rows = []
        for label, q in QUERIES:
            if args.only and args.only not in label:
                continue
            for kind, t in times.items():
                path = "/api/v1/query" if kind == "instant" else "/api/v1/query_range"
                params = {"query": q, **{k: f"{v:g}" if k == "step" else f"{v:.3f}" for k, v in t.items()}}
                prom_best = ours_best = math.inf
                data = res = None
                for _ in range(args.repeat):
                    data = prom_query(url, path, params)
                    prom_best = min(prom_best, float(data["stats"]["timings"]["evalTotalTime"]))
                    t0 = time.perf_counter()
                    res = ours(storage, q, kind, t)
                    ours_best = min(ours_best, time.perf_counter() - t0)
                rows.append((label, kind, prom_best, ours_best, agree(res, data)))
                print(f"  {label:20} {kind:8} prometheus {prom_best * 1000:8.1f} ms  embedded {ours_best * 1000:8.1f} ms"
                      f"  ratio {ours_best / prom_best:5.2f}  {rows[-1][4]}", flush=True)
        print()
        print("| query | type | Prometheus evalTotalTime | embedded engine | ratio | results |")
        print("|---|---|---:|---:|---:|---|")
        for label, kind, p, o, ok in rows:
            print(f"| {label} | {kind} | {p * 1000:.1f} ms | {o * 1000:.1f} ms | {o / p:.2f}× | {ok} |")
        tot_p = sum(r[2] for r in rows)
        tot_o = sum(r[3] for r in rows)
        geo = math.exp(sum(math.log(r[3] / r[2]) for r in rows) / len(rows))
        print(f"\ntotal: Prometheus {tot_p * 1000:.0f} ms, embedded {tot_o * 1000:.0f} ms, "
              f"ratio of totals {tot_o / tot_p:.2f}×, geometric mean ratio {geo:.2f}×")
        return 0 if all(r[4] == "ok" for r in rows) else 1
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
