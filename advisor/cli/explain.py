"""``advisor explain``: what a rule checks, with its parameters substituted."""
from __future__ import annotations

import click

from ..durations import format_duration
from ..errors import ConfigError
from ..packs import ResolvedRule
from ..render import fmt_unit
from .exits import errors_to_exit
from .options import pack_options, packs_from_options


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
        loaded, values = packs_from_options(config_path, packs, no_builtin, sets)
        for pack in loaded:
            for r in pack.rules:
                if r.id == rule_id:
                    click.echo(describe(r.resolve(pack.params, values[pack.name])))
                    return
        ids = [r.id for p in loaded for r in p.rules]
        close = [i for i in ids if rule_id.split("-")[0] in i][:5]
        raise ConfigError(f"unknown rule {rule_id!r}" + (f" (did you mean: {', '.join(close)})" if close else ""))


def describe(rr: ResolvedRule) -> str:
    """The explanation text of one resolved rule."""
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
