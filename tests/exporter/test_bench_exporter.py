"""The exporter benchmark script runs end to end (tiny counts): it starts both exporters, prints the comparison
table and the per-process figure, and leaves no process behind. Its timings are not asserted."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.procs import need_binary

pytestmark = pytest.mark.slow


def _bench_processes() -> set[int]:
    """Processes the benchmark starts: the two exporters and its sleepers."""
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            name = os.path.basename(args[0]) if args else b""
            if name in (b"prometheus-node-exporter", b"perfadvisor-exporter") or args[:2] == [b"sleep", b"900"]:
                out.add(int(d))
    return out


def test_bench_script_runs_and_cleans_up(repo_root):
    need_binary("prometheus-node-exporter")
    before = _bench_processes()
    r = subprocess.run([sys.executable, str(repo_root / "scripts" / "bench_exporter.py"), "--scrapes", "6",
                        "--parallel", "2", "--procs", "5"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "sequential x6" in r.stdout and "host only (no procs)" in r.stdout and "ratio" in r.stdout
    assert "µs CPU per process per collection" in r.stdout
    assert not (_bench_processes() - before)  # no exporter or sleeper left running
