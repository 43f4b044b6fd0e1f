"""The evaluation loop: the advisor's core called as a library every interval and on demand, one run at a time.

- Runs never overlap (one lock). An on-demand evaluation with the same scope as a running one shares its
  result; another waits for the lock.
- A failing source (SourceError) is a recorded run with its error: the last results stay served, marked
  stale with the error, and nothing is resolved.
- Every finished run goes to the history store, and what it changed goes out as events.
- Per-pack intervals (``--interval.pack host=1m``, ``serve.intervals``): each pack is due on its own grid of
  its interval; one scheduled run evaluates every pack that is due (recorded with scope ``packs:host,…``, or
  ``all`` when every pack is). The served state keeps, per pack, the results of the latest run that covered it,
  and the scores are recomputed over those: a dimension's score always comes from the latest evaluation of its
  packs, so scores before and after a partial run stay comparable (the same rules, the same weights).
"""
from __future__ import annotations

import concurrent.futures
import ctypes
import logging
import threading
import time
from dataclasses import dataclass, field, replace

from ..config import Config
from ..errors import AdvisorError, SourceError
from ..findings import Finding, Report
from ..history import HistoryStore, run_row
from ..history.records import RunRow
from ..run import execute, plan, score
from ..sources import choose, local_mode
from .events import Events
from .feed import LocalFeed
from .options import ServeOptions, check_packs
from .scope import Scope, matches_all

log = logging.getLogger("perfadvisor.advisor.serve")


@dataclass(frozen=True)
class Outcome:
    """One evaluation's result: the report (None when the source failed), its findings within the scope."""

    scope: Scope
    started_at: float
    finished_at: float
    run_id: int | None = None
    report: Report | None = None
    findings: tuple[Finding, ...] = ()
    pending: tuple[Finding, ...] = ()
    error: str | None = None
    opened: tuple[dict, ...] = field(default=(), repr=False)
    resolved: tuple[dict, ...] = field(default=(), repr=False)

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at


_TRIM = None


