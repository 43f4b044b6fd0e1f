"""``advisor run``: evaluate the packs against a data source and write a report."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import config as C
from ..errors import EXIT_FAIL_ON, EXIT_OK, ConfigError
from ..reports import FORMATS, write
from ..run import execute
from ..sources import local_mode
from .exits import errors_to_exit
from .options import connection_options, debug_option, local_options, pack_options
from .progress import evaluation_progress, sampling_progress

EXT_FORMATS = {".json": "json", ".html": "html", ".htm": "html", ".md": "markdown", ".txt": "table"}


@click.command("run")
@click.option("--prometheus", "prometheus_url", metavar="URL",
              help="Prometheus-compatible API base URL. Env: PERFADVISOR_PROMETHEUS_URL. "
                   "Without one, the advisor runs in local mode.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default=None,
              help="Report format (default: table, or from --output's extension).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the report to FILE.")
@click.option("--textfile", "textfile_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write the results as metrics to DIR/perfadvisor_advisor.prom, for the exporter's "
                   "textfile collector (the Advisor dashboard reads them).")
@pack_options
@click.option("--category", "categories", multiple=True, type=click.Choice(["optimization", "scaling", "alert"]),
              help="Only rules of this category (repeatable).")
@click.option("--rule", "rules", multiple=True, metavar="GLOB",
              help="Only rules whose id matches, e.g. 'host-*' or process-memory-leak (repeatable).")
@click.option("--min-severity", type=click.Choice(["info", "warning", "critical"]), default="info",
              show_default=True, help="Only rules of at least this severity.")
@click.option("--fail-on", type=click.Choice(["warning", "critical"]),
              help="Exit 1 when a finding of this severity or higher exists.")
@click.option("--top", type=click.IntRange(0), default=10, show_default=True, metavar="N",
              help="Per rule, the N worst targets get texts, a chart and evidence, and the table, Markdown and HTML "
                   "reports show them plus 'and K more'; the JSON report lists every finding (beyond N without "
                   "texts, chart series or evidence). 0 = all.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Queries in flight at once (default 4).")
@connection_options
@click.option("--time", "at", metavar="T",
              help="Evaluate as of this instant, RFC 3339 or Unix seconds (default: now; with --load, the newest "
                   "sample). For incident reviews and reproducible reports.")
@click.option("--load", "load_files", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Evaluate these data files on the embedded engine instead of a Prometheus or local sampling: "
                   "Prometheus text with timestamps, OpenMetrics, or a promqltest 'load' block (repeatable).")
@local_options
@debug_option
def run(prometheus_url, fmt, output, textfile_dir, config_path, packs, no_builtin, sets, categories, rules, min_severity,
        fail_on, top, concurrency, timeout, headers, ca_file, insecure, at, load_files, exporter_url, local_interval,
        local_duration, store_path, debug):
    """Evaluate all enabled rule packs and write a report.

    Credentials come from the environment or the config file, never from flags:
    PERFADVISOR_PROMETHEUS_TOKEN / _TOKEN_FILE (bearer), PERFADVISOR_PROMETHEUS_USERNAME / _PASSWORD (basic).

    Exit codes: 0 ok, 1 --fail-on reached, 2 usage/config/pack error, 3 data source unreachable or failing.

    Without a Prometheus it runs in local mode: it samples this machine every --interval for --duration
    (or scrapes --exporter URL), then evaluates the packs on the embedded engine; --store keeps samples
    between runs so history accumulates.

    Example:

    \b
        advisor run                                      # local mode: sample this machine for 60 s
        advisor run --duration 10s --store ~/.cache/perfadvisor/samples.db
        advisor run --prometheus http://localhost:9090
        advisor run --prometheus http://prom:9090 --set cpu_high=0.8 --set host.lookback=6h \\
            --format html -o report.html
        advisor run --category scaling --fail-on warning --format json
        advisor run --rule 'process-*' --set process.lookback=6h
        advisor run --prometheus http://prom:9090 --textfile /var/lib/perfadvisor/textfile
        advisor run --prometheus http://prom:9090 --time 2026-01-02T03:04:05Z   # as of an incident
        advisor run --load samples.prom --time 1700000000
    """
    _limit_malloc_arenas()
    with errors_to_exit(debug):
        if fmt is None:
            fmt = EXT_FORMATS.get(Path(output).suffix.lower(), "table") if output else "table"
        cfg = C.build(prometheus_url=prometheus_url, config_path=config_path, sets=sets, packs=packs,
                      no_builtin=no_builtin, concurrency=concurrency, categories=categories, rules=rules,
                      min_severity=min_severity, fail_on=fail_on, timeout=timeout, headers=headers,
                      insecure=insecure, ca_file=ca_file, debug=debug, top=top)
        when = _time_arg(at)
        tty = sys.stderr.isatty()
        bar = evaluation_progress() if tty else None
        try:
            if load_files:
                if cfg.prometheus is not None or exporter_url or store_path:
                    raise ConfigError("--load evaluates files on the embedded engine; it cannot be used with a "
                                      "Prometheus, --exporter or --store")
                source, newest = _loaded(load_files, when)
                report = execute(cfg, source=source, progress=bar, now=newest if when is None else when)
            elif local_mode(cfg):
                if when is not None:
                    raise ConfigError("--time needs a data source with history: --prometheus URL or --load FILE")
                from ..local.options import LocalOptions
                from ..local.runner import run_local
                opts = LocalOptions.parse(local_interval, local_duration, exporter_url, store_path)
                report = run_local(cfg, opts, progress=sampling_progress() if tty else None, eval_progress=bar)
            elif exporter_url or store_path:
                raise ConfigError("--exporter and --store are for local mode; they cannot be used with a Prometheus")
            else:
                report = execute(cfg, progress=bar, now=when)
        finally:
            if bar:
                bar.close()   # before any error line, so it does not land on the bar's line
        if textfile_dir:
            from ..reports.prom import write_textfile
            try:
                write_textfile(report, textfile_dir)
            except OSError as e:
                raise ConfigError(f"cannot write metrics to {textfile_dir}: {e.strerror or e}") from None
        color = fmt == "table" and not output and sys.stdout.isatty()
        if output:
            try:
                with open(output, "w") as out:
                    write(report, fmt, out, color=color)
            except OSError as e:
                raise ConfigError(f"cannot write {output}: {e.strerror or e}") from None
            click.echo(f"advisor: wrote {fmt} report to {output} (score "
                       f"{report.overall.value if report.overall.value is not None else '—'}, "
                       f"{len(report.findings)} finding(s))", err=True)
        else:
            write(report, fmt, sys.stdout, color=color)
    if fail_on:
        order = C.SEVERITY_ORDER
        # Pending findings never fail a run (like Prometheus' pending alerts, which do not notify).
        if any(order[f.severity] >= order[fail_on] for f in report.findings if f.state == "firing"):
            sys.exit(EXIT_FAIL_ON)
    sys.exit(EXIT_OK)


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (MALLOC_ARENA_MAX, set from inside; the exporter does the same): each worker
    thread otherwise gets an arena that keeps what a fleet's answers freed, ~1 GB more peak RSS at 10,000
    series. The GIL serialises Python's allocations, so two cost no contention. No effect outside glibc."""
    try:
        import ctypes
        ctypes.CDLL(None).mallopt(-8, arenas)   # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def _time_arg(text: str | None) -> float | None:
    if text is None:
        return None
    from ..query import parse_time
    try:
        return parse_time(text)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--time'") from None


def _loaded(files: tuple[str, ...], when: float | None):
    """The embedded engine over `files`, and the newest sample's time (the default --time)."""
    import time as _t
    from ..query import QueryInputError, embedded_source
    try:
        source = embedded_source(files, when if when is not None else _t.time(), 300.0)
    except QueryInputError as e:
        raise ConfigError(str(e)) from None
    flat = source.storage.flat()
    return source, (float(flat.nts.max()) / 1000.0 if len(flat.nts) else _t.time())
