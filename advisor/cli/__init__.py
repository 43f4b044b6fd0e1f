"""The `advisor` command line: one group; each command group lives in its own module here.

Shared option groups are in ``options``, and every command turns errors into one line and an exit code
through ``exits.errors_to_exit``.
"""
from __future__ import annotations

import click

from .alerts import alerts_group
from .explain import explain
from .packs import packs_group
from .query import query
from .rule_tests import rule_tests
from .run import run


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="perfadvisor", prog_name="advisor")
def cli() -> None:
    """Evaluate PromQL rule packs and recommend optimizations, scaling and alerts."""


for _command in (run, packs_group, explain, alerts_group, rule_tests, query):
    cli.add_command(_command)


def main() -> None:
    cli()
