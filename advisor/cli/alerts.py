"""``advisor alerts generate``: write (or check) the Prometheus rule files translated from the packs."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..alerts import GENERATED, RUNBOOK_BASE, render_pack
from .exits import errors_to_exit
from .options import pack_options, packs_from_options

EXIT_DRIFT = 1


@click.group("alerts")
def alerts_group():
    """Prometheus alerting rules generated from the packs.

    Example:

    \b
        advisor alerts generate --out alerting
        advisor alerts generate --check
    """


@alerts_group.command("generate")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("alerting"),
              show_default=True, help="Directory the <pack>.rules.yaml files are written to.")
@click.option("--check", is_flag=True, help=f"Write nothing; exit {EXIT_DRIFT} naming each file that differs.")
@click.option("--prune", is_flag=True,
              help="Also remove (with --check: report) generated files no loaded pack produces any more.")
@click.option("--runbook-base", default=RUNBOOK_BASE, show_default=True,
              help="URL of the rule documentation; runbook_url is this plus #<rule id>.")
@pack_options
def generate(out_dir: Path, check: bool, prune: bool, runbook_base: str, config_path, packs, no_builtin, sets):
    """Write <out>/<pack>.rules.yaml for every pack with alert rules.

    Parameters set with --set (or the config file) are baked into the expressions, so a team can
    generate rules with its own thresholds. Exit codes: 0 ok, 1 drift (--check), 2 bad pack/parameter.

    Example:

    \b
        advisor alerts generate --out alerting --set host.cpu_high=0.8
        promtool check rules alerting/*.rules.yaml
    """
    with errors_to_exit():
        loaded, values = packs_from_options(config_path, packs, no_builtin, sets)
        wanted = {}
        for p in loaded:
            text = render_pack(p, values.get(p.name, {}), runbook_base)
            if text is not None:
                wanted[out_dir / f"{p.name}.rules.yaml"] = text
    drift = [f for f, text in wanted.items() if not f.exists() or f.read_text() != text]
    # Only files this command wrote count as stale; a user's own rule files in the same folder are left alone.
    stale = [] if not prune else [f for f in sorted(out_dir.glob("*.rules.yaml"))
             if f not in wanted and f.read_text().startswith(GENERATED)]
    if check:
        for f in drift:
            click.echo(f"{f}: differs from the packs (run: advisor alerts generate --out {out_dir})", err=True)
        for f in stale:
            click.echo(f"{f}: no pack with alert rules generates it (delete it)", err=True)
        sys.exit(EXIT_DRIFT if drift or stale else 0)
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in drift:
        f.write_text(wanted[f])
        click.echo(f"wrote {f}")
    for f in stale:
        f.unlink()
        click.echo(f"removed {f}")
