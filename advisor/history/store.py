"""The history of runs and findings: a SQLite file in WAL mode that survives restarts and crashes.

Each run is one transaction: the run's row, its findings' rows, and the findings table updated (first seen,
last seen, resolved, peak value). A finding resolves when a run that evaluated its rule over all targets no
longer has it; a rule that could not be evaluated (source down, too little history) resolves nothing. Scaling
findings keep a row per change of their recommendation (cores, memory, replicas, monthly cost), so the
recommendation's history is what changed and when. Runs and resolved findings older than the retention are
deleted after every run.

The file may also hold local mode's samples (``advisor.local.store``: tables ``series`` and ``samples``); the
``meta`` table is shared, with a key of its own.

Format 2 added ``benchmarks`` (``advisor serve``'s benchmark endpoint: each bench's spec, result and its
comparison with the previous bench of the same target); a format-1 store is migrated when opened for writing
(the table is added, nothing else changes) and read as it is when opened read-only.
"""
from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .records import FindingRow, Recommendation, RunRow

SCHEMA_VERSION = 2
READABLE_VERSIONS = ("1", "2")   # read-only opens accept these; writing migrates 1 → 2
RETENTION_SECONDS = 30 * 86400
VERSION_KEY = "history_version"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started_at REAL NOT NULL, finished_at REAL NOT NULL,
    source TEXT NOT NULL, trigger TEXT NOT NULL, scope TEXT NOT NULL, overall REAL, dimensions TEXT NOT NULL,
    rules_evaluated INTEGER NOT NULL, rules_total INTEGER NOT NULL, not_evaluated TEXT NOT NULL,
    findings INTEGER NOT NULL, error TEXT);
