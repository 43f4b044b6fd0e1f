"""One advisor run: packs + parameter values → resolved rules → evaluation → scored report."""
from __future__ import annotations

import fnmatch
import threading
import time
from pathlib import Path
from typing import Callable

from .config import SEVERITY_ORDER, Config, packs_and_values
from .errors import ConfigError
from .evaluate import Evaluator
from .findings import Report, RuleResult
from .packs import Pack, ResolvedRule
from .scoring import Score, to_score, weighted
from .sources import Source, choose


Plan = tuple[list[Pack], dict[str, dict], list[ResolvedRule]]


_PLANS: dict[tuple, Plan] = {}       # newest last; at most _MAX_PLANS (serve's per-pack runs each have one)
_PLANS_LOCK = threading.Lock()
_MAX_PLANS = 8


def _pack_files_key(config: Config) -> tuple | None:
    """What the packs are read from, with each file's size and modification time; None when a path cannot be
    listed (then nothing is cached and loading reports the problem)."""
    from importlib import resources
    files = []
    try:
        roots = ([Path(str(resources.files("perfadvisor.rules")))] if config.builtin else []) + \
            [Path(p) for p in config.pack_paths]
        for root in roots:
            found = sorted(root.rglob("*")) if root.is_dir() else [root]
            for f in found:
                st = f.stat()
                files.append((str(f), st.st_size, st.st_mtime_ns))
    except (OSError, TypeError, ValueError):
        return None
    return tuple(files)


def plan(config: Config) -> Plan:
    """Packs, validated parameter values, and the enabled rules selected by the filters.

    Loading and checking the packs (YAML, schema, template compilation) takes ~0.5 s; a process that runs
    repeatedly (``advisor serve``, benchmarks) gets the same plan back while no pack file has changed."""
    files = _pack_files_key(config)
    key = None
    if files is not None:
        key = (files, config.disabled_packs, config.overrides, config.categories, config.rule_patterns,
               config.min_severity)
        try:
            hash(key)
        except TypeError:   # an override value that is not hashable (a list from the config file)
            key = None
    if key is not None:
        with _PLANS_LOCK:
            hit = _PLANS.pop(key, None)
            if hit is not None:
                _PLANS[key] = hit
        if hit is not None:
            packs, values, rules = hit
            return list(packs), values, list(rules)
    out = _plan(config)
    if key is not None:
        with _PLANS_LOCK:
            _PLANS[key] = out
            while len(_PLANS) > _MAX_PLANS:
                del _PLANS[next(iter(_PLANS))]
        return list(out[0]), out[1], list(out[2])
    return out


def _plan(config: Config) -> Plan:
    packs, values = packs_and_values(config)
    rules = []
    for p in packs:
        for rr in p.resolved(values[p.name]):
            r = rr.rule
            if not r.enabled or (config.categories and r.category not in config.categories):
                continue
            if SEVERITY_ORDER[r.severity] < SEVERITY_ORDER[config.min_severity]:
                continue
            if config.rule_patterns and not any(fnmatch.fnmatchcase(r.id, p) for p in config.rule_patterns):
                continue
            rules.append(rr)
    if config.rule_patterns and not rules:
        raise ConfigError(f"--rule {' '.join(config.rule_patterns)} matches no enabled rule "
                          "(advisor packs show PACK lists them)")
    return packs, values, rules


def score(results: list[RuleResult]) -> tuple[dict[str, Score], Score]:
    """Per-dimension and overall scores; unevaluated rules are excluded and show up as lower coverage."""
    dims: dict[str, list[RuleResult]] = {}
    for r in results:
        if r.rule.weight_value > 0:
            dims.setdefault(r.rule.dimension, []).append(r)

    def agg(rs: list[RuleResult]) -> Score:
        items = [(r.score, r.rule.weight_value) for r in rs if r.evaluated and r.score is not None]
        return to_score(weighted(items), sum(1 for r in rs if r.evaluated), len(rs))
    return {d: agg(rs) for d, rs in sorted(dims.items())}, agg([r for rs in dims.values() for r in rs])


def execute(config: Config, source: Source | None = None,
            progress: Callable[[int, int, RuleResult | None], None] | None = None,
            now: float | None = None, adapt: Callable[..., list[ResolvedRule]] | None = None,
            planned: Plan | None = None) -> Report:
    """Evaluate every selected rule and build the report; `adapt(packs, values, rules)` may re-resolve the
    rules first (local mode fits pack windows to the history it has). `planned` is ``plan(config)`` when the
    caller made it already (local mode, to report pack errors before sampling)."""
    packs, values, rules = planned or plan(config)
    if adapt:
        rules = adapt(packs, values, rules)
    source = source or choose(config)
    done = [0]

    def tick(result: RuleResult) -> None:
        done[0] += 1
        if progress:
            progress(done[0], len(rules), result)
    if progress:
        progress(0, len(rules), None)
    evaluator = Evaluator(source, now=now, concurrency=config.concurrency, progress=tick, top=config.top)
    results = evaluator.run(rules)
    dims, overall = score(results)
    warnings = list(getattr(source, "warnings", []) or [])
    for r in results:
        warnings.extend(w for w in r.warnings if w not in warnings)
    src = {"type": getattr(source, "name", type(source).__name__)}
    if getattr(source, "base", None):
        src["url"] = source.base
    return Report(
        generated_at=evaluator.now if now is not None else time.time(), evaluated_at=evaluator.now, source=src,
        packs=tuple({"name": p.name, "description": p.description, "path": p.path,
                     "parameters": {k: p.params[k].default if k not in values[p.name] else values[p.name][k]
                                    for k in p.params}} for p in packs),
        results=tuple(results), dimensions=dims, overall=overall, warnings=tuple(warnings),
        filters={"categories": list(config.categories), "min_severity": config.min_severity, "top": config.top})
