"""docs/rules.md: every built-in rule pack, and one section per rule whose anchor is the rule id.

The generated alerts' ``runbook_url`` points at ``docs/rules.md#<rule id>``, so each section says what the
rule checks (query, condition, parameters), what it means, what to do, and the alert it generates.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

import jinja2
import jinja2.sandbox

from perfadvisor.advisor.packs import Pack, ResolvedRule, Rule, load_builtin
from perfadvisor.advisor.packs.params import format_duration
from perfadvisor.advisor.render import ENV, fmt_unit

from .markdown import cell, fence, header

SOURCE = "the rule packs (rules/*.yaml)"
_PARAM = re.compile(r"\$(?:\{(\w+)\}|(\w+))|params\.(\w+)")

# Rule texts rendered with run-time values shown as {placeholders}: labels.X as {X} (not <X>, which Markdown
# would take for an HTML tag), value as {value}, projections and stats keep their attribute name.
_DOCS_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.ChainableUndefined, autoescape=False)
_DOCS_ENV.filters.update(ENV.filters)


class _Placeholders(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class _Ph(str):
    """A run-time value: attributes and arithmetic keep the placeholder ({slope})."""

    def __getattr__(self, name: str) -> "_Ph":
        if name.startswith("_"):
            raise AttributeError(name)
        return _Ph("{" + name + "}")

    def _same(self, *_: Any) -> "_Ph":
        return self

    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __add__ = __radd__ = __sub__ = __rsub__ = _same
    __neg__ = __pos__ = __abs__ = _same


def text(template: str, rr: ResolvedRule) -> str:
    """A rule text with constants filled in and run-time values as placeholders ("" if it cannot render)."""
    if not template:
        return ""
    ctx = {"labels": _Placeholders(), "value": _Ph("{value}"), "threshold": rr.threshold, "params": rr.params,
           "unit": rr.rule.unit, "target": "{target}", "projection": _Ph(), "stats": _Ph(), "sizing": _Ph(),
           "replicas": _Ph(), "rule": {"id": rr.rule.id, "title": rr.rule.title}}
    try:
        return " ".join(_DOCS_ENV.from_string(template).render(**ctx).split())
    except Exception:  # noqa: BLE001 - a text that needs run-time data: the section goes without it
        return ""


def alert_name(rule_id: str) -> str:
    """The alert a rule generates: ``host-cpu-saturation`` → ``HostCpuSaturation`` (as advisor alerts generate)."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[-_.\s]+", rule_id) if p)


def _threshold(rr: ResolvedRule) -> str:
    return fmt_unit(rr.threshold, rr.rule.unit) if rr.rule.unit else f"{rr.threshold:g}"


def condition(rr: ResolvedRule) -> str:
    """When the rule fires with the pack's defaults, e.g. ``p95 over 1h > 90.0%, for 15m``."""
    rule = rr.rule
    if not rule.condition:
        return "replicas differ from the recommendation" if rule.replicas else "always reported (sizing)"
    mode = rule.evaluate.mode
    what = ("now" if mode == "instant" else
            f"{rule.evaluate.reduce} over {format_duration(rr.lookback or 0)}" if mode == "range" else
            "growth/s" if rule.condition.of == "slope" else f"in {format_duration(rr.horizon or 0)}")
    held = f", for {format_duration(rr.for_seconds)}" if rr.for_seconds else ""
    return f"{what} {rule.condition.op} {_threshold(rr)}{held}"


def _evaluation(rr: ResolvedRule) -> str:
    ev = rr.rule.evaluate
    if ev.mode == "instant":
        return "instant query (the value now)"
    step = f", step {format_duration(rr.step)}" if rr.step else ""
    if ev.mode == "range":
        return f"range query over {format_duration(rr.lookback or 0)}{step}, reduced with `{ev.reduce}`"
    of = "growth per second" if rr.rule.condition and rr.rule.condition.of == "slope" else (
        f"value projected {format_duration(rr.horizon or 0)} ahead")
    fit = f", minimum R² {rr.min_fit:g}" if rr.min_fit else ""
    return f"linear trend over {format_duration(rr.lookback or 0)}{step}: {of}{fit}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def parameters_of(pack: Pack, rule: Rule) -> list[str]:
    """The pack parameters a rule uses (in its PromQL, condition, evaluation or texts), in pack order."""
    used = {next(g for g in m.groups() if g) for s in _strings(dataclasses.asdict(rule)) for m in _PARAM.finditer(s)}
    return [p.name for p in pack.parameters if p.name in used]


