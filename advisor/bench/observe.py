"""What the exporter saw while a bench ran: CPU-seconds and memory of the target's process group and the host,
per 1,000 requests where that makes sense — asked of a Prometheus with the queries in ``observe.yaml``.

The window is the bench's measured window plus ``settle`` seconds (Prometheus must have scraped after the load
ended), evaluated at its end, so the figures include the settle time's idle cost. Host figures include the load
generator itself when it runs on the same host.
"""
from __future__ import annotations

import math
from importlib import resources

import yaml

from ..compare.samples import substitute
from ..sources.base import Source
from .result import BenchResult


def _queries() -> dict:
    return yaml.safe_load(resources.files(__package__).joinpath("observe.yaml").read_text())["queries"]


def _fmt(name: str, v: float | None, unit: str, per_1000: bool) -> str:
    if v is None:
        return "no data"
    if unit == "bytes":
        return f"{v / 2**20:,.1f} MiB"
    return f"{v * 1000:,.1f} ms per 1,000 requests" if per_1000 else f"{v:,.3f} s"


def observe(source: Source, result: BenchResult, *, instance: str = ".+", groupname: str = ".+",
            settle: float = 15.0) -> dict:
    """The observed values (None where the Prometheus has no data), and rows for the reports."""
    window = int(math.ceil(result.duration + settle))
    at = result.ended + settle
    values: dict[str, float | None] = {}
    rows = []
    requests = result.sent
    for name, q in _queries().items():
        expr = substitute(q["query"], {"instance": instance, "groupname": groupname}).replace("$window", f"{window}s")
        res = source.instant(expr, at)
        v = next((s.points[-1][1] for s in res.series if s.points), None)
        v = v if v is not None and math.isfinite(v) else None
        per = bool(q.get("per_1000_requests"))
        if per and v is not None:
            v = v / requests * 1000 if requests else None
        key = f"{name}_per_1000_requests" if per else name
        values[key] = v
        rows.append((f"{q['label']} (Prometheus)", _fmt(name, v, q.get("unit", ""), per)))
    return {"at": at, "window_seconds": window, "instance": instance, "groupname": groupname, "values": values,
            "rows": rows}
