"""``advisor packs list|show|validate`` and ``advisor explain``: look at rule packs without a data source."""
from __future__ import annotations

import sys

import click

from . import config as C
from .cli_common import errors_to_exit, pack_options
from .errors import AdvisorError, ConfigError
from .packs import load_path
from .packs.params import format_duration
from .render import fmt_unit


def _packs(config_path, packs, no_builtin, sets):
    cfg = C.build(config_path=config_path, packs=packs, no_builtin=no_builtin, sets=sets, env={})
    loaded = C.load_packs(cfg)
    return loaded, C.pack_values(loaded, cfg.overrides)


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
        loaded, _ = _packs(config_path, packs, no_builtin, sets)
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
        loaded, values = _packs(config_path, packs, no_builtin, sets)
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
        except AdvisorError as e:
            click.echo(f"advisor: error: {e}", err=True)
            failed = True
    sys.exit(2 if failed else 0)


@click.command("explain")
@click.argument("rule_id")
@pack_options
def explain(rule_id, config_path, packs, no_builtin, sets):
    """Explain a rule: what it checks, its PromQL with parameters substituted, condition and advice.

    Example:

    \b
        advisor explain host-cpu-saturation --set host.lookback=6h
    """
    with errors_to_exit():
        loaded, values = _packs(config_path, packs, no_builtin, sets)
        for pack in loaded:
            for r in pack.rules:
                if r.id == rule_id:
                    click.echo(describe(r.resolve(pack.params, values[pack.name])))
                    return
        ids = [r.id for p in loaded for r in p.rules]
        close = [i for i in ids if rule_id.split("-")[0] in i][:5]
        raise ConfigError(f"unknown rule {rule_id!r}" + (f" (did you mean: {', '.join(close)})" if close else ""))


def describe(rr) -> str:
    r = rr.rule
    ev = r.evaluate
    lines = [f"{r.id}: {r.title}", f"  pack {r.pack} ({r.source}) · {r.category} · {r.dimension} · {r.severity}", ""]
    mode = "instant query at the evaluation time"
    if ev.mode == "range":
        mode = f"{ev.reduce} over the last {format_duration(rr.lookback)} (step {format_duration(rr.step or 60)})"
    elif ev.mode == "trend":
        mode = (f"linear fit over the last {format_duration(rr.lookback)}, projected "
                f"{format_duration(rr.horizon or 0)} ahead (min R² {rr.min_fit})")
    lines += ["Query:", *("  " + q for q in rr.query.splitlines()), "", f"Evaluation: {mode}"]
    if r.condition:
        of = "growth per second" if r.condition.of == "slope" else "value"
        lines.append(f"Condition: {of} {r.condition.op} {fmt_unit(rr.threshold, r.unit)}"
                     + (f" for {format_duration(rr.for_seconds)}" if rr.for_seconds else ""))
    if rr.min_history or rr.preferred_history:
        lines.append(f"History: needs ≥ {format_duration(rr.min_history or 0)}, best with "
                     f"{format_duration(rr.preferred_history or rr.min_history or 0)}")
    if r.score:
        lines.append(f"Score curve: {r.score.good} scores 90, {r.score.median} scores 50 (weight {r.weight_value:g})")
    lines += ["", "Alert expression:", f"  {' '.join(rr.alert_expr.split())}"]
    if r.sizing:
        lines.append(f"Sizing: {r.sizing.resource}, headroom {rr.sizing.headroom:g}, floor {rr.sizing.floor:g}")
    if r.recommendation:
        lines += ["", "Recommendation template:", *("  " + x for x in r.recommendation.strip().splitlines())]
    if rr.evidence:
        lines += ["", "Evidence:", *(f"  {e.title}: {' '.join(e.query.split())}" for e in rr.evidence)]
    if r.runbook:
        lines += ["", f"Runbook: {r.runbook}"]
    lines += [f"Reference: {x}" for x in r.references]
    return "\n".join(lines)
