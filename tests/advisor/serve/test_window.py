"""The embedded engine reads only the window its rules can reach from the sample store, and the report is the
same as from the whole store."""
from __future__ import annotations

import time

from perfadvisor.advisor import config as C
from perfadvisor.advisor.local.sampler import InProcessSampler
from perfadvisor.advisor.local.store import Batch, SampleStore
from perfadvisor.advisor.run import execute
from perfadvisor.advisor.serve.engine import Engine
from perfadvisor.advisor.serve.feed import LocalFeed
from perfadvisor.advisor.serve.scope import Scope
from perfadvisor.advisor.sources import choose


def _shape(report) -> list:
    return [(r.rule.id, r.evaluated, r.reason, r.score,
             sorted((f.target_text, f.state, f.value) for f in r.findings)) for r in report.results]


def test_windowed_load_reads_less_and_reports_the_same(tmp_path):
    path = tmp_path / "advisor.db"
    sampler = InProcessSampler()
    try:
        real = [sampler.sample() for _ in range(3)]
    finally:
        sampler.close()
    # Half a day of this machine's real scrapes, one a minute: far more than the host rules read.
    now_ms = int(time.time() // 60 * 60_000)
    with SampleStore(path) as store:
        batches = [Batch(now_ms - k * 60_000, real[k % 3].samples) for k in range(12 * 60, -1, -1)]
        for i in range(0, len(batches), 500):
            store.append(batches[i:i + 500])
        total = sum(len(ts) for _, ts, _ in store.series())
    # The scaling, runtime and process packs (right-sizing, leaks) fit their lookbacks to all the history there
    # is (up to the store's 7 days): they read the whole store. A run of the host pack alone (a per-pack
    # interval's run) reads about an hour and a half.
    cfg = Scope(packs=("host",)).config(C.build(env={}), ("host", "process", "scaling", "runtime",
                                                                    "cache", "database", "network", "loadbalancer"))
    everything = C.build(env={})
    feed = LocalFeed(str(path), 60.0)
    try:
        whole = feed.load()
        part = feed.load(lambda hist: Engine._window(cfg, hist))
    finally:
        feed.stop()
    assert whole.window is None and part.window is not None and part.window < 86400
    with SampleStore(path) as store:
        since = int(now_ms - part.window * 1000)
        read = sum(len(ts) for _, ts, _ in store.series(since_ms=since, first_since_ms=now_ms - 8 * 86400_000))
    assert read < total / 5
    assert whole.history == part.history and whole.now == part.now
    full = execute(cfg, source=choose(cfg, whole.storage), now=whole.now, adapt=whole.adapt)
    windowed = execute(cfg, source=choose(cfg, part.storage), now=part.now, adapt=part.adapt)
    assert sum(1 for r in full.results if r.evaluated) > 10
    assert _shape(windowed) == _shape(full)
    # With every pack the window is the whole store: nothing is cut.
    feed = LocalFeed(str(path), 60.0)
    try:
        assert feed.load(lambda hist: Engine._window(everything, hist)).window is None
    finally:
        feed.stop()
