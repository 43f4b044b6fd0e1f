"""``advisor packs list|show|validate``: look at rule packs without a data source."""
from __future__ import annotations

import sys

import click

from ..errors import EXIT_OK, EXIT_USAGE, AdvisorError, ConfigError
from ..packs import load_path
from .exits import echo_error, errors_to_exit
from .options import pack_options, packs_from_options


@click.group("packs")
def packs_group():
    """List, show and validate rule packs.

    Example:

    \b
        advisor packs list
        advisor packs show host
        advisor packs validate my-packs/
    """


@packs_group.command("list")
@pack_options
def packs_list(config_path, packs, no_builtin, sets):
    """List the loaded packs with their rule counts.

    Example:

    \b
        advisor packs list --pack ./team-packs
    """
    with errors_to_exit():
        loaded, _ = packs_from_options(config_path, packs, no_builtin, sets)
        width = max((len(p.name) for p in loaded), default=4)
        for p in loaded:
            cats = sorted({r.category for r in p.rules})
            click.echo(f"{p.name:<{width}}  {len(p.rules):>3} rules  {','.join(cats):<28}  {p.path}")


@packs_group.command("show")
@click.argument("pack_name", metavar="PACK")
@pack_options
def packs_show(pack_name, config_path, packs, no_builtin, sets):
    """Show a pack's parameters (with effective values) and rules.

    Example:

    \b
        advisor packs show host --set cpu_high=0.8
    """
    with errors_to_exit():
        loaded, values = packs_from_options(config_path, packs, no_builtin, sets)
        pack = next((p for p in loaded if p.name == pack_name), None)
        if pack is None:
            raise ConfigError(f"unknown pack {pack_name!r} (loaded: {', '.join(p.name for p in loaded)})")
        click.echo(f"{pack.name} — {pack.description}\n{pack.path}\n\nParameters:")
        for p in pack.parameters:
            v = values[pack.name].get(p.name, p.default)
            mark = "" if p.name not in values[pack.name] else "  (overridden)"
            click.echo(f"  {p.name} ({p.type}) = {v}{mark}\n      {p.description}")
        click.echo("\nRules:")
        for r in pack.rules:
            click.echo(f"  {r.id:<32} {r.category:<12} {r.severity:<8} {r.dimension:<8} {r.title}")


@packs_group.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def packs_validate(paths):
    """Validate pack files or directories; print one line per pack, exit 2 on the first error.

    Example:

    \b
        advisor packs validate rules/ my-pack.yaml
    """
    failed = False
    for path in paths:
        try:
            for p in load_path(path):
                click.echo(f"ok  {p.path}: pack {p.name}, {len(p.rules)} rules, {len(p.parameters)} parameters")
        except AdvisorError as e:   # every path is reported, then the exit code says whether one failed
            echo_error(e)
            failed = True
    sys.exit(EXIT_USAGE if failed else EXIT_OK)
