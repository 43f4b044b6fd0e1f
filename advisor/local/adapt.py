"""Local mode's window adaptation: pack durations fitted to the history the local samples cover.

Packs are written for a Prometheus with days of history (``lookback: 1h``, ``rate_window: 5m``,
``for: 15m``). A local run may have a minute. Rather than special-casing rules, every *duration parameter*
is classified by where the pack's rules use it, and local mode picks a value for it from the history
span ``H``, the unbroken span ``U`` ending at the newest sample (a store keeps earlier runs, with gaps between
them) and the sample interval ``i`` (never longer than the pack's own value):

============  ==========================================  ======================================
role          used as                                     local value
============  ==========================================  ======================================
lookback      ``evaluate.lookback``                        ``min(value, H)``
rate          a range selector ``[$p]`` (rate windows)     ``min(value, max(4·i, H/4))``
step          ``evaluate.step``                            ``min(value, max(i, lookback/60))``
for           ``condition.for``                            kept: a condition that holds but not yet for
                                                           its whole ``for`` is *pending*, as against
                                                           Prometheus, never fired early
============  ==========================================  ======================================

A parameter used in several roles takes the smallest local value (a lookback also used as a range selector,
as in ``increase(x[$lookback])``, stays a lookback). Horizons and other durations are kept.
Parameters given with ``--set`` or the config file are never changed. Range and trend rules whose declared
``history.min`` is longer than ``H`` keep a window of ``history.min``, so they are reported as "not enough
history: needs ≥ N" instead of being guessed from too little data; instant rules judge the current value
and show as pending until they have held for their ``for``. As a store accumulates history, every value grows back to the
pack's own.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..packs import Pack, ResolvedRule, Rule
from ..durations import format_duration, parse_duration
from ..packs import params as P

ROLES = ("lookback", "rate", "step", "for")


@dataclass(frozen=True)
class History:
    """What the local samples cover: span from first to last sample, and the sampling interval (seconds)."""

    span: float
    interval: float
    recent: float | None = None     # unbroken history ending at the newest sample (default: span)

    @property
    def unbroken(self) -> float:
        return self.span if self.recent is None else self.recent


def _uses(rule: Rule, name: str) -> set[str]:
    ref = re.compile(r"\$(?:\{" + re.escape(name) + r"\}|" + re.escape(name) + r"(?![A-Za-z0-9_]))")
    window = re.compile(r"\[\s*" + ref.pattern + r"\s*[:\]]")
    roles = set()
    if rule.evaluate.lookback and ref.fullmatch(str(rule.evaluate.lookback).strip()):
        roles.add("lookback")
    if rule.evaluate.step and ref.fullmatch(str(rule.evaluate.step).strip()):
        roles.add("step")
    if rule.condition and rule.condition.for_ and ref.fullmatch(str(rule.condition.for_).strip()):
        roles.add("for")
    texts = [rule.query, rule.evaluate.limit_query or "", *(e.query for e in rule.evidence)]
    if rule.sizing:
        texts += [rule.sizing.capacity_query or "", rule.sizing.extra_cost_query or ""]
    if rule.replicas:
        texts.append(rule.replicas.current_query)
    if any(window.search(t) for t in texts):
        roles.add("rate")
    return roles


def roles(pack: Pack) -> dict[str, set[str]]:
    """For each duration parameter of the pack, the roles the rules give it (empty: left alone)."""
    out: dict[str, set[str]] = {}
    for p in pack.parameters:
        if p.type == "duration":
            out[p.name] = set().union(*(_uses(r, p.name) for r in pack.rules)) if pack.rules else set()
    return out


def local_values(pack: Pack, values: dict[str, Any], hist: History) -> dict[str, str]:
    """Adapted values for the pack's window parameters that `values` (user overrides) does not set."""
    H, i = max(hist.span, hist.interval), max(hist.interval, 0.001)
    current = {p.name: parse_duration(values.get(p.name, p.default)) for p in pack.parameters
               if p.type == "duration"}
    by_role = roles(pack)
    lookbacks = [min(current[n], H) for n, r in by_role.items() if "lookback" in r] or [H]
    lookback = max(lookbacks)
    pick = {"lookback": lambda d: min(d, H),
            "rate": lambda d: min(d, max(4 * i, H / 4)),
            "step": lambda d: min(d, max(i, lookback / 60)),
            "for": lambda d: d}
    out = {}
    for name, rs in by_role.items():
        if name in values or not rs:
            continue
        if "lookback" in rs:
            rs = rs - {"rate"}  # e.g. increase(x[$lookback]): the whole window, not a rate window
        local = min(pick[r](current[name]) for r in rs)
        local = math.floor(local) if local >= 1 else math.floor(local * 1000) / 1000  # whole seconds
        if 0 < local < current[name]:
            out[name] = format_duration(local)
    return out


def adapt_rules(packs: list[Pack], values: dict[str, dict], rules: list[ResolvedRule], hist: History
                ) -> tuple[list[ResolvedRule], dict[str, dict[str, str]]]:
    """The rules re-resolved with local values, and the per-pack changes made (for the report)."""
    by_name = {p.name: p for p in packs}
    changes = {p.name: local_values(p, values.get(p.name, {}), hist) for p in packs}
    out = []
    for rr in rules:
        pack = by_name[rr.rule.pack]
        local = dict(changes[pack.name])
        rule = rr.rule
        need = parse_duration(str(P.resolve_scalar(rule.min_history, pack.params, values.get(pack.name, {})))) \
            if rule.min_history else 0.0
        if rule.evaluate.mode != "instant" and need > hist.span:
            # Not enough history for this rule: keep a window of its minimum so it says "needs ≥ min".
            for name, rs in roles(pack).items():
                if "lookback" in rs and name in local:
                    cur = parse_duration(values.get(pack.name, {}).get(name, pack.params[name].default))
                    local[name] = format_duration(min(cur, need))
        out.append(rule.resolve(pack.params, {**values.get(pack.name, {}), **local}))
    return out, {k: v for k, v in changes.items() if v}
