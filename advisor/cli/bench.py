"""``advisor bench``: an HTTP load test (open or closed model) with thresholds and a result file.

Exit codes: 0 ok, 2 usage or scenario error, 3 target unreachable (no answer at all), 4 a threshold failed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..durations import parse_duration
from ..errors import ConfigError
from ..bench import report as R
from ..bench import runner, thresholds as T
from ..bench.spec import BenchSpec, Target, load_scenario, parse_header, read_body
from .exits import errors_to_exit
from .options import debug_option, pack_options

EXIT_THRESHOLD = 4
EXIT_UNREACHABLE = 3


def _duration(text: str, flag: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise ConfigError(f"{flag}: {e}") from None


def parse_stages(text: str) -> tuple[tuple[float, float], ...]:
    """``30s:100,1m:500,30s:0`` → ((30, 100), (60, 500), (30, 0)): ramp to each target over each duration."""
    out = []
    for part in text.split(","):
        d, sep, target = part.strip().partition(":")
        try:
            if not sep:
                raise ValueError
            out.append((parse_duration(d), float(target)))
        except ValueError:
            raise ConfigError(f"--stages {text!r}: expected DURATION:RATE[,DURATION:RATE…], e.g. 30s:100,1m:500") \
                from None
    return tuple(out)


def _progress_line(p: runner.Progress) -> None:
    phase = "warmup" if p.warmup else "load"
    p99 = R.fmt_latency(p.p99) if p.p99 is not None else "—"
    line = (f"\r{phase} {p.elapsed:5.0f}/{p.total:.0f}s  {p.rate:9,.0f} req/s  p99 {p99:>8}  "
            f"errors {p.errors:,}  dropped {p.dropped:,}")
    sys.stderr.write(line + "\x1b[K")
    sys.stderr.flush()


def build_spec(urls, scenario, rate, stages, duration, warmup, connections, processes, timeout, method, headers,
               body, body_file, ca_file, insecure, thresholds) -> BenchSpec:
    """Flags and an optional scenario file → one BenchSpec (flags win over the file)."""
    sc = load_scenario(scenario) if scenario else None
    hdrs = tuple(parse_header(h) for h in headers)
    data = body.encode() if body is not None else read_body(body_file) if body_file else b""
    if body is not None and body_file:
        raise ConfigError("give --body or --body-file, not both")
    targets = tuple(Target(url=u, method=method.upper(), headers=hdrs, body=data) for u in urls)
    if sc:
        targets += tuple(Target(url=t.url, method=t.method, headers=t.headers + hdrs, body=t.body,
                                weight=t.weight, name=t.name) for t in sc.targets)
    stg = parse_stages(stages) if stages else (sc.stages if sc else ())
    r = rate if rate is not None else (sc.rate if sc else None)
    dur = _duration(duration, "--duration") if duration else (sc.duration if sc and sc.duration else 10.0)
    warm = _duration(warmup, "--warmup") if warmup else (sc.warmup if sc and sc.warmup else 0.0)
    to = _duration(timeout, "--timeout") if timeout else (sc.timeout if sc and sc.timeout else 10.0)
    if stg and duration:
        raise ConfigError("--duration does not go with --stages: the stages set the run's length")
    conns = connections if connections is not None else (sc.connections if sc else None)
    spec = BenchSpec(targets=targets, duration=dur, warmup=warm, rate=r, stages=stg, connections=conns,
                     processes=processes, timeout=to, ca_file=ca_file, insecure=insecure,
                     thresholds=tuple(thresholds) + (sc.thresholds if sc else ()))
    spec.check()
    return spec


@click.command("bench")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option("--scenario", type=click.Path(dir_okay=False), metavar="FILE",
              help="YAML scenario: targets with weights, methods, headers, bodies (and load settings; flags win).")
@click.option("--rate", type=float, metavar="N", help="Open model: requests per second (constant arrival rate).")
@click.option("--stages", metavar="D:RATE,…", help="Open model: ramp the rate linearly to each RATE over each "
              "duration D, starting at --rate (or 0), e.g. 30s:100,1m:500,30s:0.")
@click.option("--duration", metavar="DURATION", help="Measured load after the warmup (default 10s; cap 1h).")
@click.option("--warmup", metavar="DURATION", help="Load before measuring; its requests are not in the results.")
@click.option("--connections", "-c", type=int, metavar="N",
              help="Closed model (no --rate/--stages): N connections, each sending as fast as answers come "
                   "(default 16). Open model: at most N connections (default rate/50, at least 16).")
@click.option("--processes", type=int, metavar="N", help="Worker processes (default: enough for the rate, at "
              "most one per CPU).")
@click.option("--timeout", metavar="DURATION", help="Per-request deadline (default 10s); a request queued longer "
              "than this is dropped.")
@click.option("--method", "-X", default="GET", show_default=True, help="HTTP method for the URLs on the command line.")
@click.option("--header", "-H", "headers", multiple=True, metavar="'NAME: VALUE'", help="Request header (repeatable).")
@click.option("--body", help="Request body (inline).")
@click.option("--body-file", type=click.Path(dir_okay=False), help="Request body from a file (cap 10 MiB).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help="CA bundle to verify TLS with.")
@click.option("--insecure", is_flag=True, help="Do not verify the target's TLS certificate.")
@click.option("--threshold", "thresholds", multiple=True, metavar="EXPR",
              help="Pass/fail condition, e.g. 'p99<200ms', 'error_rate<0.01', 'rps>=1000' (repeatable); "
                   f"a failed one exits {EXIT_THRESHOLD}.")
@click.option("--prometheus", "prom_url", metavar="URL",
              help="After the run, ask this Prometheus what the exporter saw during it: CPU-seconds of the process "
                   "group and the host per 1,000 requests, peak memory; and evaluate the packs over the run's "
                   "window: what saturated.")
@click.option("--groupname", default=".+", show_default=True, metavar="REGEX",
              help="With --prometheus: the target's process group (process-exporter groupname).")
@click.option("--instance", default=".+", show_default=True, metavar="REGEX",
              help="With --prometheus: the instance label of the target's host.")
@click.option("--settle", default="15s", show_default=True, metavar="DURATION",
              help="With --prometheus: wait this long after the run so the last scrape covers it.")
@click.option("--scrape-interval", default="15s", show_default=True, metavar="DURATION",
              help="With --prometheus: how often it scrapes the exporter; the packs' rate windows over the run are "
                   "at least four of these.")
@pack_options
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(sorted(R.FORMATS)),
              help="Output format on stdout.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also save the result as JSON (what `advisor compare` reads).")
@debug_option
def bench(urls, scenario, rate, stages, duration, warmup, connections, processes, timeout, method, headers, body,
          body_file, ca_file, insecure, thresholds, prom_url, groupname, instance, settle, scrape_interval,
          config_path, packs, no_builtin, sets, fmt, output, debug) -> None:
    """Load-test URL(s) over HTTP/1.1 keep-alive and report latency percentiles, errors and throughput.

    With --rate or --stages the load is an open model: requests start on a schedule whatever the server does,
    latency counts from when each request was due (a stall cannot hide), and requests that cannot start on time
    are counted as dropped. Without them it is a closed model: --connections as fast as they go.

    Caps: rate 100,000/s, 1h of load, 10m warmup, 10,000 connections. Exit codes: 0 ok, 2 usage or scenario
    error, 3 target unreachable (no answer at all), 4 a threshold failed.

    \b
    Example:
        advisor bench --rate 1000 --duration 30s --threshold 'p99<50ms' http://127.0.0.1:8080/ -o base.json
        advisor bench --connections 64 --duration 10s http://127.0.0.1:8080/
        advisor bench --scenario shop.yaml --stages 30s:100,1m:500 --format html > bench.html
    """
    with errors_to_exit(debug):
        spec = build_spec(urls, scenario, rate, stages, duration, warmup, connections, processes, timeout, method,
                          headers, body, body_file, ca_file, insecure, thresholds)
        checks = [T.parse(t) for t in spec.thresholds]
        source = None
        if prom_url:
            from .. import config as C
            from ..query import prometheus_source
            from ..run import plan
            source = prometheus_source(prom_url)
            settle_s = _duration(settle, "--settle")
            scrape_s = _duration(scrape_interval, "--scrape-interval")
            pack_cfg = C.build(prometheus_url=prom_url, config_path=config_path, packs=packs, no_builtin=no_builtin,
                               sets=sets)
            plan(pack_cfg)      # pack and --set errors now (exit 2), not after the load
        click.echo(f"advisor bench: {spec.describe()}", err=True)
        tty = sys.stderr.isatty()
        try:
            result = runner.run(spec, progress=_progress_line if tty else None)
        finally:
            if tty:
                sys.stderr.write("\r\x1b[K")
        result.thresholds = T.evaluate(result, checks)
        if source is not None:
            import time as _time

            from ..bench.observe import observe
            wait = result.ended + settle_s - _time.time()
            if wait > 0:
                click.echo(f"advisor bench: waiting {wait:.0f}s for Prometheus to scrape the end of the run", err=True)
                _time.sleep(wait)
            result.observed = observe(source, result, instance=instance, groupname=groupname, settle=settle_s)
            from ..bench.saturation import saturation
            sat = saturation(pack_cfg, source, result, settle=settle_s, scrape_interval=scrape_s)
            result.observed["rows"] += sat.pop("rows")
            result.observed["saturation"] = sat
        if output:
            try:
                Path(output).write_text(R.render(result, "json"))
            except OSError as e:
                raise ConfigError(f"-o {output}: cannot write: {e.strerror or e}") from None
        click.echo(R.render(result, fmt), nl=False)
    if result.responses == 0 and result.errors and set(result.errors_by_kind) <= {"connect", "tls"}:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(result.errors_by_kind.items()))
        click.echo(f"advisor: error: no answer from the target ({kinds})", err=True)
        sys.exit(EXIT_UNREACHABLE)
    failed = [t for t in result.thresholds if not t.ok]
    if failed:
        click.echo("advisor: threshold failed: " + "; ".join(
            f"{t.expr} (measured {R.threshold_value(t)})" for t in failed), err=True)
        sys.exit(EXIT_THRESHOLD)
