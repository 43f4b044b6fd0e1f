"""The `advisor` command line: one group, each subcommand registered from its own module."""
from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="perfadvisor", prog_name="advisor")
def cli() -> None:
    """Evaluate PromQL rule packs and recommend optimizations, scaling and alerts."""


def main() -> None:
    cli()