def _default(p) -> str:
    if p.type == "number":
        return str(int(p.default)) if float(p.default).is_integer() else repr(float(p.default))
    return str(p.default)


def _rule_section(pack: Pack, rr: ResolvedRule) -> list[str]:
    r = rr.rule
    out = ["", f"### {r.id}", "",
           f"**{r.title}** — pack [`{pack.name}`](#pack-{pack.name}) · {r.category} · {r.severity} · "
           f"dimension {r.dimension}" + ("" if r.enabled else " · disabled by default"), ""]
    out.append(f"- **Fires when** (defaults): {condition(rr)}")
    out.append(f"- **Evaluation:** {_evaluation(rr)}")
    if rr.min_history or rr.preferred_history:
        need = f"needs ≥ {format_duration(rr.min_history)}" if rr.min_history else ""
        best = f"best with {format_duration(rr.preferred_history)}" if rr.preferred_history else ""
        out.append(f"- **History:** {', '.join(x for x in (need, best) if x)}")
    params = parameters_of(pack, r)
    if params:
        out.append("- **Parameters:** " + ", ".join(f"`{n}` = `{_default(pack.params[n])}`" for n in params))
    if r.target:
        out.append("- **Finding per:** " + ", ".join(f"`{t}`" for t in r.target))
    if r.category == "alert" and r.enabled and r.condition is not None:
        of = "growth per second" if r.condition.of == "slope" else "value"
        held = f" for {rr.alert_for}" if rr.alert_for else ""
        out.append(f"- **Alert:** `{alert_name(r.id)}` ({r.severity}) when {of} {r.condition.op} {_threshold(rr)}"
                   f"{held}, in [alerting/{pack.name}.rules.yaml](../alerting/{pack.name}.rules.yaml)")
    else:
        out.append(f"- **Alert:** none — a `{r.category}` rule is reported by `advisor run` only")
    meaning = text(r.description, rr) or text(r.summary, rr) or r.title
    out += ["", f"**What it means.** {meaning}"]
    todo = " ".join(x for x in (text(r.recommendation, rr), r.runbook and f"Runbook: {' '.join(r.runbook.split())}")
                    if x)
    if todo:
        out += ["", f"**What to do.** {todo}"]
    out += ["", fence(r.query.strip(), "promql")]
    if r.references:
        out += ["", "References: " + ", ".join(f"<{u}>" if "://" in u else u for u in r.references)]
    return out


def render(packs: list[Pack] | None = None) -> str:
    packs = load_builtin() if packs is None else packs
    out = [header(SOURCE), "", "# Rules", "",
           "Every rule of the built-in packs, with the pack's default parameters. Change a threshold with "
           "`--set NAME=VALUE` (every pack having it) or `--set PACK.NAME=VALUE`; `advisor explain RULE` prints the "
           "same for any pack, your own included. How packs are written: [packs.md](packs.md). The alerts "
           "generated from the `alert` rules link here (`runbook_url`): "
           "[dashboards-and-alerting.md](dashboards-and-alerting.md).", "",
           "| pack | rules | what it covers |", "|---|---:|---|"]
    for p in packs:
        out.append(f"| [`{p.name}`](#pack-{p.name}) | {len(p.rules)} | {cell(p.description)} |")
    for p in packs:
        out += ["", f"## Pack `{p.name}`", "", " ".join(p.description.split()), "",
                "| rule | category | severity | dimension | fires when (defaults) | what it is |",
                "|---|---|---|---|---|---|"]
        resolved = p.resolved()
        for rr in resolved:
            r = rr.rule
            out.append(f"| [`{r.id}`](#{r.id}) | {r.category} | {r.severity} | {r.dimension} | "
                       f"{cell(condition(rr))} | {cell(r.title)} |")
        out += ["", f"Parameters of `{p.name}`:", "", "| parameter | type | default | meaning |", "|---|---|---|---|"]
        for par in p.parameters:
            out.append(f"| `{par.name}` | {par.type} | `{cell(_default(par))}` | {cell(par.description)} |")
        for rr in resolved:
            out += _rule_section(p, rr)
    return "\n".join(out) + "\n"
