"""Shared pieces of the advisor's commands: option groups and turning errors into one line + exit code."""
from __future__ import annotations

import contextlib
import sys

import click

from .errors import EXIT_SOURCE, AdvisorError, SourceError


@contextlib.contextmanager
def errors_to_exit(debug: bool = False):
    """AdvisorError → exit 2 (or its code), SourceError → exit 3; one line on stderr, traceback only with --debug."""
    try:
        yield
    except (AdvisorError, SourceError) as e:
        if debug:
            raise
        code = e.exit_code if isinstance(e, AdvisorError) else EXIT_SOURCE
        click.echo(f"advisor: error: {e}", err=True)
        sys.exit(code)
    except KeyboardInterrupt:
        click.echo("advisor: interrupted", err=True)
        sys.exit(130)


def pack_options(fn):
    """--pack, --no-builtin, --set, --config: which packs and parameter values."""
    for opt in reversed([
        click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="PERFADVISOR_CONFIG",
                     help="Config file (YAML). Env: PERFADVISOR_CONFIG."),
        click.option("--pack", "packs", multiple=True, metavar="PATH",
                     help="Extra rule pack file or directory of packs (repeatable)."),
        click.option("--no-builtin", is_flag=True, help="Do not load the built-in packs."),
        click.option("--set", "sets", multiple=True, metavar="[PACK.]NAME=VALUE",
                     help="Override a pack parameter: NAME applies to every pack having it, PACK.NAME to one."),
    ]):
        fn = opt(fn)
    return fn

