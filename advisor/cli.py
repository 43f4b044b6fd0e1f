"""The `advisor` command line: one group, each subcommand registered from its own module."""
from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="perfadvisor", prog_name="advisor")
def cli() -> None:
    """Evaluate PromQL rule packs and recommend optimizations, scaling and alerts."""


def main() -> None:
    cli()


from .cli_packs import explain, packs_group  # noqa: E402
from .cli_run import run  # noqa: E402
from .alerts import alerts_group  # noqa: E402
from .cli_test import test_command  # noqa: E402
from .query import query  # noqa: E402

cli.add_command(run)
cli.add_command(packs_group)
cli.add_command(explain)
cli.add_command(alerts_group)
cli.add_command(test_command)
cli.add_command(query)
