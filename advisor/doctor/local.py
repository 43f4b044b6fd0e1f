"""The doctor in local mode: sample like ``advisor run`` does, then diagnose the embedded engine over the samples.

The sampling interval stands in for the scrape interval, and the rules are fitted to the sampled history the
way local mode's run fits them (``local.adapt``), so the windows checked are the ones a local run would use.
"""
from __future__ import annotations

from ..config import Config
from ..durations import format_duration
from ..local.adapt import adapt_rules
from ..local.options import LocalOptions, Progress
from ..local.runner import collect
from ..run import plan
from ..sources import choose
from . import DEFAULT_MAX_HISTORY, Diagnosis, diagnose


def diagnose_local(config: Config, opts: LocalOptions, progress: Progress | None = None,
                   max_history: float = DEFAULT_MAX_HISTORY) -> Diagnosis:
    planned = plan(config)   # pack and --set errors before sampling
    got = collect(opts, progress)
    hist = got.history
    info = {"type": "embedded", "local": {
        "sampler": got.sampler, "interval": format_duration(opts.interval), "samples": len(got.times),
        "history": format_duration(hist.span), "store": opts.store}}
    return diagnose(config, choose(config, got.storage), now=got.times[-1] / 1000.0, planned=planned,
                    adapt=lambda packs, values, rules: adapt_rules(packs, values, rules, hist)[0],
                    interval=opts.interval, max_history=max_history, source_info=info)
