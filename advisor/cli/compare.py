"""``advisor compare``: a regression verdict between two bench results or two windows on a Prometheus.

Exit codes: 0 no verdict at or above --fail-on, 1 --fail-on reached, 2 usage or input error, 3 Prometheus
unreachable or failing.
"""
from __future__ import annotations

import os
import sys

import click

from ..compare import report as R
from ..compare import samples as S
from ..compare.verdict import RANK, compare as judge
from ..durations import parse_duration
from ..errors import EXIT_FAIL_ON, ConfigError
from .exits import errors_to_exit
from .options import connection_options, debug_option


@click.command("compare")
@click.argument("results", nargs=-1, metavar="[BASE.json NEW.json]")
@click.option("--prometheus", "url", metavar="URL", help="Compare two time windows on this Prometheus instead.")
@click.option("--baseline", metavar="START..END", help="Baseline window: RFC 3339, Unix seconds, or -DURATION "
              "from now (e.g. -2h..-1h).")
@click.option("--current", metavar="START..END", help="Current window (e.g. -1h..now).")
@click.option("--step", default="15s", show_default=True, metavar="DURATION",
              help="Prometheus windows: one sample per step.")
@click.option("--query", "queries", multiple=True, metavar="[NAME=]EXPR",
              help="PromQL giving one series, compared instead of the built-in metrics (repeatable).")
@click.option("--lower-is-worse", is_flag=True, help="For --query metrics: a drop is the regression (throughput); "
              "by default a rise is.")
@click.option("--instance", default=".+", show_default=True, metavar="REGEX",
              help="Built-in metrics: the instance label to look at.")
@click.option("--groupname", default=".+", show_default=True, metavar="REGEX",
              help="Built-in metrics: the process group (process-exporter groupname) to look at.")
@click.option("--metric", "only", multiple=True, metavar="NAME", help="Compare only these metrics (repeatable).")
@click.option("--tolerance", default=0.05, show_default=True, type=click.FloatRange(0, 10),
              help="Relative change (of the baseline's median) still accepted as no regression.")
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0.0001, 0.5),
              help="Significance level of the Mann-Whitney U test; the shift's interval is 1 − alpha.")
@click.option("--min-samples", default=8, show_default=True, type=click.IntRange(3, 100000),
              help="Fewer samples on either side give 'insufficient data' instead of a verdict.")
@click.option("--fail-on", type=click.Choice(["marginal", "fail"]),
              help=f"Exit {EXIT_FAIL_ON} when a metric's verdict is this or worse.")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(sorted(R.FORMATS)),
              help="Output format on stdout.")
@connection_options
@debug_option
def compare(results, url, baseline, current, step, queries, lower_is_worse, instance, groupname, only, tolerance,
            alpha, min_samples, fail_on, fmt, timeout, headers, ca_file, insecure, debug) -> None:
    """Judge whether NEW regressed against BASE: per metric a Mann-Whitney U test on per-interval samples, the
    Hodges-Lehmann shift with its confidence interval, and a verdict pass / marginal / fail (or insufficient
    data) that shows both values, the sample counts and the time spans.

    Samples: two bench results (`advisor bench -o`: one value per second of p50/p99 latency, throughput, error
    ratio), or two windows on a Prometheus (--baseline, --current: one value per --step of the built-in metrics
    or of each --query).

    \b
    Example:
        advisor compare base.json new.json --fail-on fail
        advisor compare --prometheus http://prom:9090 --baseline -2h..-1h --current -1h..now --groupname nginx
        advisor compare --prometheus http://prom:9090 --baseline 1767225600..1767229200 \\
            --current 1767229200..1767232800 --query 'p99=histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m])))'
    """
    with errors_to_exit(debug):
        if url:
            if results:
                raise click.UsageError("give either two result files or --prometheus with windows, not both")
            if not baseline or not current:
                raise click.UsageError("--prometheus needs --baseline START..END and --current START..END")
            try:
                st = parse_duration(step)
            except ValueError as e:
                raise ConfigError(f"--step: {e}") from None
            if st <= 0:
                raise ConfigError("--step must be more than 0")
            from ..config import prometheus_config
            from ..sources.prometheus import PrometheusSource
            source = PrometheusSource(prometheus_config(url, {}, os.environ, timeout=timeout, headers=headers,
                                                        insecure=insecure, ca_file=ca_file, retries=1))
            qs = [S.parse_query(q, not lower_is_worse, i + 1) for i, q in enumerate(queries)] or S.builtin_queries()
            values = {"instance": instance, "groupname": groupname}
            b0, b1 = S.parse_window(baseline, "--baseline")
            c0, c1 = S.parse_window(current, "--current")
            base = S.from_prometheus(source, qs, b0, b1, st, values, "baseline")
            cur = S.from_prometheus(source, qs, c0, c1, st, values, "current")
        else:
            if baseline or current or queries:
                raise click.UsageError("--baseline, --current and --query need --prometheus URL")
            if len(results) != 2:
                raise click.UsageError("give two bench results (BASE.json NEW.json), or --prometheus URL with "
                                       "--baseline and --current")
            base = S.from_bench(S.read_result(results[0]), results[0])
            cur = S.from_bench(S.read_result(results[1]), results[1])
        names = [n for n in base if n in cur]
        if only:
            unknown = [n for n in only if n not in names]
            if unknown:
                raise ConfigError(f"--metric {', '.join(unknown)}: not among {', '.join(names)}")
            names = [n for n in names if n in only]
        comparisons = [judge(base[n][0], base[n][1], cur[n][1], alpha=alpha, tolerance=tolerance,
                             min_samples=min_samples) for n in names]
        settings = {"alpha": alpha, "tolerance": tolerance, "min_samples": min_samples}
        click.echo(R.render(comparisons, fmt, settings), nl=False)
    if fail_on and any(RANK[c.verdict] >= RANK[fail_on] for c in comparisons):
        sys.exit(EXIT_FAIL_ON)
