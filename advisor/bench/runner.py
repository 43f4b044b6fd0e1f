"""Run a bench: start the worker processes, merge their per-second reports, build the BenchResult.

``run(spec, progress=…)`` is the library entry point (the CLI and, later, the service call it). Workers share
one start time on the system-wide monotonic clock, so their schedules interleave exactly.
"""
from __future__ import annotations

import multiprocessing as mp
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from multiprocessing.connection import wait
from typing import Callable

from ..errors import AdvisorError
from . import histogram as H
from . import worker
from .result import BenchResult, Interval
from .spec import BenchSpec


class BenchError(AdvisorError):
    """The load generator itself failed (a worker process died); exit 2 like other setup errors."""


@dataclass(frozen=True)
class Progress:
    """What the progress line shows, once a second."""

    elapsed: float
    total: float
    warmup: bool
    sent: int
    rate: float           # requests started per second over the last finished seconds
    p99: float | None     # seconds, so far
    errors: int
    dropped: int


def spec_dict(spec: BenchSpec) -> dict:
    return {"model": "open" if spec.open_model else "closed", "rate": spec.rate,
            "stages": [{"duration": d, "target": t} for d, t in spec.stages],
            "duration": spec.load_duration, "warmup": spec.warmup, "connections": spec.connections,
            "processes": spec.processes, "timeout": spec.timeout,
            "targets": [{"url": t.url, "method": t.method, "weight": t.weight, "name": t.name} for t in spec.targets]}


def _version() -> str:
    try:
        return version("perfadvisor")
    except PackageNotFoundError:
        return ""


def run(spec: BenchSpec, progress: Callable[[Progress], None] | None = None) -> BenchResult:
    """Run the bench described by ``spec`` (checked against the caps first) and return its result."""
    spec.check()
    spec = spec.resolved()
    n = spec.processes
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    t0 = time.monotonic() + 0.2 + 0.05 * n          # every worker is up before the schedule starts
    wall_t0 = time.time() + (t0 - time.monotonic())
    nint = max(1, int(round(spec.load_duration)))
    intervals = [Interval(t=float(i)) for i in range(nint)]
    targets = [{"label": t.label, "requests": 0, "errors": 0} for t in spec.targets]
    procs, readers = [], {}
    try:
        for i in range(n):
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=worker.main, args=(spec, i, n, t0, w), daemon=True)
            p.start()
            w.close()
            procs.append(p)
            readers[r] = i
        deadline = t0 + spec.warmup + spec.load_duration + 2 * spec.timeout + 30
        done: set[int] = set()
        reported = -1
        while len(done) < n:
            if time.monotonic() > deadline:
                raise BenchError("the load generator did not finish in time (a worker process hung)")
            for r in wait(list(readers), timeout=0.25):
                try:
                    msg = r.recv()
                except EOFError:
                    i = readers.pop(r)
                    if i not in done:
                        raise BenchError(f"worker process {i} exited unexpectedly "
                                         f"(exit code {procs[i].exitcode})") from None
                    continue
                kind = msg[0]
                if kind == "interval":
                    _, idx, data = msg
                    iv = intervals[idx]
                    iv.sent += data["sent"]
                    iv.dropped += data["dropped"]
                    iv.status.update(data["status"])
                    iv.errors.update(data["errors"])
                    H.merge(iv.latency, data["latency"])
                    H.merge(iv.service_time, data["service_time"])
                elif kind == "done":
                    done.add(readers[r])
                    for t, (req, err) in zip(targets, msg[1]["targets"]):
                        t["requests"] += req
                        t["errors"] += err
                elif kind == "fatal":
                    raise BenchError(f"worker process {readers[r]} failed: {msg[1]}")
            now = time.monotonic()
            second = int(now - t0)
            if progress is not None and second != reported and now >= t0:
                reported = second
                progress(_progress(spec, now - t0, intervals))
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)
    started = wall_t0 + spec.warmup
    return BenchResult(spec=spec_dict(spec), started=started, ended=started + spec.load_duration,
                       intervals=intervals, targets=targets, version=_version())


def _progress(spec: BenchSpec, elapsed: float, intervals: list[Interval]) -> Progress:
    measured = elapsed - spec.warmup
    full = [iv for iv in intervals if iv.t + 1 <= measured - 0.5 and iv.t + 1 > measured - 3.5]
    h = H.new()
    for iv in intervals:
        h.add(iv.latency)
    rate = sum(iv.sent for iv in full) / len(full) if full else 0.0
    return Progress(elapsed=elapsed, total=spec.warmup + spec.load_duration, warmup=measured < 0,
                    sent=sum(iv.sent for iv in intervals), rate=rate,
                    p99=h.get_value_at_percentile(99) / 1e6 if h.get_total_count() else None,
                    errors=sum(iv.error_count for iv in intervals), dropped=sum(iv.dropped for iv in intervals))
