"""``advisor serve``: the continuous advisor — evaluations on a schedule, history, JSON API, metrics, dashboard."""
from __future__ import annotations

import logging
import sys
from dataclasses import replace

import click

from .. import config as C
from ..errors import ConfigError
from .exits import errors_to_exit
from .options import connection_options, debug_option, pack_options


@click.command("serve")
@click.option("--prometheus", "prometheus_url", metavar="URL",
              help="Prometheus-compatible API base URL. Env: PERFADVISOR_PROMETHEUS_URL. Without one, the "
                   "service samples this machine continuously and evaluates on the embedded engine.")
@click.option("--web.listen-address", "listen", default=":3019", show_default=True, metavar="HOST:PORT",
              envvar="PERFADVISOR_SERVE_WEB_LISTEN_ADDRESS",
              help="Address to listen on. Env: PERFADVISOR_SERVE_WEB_LISTEN_ADDRESS.")
@click.option("--web.config.file", "web_config_file", type=click.Path(dir_okay=False), metavar="FILE",
              envvar="PERFADVISOR_SERVE_WEB_CONFIG_FILE",
              help="Exporter-toolkit web config file: TLS and bcrypt basic auth, as the exporter's. "
                   "Env: PERFADVISOR_SERVE_WEB_CONFIG_FILE.")
@click.option("--web.cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Allow cross-origin requests from this origin, e.g. https://grafana.example (repeatable; "
                   "default: none).")
@click.option("--web.max-body", "max_body", type=click.IntRange(256, 16 * 1024 * 1024), default=65536,
              show_default=True, metavar="BYTES", help="Largest request body accepted (413 above).")
@click.option("--web.post-rate", "post_rate", type=float, default=10.0, show_default=True, metavar="N",
              help="POST requests per minute and client (429 with Retry-After above it).")
@click.option("--web.post-burst", "post_burst", type=int, default=5, show_default=True, metavar="N",
              help="POST requests a client may send at once before the rate applies.")
@click.option("--interval", default="5m", show_default=True, metavar="DURATION", envvar="PERFADVISOR_SERVE_INTERVAL",
              help="Time between scheduled evaluations. Env: PERFADVISOR_SERVE_INTERVAL.")
@click.option("--storage.path", "storage_path", default="./perfadvisor-advisor.db", show_default=True,
              metavar="FILE", envvar="PERFADVISOR_SERVE_STORAGE_PATH",
              help="History store (SQLite, WAL); without a Prometheus it also keeps the local samples. "
                   "Env: PERFADVISOR_SERVE_STORAGE_PATH.")
@click.option("--storage.retention", "retention", default="30d", show_default=True, metavar="DURATION",
              help="Keep runs and resolved findings this long.")
@click.option("--sample-interval", default="15s", show_default=True, metavar="DURATION",
              help="Without a Prometheus: time between local samples.")
@click.option("--exporter", "exporter_url", metavar="URL",
              help="Without a Prometheus: scrape this running exporter instead of running the collectors "
                   "in-process.")
@click.option("--bench.allow", "bench_allow", multiple=True, metavar="URL-PREFIX",
              envvar="PERFADVISOR_SERVE_BENCH_ALLOW",
              expose_value=False, callback=lambda ctx, _, v: ctx.meta.__setitem__("bench_allow", tuple(v)),
              help="Allow POST /api/performance/benchmark to load URLs under this prefix (repeatable; default: "
                   "none, the endpoint answers 403). Env: PERFADVISOR_SERVE_BENCH_ALLOW (space-separated).")
@pack_options
@click.option("--category", "categories", multiple=True, type=click.Choice(["optimization", "scaling", "alert"]),
              help="Only rules of this category (repeatable).")
@click.option("--rule", "rules", multiple=True, metavar="GLOB", help="Only rules whose id matches (repeatable).")
@click.option("--min-severity", type=click.Choice(["info", "warning", "critical"]), default="info",
              show_default=True, help="Only rules of at least this severity.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Queries in flight at once (default 4).")
@connection_options
@click.option("--log.level", "log_level", type=click.Choice(["debug", "info", "warn", "error"]), default="info",
              show_default=True, help="Log level (stderr).")
@debug_option
def serve(prometheus_url, listen, web_config_file, cors_origins, max_body, post_rate, post_burst, interval,
          storage_path, retention, sample_interval, exporter_url, config_path, packs, no_builtin, sets, categories,
          rules, min_severity, concurrency, timeout, headers, ca_file, insecure, log_level, debug):
    """Run the continuous advisor: evaluate every --interval, remember, and serve the results.

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
        _logging(log_level)
        from ...exporter.webconfig import load as load_web
        from ...exporter.yamlfile import FileError
        from ..serve import options as O
        cfg = C.build(prometheus_url=prometheus_url, config_path=config_path, sets=sets, packs=packs,
                      no_builtin=no_builtin, concurrency=concurrency, categories=categories, rules=rules,
                      min_severity=min_severity, timeout=timeout, headers=headers, insecure=insecure,
                      ca_file=ca_file, debug=debug)
        opts = O.build(listen=listen, web_config_file=web_config_file, interval=interval, storage_path=storage_path,
                       retention=retention, sample_interval=sample_interval, exporter=exporter_url,
                       max_body=max_body, post_rate=post_rate, post_burst=post_burst, cors_origins=cors_origins)
        opts = replace(opts, bench_allow=click.get_current_context().meta.get("bench_allow", ()))
        if exporter_url and cfg.prometheus is not None:
            raise ConfigError("--exporter is for local sampling; it cannot be used with a Prometheus")
        try:
            web = load_web(web_config_file)
        except FileError as e:
            raise ConfigError(f"--web.config.file: {e}") from None
        from ..serve.app import serve as run_service
        try:
            run_service(cfg, opts, web)
        except OSError as e:
            raise ConfigError(f"--web.listen-address {listen}: {e.strerror or e}") from None
    sys.exit(0)


def _logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("perfadvisor.advisor")
    root.handlers[:] = [handler]
    root.setLevel({"warn": "WARNING"}.get(level, level.upper()))
    root.propagate = False
