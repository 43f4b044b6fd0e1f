"""A child process that leaks memory (~2 MB/s) under its own name, watched by a process exporter and Prometheus."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from .exporter import Scraped, scraped_exporter
from .procs import stop

LEAKER = r"""
import sys, time
open("/proc/self/comm", "w").write(sys.argv[1])
chunks = []
while True:
    chunks.append(b"x" * 1_000_000)   # written bytes, so they are resident
    time.sleep(0.5)
"""


def leak_group(suffix: str = "") -> str:
    """A process name unique to this test run: exporters see every process on the host, other runs' leakers too.

    At most 15 characters, the kernel's limit for a command name (/proc/PID/comm).
    """
    return f"leak{os.getpid() % 10**9}{suffix}"[:15]


@contextlib.contextmanager
def leaking_process(name: str) -> Iterator[subprocess.Popen]:
    """A child named `name` whose resident memory grows ~2 MB/s until it is stopped."""
    proc = subprocess.Popen([sys.executable, "-c", LEAKER, name])
    try:
        # Exporters decide a process' group when they first see it (process-exporter keeps that choice for the
        # life of the PID), so nobody may see the child before it carries its name; a slow start under load did.
        comm, deadline = Path(f"/proc/{proc.pid}/comm"), time.monotonic() + 60
        while comm.read_text().strip() != name[:15]:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"leaking child did not take the name {name!r} (exit code {proc.poll()})")
            time.sleep(0.02)
        yield proc
    finally:
        stop(proc)


@contextlib.contextmanager
def scraped_leak(tmp: Path, group: str, binary: str, *args: str, job: str, history: float,
                 **scrape) -> Iterator[Scraped]:
    """A leaking child named `group`, an exporter (binary + args) that reports it, and Prometheus scraping that.

    Yields once Prometheus has `history` seconds of the group's memory series. **scrape go to scraped_exporter.
    """
    with leaking_process(group), scraped_exporter(tmp, binary, *args, job=job, **scrape) as scraped:
        scraped.prometheus.wait_for_series(f'namedprocess_namegroup_memory_bytes{{groupname="{group}"}}',
                                           timeout=60)
        time.sleep(history)
        yield scraped
