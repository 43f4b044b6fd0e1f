"""The `advisor` command line: one group; each command group lives in its own module here.

Shared option groups are in ``options``, and every command turns errors into one line and an exit code
through ``exits.errors_to_exit``.
"""
from __future__ import annotations

import click

# The modules, not their commands, so that cli.run and friends stay the modules (a command named like its
# module would shadow it).
from . import alerts, explain, packs, query, rule_tests, run
from . import doctor
from . import bench, compare
from . import history, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="perfadvisor", prog_name="advisor")
def cli() -> None:
    """Evaluate PromQL rule packs and recommend optimizations, scaling and alerts."""


for _command in (run.run, packs.packs_group, explain.explain, alerts.alerts_group, rule_tests.rule_tests,
                 query.query):
    cli.add_command(_command)
cli.add_command(doctor.doctor)
cli.add_command(bench.bench)
cli.add_command(compare.compare)
cli.add_command(history.history_group)
cli.add_command(serve.serve)


def main() -> None:
    cli()
