"""The result of a bench run: totals, HDR histograms, per-second intervals; JSON with a published schema.

Times are seconds (floats) everywhere except inside the encoded histograms, which count microseconds. The JSON
form (``to_dict``) validates against ``result.schema.json`` and ``from_dict`` reads it back, so a saved result
(``advisor bench -o base.json``) is what ``advisor compare`` reads.
"""
from __future__ import annotations

import collections
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jsonschema
from hdrh.histogram import HdrHistogram

from . import histogram as H

SCHEMA_ID = "perfadvisor.bench.result/v1"
SCHEMA = json.loads(resources.files(__package__).joinpath("result.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@dataclass
class Interval:
    """One second of the measured window."""

    t: float                              # seconds from the window's start
    sent: int = 0
    status: collections.Counter = field(default_factory=collections.Counter)
    errors: collections.Counter = field(default_factory=collections.Counter)
    dropped: int = 0
    latency: HdrHistogram = field(default_factory=H.new)
    service_time: HdrHistogram = field(default_factory=H.new)

    @property
    def responses(self) -> int:
        return self.latency.get_total_count()

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "sent": self.sent, "responses": self.responses, "errors": self.error_count,
                "dropped": self.dropped, "status": dict(self.status), "errors_by_kind": dict(self.errors),
                "latency": H.summary(self.latency), "service_time": H.summary(self.service_time),
                "histograms": {"latency": H.encode(self.latency), "service_time": H.encode(self.service_time)}}

    @classmethod
    def from_dict(cls, d: dict) -> "Interval":
        return cls(t=d["t"], sent=d["sent"], status=collections.Counter(d["status"]),
                   errors=collections.Counter(d["errors_by_kind"]), dropped=d["dropped"],
                   latency=H.decode(d["histograms"]["latency"]),
                   service_time=H.decode(d["histograms"]["service_time"]))


@dataclass
class ThresholdResult:
    expr: str
    metric: str
    op: str
    limit: float
    value: float | None
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        return {"expr": self.expr, "metric": self.metric, "op": self.op, "limit": self.limit,
                "value": self.value, "ok": self.ok}


@dataclass
class BenchResult:
    spec: dict[str, Any]                  # what ran (BenchSpec as plain data)
    started: float                        # Unix seconds: the measured window
    ended: float
    intervals: list[Interval]
    targets: list[dict[str, Any]]         # label, requests, errors
    thresholds: list[ThresholdResult] = field(default_factory=list)
    observed: dict[str, Any] | None = None    # what Prometheus saw during the run (``--prometheus``)
    version: str = ""

    # -- totals -------------------------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return self.ended - self.started

    def _sum(self, attr: str) -> int:
        return sum(getattr(i, attr) for i in self.intervals)

    def _counter(self, attr: str) -> collections.Counter:
        out: collections.Counter = collections.Counter()
        for i in self.intervals:
            out.update(getattr(i, attr))
        return out

    @property
    def sent(self) -> int:
        return self._sum("sent")

    @property
    def responses(self) -> int:
        return self._sum("responses")

    @property
    def errors(self) -> int:
        return self._sum("error_count")

    @property
    def dropped(self) -> int:
        return self._sum("dropped")

    @property
    def status(self) -> collections.Counter:
        return self._counter("status")

    @property
    def errors_by_kind(self) -> collections.Counter:
        return self._counter("errors")

    def histogram(self, which: str = "latency") -> HdrHistogram:
        h = H.new()
        for i in self.intervals:
            h.add(getattr(i, which))
        return h

    @property
    def rate(self) -> float:
        """Requests started per second in the window."""
        return self.sent / self.duration if self.duration > 0 else 0.0

    @property
    def throughput(self) -> float:
        """HTTP answers per second in the window."""
        return self.responses / self.duration if self.duration > 0 else 0.0

    @property
    def error_rate(self) -> float:
        attempts = self.sent + self.dropped
        return (self.errors + self.dropped) / attempts if attempts else 0.0

    @property
    def thresholds_ok(self) -> bool:
        return all(t.ok for t in self.thresholds)

    def summary(self) -> dict[str, Any]:
        return {"requests": self.sent, "responses": self.responses, "errors": self.errors,
                "dropped": self.dropped, "rate": self.rate, "throughput": self.throughput,
                "error_rate": self.error_rate, "status": dict(self.status),
                "errors_by_kind": dict(self.errors_by_kind),
                "latency": H.summary(self.histogram("latency")),
                "service_time": H.summary(self.histogram("service_time"))}

    # -- JSON ---------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_ID, "version": self.version, "started": self.started, "ended": self.ended,
                "duration": self.duration, "spec": self.spec, "summary": self.summary(),
                "histograms": {"unit": "microseconds", "latency": H.encode(self.histogram("latency")),
                               "service_time": H.encode(self.histogram("service_time"))},
                "intervals": [i.to_dict() for i in self.intervals], "targets": self.targets,
                "thresholds": [t.to_dict() for t in self.thresholds], "observed": self.observed}

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "result") -> "BenchResult":
        """Read a saved result; ValueError names what does not match the schema."""
        errors = sorted(_VALIDATOR.iter_errors(d), key=lambda e: len(e.absolute_path))
        if errors:
            e = errors[-1]
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path).lstrip(".")
            raise ValueError(f"{where}: not a bench result: {path or '(top)'}: {e.message[:200]}")
        return cls(spec=d["spec"], started=d["started"], ended=d["ended"],
                   intervals=[Interval.from_dict(i) for i in d["intervals"]], targets=d["targets"],
                   thresholds=[ThresholdResult(**t) for t in d["thresholds"]], observed=d.get("observed"),
                   version=d.get("version", ""))
