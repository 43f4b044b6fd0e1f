"""``advisor serve``: the continuous advisor — evaluations on a schedule, history, JSON API, metrics, dashboard."""
from __future__ import annotations

import logging
import os
import sys

import click

from .. import config as C
from ..errors import ConfigError
from .exits import errors_to_exit
from ..serve.options import SETTINGS
from .options import connection_options, debug_option, pack_options

_TYPES = {"int": int, "float": float}


def serve_settings(f):
    """One option per serve setting (advisor.serve.options.SETTINGS), with its PERFADVISOR_SERVE_* variable.
    No click defaults: a value not given falls through to the config file, then to the setting's default."""
    for s in reversed(SETTINGS):
        default = f" [default: {s.shown_default}]" if s.shown_default else ""
        f = click.option(s.flag, s.param, metavar=s.metavar, envvar=s.envvar, multiple=s.kind in ("list", "map"),
                         type=click.Choice(s.schema["enum"]) if "enum" in s.schema else _TYPES.get(s.kind, str),
                         help=f"{s.help}{default} Env: {s.envvar}. File: {s.key}.")(f)
    return f


def _given(settings: dict) -> dict:
    """The serve settings given on the command line or in the environment, with where each came from."""
    ctx = click.get_current_context()
    out = {}
    for s in SETTINGS:
        src = ctx.get_parameter_source(s.param)
        if src == click.core.ParameterSource.COMMANDLINE:
            out[s.param] = (settings[s.param], s.flag)
        elif src == click.core.ParameterSource.ENVIRONMENT:
            out[s.param] = (settings[s.param], s.envvar)
    return out


@click.command("serve")
@click.option("--prometheus", "prometheus_url", metavar="URL",
              help="Prometheus-compatible API base URL. Env: PERFADVISOR_PROMETHEUS_URL. Without one, the "
                   "service samples this machine continuously and evaluates on the embedded engine.")
@serve_settings
@pack_options
@click.option("--category", "categories", multiple=True, type=click.Choice(["optimization", "scaling", "alert"]),
              help="Only rules of this category (repeatable).")
@click.option("--rule", "rules", multiple=True, metavar="GLOB", help="Only rules whose id matches (repeatable).")
@click.option("--min-severity", type=click.Choice(["info", "warning", "critical"]), default="info",
              show_default=True, help="Only rules of at least this severity.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Queries in flight at once (default 4).")
@connection_options
@debug_option
def serve(prometheus_url, config_path, packs, no_builtin, sets, categories, rules, min_severity, concurrency, timeout,
          headers, ca_file, insecure, debug, **settings):
    """Run the continuous advisor: evaluate every --interval, remember, and serve the results.

    Every serve option can also be set in the config file's `serve:` section (see docs/configuration.md) and
    by its PERFADVISOR_SERVE_* variable; precedence: flag > variable > file > default. --interval.pack gives
    a pack its own cadence (e.g. --interval.pack host=1m): each run evaluates the packs that are due.

    Serves the dashboard at /, the JSON API under /api/ (OpenAPI at /api/openapi.json), live events at
    /api/performance/stream (SSE) and /api/performance/ws (WebSocket), /metrics (its own metrics and the
    findings, under the names of `advisor run --textfile`), and /health, /health/live, /health/ready,
    /health/detailed. Runs and findings go to --storage.path; `advisor history` reads them.

    Without a Prometheus it samples this machine every --sample-interval into the same file and evaluates
    on the embedded engine: the rules that need history start evaluating as it accumulates, across restarts.

    Credentials for the Prometheus come from the environment or the config file, never from flags.
    SIGTERM or SIGINT stops it cleanly (exit 0). Exit codes: 0 stopped, 2 usage/config/pack error.

    Example:

    \b
        advisor serve                                       # this machine, http://localhost:3019/
        advisor serve --prometheus http://prometheus:9090 --interval 1m
        advisor serve --prometheus http://prom:9090 --web.config.file web.yml \\
            --storage.path /var/lib/perfadvisor/advisor.db
        curl -s localhost:3019/api/performance/optimize?severity=critical
        curl -s -XPOST localhost:3019/api/performance/resources/optimize \\
            -H 'Content-Type: application/json' -d '{"targets": ["instance=~\\"web-.*\\""]}'
    """
    with errors_to_exit(debug):
        from ...exporter.webconfig import load as load_web
        from ...exporter.yamlfile import FileError
        from ..serve import options as O
        cfg = C.build(prometheus_url=prometheus_url, config_path=config_path, sets=sets, packs=packs,
                      no_builtin=no_builtin, concurrency=concurrency, categories=categories, rules=rules,
                      min_severity=min_severity, timeout=timeout, headers=headers, insecure=insecure,
                      ca_file=ca_file, debug=debug)
        path = config_path or os.environ.get("PERFADVISOR_CONFIG")
        opts = O.resolve(_given(settings), C.load_file(path).get("serve"), path, prometheus=cfg.prometheus is not None)
        from ..run import plan
        O.check_packs(opts, [p.name for p in plan(cfg)[0]])     # before anything is created on disk
        _logging(opts.log_level)
        try:
            web = load_web(opts.web_config_file)
        except FileError as e:
            raise ConfigError(f"web config file: {e}") from None
        from ..serve.app import serve as run_service
        try:
            run_service(cfg, opts, web)
        except OSError as e:
            raise ConfigError(f"listen address {opts.listen}: {e.strerror or e}") from None
    sys.exit(0)


def _logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("perfadvisor.advisor")
    root.handlers[:] = [handler]
    root.setLevel({"warn": "WARNING"}.get(level, level.upper()))
    root.propagate = False
