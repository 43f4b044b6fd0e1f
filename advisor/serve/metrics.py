"""``/metrics``: the service's own metrics, and the last run's results under the names the ``--textfile``
output uses (``advisor.reports.prom``), so the Advisor dashboard and the generated alerts work on either.

Findings also appear one series each, with bounded labels only — rule, severity, category, dimension and the
rule's target labels (a target label that clashes with those is prefixed ``target_``); their texts stay in
the JSON API.
"""
from __future__ import annotations

import math
import re
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from ..reports.prom import render_prometheus

_RESERVED = {"rule", "severity", "category", "dimension", "__name__"}
_LAST_RUN = re.compile(r"^perfadvisor_advisor_last_run_timestamp_seconds \S+$", re.M)


def _escape(v: str) -> str:
    return v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')


def _labels(d: dict[str, str]) -> str:
    return ",".join(f'{k}="{_escape(str(v))}"' for k, v in d.items())


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = reg = CollectorRegistry(auto_describe=False)
        self.duration = Histogram("perfadvisor_advisor_serve_run_duration_seconds",
                                  "Duration of advisor serve's evaluations.", ["scope"], registry=reg,
                                  buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
        self.runs = Counter("perfadvisor_advisor_serve_runs", "Evaluations by result.", ["scope", "result"],
                            registry=reg)
        self.query_errors = Counter("perfadvisor_advisor_serve_query_errors",
                                    "Rules not evaluated because their query failed.", registry=reg)
        self.source_up = Gauge("perfadvisor_advisor_serve_source_up",
                               "1 when the last evaluation reached the data source.", registry=reg)
        self.stale = Gauge("perfadvisor_advisor_serve_results_stale",
                           "1 when the served results are not from the last scheduled evaluation.", registry=reg)
        self.store_bytes = Gauge("perfadvisor_advisor_serve_store_bytes",
                                 "Size of the history store (with local samples) on disk.", registry=reg)
        self.open_findings = Gauge("perfadvisor_advisor_serve_findings_open",
                                   "Findings open in the history store.", registry=reg)
        self.requests = Counter("perfadvisor_advisor_serve_http_requests", "HTTP requests by handler and code.",
                                ["handler", "code"], registry=reg)
        self.rate_limited = Counter("perfadvisor_advisor_serve_rate_limited",
                                    "POST requests refused with 429.", registry=reg)
        self.subscribers = Gauge("perfadvisor_advisor_serve_event_subscribers",
                                 "Connected SSE and WebSocket clients.", registry=reg)
        self._lock = threading.Lock()
        self._findings_text = ""

    def observe(self, out, engine) -> None:
        """After every evaluation (from the evaluation thread)."""
        ok = out.report is not None
        self.duration.labels(out.scope.area).observe(out.duration)
        self.runs.labels(out.scope.area, "ok" if ok else "error").inc()
        if ok:
            from .engine import query_errors
            self.query_errors.inc(query_errors(out.report))
        self.source_up.set(1 if ok else 0)
        if out.scope.complete and ok:
            text = _LAST_RUN.sub(f"perfadvisor_advisor_last_run_timestamp_seconds {out.finished_at!r}",
                                 render_prometheus(out.report))
            text += self._per_finding(out, engine)
            with self._lock:
                self._findings_text = text

    @staticmethod
    def _per_finding(out, engine) -> str:
        first_seen = {f["fingerprint"]: f["first_seen"] for f in engine.store.findings(open_only=True)}
        from ..history import fingerprint
        lines_v = ["# HELP perfadvisor_advisor_finding_value The value each finding of the last run was judged on.",
                   "# TYPE perfadvisor_advisor_finding_value gauge"]
        lines_t = ["# HELP perfadvisor_advisor_finding_first_seen_timestamp_seconds When each open finding "
                   "was first seen (Unix time).",
                   "# TYPE perfadvisor_advisor_finding_first_seen_timestamp_seconds gauge"]
        for f in out.findings:
            labels = {"rule": f.rule.id, "severity": f.severity, "category": f.rule.category,
                      "dimension": f.rule.dimension}
            for k, v in f.target.items():
                labels[f"target_{k}" if k in _RESERVED else k] = v
            lb = _labels(labels)
            if math.isfinite(f.value):
                lines_v.append(f"perfadvisor_advisor_finding_value{{{lb}}} {f.value!r}")
            fs = first_seen.get(fingerprint(f.rule.id, f.target))
            if fs is not None:
                lines_t.append(f"perfadvisor_advisor_finding_first_seen_timestamp_seconds{{{lb}}} {fs!r}")
        return "\n".join(lines_v + lines_t) + "\n"

    def render(self, engine) -> str:
        status = engine.status()
        self.stale.set(1 if status["stale"] else 0)
        self.store_bytes.set(engine.store.size_bytes())
        self.open_findings.set(engine.store.stats()["open"])
        self.subscribers.set(engine.events.subscribers)
        with self._lock:
            findings = self._findings_text
        return generate_latest(self.registry).decode() + findings
