"""The history store and `advisor history`: findings open, persist and resolve across runs and restarts."""
from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from perfadvisor.advisor.findings import RuleResult
from perfadvisor.advisor.history import HistoryStore, fingerprint, run_row
from tests.advisor.reports.sample import cpu_busy, memory_leak, report, rule


def _record(store, rep, t, **kw):
    evaluated = {r.rule.id for r in rep.results if r.evaluated}
    return store.record(run_row(rep, t, t + 1.5, **kw), evaluated_rules=evaluated)


def _advisor(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False,
                              env={"PERFADVISOR_SERVE_STORAGE_PATH": None, "PERFADVISOR_CONFIG": None})


def test_a_finding_opens_persists_resolves_and_survives_a_restart(tmp_path):
    db = tmp_path / "advisor.db"
    leak, busy = memory_leak(), cpu_busy()
    with HistoryStore(db) as store:
        first = _record(store, report([leak, busy]), 1000.0)
        assert {f["rule_id"] for f in first.opened} == {"process-memory-leak", "host-cpu-saturation"}
        second = _record(store, report([busy, leak]), 1300.0)
        assert second.opened == () and second.resolved == ()
        # The leak rule is evaluated and finds nothing: the leak resolves. CPU was not evaluated: it stays open.
        quiet = report([])
        quiet = type(quiet)(**{**quiet.__dict__, "results": (
            RuleResult(leak.rule, "q", True, targets=1), RuleResult(busy.rule, "q", False, reason="no data"))})
        third = _record(store, quiet, 1600.0)
        assert [r["rule_id"] for r in third.resolved] == ["process-memory-leak"]
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with HistoryStore(db) as store:   # a restart keeps it all
        found = {f["rule_id"]: f for f in store.findings()}
        assert found["process-memory-leak"]["first_seen"] == 1001.5
        assert found["process-memory-leak"]["last_seen"] == 1301.5
        assert found["process-memory-leak"]["resolved_at"] == 1601.5
        assert found["host-cpu-saturation"]["resolved_at"] is None
        assert found["process-memory-leak"]["peak_value"] == leak.value
        assert [r["id"] for r in store.runs()] == [3, 2, 1]
        d = store.diff(1, 3)
        assert [f["rule_id"] for f in d.resolved] == ["host-cpu-saturation", "process-memory-leak"]
        # reopening counts as a new opening
        again = _record(store, report([leak]), 1900.0)
        assert [f["rule_id"] for f in again.opened] == ["process-memory-leak"]


def test_fingerprint_is_rule_and_target_only():
    assert fingerprint("r", {"a": "1", "b": "2"}) == fingerprint("r", {"b": "2", "a": "1"})
    assert fingerprint("r", {"a": "1"}) != fingerprint("r", {"a": "2"}) != fingerprint("s", {"a": "2"})


def test_retention_deletes_old_runs_and_resolved_findings(tmp_path):
    with HistoryStore(tmp_path / "h.db", retention=1000) as store:
        _record(store, report([memory_leak()]), 0.0)
        _record(store, report([]), 10.0)              # no rule evaluated: nothing resolves
        assert store.findings(open_only=True)
        leak = memory_leak()
        quiet = report([])
        quiet = type(quiet)(**{**quiet.__dict__, "results": (RuleResult(leak.rule, "q", True),)})
        _record(store, quiet, 20.0)
        _record(store, report([cpu_busy()]), 5000.0)
        assert [r["id"] for r in store.runs()] == [4]
        assert [f["rule_id"] for f in store.findings()] == ["host-cpu-saturation"]


def test_history_command_lists_runs_with_a_sparkline_and_diffs(tmp_path):
    db = tmp_path / "advisor.db"
    with HistoryStore(db) as store:
        _record(store, report([memory_leak()]), 1000.0)
        _record(store, report([memory_leak(), cpu_busy()]), 1300.0)
    r = _advisor("history", "--storage.path", str(db))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("score ▄▄  (2 full run(s)")
    assert lines[2].split()[:2] == ["2", "1970-01-01"] and "prometheus http://prom:9090" in lines[2]
    r = _advisor("history", "--storage.path", str(db), "diff", "1", "2")
    assert r.exit_code == 0, r.output
    assert "run 1 → run 2: 1 new, 0 resolved, 0 changed, 1 unchanged" in r.output
    assert "+ critical host-cpu-saturation  instance=web-1: CPU busy" in r.output
    r = _advisor("history", "--storage.path", str(db), "diff", "1", "2", "--format", "json")
    assert [f["rule_id"] for f in json.loads(r.output)["new"]] == ["host-cpu-saturation"]


def test_history_reads_the_store_from_serves_config_file(tmp_path):
    """`advisor history --config FILE` opens the store serve writes with that file (serve.storage.path, relative
    to the file); --storage.path still wins; a bad config file is one line, exit 2."""
    (tmp_path / "state").mkdir()
    with HistoryStore(tmp_path / "state" / "advisor.db") as store:
        _record(store, report([memory_leak()]), 1000.0)
    cfg = tmp_path / "advisor.yml"
    cfg.write_text("serve:\n  storage:\n    path: state/advisor.db\n")
    r = _advisor("history", "--config", str(cfg), "--format", "json")
    assert r.exit_code == 0, r.output
    assert [run["id"] for run in json.loads(r.output)["runs"]] == [1]
    r = _advisor("history", "--config", str(cfg), "--storage.path", str(tmp_path / "other.db"))
    assert r.exit_code == 2 and "other.db" in r.output
    cfg.write_text("serve:\n  storage:\n    paht: x.db\n")
    r = _advisor("history", "--config", str(cfg))
    assert r.exit_code == 2 and f"{cfg}:3" in r.output and "Traceback" not in r.output


def test_history_errors_are_one_line_and_exit_2(tmp_path):
    r = _advisor("history", "--storage.path", str(tmp_path / "missing.db"))
    assert r.exit_code == 2 and "no such file" in r.output and "Traceback" not in r.output
    db = tmp_path / "advisor.db"
    with HistoryStore(db) as store:
        _record(store, report([]), 1.0)
    r = _advisor("history", "--storage.path", str(db), "diff", "1", "7")
    assert r.exit_code == 2 and "no run 7 in" in r.output
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    r = _advisor("history", "--storage.path", str(tmp_path / "junk.db"))
    assert r.exit_code == 2 and "not a usable history store" in r.output


def test_scaling_recommendation_changes_are_kept(tmp_path):
    from dataclasses import replace

    from perfadvisor.advisor.sizing import SizingResult
    scaling = rule("scaling-process-memory", category="scaling", severity="info", dimension="memory")

    def sized(rec, cost):
        return replace(cpu_busy(), rule=scaling, sizing=SizingResult("memory", 1e9, 1.2e9, 4e9, rec, 0.2, 1, cost))
    with HistoryStore(tmp_path / "h.db") as store:
        for t, rec, cost in ((0, 2e9, -10.0), (300, 2e9, -10.0), (600, 3e9, -5.0)):
            _record(store, report([sized(rec, cost)]), float(t))
        fp = fingerprint("scaling-process-memory", {"instance": "web-1"})
        hist = store.recommendations(fp)
    assert [(h["memory_bytes"], h["monthly_cost_change"]) for h in hist] == [(2e9, -10.0), (3e9, -5.0)]
