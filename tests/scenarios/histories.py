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
    return h, scenarios
