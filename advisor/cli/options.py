"""Option groups several commands share, as decorators, and what they turn into (packs and their values)."""
from __future__ import annotations

from typing import Any

import click

from .. import config as C
from ..packs import Pack


def _apply(fn, options):
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def pack_options(fn):
    """--config, --pack, --no-builtin, --set: which packs and parameter values."""
    return _apply(fn, [
        click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="PERFADVISOR_CONFIG",
                     help="Config file (YAML). Env: PERFADVISOR_CONFIG."),
        click.option("--pack", "packs", multiple=True, metavar="PATH",
                     help="Extra rule pack file or directory of packs (repeatable)."),
        click.option("--no-builtin", is_flag=True, help="Do not load the built-in packs."),
        click.option("--set", "sets", multiple=True, metavar="[PACK.]NAME=VALUE",
                     help="Override a pack parameter: NAME applies to every pack having it, PACK.NAME to one."),
    ])


def packs_from_options(config_path: str | None, packs: tuple[str, ...], no_builtin: bool,
                       sets: tuple[str, ...]) -> tuple[list[Pack], dict[str, dict[str, Any]]]:
    """The packs and parameter values that pack_options' flags select (no data source involved)."""
    cfg = C.build(config_path=config_path, packs=packs, no_builtin=no_builtin, sets=sets, env={})
    return C.packs_and_values(cfg)


def connection_options(fn):
    """--timeout, --header, --ca-file, --insecure: how to talk to a Prometheus (credentials come from env/config)."""
    return _apply(fn, [
        click.option("--timeout", metavar="DURATION",
                     help="Deadline for each request as a whole (connect, wait, read the answer), e.g. 30s "
                          "(default 30s); retries of one query stay within timeout × (retries + 1)."),
        click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'",
                     help="Extra HTTP header, e.g. 'X-Scope-OrgID: tenant' (repeatable)."),
        click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help="CA bundle to verify TLS with."),
        click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate."),
    ])


def local_options(fn):
    """--exporter, --interval, --duration, --store: what local mode samples, how often and for how long."""
    return _apply(fn, [
        click.option("--exporter", "exporter_url", metavar="URL",
                     help="Local mode: scrape this running exporter instead of running the collectors in-process."),
        click.option("--interval", "local_interval", default="1s", show_default=True, metavar="DURATION",
                     help="Local mode: time between samples."),
        click.option("--duration", "local_duration", default="60s", show_default=True, metavar="DURATION",
                     help="Local mode: how long to sample before evaluating."),
        click.option("--store", "store_path", metavar="PATH", envvar="PERFADVISOR_STORE",
                     help="Local mode: keep samples in this file (SQLite, 7 days) so repeated runs accumulate "
                          "history. Env: PERFADVISOR_STORE."),
    ])


def debug_option(fn):
    """--debug: tracebacks instead of one-line errors."""
    return click.option("--debug", is_flag=True, help="Show tracebacks on errors.")(fn)