def tune_malloc(arenas: int = 2, mmap_threshold: int = 1 << 20) -> None:
    """glibc malloc settings for a long-running service (no-op without glibc): two arenas (the GIL serialises
    Python's allocations; each thread's own arena kept what its cycles freed), and a fixed mmap threshold, so
    every array of ≥ 1 MiB is mapped and unmapped. glibc raises the threshold to the size of each mapped block
    freed, up to 32 MiB, after which a cycle's big arrays came from the heap and stayed: an embedded-mode
    service's RSS after a cycle then wandered 95–221 MiB; with the fixed threshold it stayed at 76 MiB."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
        mallopt(-8, arenas)             # M_ARENA_MAX
        mallopt(-3, mmap_threshold)     # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def release_memory() -> None:
    """Hand the heap freed by a cycle back to the OS. glibc keeps each thread's malloc arena at its high-water
    mark, so a long-running service's RSS would follow its largest cycle (and fragmentation) rather than
    what it holds; measured in docs/performance.md. No-op without glibc."""
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)


def query_errors(report: Report) -> int:
    return sum(1 for r in report.results if not r.evaluated and r.reason.startswith("query failed"))


class Engine:
    def __init__(self, config: Config, store: HistoryStore, events: Events, interval: float,
                 feed: LocalFeed | None = None, metrics=None,
                 pack_intervals: tuple[tuple[str, float, str], ...] = ()):
        self.config, self.store, self.events, self.interval = config, store, events, interval
        self.feed, self.metrics = feed, metrics
        packs, _, _ = plan(config)          # pack and parameter errors now (exit 2), not at the first run
        self.loaded_packs = tuple(p.name for p in packs)
        self.cadence = {p: interval for p in self.loaded_packs}     # seconds between scheduled runs, per pack
        check_packs(ServeOptions(pack_intervals=pack_intervals), self.loaded_packs)
        for name, seconds, _ in pack_intervals:
            self.cadence[name] = seconds
        self._latest: dict[str, tuple] = {}        # pack -> (its results, its report.packs entry) of its last run
        self.last: Outcome | None = None            # the last complete run that evaluated
        self.last_attempt: Outcome | None = None    # the last complete run, failed or not
        self.running: Scope | None = None
        self.loaded = None                          # embedded: the samples of the last cycle (feed.Loaded)
        self.view_cache: dict = {}                  # the API's encodings of the last run (serve.views)
        self.started = time.time()
        self._lock = threading.Lock()
        self._guard = threading.Lock()
        self._inflight: dict[tuple, concurrent.futures.Future] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def source_name(self) -> str:
        if local_mode(self.config):
            return f"embedded ({self.feed.described})" if self.feed else "embedded"
        from ..sources.prometheus import redact_url
        return f"prometheus {redact_url(self.config.prometheus.url)}"

    # -- the schedule -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="serve-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        if self.feed:
            # Two samples before the first evaluation: with one, history is 0 s and windows cannot be fitted.
            deadline = time.monotonic() + max(30.0, 3 * self.feed.interval)
            while not self._stop.is_set() and time.monotonic() < deadline and not self.feed.wait_samples(2, 0.2):
                pass
        # Every pack on its own grid (start + k × its interval); the packs due together run as one evaluation.
        # Without per-pack intervals every pack is always due together: one run over all packs per interval.
        start = time.monotonic()
        due_at = self._due_at = {p: start for p in self.loaded_packs}
        while not self._stop.is_set():
            now = time.monotonic()
            due = tuple(p for p in self.loaded_packs
                        if due_at[p] <= now + min(1.0, 0.02 * self.cadence[p]))
            if due:
                scope = Scope() if len(due) == len(self.loaded_packs) else Scope(packs=due)
                try:
                    self.evaluate(scope)
                except Exception:  # noqa: BLE001 - the schedule never dies; the error is logged and recorded
                    log.exception("scheduled evaluation failed")
                release_memory()
                # No overlap and no catch-up bursts: a pack is next due an interval after its slot, or at
                # once when its run took longer than that.
                after = time.monotonic()
                for p in due:
                    due_at[p] = max(due_at[p] + self.cadence[p], after)
            self._wake.wait(max(0.0, min(due_at.values(), default=now + self.interval) - time.monotonic()))
            self._wake.clear()

    # -- one evaluation -----------------------------------------------------------------------------------

    def evaluate(self, scope: Scope) -> Outcome:
        """Run `scope` now (sharing a running evaluation of the same scope); blocks until it is done."""
        with self._guard:
            fut = self._inflight.get(scope.key)
            owner = fut is None
            if owner:
                fut = concurrent.futures.Future()
                self._inflight[scope.key] = fut
        if not owner:
            return fut.result()
        try:
            with self._lock:
                self.running = scope
                try:
                    out = self._run(scope)
                finally:
                    self.running = None
            fut.set_result(out)
            return out
        except BaseException as e:
            fut.set_exception(e)
            raise
        finally:
            with self._guard:
                self._inflight.pop(scope.key, None)

    def _report(self, scope: Scope) -> Report:
        cfg = scope.config(self.config, self.loaded_packs)
        if self.feed is not None:
            self.loaded = None          # the previous cycle's samples go before the next are read
            loaded = self.feed.load(lambda hist: self._window(cfg, hist))
            self.loaded = loaded        # kept for the live figures until the next cycle
            return execute(cfg, source=choose(cfg, loaded.storage), now=loaded.now, adapt=loaded.adapt)
        return execute(cfg)

    @staticmethod
    def _window(cfg: Config, hist) -> float | None:
        """Seconds of samples this run's rules can read, their windows fitted to `hist` as execute fits them."""
        from ..local.adapt import adapt_rules
        from .feed import needed_seconds
        packs, values, rules = plan(cfg)
        return needed_seconds(adapt_rules(packs, values, rules, hist)[0])

    def _run(self, scope: Scope) -> Outcome:
        started = time.time()
        report, error = None, None
        try:
            report = self._report(scope)
        except SourceError as e:
            error = str(e)
        except AdvisorError as e:      # e.g. a template that fails to render: the run fails, the service stays
            error = str(e)
        except Exception as e:  # noqa: BLE001
            log.exception("evaluation failed")
            error = f"internal error ({type(e).__name__}); see the service's log"
        finished = time.time()
        if report is None:
            row = RunRow(started, finished, self.source_name, scope.trigger, None, {}, 0, 0, {}, (), error=error,
                         scope=scope.label)
            changes = self.store.record(row, resolves=False)
            out = Outcome(scope, started, finished, changes.run_id, error=error)
        else:
            findings = tuple(f for f in report.findings if matches_all(scope.matchers, {**f.labels, **f.target}))
            pending = tuple(f for f in report.pending if matches_all(scope.matchers, {**f.labels, **f.target}))
            row = run_row(report, started, finished, trigger=scope.trigger, scope=scope.label,
                          findings=list(findings))
            row = replace(row, source=self.source_name)
            if scope.complete:
                before = self.last.report.overall.value if self.last and self.last.report else None
                report = self._merge(scope, report)
                # The run's row carries the scores over every pack (this run's and the latest of the others).
                row = replace(row, overall=report.overall.value,
                              dimensions={d: v.value for d, v in report.dimensions.items()})
            evaluated = {r.rule.id for r in report.results if r.evaluated}
            changes = self.store.record(row, evaluated_rules=evaluated, resolves=not scope.matchers)
            if scope.packs:     # the store compares scores of "all" runs only; a partial run's is over all packs
                changes = replace(changes, score_before=before, score_after=report.overall.value)
            if scope.packs:     # what is served: every pack's latest findings
                findings, pending = tuple(report.findings), tuple(report.pending)
            out = Outcome(scope, started, finished, changes.run_id, report, findings, pending,
                          opened=changes.opened, resolved=changes.resolved)
        if scope.complete:
            self.last_attempt = out
            if report is not None:
                self.last = out
        if self.metrics:
            self.metrics.observe(out, self)
        self._publish(out, changes)
        return out

    def _merge(self, scope: Scope, report: Report) -> Report:
        """`report` (a run over `scope.packs`, or every pack) with the latest results of the packs it did not
        cover, and the scores recomputed over all of them."""
        entries = {p.get("name"): p for p in report.packs}
        by_pack: dict[str, list] = {}
        for r in report.results:
            by_pack.setdefault(r.rule.pack, []).append(r)
        covered = scope.packs or self.loaded_packs
        if not scope.packs:
            self._latest.clear()
        for name in covered:
            self._latest[name] = (tuple(by_pack.get(name, ())), entries.get(name))
        if not scope.packs:
            return report
        results = tuple(r for p in self.loaded_packs if p in self._latest for r in self._latest[p][0])
        dims, overall = score(list(results))
        packs = tuple(self._latest[p][1] for p in self.loaded_packs if p in self._latest and self._latest[p][1])
        return replace(report, results=results, dimensions=dims, overall=overall, packs=packs)

    def _publish(self, out: Outcome, changes) -> None:
        for f in changes.opened:
            self.events.publish("finding_opened", {"run_id": out.run_id, **f})
        for f in changes.resolved:
            self.events.publish("finding_resolved", {"run_id": out.run_id, **f})
        before, after = changes.score_before, changes.score_after
        if after is not None and before != after:
            self.events.publish("score_changed", {"run_id": out.run_id, "before": before, "after": after})
        self.events.publish("run_finished", {
            "run_id": out.run_id, "scope": out.scope.label, "trigger": out.scope.trigger,
            "duration_seconds": round(out.duration, 3), "error": out.error,
            "score": out.report.overall.value if out.report else None,
            "findings": len(out.findings), "opened": len(changes.opened), "resolved": len(changes.resolved)})

    # -- what the API shows -------------------------------------------------------------------------------

    def schedule(self) -> dict:
        """Per pack: its interval and when its next scheduled run is due (Unix time; None before the loop)."""
        due = dict(getattr(self, "_due_at", {}))
        offset = time.time() - time.monotonic()
        return {p: {"interval_seconds": self.cadence[p],
                    "next_run_at": (due[p] + offset) if p in due else None} for p in self.loaded_packs}

    def status(self) -> dict:
        """Freshness of the served results: stale when the last attempt failed or is overdue."""
        now = time.time()
        last, attempt = self.last, self.last_attempt
        error = attempt.error if attempt and attempt.error else None
        overdue = last is not None and now - last.finished_at > 2 * min(self.cadence.values(),
                                                                       default=self.interval) + 60
        return {"stale": bool(error) or overdue or last is None, "source_error": error,
                "last_run_id": last.run_id if last else None,
                "last_run_at": last.finished_at if last else None,
                "running": self.running.area if self.running else None}
