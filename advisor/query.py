"""``advisor query``: run one PromQL expression, like ``promtool query``, and print the API's ``data`` JSON.

The expression runs on the embedded engine over ``--load`` files, or on a server with ``--prometheus``.
Exit codes: 0 ok, 2 bad expression/arguments/data file, 3 server unreachable or failing.
"""
from __future__ import annotations

import json
import sys
import time as _time
from datetime import datetime
from pathlib import Path

import click

from .errors import EXIT_SOURCE, EXIT_USAGE
from .sources.base import QueryError, QueryResult, SourceError


def parse_time(text: str) -> float:
    """Unix seconds from RFC 3339 (``2026-01-02T03:04:05Z``) or a Unix timestamp."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither RFC 3339 nor a Unix timestamp") from None


def parse_step(text: str) -> float:
    from .promql.loaders import LoadError, parse_duration
    try:
        step = parse_duration(text) / 1000.0
    except LoadError:
        raise click.BadParameter(f"{text!r} is not a duration (e.g. 15s, 1m) or seconds") from None
    if step <= 0:
        raise click.BadParameter("step must be positive")
    return step


def _fail(message: str, code: int) -> None:
    click.echo(f"advisor: error: {message}", err=True)
    sys.exit(code)


def _embedded(files: tuple[str, ...], default_ts: float, lookback: float):
    from .promql.loaders import LoadError, load_file
    from .promql.storage import Storage
    from .sources.embedded import EmbeddedSource
    storage = Storage()
    for f in files:
        try:
            load_file(Path(f), storage, default_ts_ms=int(round(default_ts * 1000)))
        except (OSError, UnicodeDecodeError) as e:
            _fail(f"{f}: cannot read: {getattr(e, 'strerror', None) or e}", EXIT_USAGE)
        except LoadError as e:
            _fail(str(e), EXIT_USAGE)
    return EmbeddedSource(storage, lookback)


@click.command("query")
@click.argument("expr")
@click.option("--load", "files", multiple=True, type=click.Path(dir_okay=False),
              help="Data for the embedded engine: Prometheus text with timestamps, OpenMetrics, or a "
                   "promqltest 'load <step>' block (detected). Repeatable.")
@click.option("--prometheus", "url", metavar="URL", help="Query this Prometheus-compatible server instead.")
@click.option("--time", "at", metavar="T", help="Instant query time, RFC 3339 or Unix (default: now).")
@click.option("--start", metavar="T", help="Range query start, RFC 3339 or Unix.")
@click.option("--end", metavar="T", help="Range query end (default: now).")
@click.option("--step", metavar="DURATION", help="Range query step, e.g. 15s (default: range/250, ≥1s).")
@click.option("--lookback-delta", default="5m", show_default=True, metavar="DURATION",
              help="Embedded engine lookback delta.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def query(expr: str, files: tuple[str, ...], url: str | None, at: str | None, start: str | None,
          end: str | None, step: str | None, lookback_delta: str, debug: bool) -> None:
    """Run EXPR as an instant query (or a range query with --start) and print the result as JSON.

    \b
    Example:
        advisor query --load samples.prom --time 2026-01-02T03:04:05Z 'sum by (job) (rate(x_total[5m]))'
        advisor query --prometheus http://127.0.0.1:9090 --start 1700000000 --end 1700003600 --step 1m up
    """
    if url and files:
        raise click.UsageError("use either --load (embedded engine) or --prometheus, not both")
    if not url and not files:
        raise click.UsageError("nothing to query: give --load FILE (embedded engine) or --prometheus URL")
    now = _time.time()
    t = parse_time(at) if at else now
    if url:
        from .sources.prometheus import PrometheusConfig, PrometheusSource
        try:
            source = PrometheusSource(PrometheusConfig(url=url, retries=1))
        except SourceError as e:
            _fail(str(e), EXIT_SOURCE)
    else:
        source = _embedded(files, t, parse_step(lookback_delta))
    try:
        if start is not None:
            s = parse_time(start)
            e = parse_time(end) if end else now
            st = parse_step(step) if step else max(1.0, round((e - s) / 250))
            result: QueryResult = source.range(expr, s, e, st)
        else:
            if end or step:
                raise click.UsageError("--end/--step need --start (a range query)")
            result = source.instant(expr, t)
    except QueryError as exc:
        if debug:
            raise
        _fail(exc.message, EXIT_USAGE)
    except SourceError as exc:
        if debug:
            raise
        _fail(str(exc), EXIT_SOURCE)
    except (ArithmeticError, ValueError, MemoryError) as exc:  # an engine limit or defect: still one line
        if debug:
            raise
        _fail(f"query failed: {type(exc).__name__}: {exc}", EXIT_USAGE)
    click.echo(json.dumps(result.to_api(), ensure_ascii=False))
