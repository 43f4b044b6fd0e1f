"""Running local mode: sample, optionally store, fit the windows, evaluate on the embedded engine."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from ..config import Config
from ..findings import Report
from ..packs.params import format_duration
from ..promql.storage import Storage
from .adapt import History, adapt_rules
from .options import LocalOptions, Progress
from .sampler import HttpSampler, InProcessSampler, Sampler
from .source import embedded_source
from .store import Batch, SampleStore


def make_sampler(opts: LocalOptions) -> Sampler:
    return HttpSampler(opts.exporter) if opts.exporter else InProcessSampler(opts.collectors)


def sample(sampler: Sampler, opts: LocalOptions, on_batch: Callable[[Batch], None],
           progress: Progress | None = None) -> int:
    """Take a sample every interval for the duration (the first at once, the last at the end); returns count."""
    n = int(opts.duration // opts.interval) + 1
    start = time.monotonic()
    for k in range(n):
        delay = start + k * opts.interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        on_batch(sampler.sample())
        if progress:
            progress(min(opts.duration, k * opts.interval), opts.duration)
    return n


def _fill(storage: Storage, batch: Batch) -> None:
    for labels, value in batch.samples:
        storage.add(labels, batch.ts_ms, value)


def run_local(config: Config, opts: LocalOptions, progress: Progress | None = None,
              eval_progress=None) -> Report:
    """Sample, (store), evaluate; the report's source says how much history there was."""
    from ..run import execute
    storage = Storage()
    store = SampleStore(opts.store) if opts.store else None
    times: list[int] = []
    span_ms: tuple[int, int] | None = None
    sampler = make_sampler(opts)
    try:
        def on_batch(b: Batch) -> None:
            times.append(b.ts_ms)
            if store:
                store.append([b])
            else:
                _fill(storage, b)
        sample(sampler, opts, on_batch, progress)
        stored = 0
        if store:
            for labels, ts, vals in store.series():
                storage.add_many(labels, ts, vals)
            span_ms = store.span()
            stored = len(store.scrape_times())
    finally:
        sampler.close()
        if store:
            store.close()
    first, last = span_ms or (times[0], times[-1])
    hist = History(span=(last - first) / 1000.0, interval=opts.interval)
    changes: dict = {}

    def adapt(packs, values, rules):
        out, ch = adapt_rules(packs, values, rules, hist)
        changes.update(ch)
        return out
    report = execute(config, source=embedded_source(storage), progress=eval_progress, now=last / 1000.0,
                     adapt=adapt)
    local = {"sampler": f"exporter {sampler.url}" if opts.exporter else "in-process collectors",
             "instance": sampler.instance, "interval": format_duration(opts.interval),
             "samples": stored or len(times), "history": format_duration(hist.span),
             "store": opts.store, "adapted_parameters": changes}
    note = [f"local mode: {format_duration(hist.span)} of history at {format_duration(opts.interval)} intervals; "
            "pack windows were shortened to fit it (" +
            ", ".join(f"{p}.{k}={v}" for p, kv in sorted(changes.items()) for k, v in sorted(kv.items())) + ")"
            ] if changes else []
    return replace(report, source={**report.source, "type": "embedded", "local": local},
                   warnings=tuple(note) + report.warnings)
