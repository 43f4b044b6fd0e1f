"""Processes & leaks: per process group usage and its growth (process-exporter names)."""
from __future__ import annotations

from .core import SEL, Dashboard, query_variable, table, target as t, timeseries

RATE = "$__rate_interval"
G = f'{SEL},groupname=~"$groupname"'
# Leaks show as steady growth over tens of minutes; deriv() fits a line through that window, so a
# short spike does not read as a leak the way a rate over $__rate_interval would.
LEAK_WINDOW = "30m"
RSS = f'namedprocess_namegroup_memory_bytes{{{G},memtype="resident"}}'


def build() -> Dashboard:
    d = Dashboard("perfadvisor-processes", "Processes & leaks",
                  "Per process group CPU, memory, file descriptors and threads, and how fast they grow.",
                  key_metric="namedprocess_namegroup_num_procs", tags=["processes"],
                  extra_variables=[query_variable(
                      "groupname", 'namedprocess_namegroup_num_procs{job=~"$job",instance=~"$instance"}',
                      "groupname", title="Process group")])
    d.row(
        "Usage",
        timeseries("CPU by group",
                   t(f"sum by (instance, groupname) (rate(namedprocess_namegroup_cpu_seconds_total{{{G}}}[{RATE}]))",
                     "{{instance}} {{groupname}}"), unit="percentunit", min=0, stack=True,
                   description="CPU seconds per second, user plus system (1.0 = one full core)."),
        timeseries("Resident memory by group", t(RSS, "{{instance}} {{groupname}}"), unit="bytes", min=0, stack=True),
        timeseries("Processes", t(f"namedprocess_namegroup_num_procs{{{G}}}", "{{instance}} {{groupname}}"),
                   unit="short", min=0, w=8),
        timeseries("Threads", t(f"namedprocess_namegroup_num_threads{{{G}}}", "{{instance}} {{groupname}}"),
                   unit="short", min=0, w=8),
        timeseries("Open file descriptors",
                   t(f"namedprocess_namegroup_open_filedesc{{{G}}}", "{{instance}} {{groupname}}"),
                   unit="short", min=0, w=8),
    )
    d.row(
        "Growth (leak suspects)",
        timeseries(f"Resident memory growth ({LEAK_WINDOW} trend)", t(f"deriv({RSS}[{LEAK_WINDOW}])", "{{instance}} {{groupname}}"),
                   unit="Bps", w=8,
                   description="Slope of a straight line through resident memory; steadily above 0 is a leak suspect."),
        timeseries(f"File descriptor growth ({LEAK_WINDOW} trend)",
                   t(f"deriv(namedprocess_namegroup_open_filedesc{{{G}}}[{LEAK_WINDOW}]) * 3600",
                     "{{instance}} {{groupname}}"), unit="short", w=8,
                   description="Descriptors gained per hour; steady growth means descriptors are not closed."),
        timeseries(f"Thread growth ({LEAK_WINDOW} trend)",
                   t(f"deriv(namedprocess_namegroup_num_threads{{{G}}}[{LEAK_WINDOW}]) * 3600",
                     "{{instance}} {{groupname}}"), unit="short", w=8,
                   description="Threads gained per hour."),
        timeseries("Worst descriptor ratio",
                   t(f"namedprocess_namegroup_worst_fd_ratio{{{G}}}", "{{instance}} {{groupname}}"),
                   unit="percentunit", min=0, max=1, thresholds=[(None, "green"), (0.8, "red")],
                   description="Open descriptors against the soft limit, for the worst process of the group."),
        timeseries("Group age", t(f"time() - namedprocess_namegroup_oldest_start_time_seconds{{{G}}}",
                                  "{{instance}} {{groupname}}"), unit="s", min=0,
                   description="Since the oldest process of the group started; a drop means a restart."),
    )
    d.row(
        "I/O and scheduling",
        timeseries("Disk I/O",
                   t(f"rate(namedprocess_namegroup_read_bytes_total{{{G}}}[{RATE}])", "{{instance}} {{groupname}} read"),
                   t(f"rate(namedprocess_namegroup_write_bytes_total{{{G}}}[{RATE}])", "{{instance}} {{groupname}} write"),
                   unit="Bps", min=0, w=8),
        timeseries("Context switches",
                   t(f"sum by (instance, groupname, ctxswitchtype) "
                     f"(rate(namedprocess_namegroup_context_switches_total{{{G}}}[{RATE}]))",
                     "{{instance}} {{groupname}} {{ctxswitchtype}}"), unit="short", min=0, w=8,
                   description="Nonvoluntary switches mean the group wanted more CPU than it got."),
        timeseries("Major page faults",
                   t(f"rate(namedprocess_namegroup_major_page_faults_total{{{G}}}[{RATE}])", "{{instance}} {{groupname}}"),
                   unit="short", min=0, w=8,
                   description="Faults served from disk; sustained values mean the group's memory was paged out."),
        table("Groups now",
              f"sum by (instance, groupname) ({RSS})", hide=["job"], unit="bytes",
              rename={"Value": "resident memory", "groupname": "group"}, sort_by="resident memory"),
    )
    return d
