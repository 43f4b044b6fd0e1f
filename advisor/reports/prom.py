"""The run's results as Prometheus metrics, for the exporter's textfile collector (`advisor run --textfile DIR`).

The Advisor dashboard reads these. A finding names what it is about in `target`, not `instance`: the scrape of the
exporter sets `instance` itself.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import generate_latest

from ..findings import Report
from . import register

TEXTFILE_NAME = "perfadvisor_advisor.prom"


@register("prometheus")
def render_prometheus(report: Report, **_) -> str:
    reg = CollectorRegistry(auto_describe=False)
    score = Gauge("perfadvisor_advisor_score", "Advisor score 0-100 per dimension (overall = the total).",
                  ["dimension"], registry=reg)
    if report.overall.value is not None:
        score.labels("overall").set(report.overall.value)
    for dim, s in report.dimensions.items():
        if s.value is not None:
            score.labels(dim).set(s.value)
    findings = Gauge("perfadvisor_advisor_findings", "Findings of the last advisor run.",
                     ["category", "dimension", "severity"], registry=reg)
    for (cat, dim, sev), n in Counter((f.rule.category, f.rule.dimension, f.severity)
                                      for f in report.findings).items():
        findings.labels(cat, dim, sev).set(n)
    pending = Gauge("perfadvisor_advisor_pending_findings",
                    "Pending findings of the last advisor run: the condition holds, not yet for its whole `for`.",
                    ["category", "dimension", "severity"], registry=reg)
    for (cat, dim, sev), n in Counter((f.rule.category, f.rule.dimension, f.severity)
                                      for f in report.pending).items():
        pending.labels(cat, dim, sev).set(n)
    info = Gauge("perfadvisor_advisor_finding_info", "One series per finding of the last advisor run.",
                 ["pack", "rule", "severity", "category", "dimension", "target", "title"], registry=reg)
    for f in report.findings:
        info.labels(f.rule.pack, f.rule.id, f.severity, f.rule.category, f.rule.dimension, f.target_text,
                    f.rule.title).set(1)
    rules = Gauge("perfadvisor_advisor_rules", "Rules of the last advisor run, by state.", ["state"], registry=reg)
    rules.labels("evaluated").set(report.evaluated_count)
    rules.labels("not_evaluated").set(len(report.results) - report.evaluated_count)
    Gauge("perfadvisor_advisor_last_run_timestamp_seconds", "Unix time the last advisor run finished.",
          registry=reg).set(time.time())
    return generate_latest(reg).decode()


def write_textfile(report: Report, directory: str | Path) -> Path:
    """Write DIR/perfadvisor_advisor.prom atomically (temp file + rename), so a scrape never reads half a file."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    target = d / TEXTFILE_NAME
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".perfadvisor_advisor.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(render_prometheus(report))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
