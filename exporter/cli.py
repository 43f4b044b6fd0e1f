"""``perfadvisor-exporter``: the command line, generated from the settings table and the collector registry.

Exit codes: 0 clean shutdown (SIGTERM/SIGINT); 1 runtime failure (e.g. the address is in use);
2 bad usage, bad config file, bad web config file or unknown collector (one line on stderr).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any, Mapping, Sequence

import click
from click.core import ParameterSource

from . import logs, webconfig
from .config import Setting, all_settings, build_config
from .registry import CollectorSpec, all_collectors
from .scrape import build_collectors
from .server import ExporterServer, exporter_version
from .yamlfile import FileError

log = logging.getLogger("perfadvisor.exporter.cli")

EXIT_RUNTIME, EXIT_CONFIG = 1, 2
_EXPLICIT = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


class ConfigExit(Exception):
    """A one-line configuration error that ends the program with exit code 2."""


def _option(s: Setting) -> click.Option:
    default = "" if s.default is None else f" [default: {s.default}]"
    kw: dict[str, Any] = {"default": None, "envvar": s.envvar, "show_envvar": True, "help": f"{s.help}{default}",
                          "multiple": s.multiple}
    if s.type is bool:
        if s.path[0] in ("collectors", "collectors_config"):
            return click.Option([f"{s.flag}/--no-{s.flag[2:]}", s.param], **kw)
        return click.Option([s.flag, s.param], is_flag=True, **kw)
    choices = s.schema.get("enum")
    if choices and all(isinstance(c, str) for c in choices):
        kw["type"] = click.Choice(choices)
    else:
        kw["type"] = {str: click.STRING, int: click.INT, float: click.FLOAT}[s.type]
        kw["metavar"] = s.type.__name__.upper()
    return click.Option([s.flag, s.param], **kw)


def build_command(specs: Mapping[str, CollectorSpec]) -> click.Command:
    """The click command for these collectors (tests pass their own specs)."""
    settings = all_settings(specs)

    def run(**kw: Any) -> None:
        ctx = click.get_current_context()
        explicit = {s.param: kw[s.param] for s in settings if ctx.get_parameter_source(s.param) in _EXPLICIT}
        from_env = {p for p in explicit if ctx.get_parameter_source(p) == ParameterSource.ENVIRONMENT}
        try:
            config = build_config(specs, explicit, kw["config_file"], debug=bool(kw["debug"]), from_env=from_env)
            logs.setup(config.log_level, config.log_format)
            _warn_unknown_env(settings)
            web = webconfig.load(config.web_config_file)
        except FileError as e:
            raise ConfigExit(str(e)) from None
        collectors = build_collectors(specs, config)
        try:
            server = ExporterServer(config, collectors, web, known=frozenset(specs))
        except OSError as e:
            log.error("cannot listen", extra={"kv": {"err": e.strerror or str(e)}})
            raise SystemExit(EXIT_RUNTIME) from None
        _serve(server)

    params: list[click.Parameter] = [_option(s) for s in settings]
    params += [
        click.Option(["--config", "config_file"], type=click.Path(dir_okay=False), envvar="PERFADVISOR_CONFIG",
                     show_envvar=True, help="YAML config file (docs/configuration.md)."),
        click.Option(["--debug"], is_flag=True, envvar="PERFADVISOR_DEBUG", show_envvar=True,
                     help="Debug logging, and tracebacks on unexpected errors."),
    ]
    cmd = click.Command(
        "perfadvisor-exporter", callback=run, params=params,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
        help=f"""Prometheus exporter for host, process-group and service metrics (node_exporter names).

        Settings come from, highest first: flags, PERFADVISOR_* environment variables (shown with each flag),
        the --config YAML file, defaults.

        Collectors: {', '.join(f"{n}{'' if s.default_enabled else ' (off by default)'}" for n, s in specs.items())
                     or 'none registered'}.

        \b
        Example:
            perfadvisor-exporter --web.listen-address=127.0.0.1:3018 --no-collector.textfile
            curl -s localhost:3018/api/metrics?collect[]=cpu
        """,
    )
    return click.version_option(exporter_version(), "--version", prog_name="perfadvisor-exporter")(cmd)


def _warn_unknown_env(settings: Sequence[Setting]) -> None:
    known = {s.envvar for s in settings}
    for k in os.environ:
        if k.startswith("PERFADVISOR_COLLECTOR_") and k not in known:
            log.warning("environment variable matches no setting", extra={"kv": {"name": k}})


def _serve(server: ExporterServer) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        log.info("received signal, shutting down", extra={"kv": {"signal": signal.Signals(signum).name}})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    while not stop.wait(1.0):
        pass
    server.shutdown()
    log.info("stopped")


def _unknown_option(name: str, specs: Mapping[str, CollectorSpec]) -> str | None:
    for prefix in ("--no-collector.", "--collector."):
        if name.startswith(prefix):
            collector, _, prop = name[len(prefix):].partition(".")
            if collector not in specs:
                return f"{name}: unknown collector {collector!r} (known: {', '.join(specs) or 'none'})"
            props = [p.replace("_", "-") for p in (specs[collector].config_schema.get("properties") or {})]
            return f"{name}: collector {collector!r} has no setting {prop!r} (settings: {', '.join(props) or 'none'})"
    return None


def main(argv: Sequence[str] | None = None, specs: Mapping[str, CollectorSpec] | None = None) -> None:
    """Console-script entry point."""
    specs = all_collectors() if specs is None else specs
    cmd = build_command(specs)
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or bool(os.environ.get("PERFADVISOR_DEBUG"))
    try:
        code = cmd.main(args=list(argv) if argv is not None else None, prog_name="perfadvisor-exporter",
                        standalone_mode=False)
    except ConfigExit as e:
        click.echo(str(e), err=True)
        sys.exit(EXIT_CONFIG)
    except click.NoSuchOption as e:
        message = _unknown_option(e.option_name, specs)
        if message is None:
            e.show()
        else:
            click.echo(message, err=True)
        sys.exit(EXIT_CONFIG)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_CONFIG if isinstance(e, click.UsageError) else EXIT_RUNTIME)
    except click.Abort:
        sys.exit(EXIT_RUNTIME)
    except Exception as e:
        if debug:
            raise
        click.echo(f"perfadvisor-exporter: unexpected error: {type(e).__name__}: {e} (run with --debug for details)",
                   err=True)
        sys.exit(EXIT_RUNTIME)
    sys.exit(code if isinstance(code, int) else 0)
