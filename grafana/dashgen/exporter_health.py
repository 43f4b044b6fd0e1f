"""Exporter self-health: scrape success and cost, per collector timings and failures, the exporter's own process."""
from __future__ import annotations

from .core import SEL, Dashboard, stat, table, target as t, timeseries

RATE = "$__rate_interval"


def build() -> Dashboard:
    d = Dashboard("perfadvisor-exporter", "Exporter self-health",
                  "Is the exporter scraped, how much each scrape costs, and which collectors fail.",
                  key_metric="node_scrape_collector_success", tags=["exporter"])
    d.row(
        "Scrapes",
        stat("Targets up", t(f"sum(up{{{SEL}}})", "up"), thresholds=[(None, "red"), (1, "green")]),
        stat("Failing collectors", t(f"sum(1 - node_scrape_collector_success{{{SEL}}})", "failing"),
             thresholds=[(None, "green"), (1, "red")],
             description="Collectors whose last run failed; the scrape still succeeds without their metrics."),
        stat("Slowest collector", t(f"max(node_scrape_collector_duration_seconds{{{SEL}}})", "slowest"), unit="s"),
        stat("Samples per scrape", t(f"sum(scrape_samples_scraped{{{SEL}}})", "samples")),
        timeseries("Scrape duration", t(f"scrape_duration_seconds{{{SEL}}}", "{{instance}}"), unit="s", min=0),
        timeseries("Samples scraped", t(f"scrape_samples_scraped{{{SEL}}}", "{{instance}}"), unit="short", min=0),
    )
    d.row(
        "Collectors",
        timeseries("Collector duration",
                   t(f"node_scrape_collector_duration_seconds{{{SEL}}}", "{{instance}} {{collector}}"),
                   unit="s", min=0, stack=True,
                   description="Time each collector took in the last scrape; the stack is the scrape's own cost."),
        timeseries("Collector success",
                   t(f"node_scrape_collector_success{{{SEL}}}", "{{instance}} {{collector}}"),
                   unit="short", min=0, max=1, thresholds=[(None, "red"), (1, "green")]),
    )
    d.row(
        "Exporter process",
        timeseries("Resident memory", t(f"process_resident_memory_bytes{{{SEL}}}", "{{instance}}"),
                   unit="bytes", min=0, w=8),
        timeseries("CPU", t(f"rate(process_cpu_seconds_total{{{SEL}}}[{RATE}])", "{{instance}}"),
                   unit="percentunit", min=0, w=8, description="CPU seconds per second used by the exporter."),
        timeseries("Open file descriptors",
                   t(f"process_open_fds{{{SEL}}}", "{{instance}} open"), unit="short", min=0, w=8),
        table("Build", f"perfadvisor_exporter_build_info{{{SEL}}}", hide=["Value"],
              description="Version of each perfadvisor exporter scraped (absent on other exporters)."),
    )
    return d
