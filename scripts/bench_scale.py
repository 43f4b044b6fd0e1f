#!/usr/bin/env python3
"""Benchmark: `advisor run` with all built-in packs against a source answering N series per query.

The source is tests/support/fleet.py, a minimal Prometheus HTTP API that answers every query with the same N
series (2 h of history at 60 s), so every rule sees a fleet of N targets. For each N and report format the
advisor runs as the child of a small wrapper; the script prints its wall time, CPU time and peak RSS (the
advisor's own rusage), the report's size and the findings in it. There is no peer to compare with here (the fake
answers from a cache); the point is how time, memory and report size grow with N.

    .venv/bin/python scripts/bench_scale.py                       # --series 1000 10000 --formats json table
    .venv/bin/python scripts/bench_scale.py --series 100000 --formats json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fleet import Fleet  # noqa: E402

ADVISOR = [str(Path(sys.executable).parent / "advisor")]


# The advisor runs as the only child of a small wrapper that prints the advisor's own peak RSS. Read from this
# process, a child's ru_maxrss also counts this process's pages at the fork (the fleet's cached answers:
# gigabytes after a 10,000-series run), which is how a table run seemed to peak 1.6 GB above a JSON run.
_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
         "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
         "print(u.ru_utime + u.ru_stime, u.ru_maxrss, flush=True); sys.exit(r.returncode)")


def run_child(args: list[str], timeout: float) -> tuple[int, float, float, float, str]:
    """(exit code, wall seconds, CPU seconds, peak RSS MiB, stderr) of one advisor run."""
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", _PEAK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        out, err = p.communicate()
    wall = time.monotonic() - t0
    words = out.decode(errors="replace").split()
    try:
        cpu, peak = float(words[-2]), int(words[-1]) / 1024
    except (IndexError, ValueError):
        cpu = peak = float("nan")
    return p.returncode, wall, cpu, peak, err.decode(errors="replace")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--formats", nargs="+", default=["json", "table"])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--advisor-arg", action="append", default=[], help="extra argument for advisor run")
    a = ap.parse_args()
    print("load average %.1f %.1f %.1f (the machine's other jobs: CPU seconds move less than wall time)"
          % os.getloadavg())
    print(f"{'series':>8} {'format':>6} {'exit':>4} {'wall s':>8} {'CPU s':>7} {'peak RSS MiB':>12} {'report':>10} "
          f"{'findings':>9} {'load':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.series:
            with Fleet(n) as fleet:
                fleet.answer("/api/v1/query", {"query": "warm", "time": str(fleet.end)})
                for fmt in a.formats:
                    for _ in range(a.runs):
                        out = Path(tmp) / f"report.{fmt}"
                        code, wall, cpu, rss, err = run_child(
                            ADVISOR + ["run", "--prometheus", fleet.url, "--format", fmt, "-o", str(out),
                                       *a.advisor_arg], a.timeout)
                        size = out.stat().st_size if out.exists() else 0
                        found = "-"
                        if fmt == "json" and size:
                            found = str(len(json.loads(out.read_text())["findings"]))
                        print(f"{n:>8} {fmt:>6} {code:>4} {wall:>8.1f} {cpu:>7.1f} {rss:>12.0f} {size / 1e6:>8.1f}MB "
                              f"{found:>9} {os.getloadavg()[0]:>5.1f}", flush=True)
                        if code not in (0, 1):
                            print("   " + err.strip().splitlines()[-1] if err.strip() else "   (no stderr)")


if __name__ == "__main__":
    main()
