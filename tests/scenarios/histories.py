"""Backfilled scenarios: three days of synthetic history at 1-minute resolution, one host per scenario, under the
names our exporter publishes; judged by `advisor run` with its default windows, as of the history's end.

The synthetic clock puts the end of the history at 14:00: the under-provisioned host is in its busy day, and the
service with a daily memory cycle is five hours into its daily rise (the hardest moment to tell it from a leak).
"""
from __future__ import annotations

import numpy as np

from tests.support.backfill import History, node_host, process_group

from .harness import Expect, Quiet, Scenario

DAYS = 3
END_HOUR = 14.0
GiB, MiB = 1024.0 ** 3, 1024.0 ** 2
PORT = ":9100"


def hour_of_day(h: History) -> np.ndarray:
    return ((h.times - h.end) / 3600.0 + END_HOUR) % 24.0


def daytime(h: History) -> np.ndarray:
    """0 at night, rising to 1 at 14:00 and back to 0 at 20:00 (a business-day load curve)."""
    hod = hour_of_day(h)
    return np.where((hod >= 8) & (hod <= 20), np.sin(np.pi * (hod - 8) / 12.0), 0.0)


def _sizing(want: str):
    def check(f: dict) -> str | None:
        s = f.get("sizing") or {}
        cur, rec, cost = s.get("current"), s.get("recommended"), s.get("monthly_cost_change")
        if cur is None or rec is None:
            return f"no sizing in the finding: {s}"
        if want == "fewer" and not (rec < cur and cost is not None and cost < 0):
            return f"recommended {rec} of {cur} cores, cost change {cost}: expected fewer cores and savings"
        if want == "more" and not rec > cur:
            return f"recommended {rec} of {cur} cores: expected more"
        return None
    return check


def _slope_mib_per_hour(lo: float, hi: float):
    def check(f: dict) -> str | None:
        slope = ((f.get("projection") or {}).get("slope") or 0.0) * 3600 / MiB
        return None if lo <= slope <= hi else f"slope {slope:.1f} MiB/h, expected {lo}–{hi}"
    return check


def _time_to_full(lo_h: float, hi_h: float):
    def check(f: dict) -> str | None:
        ttl = (f.get("projection") or {}).get("time_to_limit")
        if ttl is None:
            return "no time to full in the projection"
        return None if lo_h * 3600 <= ttl <= hi_h * 3600 else f"time to full {ttl / 3600:.1f} h, expected {lo_h}–{hi_h} h"
    return check


