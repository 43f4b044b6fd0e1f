"""The one path from an error to what the user sees: one line on stderr and a documented exit code.

Exit codes (``errors.EXIT_*``): 0 ok, 1 ``--fail-on`` reached / a test failed / drift, 2 usage, config, pack
or test-file error, 3 data source unreachable or failing, 130 interrupted.
"""
from __future__ import annotations

import contextlib
import sys

import click

from ..errors import EXIT_SOURCE, AdvisorError, SourceError


def echo_error(error: Exception | str) -> None:
    """``advisor: error: …`` on stderr, for commands that report an error and go on."""
    click.echo(f"advisor: error: {error}", err=True)


@contextlib.contextmanager
def errors_to_exit(debug: bool = False):
    """AdvisorError → exit 2 (or its code), SourceError → exit 3; one line on stderr, traceback only with --debug."""
    try:
        yield
    except (AdvisorError, SourceError) as e:
        if debug:
            raise
        echo_error(e)
        sys.exit(e.exit_code if isinstance(e, AdvisorError) else EXIT_SOURCE)
    except KeyboardInterrupt:
        click.echo("advisor: interrupted", err=True)
        sys.exit(130)
