"""The doctor in local mode: sample like ``advisor run`` does, then diagnose the embedded engine over the samples.

The sampling interval stands in for the scrape interval, and the rules are fitted to the sampled history the
way local mode's run fits them (``local.adapt``), so the windows checked are the ones a local run would use.
"""
from __future__ import annotations

from ..config import Config
from ..durations import format_duration
from ..local.adapt import adapt_rules
from ..local.options import LocalOptions, Progress
from ..local.runner import history, make_sampler, sample, with_staleness
from ..local.store import SampleStore
from ..promql.storage import Storage
from ..run import plan
from ..sources import choose
from . import DEFAULT_MAX_HISTORY, Diagnosis, diagnose


def diagnose_local(config: Config, opts: LocalOptions, progress: Progress | None = None,
                   max_history: float = DEFAULT_MAX_HISTORY) -> Diagnosis:
    planned = plan(config)   # pack and --set errors before sampling
    storage = Storage()
    store = SampleStore(opts.store) if opts.store else None
    times: list[int] = []
    sampler = make_sampler(opts)
    try:
        seen: dict = {}

        def on_batch(b) -> None:
            b = with_staleness(b, seen)
            times.append(b.ts_ms)
            if store:
                store.append([b])
            else:
                for labels, value in b.samples:
                    storage.add(labels, b.ts_ms, value)
        sample(sampler, opts, on_batch, progress)
        if store:
            for labels, ts, vals in store.series():
                storage.add_many(labels, ts, vals)
            times = store.scrape_times()
    finally:
        sampler.close()
        if store:
            store.close()
    hist = history(times, opts.interval)
    info = {"type": "embedded", "local": {
        "sampler": f"exporter {sampler.url}" if opts.exporter else "in-process collectors",
        "interval": format_duration(opts.interval), "samples": len(times), "history": format_duration(hist.span),
        "store": opts.store}}
    return diagnose(config, choose(config, storage), now=times[-1] / 1000.0, planned=planned,
                    adapt=lambda packs, values, rules: adapt_rules(packs, values, rules, hist)[0],
                    interval=opts.interval, max_history=max_history, source_info=info)
