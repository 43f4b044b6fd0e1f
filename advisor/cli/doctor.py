"""``advisor doctor``: check a setup — which packs have data, what provides the rest, windows, history."""
from __future__ import annotations

import sys

import click

from .. import config as C
from ..durations import parse_duration
from ..errors import EXIT_FAIL_ON, EXIT_OK, ConfigError
from ..sources import choose, local_mode
from .exits import errors_to_exit
from .options import connection_options, debug_option, local_options, pack_options
from .progress import sampling_progress


@click.command("doctor")
@click.option("--prometheus", "prometheus_url", metavar="URL",
              help="Prometheus-compatible API base URL. Env: PERFADVISOR_PROMETHEUS_URL. "
                   "Without one, it samples this machine (local mode) and checks the embedded engine.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--max-history", default="7d", show_default=True, metavar="DURATION",
              help="Look this far back for each metric's oldest sample (older history shows as '≥').")
@pack_options
@connection_options
@local_options
@debug_option
def doctor(prometheus_url, fmt, max_history, config_path, packs, no_builtin, sets, timeout, headers, ca_file,
           insecure, exporter_url, local_interval, local_duration, store_path, debug):
    """Check a setup: which packs have data, and what the others need.

    For every pack: which of its metrics exist and which are missing, with the exporter collector (and its
    --collector.NAME flag), upstream exporter or documented convention that provides each; how much history
    there is. For every rule: range windows and `for` against the scrape interval of the jobs it reads (rate
    windows ≥ 2× the interval, better 4×, as Prometheus rule linters check), and, if it cannot be evaluated,
    the evaluator's reason. Without a Prometheus it samples this machine like `advisor run` (the sampling
    interval stands in for the scrape interval).

    Exit codes: 0 no problems, 1 problems: a window error, or a rule of a pack with data that cannot be
    evaluated (packs without any data are listed, not counted), 2 usage/config/pack error, 3 data source
    unreachable or failing.

    Example:

    \b
        advisor doctor --prometheus http://localhost:9090
        advisor doctor --prometheus http://prom:9090 --pack rules --format json
        advisor doctor --duration 10s                    # local mode: sample this machine for 10 s
    """
    with errors_to_exit(debug):
        try:
            lookback = parse_duration(max_history)
        except ValueError as e:
            raise ConfigError(f"--max-history: {e}") from None
        if lookback <= 0:
            raise ConfigError("--max-history must be longer than 0s")
        cfg = C.build(prometheus_url=prometheus_url, config_path=config_path, sets=sets, packs=packs,
                      no_builtin=no_builtin, timeout=timeout, headers=headers, insecure=insecure, ca_file=ca_file,
                      debug=debug)
        from ..doctor.render import render
        if local_mode(cfg):
            from ..doctor.local import diagnose_local
            from ..local.options import LocalOptions
            opts = LocalOptions.parse(local_interval, local_duration, exporter_url, store_path)
            diagnosis = diagnose_local(cfg, opts, progress=sampling_progress() if sys.stderr.isatty() else None,
                                       max_history=lookback)
        elif exporter_url or store_path:
            raise ConfigError("--exporter and --store are for local mode; they cannot be used with a Prometheus")
        else:
            from ..doctor import diagnose
            diagnosis = diagnose(cfg, choose(cfg), max_history=lookback)
        click.echo(render(diagnosis, fmt), nl=False)
    sys.exit(EXIT_FAIL_ON if diagnosis.problems else EXIT_OK)
