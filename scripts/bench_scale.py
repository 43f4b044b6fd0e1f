#!/usr/bin/env python3
"""Benchmark: `advisor run` with all built-in packs against a source answering N series per query.

The source is tests/support/fleet.py, a minimal Prometheus HTTP API that answers every query with the same N
series (2 h of history at 60 s), so every rule sees a fleet of N targets. For each N and report format the
advisor runs as a child process; the script prints its wall time, peak RSS (the child's rusage), the report's
size and the findings in it. There is no peer to compare with here (the fake answers from a cache); the point
is how time, memory and report size grow with N.

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


def run_child(args: list[str], timeout: float) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS MiB, stderr) of one child run."""
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024, err


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--formats", nargs="+", default=["json", "table"])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--advisor-arg", action="append", default=[], help="extra argument for advisor run")
    a = ap.parse_args()
    print(f"{'series':>8} {'format':>6} {'exit':>4} {'wall s':>8} {'peak RSS MiB':>12} {'report':>10} {'findings':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.series:
            with Fleet(n) as fleet:
                fleet.answer("/api/v1/query", {"query": "warm", "time": str(fleet.end)})
                for fmt in a.formats:
                    for _ in range(a.runs):
                        out = Path(tmp) / f"report.{fmt}"
                        code, wall, rss, err = run_child(
                            ADVISOR + ["run", "--prometheus", fleet.url, "--format", fmt, "-o", str(out),
                                       *a.advisor_arg], a.timeout)
                        size = out.stat().st_size if out.exists() else 0
                        found = "-"
                        if fmt == "json" and size:
                            found = str(len(json.loads(out.read_text())["findings"]))
                        print(f"{n:>8} {fmt:>6} {code:>4} {wall:>8.1f} {rss:>12.0f} {size / 1e6:>8.1f}MB {found:>9}",
                              flush=True)
                        if code not in (0, 1):
                            print("   " + err.strip().splitlines()[-1] if err.strip() else "   (no stderr)")


if __name__ == "__main__":
    main()