def build(end: float) -> tuple[History, list[Scenario]]:
    """The history (not yet written) and the scenarios it holds."""
    h = History(end, DAYS * 86400, step=60)
    t_h = h.t / 3600.0
    day = daytime(h)
    scenarios: list[Scenario] = []

    # Over-provisioned: 8 cores, ~5 % busy.
    inst = "over-provisioned" + PORT
    node_host(h, inst, cores=8, busy=0.04 + 0.03 * day + h.noise(0.004), mem_total=32 * GiB,
              mem_used=17 * GiB + 1 * GiB * day)
    scenarios.append(Scenario(
        "backfill-over-provisioned", "an 8-core host using about 5 % of its CPU for three days",
        expect=(Expect("scaling-host-cpu-downsize", {"instance": inst}, check=_sizing("fewer"),
                       what="recommends fewer cores, with the monthly savings"),),
        quiet=(Quiet("scaling-host-cpu-upsize", {"instance": inst}), Quiet("host-cpu-saturation", {"instance": inst}))))

    # Under-provisioned: 4 cores, saturated 06:00–24:00 every day.
    inst = "under-provisioned" + PORT
    hod = hour_of_day(h)
    node_host(h, inst, cores=4, busy=np.where(hod >= 6, 0.97, 0.55) + h.noise(0.01), mem_total=16 * GiB,
              mem_used=9 * GiB + h.noise(0.05 * GiB))
    scenarios.append(Scenario(
        "backfill-under-provisioned", "a 4-core host at 97 % CPU 18 hours a day for three days",
        expect=(Expect("host-cpu-saturation", {"instance": inst}, min_confidence="medium",
                       what="CPU saturation fires, with at least medium confidence on three days of data"),
                Expect("scaling-host-cpu-upsize", {"instance": inst}, check=_sizing("more"),
                       what="recommends more cores")),
        quiet=(Quiet("scaling-host-cpu-downsize", {"instance": inst}),)))

    # A slow leak: 20 MiB/h with 0.25 % noise, for three days.
    inst, group = "slow-leak" + PORT, "ingest"
    rss = (400 * MiB + 20 * MiB * t_h) * (1 + h.noise(0.0025))
    node_host(h, inst, cores=2, busy=0.2 + h.noise(0.02), mem_total=16 * GiB, mem_used=3 * GiB + rss)
    process_group(h, inst, group, cores=0.15 + h.noise(0.01), rss=rss)
    scenarios.append(Scenario(
        "backfill-slow-leak", "a process group whose resident memory grows 20 MiB/h (0.25 % noise) for three days",
        expect=(Expect("process-memory-leak", {"instance": inst, "groupname": group}, min_confidence="high",
                       check=_slope_mib_per_hour(14, 26),
                       what="the leak is found with high confidence and its rate is right"),)))

    # A healthy service whose memory rises for 6 h every day (09:00–15:00) and falls back.
    inst, group = "daily-cycle" + PORT, "webapp"
    rise = np.where((hod >= 9) & (hod < 15), (hod - 9) / 6.0,
                    np.where((hod >= 15) & (hod < 15.5), 1.0 - (hod - 15) / 0.5, 0.0))
    rss = (600 * MiB + 400 * MiB * rise) * (1 + h.noise(0.0025))
    node_host(h, inst, cores=2, busy=0.25 + 0.1 * day + h.noise(0.02), mem_total=16 * GiB, mem_used=4 * GiB + rss)
    process_group(h, inst, group, cores=0.3 + 0.2 * day + h.noise(0.02), rss=rss)
    scenarios.append(Scenario(
        "backfill-daily-memory-cycle", "a healthy service whose memory rises 400 MiB over 6 h each day and falls "
        "back; evaluated 5 h into the rise",
        quiet=(Quiet("process-memory-leak", {"instance": inst, "groupname": group},
                     what="a daily cycle is not a leak"),)))

    # A right-sized host: 4 cores at 35–60 %, memory at 60–66 %, two steady services.
    inst = "right-sized" + PORT
    node_host(h, inst, cores=4, busy=0.35 + 0.2 * day + h.noise(0.02), mem_total=16 * GiB,
              mem_used=9.6 * GiB + 1 * GiB * day)
    process_group(h, inst, "api", cores=0.5 + 0.25 * day + h.noise(0.03), rss=2 * GiB * (1 + h.noise(0.005)),
                  procs=4)
    process_group(h, inst, "worker", cores=0.25 + h.noise(0.02), rss=600 * MiB * (1 + h.noise(0.005)))
    scenarios.append(Scenario(
        "backfill-right-sized", "a host whose CPU (p95 ≈ 60 %) and memory (peak ≈ 66 %) fit, with two steady "
        "services",
        quiet=(Quiet("scaling-*", {"instance": inst}, what="no scaling finding: sizing belongs in the sizing table"),
               Quiet("host-cpu-saturation", {"instance": inst}),
               Quiet("process-memory-leak", {"instance": inst}))))

    # A filesystem filling at 5 GiB/h: 110 GiB of 1000 GiB left, full in 22 h.
    inst = "filling-disk" + PORT
    data = 470 * GiB - 5 * GiB * t_h + h.noise(0.02 * GiB)
    root = 60 * GiB + h.noise(0.05 * GiB)
    node_host(h, inst, cores=2, busy=0.25 + h.noise(0.02), mem_total=8 * GiB, mem_used=3 * GiB,
              filesystems=(("/data", "/dev/sdb1", 1000 * GiB, data), ("/", "/dev/sda1", 100 * GiB, root)))
    scenarios.append(Scenario(
        "backfill-filling-disk", "/data loses 5 GiB/h for three days; 110 GiB of 1000 GiB are left",
        expect=(Expect("host-filesystem-fill-up", {"instance": inst, "mountpoint": "/data"},
                       check=_time_to_full(18, 26), what="fill-up fires with the time to full (22 h)"),),
        quiet=(Quiet("host-filesystem-fill-up", {"instance": inst, "mountpoint": "/"}),
               Quiet("host-filesystem-almost-full", {"instance": inst}))))

    # A healthy multi-worker service at ~3.2 cores (p95) on an otherwise idle 8-core host.
    inst, group = "multi-worker" + PORT, "workers"
    cores = 2.6 + 0.6 * day + h.noise(0.08)
    node_host(h, inst, cores=8, busy=(cores + 0.3) / 8, mem_total=32 * GiB, mem_used=12 * GiB)
    process_group(h, inst, group, cores=cores, rss=3 * GiB * (1 + h.noise(0.003)), procs=8, threads=64)
    scenarios.append(Scenario(
        "backfill-multi-worker", "a healthy 8-process service using 3.2 cores (p95) of an otherwise idle 8-core host",
        quiet=(Quiet("process-cpu-hog", {"instance": inst, "groupname": group},
                     what="a big service on an idle host is not a hog"),
               Quiet("host-cpu-saturation", {"instance": inst}))))

    # A new host, saturated for the 3 minutes it has existed: the 15-minute `for` cannot have passed.
    inst = "new-host" + PORT
    node_host(h, inst, cores=2, busy=np.ones_like(h.t), mem_total=8 * GiB, mem_used=2 * GiB, since=end - 180)
    scenarios.append(Scenario(
        "backfill-new-saturated-host", "a host saturated for the 3 minutes of history it has",
        expect=(Expect("host-cpu-saturation", {"instance": inst}, states=("pending",),
                       what="pending, not firing: the condition has held 3 of the 15 minutes of its `for`"),)))
    runtime_scenarios(h, scenarios)
    return h, scenarios


