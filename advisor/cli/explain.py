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
@click.option("--prometheus", "prometheus_url", metavar="URL",
              help="Also evaluate the rule against this Prometheus-compatible API and show the verdict.")
@click.option("--load", "load_files", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Also evaluate the rule on the embedded engine over these data files (as advisor query --load).")
@click.option("--time", "at", metavar="T",
              help="Evaluation instant, RFC 3339 or Unix seconds (default: now; with --load, the newest sample).")
def explain(rule_id, config_path, packs, no_builtin, sets, prometheus_url, load_files, at):
    """Explain a rule: what it checks, its PromQL with parameters substituted, condition and advice; with a
    data source, also its verdict at --time: values, findings (firing or pending) and their confidence inputs.

    Example:

    \b
        advisor explain host-cpu-saturation --set host.lookback=6h
        advisor explain host-cpu-saturation --prometheus http://prom:9090 --time 2026-01-02T03:04:05Z
    """
    with errors_to_exit():
        if prometheus_url and load_files:
            raise ConfigError("use either --load (embedded engine) or --prometheus, not both")
        if at and not (prometheus_url or load_files):
            raise ConfigError("--time needs a data source: --prometheus URL or --load FILE")
        loaded, values = packs_from_options(config_path, packs, no_builtin, sets)
        for pack in loaded:
            for r in pack.rules:
                if r.id == rule_id:
                    rr = r.resolve(pack.params, values[pack.name])
                    click.echo(describe(rr))
                    if prometheus_url or load_files:
                        click.echo("\n" + verdict(rr, prometheus_url, load_files, at))
                    return
        ids = [r.id for p in loaded for r in p.rules]
        close = [i for i in ids if rule_id.split("-")[0] in i][:5]
        raise ConfigError(f"unknown rule {rule_id!r}" + (f" (did you mean: {', '.join(close)})" if close else ""))


def verdict(rr: ResolvedRule, url: str | None, files: tuple[str, ...], at: str | None) -> str:
    """The rule evaluated at `at` against the server or files: what a run would report for it."""
    import time as _time
    from datetime import datetime, timezone

    from .. import query as Q
    from ..evaluate import Evaluator
    from ..render import fmt_duration
    try:
        when = Q.parse_time(at) if at else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--time'") from None
    if url:
        source = Q.prometheus_source(url)
    else:
        from .run import _loaded
        source, newest = _loaded(files, when)
        when = newest if when is None else when
    when = _time.time() if when is None else when
    (res,) = Evaluator(source, now=when, concurrency=1).run([rr])
    stamp = datetime.fromtimestamp(when, timezone.utc).isoformat().replace("+00:00", "Z")
    lines = [f"Verdict at {stamp}:"]
    if not res.evaluated:
        return "\n".join(lines + [f"  not evaluated: {res.reason}"])
    lines.append(f"  {res.targets} target(s)" + (f" ({res.reason})" if res.reason else ""))
    unit = rr.rule.unit
    for target, value in sorted(res.values, key=lambda x: str(x[0]))[:20]:
        lines.append(f"  {', '.join(f'{k}={v}' for k, v in target.items()) or '(all)'}: {fmt_unit(value, unit)}")
    for f in res.findings:
        state = f.state if f.state == "firing" else (
            f"pending (held {fmt_duration(f.active_for or 0)} of {fmt_duration(f.for_seconds or 0)})")
        lines += [f"  {state}: {f.summary or f.target_text}", f"    confidence {f.confidence.explain()}"]
        if f.cause:
            lines.append(f"    explained by {f.cause}")
    for row in res.sizing_rows:
        lines.append(f"  sizing row (no material change): {', '.join(f'{k}={v}' for k, v in row.target.items())} "
                     f"→ {fmt_unit(row.sizing.recommended, 'cores' if row.sizing.resource == 'cpu' else 'bytes')}")
    if not res.findings and not res.sizing_rows:
        lines.append("  nothing found")
    return "\n".join(lines)


def describe(rr: ResolvedRule) -> str:
    """The explanation text of one resolved rule."""
    r = rr.rule
    ev = r.evaluate
    lines = [f"{r.id}: {r.title}", f"  pack {r.pack} ({r.source}) · {r.category} · {r.dimension} · {r.severity}", ""]
    mode = "instant query at the evaluation time"
    if ev.mode == "range":
        mode = f"{ev.reduce} over the last {format_duration(rr.lookback)} (step {format_duration(rr.step or 60)})"
    elif ev.mode == "trend" and rr.windows:
        wins = ", ".join(format_duration(w) for w in (*rr.windows, rr.lookback) if w <= rr.lookback)
        mode = (f"Theil-Sen slope and Mann-Kendall trend over each window the history covers ({wins}); "
                f"with ≥ 2d, the growth of the daily baselines; projected {format_duration(rr.horizon or 0)} ahead")
    elif ev.mode == "trend":
        mode = (f"linear fit over the last {format_duration(rr.lookback)}, projected "
                f"{format_duration(rr.horizon or 0)} ahead (min R² {rr.min_fit})")
    lines += ["Query:", *("  " + q for q in rr.query.splitlines()), "", f"Evaluation: {mode}"]
    if r.condition:
        of = "growth per second" if r.condition.of == "slope" else "value"
        lines.append(f"Condition: {of} {r.condition.op} {fmt_unit(rr.threshold, r.unit)}"
                     + (f" for {format_duration(rr.for_seconds)} (pending until it has held that long)"
                        if rr.for_seconds else ""))
    if r.explained_by:
        lines.append("Explained by: " + ", ".join(rid for rid, _ in r.explained_by)
                     + " (a finding of it on the same target is named as the cause)")
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
