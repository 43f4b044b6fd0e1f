"""Running local mode: sample, optionally store, fit the windows, evaluate on the embedded engine."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from typing import Callable

from ..config import Config
from ..findings import Report
from ..durations import format_duration
from ..promql.storage import STALE_NAN, Storage
from ..sources import choose
from .adapt import History, adapt_rules
from .options import LocalOptions, Progress
from .sampler import HttpSampler, InProcessSampler, Sampler
from .store import Batch, SampleStore


def make_sampler(opts: LocalOptions) -> Sampler:
    return HttpSampler(opts.exporter) if opts.exporter else InProcessSampler(opts.collectors)


def sample(sampler: Sampler, opts: LocalOptions, on_batch: Callable[[Batch], None],
           progress: Progress | None = None) -> int:
    """Take a sample every interval for the duration (the first at once, the last at the end); returns count.

    Ctrl-C after the first sample stops sampling early: the run goes on to evaluate what it has.
    """
    n = int(opts.duration // opts.interval) + 1
    start = time.monotonic()
    taken = 0
    try:
        for k in range(n):
            delay = start + k * opts.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            on_batch(sampler.sample())
            taken += 1
            if progress:
                progress(min(opts.duration, k * opts.interval), opts.duration)
    except KeyboardInterrupt:
        if not taken:
            raise
        if progress:
            progress(opts.duration, opts.duration)  # closes the progress bar
        print(f"advisor: sampling stopped after {taken} sample(s); evaluating them", file=sys.stderr)
    return taken


def history(times_ms: list[int], interval: float) -> History:
    """The span of all samples, and of the unbroken run of samples that ends with the newest one.

    A store holds earlier runs with gaps between them; `for` windows must fit in the unbroken part.
    """
    digits = 0 if interval >= 1 else 3
    gap_ms = max(3 * interval, 10.0) * 1000
    k = len(times_ms) - 1
    while k > 0 and times_ms[k] - times_ms[k - 1] <= gap_ms:
        k -= 1
    return History(span=round((times_ms[-1] - times_ms[0]) / 1000.0, digits), interval=interval,
                   recent=round((times_ms[-1] - times_ms[k]) / 1000.0, digits))


def with_staleness(b: Batch, seen: dict[tuple, dict[str, str]]) -> Batch:
    """`b` plus staleness markers for the series the previous scrape had and this one lacks, as Prometheus
    writes them (a vanished process group stops matching at once instead of lingering for 5 minutes)."""
    now = {tuple(sorted(lb.items())): lb for lb, _ in b.samples}
    gone = tuple((seen[k], STALE_NAN) for k in seen.keys() - now.keys())
    seen.clear()
    seen.update(now)
    return Batch(b.ts_ms, b.samples + gone) if gone else b


def _fill(storage: Storage, batch: Batch) -> None:
    for labels, value in batch.samples:
        storage.add(labels, batch.ts_ms, value)


@dataclass(frozen=True)
class Collected:
    """What local sampling produced: the samples (in the engine's storage), their scrape times and history."""

    storage: Storage
    times: list[int]
    history: History
    sampler: str            # what was sampled, for the report
    instance: str


def collect(opts: LocalOptions, progress: Progress | None = None) -> Collected:
    """Sample for opts.duration (plus what opts.store kept from earlier runs) into an engine storage."""
    storage = Storage()
    store = SampleStore(opts.store) if opts.store else None
    times: list[int] = []
    sampler = make_sampler(opts)
    try:
        seen: dict[tuple, dict[str, str]] = {}

        def on_batch(b: Batch) -> None:
            b = with_staleness(b, seen)
            times.append(b.ts_ms)
            if store:
                store.append([b])
            else:
                _fill(storage, b)
        sample(sampler, opts, on_batch, progress)
        if store:
            for labels, ts, vals in store.series():
                storage.add_many(labels, ts, vals)
            times = store.scrape_times()
    finally:
        sampler.close()
        if store:
            store.close()
    return Collected(storage, times, history(times, opts.interval),
                     f"exporter {sampler.url}" if opts.exporter else "in-process collectors", sampler.instance)


def run_local(config: Config, opts: LocalOptions, progress: Progress | None = None,
              eval_progress=None) -> Report:
    """Sample, (store), evaluate; the report's source says how much history there was."""
    from ..run import execute, plan
    planned = plan(config)   # pack and --set errors now, not after a minute of sampling
    got = collect(opts, progress)
    storage, times, hist = got.storage, got.times, got.history
    last = times[-1]
    changes: dict = {}

    def adapt(packs, values, rules):
        out, ch = adapt_rules(packs, values, rules, hist)
        changes.update(ch)
        return out
    report = execute(config, source=choose(config, storage), progress=eval_progress, now=last / 1000.0,
                     adapt=adapt, planned=planned)
    local = {"sampler": got.sampler, "instance": got.instance, "interval": format_duration(opts.interval),
             "samples": len(times), "history": format_duration(hist.span),
             "recent_history": format_duration(hist.recent),
             "store": opts.store, "adapted_parameters": changes}
    unbroken = f" ({format_duration(hist.unbroken)} unbroken)" if hist.unbroken < hist.span else ""
    note = [f"local mode: {format_duration(hist.span)} of history{unbroken} at {format_duration(opts.interval)} "
            "intervals; "
            "pack windows were shortened to fit it (" +
            ", ".join(f"{p}.{k}={v}" for p, kv in sorted(changes.items()) for k, v in sorted(kv.items())) + ")"
            ] if changes else []
    short = sum(1 for r in report.results if r.reason.startswith("not enough history"))
    if short:
        how = "sample longer (--duration)" + ("" if opts.store else " or keep samples between runs (--store PATH)")
        note.append(f"local mode: {short} rule(s) need more history than the {format_duration(hist.span)} "
                    f"sampled; {how} to evaluate them")
    return replace(report, source={**report.source, "type": "embedded", "local": local},
                   warnings=tuple(note) + report.warnings)