CREATE INDEX IF NOT EXISTS runs_finished ON runs (finished_at);
CREATE TABLE IF NOT EXISTS findings (
    fingerprint TEXT PRIMARY KEY, rule_id TEXT NOT NULL, pack TEXT NOT NULL, title TEXT NOT NULL,
    category TEXT NOT NULL, dimension TEXT NOT NULL, severity TEXT NOT NULL, target TEXT NOT NULL,
    first_seen REAL NOT NULL, last_seen REAL NOT NULL, resolved_at REAL, peak_value REAL, last_value REAL,
    summary TEXT NOT NULL, recommendation TEXT NOT NULL, first_run INTEGER NOT NULL, last_run INTEGER NOT NULL,
    opened INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS findings_open ON findings (resolved_at);
CREATE TABLE IF NOT EXISTS run_findings (
    run_id INTEGER NOT NULL, fingerprint TEXT NOT NULL, severity TEXT NOT NULL, value REAL,
    summary TEXT NOT NULL, PRIMARY KEY (run_id, fingerprint)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recommendations (
    fingerprint TEXT NOT NULL, run_id INTEGER NOT NULL, ts REAL NOT NULL, cores REAL, memory_bytes REAL,
    replicas REAL, monthly_cost_change REAL, PRIMARY KEY (fingerprint, run_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS benchmarks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, status TEXT NOT NULL, requested_at REAL NOT NULL,
    started_at REAL, finished_at REAL, client TEXT NOT NULL, request TEXT NOT NULL, summary TEXT, result TEXT,
    previous_id INTEGER, verdict TEXT, comparison TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS benchmarks_target ON benchmarks (target, id);
"""


@dataclass(frozen=True)
class Changes:
    """What one recorded run changed: for the live events."""

    run_id: int
    opened: tuple[dict, ...] = ()
    resolved: tuple[dict, ...] = ()
    score_before: float | None = None
    score_after: float | None = None


@dataclass(frozen=True)
class Diff:
    a: int
    b: int
    new: tuple[dict, ...] = ()
    resolved: tuple[dict, ...] = ()
    changed: tuple[dict, ...] = ()
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {"from": self.a, "to": self.b, "new": list(self.new), "resolved": list(self.resolved),
                "changed": list(self.changed), "unchanged": self.unchanged}


def _f(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


class HistoryStore:
    """Open (create) the history at `path`; ConfigError naming the file when it is not usable."""

    def __init__(self, path: str | Path, retention: float = RETENTION_SECONDS, readonly: bool = False):
        self.path = Path(path).expanduser()
        self.retention = retention
        self._lock = threading.Lock()
        where = f"history store {self.path}"
        try:
            if readonly:
                if not self.path.exists():
                    raise ConfigError(f"{where}: no such file (advisor serve --storage.path writes it)")
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30,
                                           check_same_thread=False)
                self._check_version(where, create=False)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_version(where, create=True)
        except sqlite3.DatabaseError as e:
            raise ConfigError(f"{where}: not a usable history store: {e}") from None
        except OSError as e:
            raise ConfigError(f"{where}: {e.strerror or e}") from None

    def _check_version(self, where: str, create: bool) -> None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (VERSION_KEY,)).fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is None:
            if not create:
                raise ConfigError(f"{where}: holds no advisor history")
            with self._db:
                self._db.execute("INSERT INTO meta VALUES (?, ?)", (VERSION_KEY, str(SCHEMA_VERSION)))
        elif row[0] not in READABLE_VERSIONS:
            raise ConfigError(f"{where}: written by an incompatible version (history format {row[0]})")
        elif row[0] != str(SCHEMA_VERSION) and create:
            # 1 → 2: the benchmarks table, already added by the CREATE ... IF NOT EXISTS above; only the
            # format number is left to record.
            with self._db:
                self._db.execute("UPDATE meta SET value=? WHERE key=?", (str(SCHEMA_VERSION), VERSION_KEY))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------------------

    def record(self, run: RunRow, evaluated_rules: set[str] | None = None, resolves: bool = True) -> Changes:
        """Store `run`; findings of `evaluated_rules` (default: every rule the run evaluated with a finding
        before) that the run no longer has are resolved unless `resolves` is False (a run limited by target
        matchers). Returns what changed."""
        with self._lock, self._db:
            db = self._db
            prev = db.execute("SELECT overall FROM runs WHERE error IS NULL AND scope='all' "
                              "ORDER BY id DESC LIMIT 1").fetchone()
            cur = db.execute(
                "INSERT INTO runs (started_at, finished_at, source, trigger, scope, overall, dimensions, "
                "rules_evaluated, rules_total, not_evaluated, findings, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (run.started_at, run.finished_at, run.source, run.trigger, run.scope, _f(run.overall),
                 json.dumps(run.dimensions), run.rules_evaluated, run.rules_total, json.dumps(run.not_evaluated),
                 len(run.findings), run.error))
            run_id = int(cur.lastrowid)
            now = run.finished_at
            opened, seen = [], set()
            for f in run.findings:
                seen.add(f.fingerprint)
                db.execute("INSERT OR REPLACE INTO run_findings VALUES (?,?,?,?,?)",
                           (run_id, f.fingerprint, f.severity, f.value, f.summary))
                old = db.execute("SELECT resolved_at, peak_value FROM findings WHERE fingerprint=?",
                                 (f.fingerprint,)).fetchone()
                if old is None:
                    db.execute(
                        "INSERT INTO findings (fingerprint, rule_id, pack, title, category, dimension, severity, "
                        "target, first_seen, last_seen, resolved_at, peak_value, last_value, summary, "
                        "recommendation, first_run, last_run) VALUES (?,?,?,?,?,?,?,?,?,?,NULL,?,?,?,?,?,?)",
                        (f.fingerprint, f.rule_id, f.pack, f.title, f.category, f.dimension, f.severity,
                         json.dumps(f.target, sort_keys=True), now, now, f.value, f.value, f.summary,
                         f.recommendation, run_id, run_id))
                    opened.append(f)
                else:
                    peak = f.value if old[1] is None else old[1] if f.value is None else max(old[1], f.value)
                    reopened = old[0] is not None
                    db.execute(
                        "UPDATE findings SET severity=?, last_seen=?, resolved_at=NULL, peak_value=?, last_value=?, "
                        "summary=?, recommendation=?, last_run=?, opened=opened+? WHERE fingerprint=?",
                        (f.severity, now, peak, f.value, f.summary, f.recommendation, run_id, int(reopened),
                         f.fingerprint))
                    if reopened:
                        opened.append(f)
                self._recommendation(f, run_id, now)
            resolved = []
            if resolves and run.error is None:
                rules = evaluated_rules
                for fp, rule_id, target, title, severity in db.execute(
                        "SELECT fingerprint, rule_id, target, title, severity FROM findings "
                        "WHERE resolved_at IS NULL").fetchall():
                    if fp in seen or (rules is not None and rule_id not in rules):
                        continue
                    db.execute("UPDATE findings SET resolved_at=? WHERE fingerprint=?", (now, fp))
                    resolved.append({"fingerprint": fp, "rule_id": rule_id, "target": json.loads(target),
                                     "title": title, "severity": severity, "resolved_at": now})
            self._expire(now)
        return Changes(run_id, tuple(self._opened_dict(f, now) for f in opened), tuple(resolved),
                       _f(prev[0]) if prev else None, _f(run.overall) if run.scope == "all" and not run.error else None)

    @staticmethod
    def _opened_dict(f: FindingRow, now: float) -> dict:
        return {"fingerprint": f.fingerprint, "rule_id": f.rule_id, "target": f.target, "title": f.title,
                "severity": f.severity, "category": f.category, "dimension": f.dimension, "summary": f.summary,
                "value": f.value, "opened_at": now}

    def _recommendation(self, f: FindingRow, run_id: int, now: float) -> None:
        rec = f.rec
        if rec.empty:
            return
        last = self._db.execute("SELECT cores, memory_bytes, replicas, monthly_cost_change FROM recommendations "
                                "WHERE fingerprint=? ORDER BY ts DESC LIMIT 1", (f.fingerprint,)).fetchone()
        if last is not None and Recommendation(*last) == rec:
            return
        self._db.execute("INSERT OR REPLACE INTO recommendations VALUES (?,?,?,?,?,?,?)",
                         (f.fingerprint, run_id, now, rec.cores, rec.memory_bytes, rec.replicas,
                          rec.monthly_cost_change))

    def _expire(self, now: float) -> None:
        cut = now - self.retention
        old = [r for (r,) in self._db.execute("SELECT id FROM runs WHERE finished_at < ?", (cut,))]
        if old:
            self._db.executemany("DELETE FROM run_findings WHERE run_id=?", [(r,) for r in old])
            self._db.execute("DELETE FROM runs WHERE finished_at < ?", (cut,))
        self._db.execute("DELETE FROM findings WHERE resolved_at IS NOT NULL AND resolved_at < ?", (cut,))
        self._db.execute("DELETE FROM benchmarks WHERE finished_at < ?", (cut,))
        self._db.execute("DELETE FROM recommendations WHERE ts < ? AND fingerprint NOT IN "
                         "(SELECT fingerprint FROM findings WHERE resolved_at IS NULL)", (cut,))

    # -- reading ------------------------------------------------------------------------------------------

    def _rows(self, sql: str, args: tuple = ()) -> list[dict]:
        with self._lock:
            cur = self._db.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    @staticmethod
    def _run(row: dict) -> dict:
        row["dimensions"] = json.loads(row["dimensions"])
        row["not_evaluated"] = json.loads(row["not_evaluated"])
        row["duration_seconds"] = round(row["finished_at"] - row["started_at"], 3)
        return row

    def runs(self, limit: int = 100, before: int | None = None) -> list[dict]:
        """The newest `limit` runs (before run id `before`), newest first."""
        sql = "SELECT * FROM runs" + (" WHERE id < ?" if before else "") + " ORDER BY id DESC LIMIT ?"
        return [self._run(r) for r in self._rows(sql, ((before,) if before else ()) + (limit,))]

    def run(self, run_id: int) -> dict | None:
        rows = self._rows("SELECT * FROM runs WHERE id=?", (run_id,))
        if not rows:
            return None
        out = self._run(rows[0])
        out["findings"] = self._rows(
            "SELECT rf.fingerprint, f.rule_id, f.title, f.category, f.dimension, f.target, rf.severity, rf.value, "
            "rf.summary FROM run_findings rf JOIN findings f USING (fingerprint) WHERE rf.run_id=? "
            "ORDER BY f.rule_id", (run_id,))
        for f in out["findings"]:
            f["target"] = json.loads(f["target"])
        return out

    def latest_run_id(self) -> int | None:
        rows = self._rows("SELECT max(id) AS id FROM runs")
        return rows[0]["id"] if rows else None

    def findings(self, open_only: bool = False, since: float | None = None) -> list[dict]:
        """Every finding the history knows (open ones, or resolved after `since` too), newest first."""
        where = []
        args: tuple = ()
        if open_only:
            where.append("resolved_at IS NULL")
        elif since is not None:
            where.append("(resolved_at IS NULL OR resolved_at >= ?)")
            args = (since,)
        sql = "SELECT * FROM findings" + (" WHERE " + " AND ".join(where) if where else "") + \
            " ORDER BY last_seen DESC"
        out = self._rows(sql, args)
        for f in out:
            f["target"] = json.loads(f["target"])
        return out

    def recommendations(self, fingerprint: str) -> list[dict]:
        return self._rows("SELECT run_id, ts, cores, memory_bytes, replicas, monthly_cost_change "
                          "FROM recommendations WHERE fingerprint=? ORDER BY ts", (fingerprint,))

    def scores(self, limit: int = 100) -> list[dict]:
        """Overall and per-dimension scores of the newest complete runs, oldest first (for trends)."""
        rows = self._rows("SELECT id, finished_at, overall, dimensions FROM runs WHERE error IS NULL AND "
                          "scope='all' ORDER BY id DESC LIMIT ?", (limit,))
        for r in rows:
            r["dimensions"] = json.loads(r["dimensions"])
        return rows[::-1]

    def diff(self, a: int, b: int) -> Diff:
        """Findings new in run `b`, resolved since run `a`, and changed (severity, or value by more than 10%)."""
        for rid in (a, b):
            if not self._rows("SELECT id FROM runs WHERE id=?", (rid,)):
                raise KeyError(rid)
        sql = ("SELECT rf.fingerprint, f.rule_id, f.title, f.target, rf.severity, rf.value, rf.summary "
               "FROM run_findings rf JOIN findings f USING (fingerprint) WHERE rf.run_id=?")
        ra = {r["fingerprint"]: r for r in self._rows(sql, (a,))}
        rb = {r["fingerprint"]: r for r in self._rows(sql, (b,))}
        for r in (*ra.values(), *rb.values()):
            if isinstance(r["target"], str):
                r["target"] = json.loads(r["target"])
        changed, same = [], 0
        for fp in ra.keys() & rb.keys():
            x, y = ra[fp], rb[fp]
            what = []
            if x["severity"] != y["severity"]:
                what.append(f"severity {x['severity']} → {y['severity']}")
            if x["value"] is not None and y["value"] is not None and \
                    abs(y["value"] - x["value"]) > 0.1 * max(abs(x["value"]), 1e-12):
                what.append(f"value {x['value']:.4g} → {y['value']:.4g}")
            if what:
                changed.append({**y, "before": {"severity": x["severity"], "value": x["value"],
                                                "summary": x["summary"]}, "changes": what})
            else:
                same += 1
        key = lambda r: (r["rule_id"], json.dumps(r["target"], sort_keys=True))  # noqa: E731
        return Diff(a, b, tuple(sorted((rb[k] for k in rb.keys() - ra.keys()), key=key)),
                    tuple(sorted((ra[k] for k in ra.keys() - rb.keys()), key=key)),
                    tuple(sorted(changed, key=key)), same)

    def stats(self) -> dict:
        """Counts for /metrics and /health/detailed."""
        rows = self._rows("SELECT (SELECT count(*) FROM runs) AS runs, "
                          "(SELECT count(*) FROM findings WHERE resolved_at IS NULL) AS open, "
                          "(SELECT count(*) FROM findings WHERE resolved_at IS NOT NULL) AS resolved")
        return rows[0]

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            try:
                total += Path(str(self.path) + suffix).stat().st_size
            except OSError:
                pass
        return total


def age(ts: float | None, now: float | None = None) -> float | None:
    return None if ts is None else (now or time.time()) - ts
