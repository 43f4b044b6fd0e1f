"""``advisor query``: run one PromQL expression, like ``promtool query``, and print the API's ``data`` JSON.

The expression runs on the embedded engine over ``--load`` files, or on a server with ``--prometheus``.
Exit codes: 0 ok, 2 bad expression/arguments/data file, 3 server unreachable or failing.
"""
from __future__ import annotations

import json
import time as _time

import click

from .. import query as Q
from .exits import errors_to_exit
from .options import debug_option


def _arg(parse, text: str):
    try:
        return parse(text)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


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
@debug_option
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
    t = _arg(Q.parse_time, at) if at else now
    with errors_to_exit(debug):
        if url:
            source = Q.prometheus_source(url)
        else:
            source = Q.embedded_source(files, t, _arg(Q.parse_step, lookback_delta))
        if start is not None:
            s = _arg(Q.parse_time, start)
            e = _arg(Q.parse_time, end) if end else now
            st = _arg(Q.parse_step, step) if step else Q.default_step(s, e)
            result = Q.run_query(source, expr, at=t, start=s, end=e, step=st)
        else:
            if end or step:
                raise click.UsageError("--end/--step need --start (a range query)")
            result = Q.run_query(source, expr, at=t)
    click.echo(json.dumps(result.to_api(), ensure_ascii=False))
