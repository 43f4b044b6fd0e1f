"""Host overview: CPU, memory, disks, filesystems, network and pressure stall information (node_exporter names)."""
from __future__ import annotations

from .core import SEL, Dashboard, gauge, stat, target as t, timeseries

RATE = "$__rate_interval"
FS = f'{SEL},fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs"'
NET = f'{SEL},device!="lo"'
# Per-instance CPU count, for turning per-CPU seconds into a 0..1 share of the machine.
NCPU = f'count by (instance) (node_cpu_seconds_total{{{SEL},mode="idle"}})'


def build() -> Dashboard:
    d = Dashboard("perfadvisor-host", "Host overview", "CPU, memory, disks, network and pressure of each host.",
                  key_metric="node_load1", tags=["host"])
    d.row(
        "Overview",
        gauge("CPU busy", t(f'100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{{SEL},mode="idle"}}[{RATE}])))',
                            "{{instance}}"), unit="percent", thresholds=[(None, "green"), (80, "orange"), (95, "red")],
              description="Share of CPU time not idle, all CPUs."),
        gauge("Memory used", t(f"100 * (1 - node_memory_MemAvailable_bytes{{{SEL}}} / node_memory_MemTotal_bytes{{{SEL}}})",
                               "{{instance}}"), unit="percent", thresholds=[(None, "green"), (80, "orange"), (95, "red")],
              description="MemTotal minus MemAvailable: memory the kernel cannot hand out without reclaiming."),
        stat("Load (1m) per CPU", t(f"node_load1{{{SEL}}} / on (instance) {NCPU}", "{{instance}}"), unit="short",
             decimals=2, thresholds=[(None, "green"), (1, "orange"), (2, "red")], h=6,
             description="Run-queue length divided by CPU count; above 1 means work is waiting."),
        gauge("Fullest filesystem",
              t(f"100 * max by (instance) (1 - node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}})",
                "{{instance}}"), unit="percent", thresholds=[(None, "green"), (80, "orange"), (90, "red")],
              description="Used share of the fullest real filesystem (space available to unprivileged users)."),
    )
    d.row(
        "CPU",
        timeseries("CPU usage by mode",
                   t(f'sum by (instance, mode) (rate(node_cpu_seconds_total{{{SEL},mode!="idle"}}[{RATE}])) '
                     f"/ on (instance) group_left {NCPU}", "{{instance}} {{mode}}"),
                   unit="percentunit", stack=True, min=0,
                   description="Share of all CPUs spent in each non-idle mode; iowait and steal point outside the host."),
        timeseries("Load average",
                   t(f"node_load1{{{SEL}}}", "{{instance}} 1m"), t(f"node_load5{{{SEL}}}", "{{instance}} 5m"),
                   t(f"node_load15{{{SEL}}}", "{{instance}} 15m"), t(NCPU, "{{instance}} CPUs"), unit="short", min=0),
    )
    d.row(
        "Memory",
        timeseries("Memory",
                   t(f"node_memory_MemTotal_bytes{{{SEL}}} - node_memory_MemAvailable_bytes{{{SEL}}}", "{{instance}} used"),
                   t(f"node_memory_Cached_bytes{{{SEL}}} + node_memory_Buffers_bytes{{{SEL}}}", "{{instance}} cache+buffers"),
                   t(f"node_memory_MemFree_bytes{{{SEL}}}", "{{instance}} free"),
                   t(f"node_memory_MemTotal_bytes{{{SEL}}}", "{{instance}} total"), unit="bytes", min=0),
        timeseries("Swap used",
                   t(f"node_memory_SwapTotal_bytes{{{SEL}}} - node_memory_SwapFree_bytes{{{SEL}}}", "{{instance}}"),
                   unit="bytes", min=0, w=6),
        timeseries("Paging and OOM kills",
                   t(f"rate(node_vmstat_pgmajfault{{{SEL}}}[{RATE}])", "{{instance}} major faults/s"),
                   t(f"rate(node_vmstat_pswpin{{{SEL}}}[{RATE}]) + rate(node_vmstat_pswpout{{{SEL}}}[{RATE}])",
                     "{{instance}} swap pages/s"),
                   t(f"increase(node_vmstat_oom_kill{{{SEL}}}[{RATE}])", "{{instance}} OOM kills"),
                   unit="short", min=0, w=6,
                   description="Major faults and swapping mean memory pressure; any OOM kill deserves a look."),
    )
    d.row(
        "Disks",
        timeseries("Disk throughput",
                   t(f"rate(node_disk_read_bytes_total{{{SEL}}}[{RATE}])", "{{instance}} {{device}} read"),
                   t(f"rate(node_disk_written_bytes_total{{{SEL}}}[{RATE}])", "{{instance}} {{device}} written"),
                   unit="Bps", min=0, w=8),
        timeseries("Disk IOPS",
                   t(f"rate(node_disk_reads_completed_total{{{SEL}}}[{RATE}])", "{{instance}} {{device}} reads"),
                   t(f"rate(node_disk_writes_completed_total{{{SEL}}}[{RATE}])", "{{instance}} {{device}} writes"),
                   unit="iops", min=0, w=8),
        timeseries("Disk busy",
                   t(f"rate(node_disk_io_time_seconds_total{{{SEL}}}[{RATE}])", "{{instance}} {{device}}"),
                   unit="percentunit", min=0, max=1, w=8,
                   description="Share of time the device had I/O in flight; near 100% on a single disk is saturation."),
        timeseries("Average I/O latency",
                   t(f"rate(node_disk_read_time_seconds_total{{{SEL}}}[{RATE}]) "
                     f"/ rate(node_disk_reads_completed_total{{{SEL}}}[{RATE}])", "{{instance}} {{device}} read"),
                   t(f"rate(node_disk_write_time_seconds_total{{{SEL}}}[{RATE}]) "
                     f"/ rate(node_disk_writes_completed_total{{{SEL}}}[{RATE}])", "{{instance}} {{device}} write"),
                   unit="s", min=0,
                   description="Time per completed request (no value while a device is idle)."),
        timeseries("Filesystem used",
                   t(f"1 - node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}}",
                     "{{instance}} {{mountpoint}}"),
                   t(f"1 - node_filesystem_files_free{{{FS}}} / node_filesystem_files{{{FS}}}",
                     "{{instance}} {{mountpoint}} inodes"),
                   unit="percentunit", min=0, max=1),
    )
    d.row(
        "Network",
        timeseries("Network traffic",
                   t(f"rate(node_network_receive_bytes_total{{{NET}}}[{RATE}]) * 8", "{{instance}} {{device}} in"),
                   t(f"rate(node_network_transmit_bytes_total{{{NET}}}[{RATE}]) * 8", "{{instance}} {{device}} out"),
                   unit="bps", min=0, w=8),
        timeseries("Network errors and drops",
                   t(f"rate(node_network_receive_errs_total{{{NET}}}[{RATE}]) + rate(node_network_transmit_errs_total{{{NET}}}[{RATE}])",
                     "{{instance}} {{device}} errors"),
                   t(f"rate(node_network_receive_drop_total{{{NET}}}[{RATE}]) + rate(node_network_transmit_drop_total{{{NET}}}[{RATE}])",
                     "{{instance}} {{device}} drops"),
                   unit="pps", min=0, w=8),
        timeseries("TCP retransmits",
                   t(f"rate(node_netstat_Tcp_RetransSegs{{{SEL}}}[{RATE}]) / rate(node_netstat_Tcp_OutSegs{{{SEL}}}[{RATE}])",
                     "{{instance}}"), unit="percentunit", min=0, w=8,
                   description="Retransmitted share of sent segments; above ~1% points at loss or congestion."),
        timeseries("Sockets",
                   t(f"node_sockstat_TCP_inuse{{{SEL}}}", "{{instance}} TCP in use"),
                   t(f"node_sockstat_TCP_tw{{{SEL}}}", "{{instance}} TCP time-wait"),
                   t(f"node_sockstat_sockets_used{{{SEL}}}", "{{instance}} all sockets"), unit="short", min=0),
        timeseries("File descriptors",
                   t(f"node_filefd_allocated{{{SEL}}} / node_filefd_maximum{{{SEL}}}", "{{instance}}"),
                   unit="percentunit", min=0,
                   description="System-wide allocated file handles against fs.file-max."),
    )
    d.row(
        "Pressure (PSI)",
        timeseries("CPU pressure",
                   t(f"rate(node_pressure_cpu_waiting_seconds_total{{{SEL}}}[{RATE}])", "{{instance}} some waiting"),
                   unit="percentunit", min=0, w=8,
                   description="Share of time at least one task waited for a CPU."),
        timeseries("Memory pressure",
                   t(f"rate(node_pressure_memory_waiting_seconds_total{{{SEL}}}[{RATE}])", "{{instance}} some waiting"),
                   t(f"rate(node_pressure_memory_stalled_seconds_total{{{SEL}}}[{RATE}])", "{{instance}} all stalled"),
                   unit="percentunit", min=0, w=8,
                   description="Share of time tasks stalled on memory (reclaim, swap-in); 'all stalled' is lost work."),
        timeseries("I/O pressure",
                   t(f"rate(node_pressure_io_waiting_seconds_total{{{SEL}}}[{RATE}])", "{{instance}} some waiting"),
                   t(f"rate(node_pressure_io_stalled_seconds_total{{{SEL}}}[{RATE}])", "{{instance}} all stalled"),
                   unit="percentunit", min=0, w=8),
    )
    return d
