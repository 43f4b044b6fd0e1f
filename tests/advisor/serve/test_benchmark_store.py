"""The history's benchmarks table: a format-1 store (before benchmarks) is migrated when the service opens it,
read as it is by `advisor history`, and a store from a newer format is refused."""
from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from perfadvisor.advisor.history import HistoryStore, run_row
from perfadvisor.advisor.history.benchmarks import BenchmarkLog
from tests.advisor.reports.sample import cpu_busy, report


def _format1(path) -> None:
    """A store as format 1 wrote it: no benchmarks table, history_version 1, one run with a finding."""
    with HistoryStore(path) as store:
        rep = report([cpu_busy()])
        store.record(run_row(rep, 10.0, 11.0), evaluated_rules={r.rule.id for r in rep.results if r.evaluated})
    db = sqlite3.connect(path)
    with db:
        db.execute("DROP TABLE benchmarks")
        db.execute("UPDATE meta SET value='1' WHERE key='history_version'")
    db.close()


def _version(path) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT value FROM meta WHERE key='history_version'").fetchone()[0]
    finally:
        db.close()


def test_a_format_1_store_is_read_as_it_is_and_migrated_on_write(tmp_path):
    path = tmp_path / "advisor.db"
    _format1(path)
    r = CliRunner().invoke(cli, ["history", "--storage.path", str(path)], catch_exceptions=False)
    assert r.exit_code == 0 and "schedule" in r.output, r.output
    with HistoryStore(path, readonly=True) as ro:
        assert BenchmarkLog(ro).list() == [] and len(ro.runs()) == 1
    assert _version(path) == "1"                    # reading did not migrate it

    with HistoryStore(path) as store:              # the service opens it: migrated, nothing lost
        assert len(store.runs()) == 1 and len(store.findings(open_only=True)) == 1
        log = BenchmarkLog(store)
        a = log.add("k", "127.0.0.1", {"targets": []}, 20.0)
        log.finish(a, 21.0, {"rate": 10.0}, {"schema": "x"}, None, None, None)
        b = log.add("k", "127.0.0.1", {"targets": []}, 30.0)
        assert log.previous("k", b) == (a, {"schema": "x"}) and log.previous("other", b) is None
        assert log.get(b)["status"] == "running"
    assert _version(path) == "2"
    with HistoryStore(path) as store:              # the service's start fails what a stopped one left running
        log = BenchmarkLog(store)
        assert log.interrupt_unfinished(40.0) == 1
        assert log.get(b)["status"] == "failed" and "interrupted" in log.get(b)["error"]
        assert log.get(a)["status"] == "done" and log.get(a)["summary"] == {"rate": 10.0}


def test_a_store_from_a_newer_format_is_refused(tmp_path):
    path = tmp_path / "advisor.db"
    HistoryStore(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE meta SET value='3' WHERE key='history_version'")
    db.close()
    r = CliRunner().invoke(cli, ["history", "--storage.path", str(path)], catch_exceptions=False)
    assert r.exit_code == 2 and "incompatible version (history format 3)" in r.output
