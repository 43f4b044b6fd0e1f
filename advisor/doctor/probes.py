"""What the data source holds, asked through generic probes: whether a metric exists (and from which jobs),
when its oldest sample is, and every job's scrape interval.

PromQL lives in the packs; these probes are the exception, built only here from an escaped metric name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..durations import format_duration, parse_duration
from ..errors import SourceError
from ..packs.params import promql_string
from ..sources.base import Source

PRESENCE_WINDOW = 300.0   # a metric is present if it has a sample in the last 5 minutes (Prometheus' lookback)
COARSE_POINTS = 250       # points of the first history pass over the whole lookback
FINE_POINTS = 300         # points of the second pass, over the step where data begins


def selector(metric: str) -> str:
    """``{__name__="metric"}`` with the name escaped: the one place a probe puts a name into PromQL."""
    return "{__name__=" + promql_string(metric) + "}"


@dataclass(frozen=True)
class Presence:
    metric: str
    series: int
    jobs: tuple[str, ...]

    @property
    def present(self) -> bool:
        return self.series > 0


def presence(source: Source, metric: str, now: float) -> Presence:
    """How many series of `metric` had a sample in the last 5 minutes, and from which jobs."""
    res = source.instant(f"count by (job) (last_over_time({selector(metric)}[{format_duration(PRESENCE_WINDOW)}]))",
                         now)
    series = [s for s in res.series if s.points]
    return Presence(metric, int(sum(s.value for s in series)),
                    tuple(sorted({s.labels.get("job", "") for s in series} - {""})))


def oldest_sample(source: Source, metric: str, now: float, lookback: float) -> float | None:
    """The time of the oldest sample of `metric` within `lookback` before `now` (None: none).

    Two range queries of ``min(timestamp(x))``: one over the whole lookback finds the first step with data, one
    over the step before it (at most 5 minutes, what an instant selector looks back) finds the sample itself.
    A series that lived only between two steps of the first pass is not seen; the answer is then later.
    """
    q = f"min(timestamp({selector(metric)}))"
    step = max(1.0, math.ceil(lookback / COARSE_POINTS))
    start = now - step * math.floor(lookback / step)
    first = _first_point(source.range(q, start, now, step).series)
    if first is None:
        return None
    t0, _ = first
    if t0 <= start:
        return _first_point(source.range(q, start, start, 1.0).series, value=True)
    width = min(step, PRESENCE_WINDOW)
    fine = max(0.001, width / FINE_POINTS)
    found = _first_point(source.range(q, t0 - width, t0, fine).series, value=True)
    return found if found is not None else first[1]


def _first_point(series, value: bool = False):
    pts = sorted(p for s in series for p in s.points if p[1] == p[1])
    if not pts:
        return None
    return pts[0][1] if value else pts[0]


def scrape_intervals(source: Source) -> tuple[dict[str, float], str | None]:
    """Scrape interval (seconds) of every job with an active target, and a note when they cannot be known.

    Read from ``/api/v1/targets`` (``scrapeInterval``, Prometheus ≥ 2.40; else the ``__scrape_interval__``
    discovered label), falling back to ``/api/v1/status/config``. A job whose targets differ gets the longest.
    """
    get = getattr(source, "get", None)
    if get is None:
        return {}, "the data source does not tell scrape intervals"
    try:
        targets = get("/api/v1/targets", {"state": "active"}).get("data", {}).get("activeTargets") or []
    except SourceError as e:
        targets, problem = [], str(e)
    else:
        problem = None
    out: dict[str, float] = {}
    for t in targets:
        job = (t.get("labels") or {}).get("job") or t.get("scrapePool")
        text = t.get("scrapeInterval") or (t.get("discoveredLabels") or {}).get("__scrape_interval__")
        if job and text:
            try:
                out[job] = max(out.get(job, 0.0), parse_duration(text))
            except ValueError:
                pass
    if out:
        return out, None
    try:
        out = _from_config(get("/api/v1/status/config").get("data", {}).get("yaml", ""))
    except SourceError as e:
        problem = problem or str(e)
    if out:
        return out, None
    return {}, f"scrape intervals unknown ({problem or 'no active targets'})"


def _from_config(text: str) -> dict[str, float]:
    import yaml
    try:
        cfg = yaml.safe_load(text) or {}
        default = parse_duration(str((cfg.get("global") or {}).get("scrape_interval", "1m")))
        return {sc["job_name"]: parse_duration(str(sc.get("scrape_interval") or format_duration(default)))
                for sc in cfg.get("scrape_configs") or [] if sc.get("job_name")}
    except (yaml.YAMLError, ValueError, AttributeError, TypeError, KeyError):
        return {}
