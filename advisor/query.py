"""One-off PromQL queries, like ``promtool query``: flag text to times and steps, the embedded engine over
data files (or a Prometheus server), and the query itself; ``advisor query`` (cli/query.py) is its face.

A rejected expression, a bad data file or an engine limit is a QueryInputError (exit 2); an unreachable or
failing server is a SourceError (exit 3).
"""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Mapping

from .durations import parse_duration
from .errors import AdvisorError
from .sources.base import QueryError, QueryResult, Source


class QueryInputError(AdvisorError):
    """The expression, a data file or the query's arguments are bad (not the server)."""


def parse_time(text: str) -> float:
    """Unix seconds from RFC 3339 (``2026-01-02T03:04:05Z``) or a Unix timestamp; ValueError otherwise."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"{text!r} is neither RFC 3339 nor a Unix timestamp") from None


def parse_step(text: str) -> float:
    """Seconds in a positive duration or plain number of seconds; ValueError otherwise."""
    try:
        step = parse_duration(text, bare_seconds=True)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (e.g. 15s, 1m) or seconds") from None
    if step <= 0:
        raise ValueError("step must be positive")
    return step


def default_step(start: float, end: float) -> float:
    """About 250 points over the range, at least one second apart."""
    return max(1.0, round((end - start) / 250))


def embedded_source(files: tuple[str, ...], default_ts: float, lookback: float) -> Source:
    """The embedded engine over the samples in `files` (samples without a timestamp are at `default_ts`)."""
    from .promql.loaders import LoadError, load_file
    from .promql.storage import Storage
    from .sources.embedded import EmbeddedSource
    storage = Storage()
    for f in files:
        try:
            load_file(Path(f), storage, default_ts_ms=int(round(default_ts * 1000)))
        except (OSError, UnicodeDecodeError) as e:
            raise QueryInputError(f"{f}: cannot read: {getattr(e, 'strerror', None) or e}") from None
        except LoadError as e:
            raise QueryInputError(str(e)) from None
    return EmbeddedSource(storage, lookback)


def prometheus_source(url: str, env: Mapping[str, str] | None = None) -> Source:
    """A Prometheus-compatible server at `url` (checked: a bad URL is a ConfigError, exit 2), with the
    credentials and limits of ``PERFADVISOR_PROMETHEUS_*``; a failed request is retried once."""
    from .config import prometheus_config
    from .sources.prometheus import PrometheusSource
    return PrometheusSource(prometheus_config(url, {}, os.environ if env is None else env, retries=1))


def run_query(source: Source, expr: str, *, at: float, start: float | None = None, end: float | None = None,
              step: float | None = None) -> QueryResult:
    """An instant query at `at`, or a range query when `start` is given (`end` and `step` then required)."""
    try:
        if start is not None:
            return source.range(expr, start, end, step)
        return source.instant(expr, at)
    except QueryError as exc:
        raise QueryInputError(exc.message) from exc
    except (ArithmeticError, ValueError, MemoryError) as exc:  # an engine limit or defect: still one line
        raise QueryInputError(f"query failed: {type(exc).__name__}: {exc}") from exc
