"""The embedded default: `advisor serve` with no Prometheus samples this machine into its store, evaluates
more rules as history grows, and keeps runs and samples across a restart."""
from __future__ import annotations

from .launcher import serving

ARGS = ["--interval", "2s", "--sample-interval", "500ms", "--category", "alert"]


def _runs(s) -> list[dict]:
    return s.json("/api/performance/runs?limit=1000")["runs"]


def test_history_accumulates_across_a_restart_and_more_rules_evaluate(tmp_path):
    store = tmp_path / "advisor.db"
    with serving(tmp_path, "--storage.path", str(store), *ARGS) as s:
        first = s.wait(lambda: _runs(s), what="the first run")[-1]
        assert first["source"] == "embedded (in-process collectors)" and first["error"] is None
        assert first["rules_evaluated"] >= 1
        waiting = first["not_evaluated"]["host-cpu-saturation"]
        assert waiting.startswith("not enough history: needs ≥ 15s")
        assert s.json("/health/detailed")["local"]["samples_taken"] >= 2
        assert s.stop() == 0
    before = {r["id"] for r in _runs_of(store)}
    with serving(tmp_path, "--storage.path", str(store), *ARGS) as s:
        # The samples kept from before the restart count: the 15 s rules start evaluating once they span 15 s.
        grown = s.wait(lambda: [r for r in _runs(s) if "host-cpu-saturation" not in r["not_evaluated"]],
                       timeout=40, what="host-cpu-saturation evaluating")[0]
        assert grown["rules_evaluated"] > first["rules_evaluated"]
        assert before <= {r["id"] for r in _runs(s)}
        assert s.json("/api/performance/analytics")["overall"]["now"] is not None


def _runs_of(store) -> list[dict]:
    from perfadvisor.advisor.history import HistoryStore
    with HistoryStore(store, readonly=True) as h:
        return h.runs(limit=1000)