def _sawtooth(h: History, floor: np.ndarray, teeth: np.ndarray, period_min: float = 4.0) -> np.ndarray:
    """A heap between collections: `floor` (what survives GC) plus garbage that builds up for `period_min`
    minutes and is collected."""
    phase = (h.t / 60.0 % period_min) / period_min
    return floor + teeth * phase


def _cumulative(h: History, per_second: np.ndarray) -> np.ndarray:
    """A counter's values (for client-library names that end in _sum or _count rather than _total)."""
    return 1e3 + np.cumsum(np.clip(per_second, 0, None) * h.step)


def runtime_scenarios(h: History, scenarios: list[Scenario]) -> None:
    """Services publishing their runtime's client-library metrics (Node.js prom-client, Go client_golang, the
    JVM's simpleclient_hotspot), each under its own job on a host, judged by the runtime pack's defaults."""
    t_h = h.t / 3600.0
    day = daytime(h)
    hod = hour_of_day(h)

    # Node.js leaking timers: each keeps its closure, so the heap left after GC rises 8 MiB/h under a busy
    # sawtooth, with 12 more Timeout handles an hour.
    job, inst = "checkout", "node-timer-leak:3000"
    labels = {"job": job, "instance": inst}
    floor = 90 * MiB + 8 * MiB * t_h + h.noise(0.3 * MiB)
    h.gauge("nodejs_heap_size_used_bytes", labels, _sawtooth(h, floor, 20 * MiB + 20 * MiB * day))
    h.gauge("nodejs_heap_size_total_bytes", labels, floor + 60 * MiB)
    h.gauge("nodejs_active_resources", {**labels, "type": "Timeout"}, np.round(20 + 12 * t_h))
    h.gauge("nodejs_active_resources", {**labels, "type": "TCPSocketWrap"},
            np.round(40 + 30 * day + h.noise(3)))
    h.gauge("nodejs_eventloop_lag_p99_seconds", labels, 0.012 + 0.004 * day + np.abs(h.noise(0.001)))
    h.gauge("nodejs_gc_duration_seconds_sum", {**labels, "kind": "minor"}, _cumulative(h, 0.01 + 0.01 * day))
    h.gauge("nodejs_gc_duration_seconds_count", {**labels, "kind": "minor"}, _cumulative(h, 2 + 2 * day))
    h.counter("process_cpu_seconds_total", labels, 0.15 + 0.2 * day + h.noise(0.01))
    scenarios.append(Scenario(
        "backfill-node-timer-leak", "a Node.js service whose timers are never cleared: +12 Timeout handles/h, "
        "the heap left after GC +8 MiB/h under a sawtooth that doubles by day, for three days",
        expect=(Expect("runtime-handle-leak", {"job": job, "instance": inst, "type": "Timeout"},
                       what="the timer leak is found"),
                Expect("runtime-heap-leak", {"job": job, "instance": inst}, text=r"handles that are never closed",
                       check=_slope_mib_per_hour(5, 11), what="the heap leak is found, its rate right and the timers "
                                                             "named as its cause"),),
        quiet=(Quiet("runtime-handle-leak", {"job": job, "type": "TCPSocketWrap"}),
               Quiet("runtime-eventloop-lag", {"job": job}), Quiet("runtime-gc-pressure", {"job": job}))))

    # A healthy Node.js service whose heap floor rises 60 MiB each business day (a cache warming) and is
    # released at night; timers come and go with the load.
    job, inst = "catalog", "node-daily-heap:3000"
    labels = {"job": job, "instance": inst}
    warm = np.where((hod >= 8) & (hod < 20), (hod - 8) / 12.0, 0.0)
    floor = 120 * MiB + 60 * MiB * warm + h.noise(0.3 * MiB)
    h.gauge("nodejs_heap_size_used_bytes", labels, _sawtooth(h, floor, 25 * MiB + 25 * MiB * day))
    h.gauge("nodejs_heap_size_total_bytes", labels, floor + 80 * MiB)
    h.gauge("nodejs_active_resources", {**labels, "type": "Timeout"}, np.round(30 + 20 * day + h.noise(2)))
    h.gauge("nodejs_eventloop_lag_p99_seconds", labels, 0.011 + 0.005 * day + np.abs(h.noise(0.001)))
    h.gauge("nodejs_gc_duration_seconds_sum", {**labels, "kind": "minor"}, _cumulative(h, 0.008 + 0.01 * day))
    h.counter("process_cpu_seconds_total", labels, 0.1 + 0.25 * day + h.noise(0.01))
    scenarios.append(Scenario(
        "backfill-node-daily-heap", "a healthy Node.js service whose heap floor rises 60 MiB every business day "
        "and is released at night; evaluated 6 h into the rise",
        quiet=(Quiet("runtime-heap-leak", {"job": job}, what="a daily cache is not a leak"),
               Quiet("runtime-handle-leak", {"job": job}), Quiet("runtime-eventloop-lag", {"job": job}),
               Quiet("runtime-gc-pressure", {"job": job}))))

    # A Go service whose goroutines wait forever on a channel: +60/h on top of a daily load cycle.
    job, inst = "payments", "go-goroutine-leak:8080"
    labels = {"job": job, "instance": inst}
    h.gauge("go_goroutines", labels, np.round(150 + 60 * t_h + 200 * day + h.noise(5)))
    h.gauge("go_threads", labels, 14)
    h.gauge("go_memstats_heap_alloc_bytes", labels, _sawtooth(h, 30 * MiB + h.noise(0.2 * MiB), 30 * MiB))
    h.gauge("go_memstats_next_gc_bytes", labels, 60 * MiB)
    h.gauge("go_gc_duration_seconds_sum", labels, _cumulative(h, 0.0004 + 0.0004 * day))
    h.gauge("go_gc_duration_seconds_count", labels, _cumulative(h, 0.3 + 0.3 * day))
    h.counter("go_memstats_alloc_bytes_total", labels, (10 + 10 * day) * MiB)
    scenarios.append(Scenario(
        "backfill-go-goroutine-leak", "a Go service gaining 60 goroutines/h that never return, on top of 200 "
        "more by day, for three days",
        expect=(Expect("runtime-goroutine-leak", {"job": job, "instance": inst}, text=r"goroutine profile",
                       what="the goroutine leak is found"),),
        quiet=(Quiet("runtime-heap-leak", {"job": job}), Quiet("runtime-go-gc-frequent", {"job": job}),
               Quiet("runtime-gc-pressure", {"job": job}))))

    # A JVM (simpleclient_hotspot names) whose heap is 90 % of -Xmx: old-generation collections take 15 % of
    # its time by day; no leak, steady threads.
    job, inst = "search", "jvm-small-heap:9404"
    labels = {"job": job, "instance": inst}
    heap_max = 1024 * MiB
    h.gauge("jvm_memory_bytes_used", {**labels, "area": "heap"},
            _sawtooth(h, 880 * MiB + h.noise(2 * MiB), 40 * MiB, period_min=2))
    h.gauge("jvm_memory_bytes_max", {**labels, "area": "heap"}, heap_max)
    h.gauge("jvm_threads_current", labels, np.round(80 + h.noise(1)))
    h.gauge("jvm_threads_daemon", labels, 60)
    h.gauge("jvm_gc_collection_seconds_sum", {**labels, "gc": "G1 Old Generation"}, _cumulative(h, 0.08 + 0.1 * day))
    h.gauge("jvm_gc_collection_seconds_count", {**labels, "gc": "G1 Old Generation"}, _cumulative(h, 0.1 + 0.1 * day))
    h.gauge("jvm_gc_collection_seconds_sum", {**labels, "gc": "G1 Young Generation"}, _cumulative(h, 0.01))
    h.gauge("jvm_gc_collection_seconds_count", {**labels, "gc": "G1 Young Generation"}, _cumulative(h, 1.0))
    scenarios.append(Scenario(
        "backfill-jvm-small-heap", "a JVM at 90 % of -Xmx spending 15 % of its time in old-generation collections "
        "by day, without a leak",
        expect=(Expect("runtime-gc-pressure", {"job": job, "instance": inst}, text=r"raise `-Xmx`",
                       what="GC pressure fires and advises a larger heap, from the heap's fill"),),
        quiet=(Quiet("runtime-heap-leak", {"job": job}), Quiet("runtime-jvm-thread-leak", {"job": job}))))
