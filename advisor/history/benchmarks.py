"""The history's benchmarks: one row per bench started by ``advisor serve``'s benchmark endpoint.

A row goes ``running`` → ``done`` (with the result, its summary, and the comparison with the previous done bench
of the same target) or ``failed`` (with the reason). The target is the bench's URLs, methods and weights as
one key, so "the previous run of the same target" means the same load against the same endpoints.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from .store import HistoryStore

FIELDS = ("id", "target", "status", "requested_at", "started_at", "finished_at", "client", "request", "summary",
          "previous_id", "verdict", "comparison", "error")


def _decode(row: dict) -> dict:
    for k in ("request", "summary", "comparison", "result"):
        if row.get(k) is not None:
            row[k] = json.loads(row[k])
    return row


class BenchmarkLog:
    """The ``benchmarks`` table of a HistoryStore (format 2)."""

    def __init__(self, store: HistoryStore):
        self.store = store

    def _write(self, sql: str, args: tuple) -> int:
        with self.store._lock, self.store._db as db:
            return int(db.execute(sql, args).lastrowid or 0)

    def add(self, target: str, client: str, request: dict, now: float) -> int:
        return self._write("INSERT INTO benchmarks (target, status, requested_at, started_at, client, request) "
                           "VALUES (?, 'running', ?, ?, ?, ?)", (target, now, now, client, json.dumps(request)))

    def finish(self, bench_id: int, finished_at: float, summary: dict, result: dict, previous_id: int | None,
               verdict: str | None, comparison: dict | None) -> None:
        self._write("UPDATE benchmarks SET status='done', finished_at=?, summary=?, result=?, previous_id=?, "
                    "verdict=?, comparison=? WHERE id=?",
                    (finished_at, json.dumps(summary), json.dumps(result), previous_id, verdict,
                     json.dumps(comparison) if comparison is not None else None, bench_id))

    def fail(self, bench_id: int, finished_at: float, error: str) -> None:
        self._write("UPDATE benchmarks SET status='failed', finished_at=?, error=? WHERE id=?",
                    (finished_at, error, bench_id))

    def interrupt_unfinished(self, now: float) -> int:
        """Benches a stopped service left running are failed (their load generator died with it)."""
        with self.store._lock, self.store._db as db:
            return db.execute("UPDATE benchmarks SET status='failed', finished_at=?, error='interrupted: the "
                              "service stopped during the run' WHERE status='running'", (now,)).rowcount

    def previous(self, target: str, before: int) -> tuple[int, dict] | None:
        """The newest done bench of `target` before id `before`: (id, its result as JSON data)."""
        rows = self._rows("SELECT id, result FROM benchmarks WHERE target=? AND status='done' AND id<? "
                          "ORDER BY id DESC LIMIT 1", (target, before))
        return (rows[0]["id"], json.loads(rows[0]["result"])) if rows else None

    def get(self, bench_id: int, full: bool = False) -> dict | None:
        cols = ", ".join(FIELDS + (("result",) if full else ()))
        rows = self._rows(f"SELECT {cols} FROM benchmarks WHERE id=?", (bench_id,))
        return _decode(rows[0]) if rows else None

    def list(self, limit: int = 100) -> list[dict]:
        cols = ", ".join(f for f in FIELDS if f != "comparison")
        return [_decode(r) for r in self._rows(f"SELECT {cols} FROM benchmarks ORDER BY id DESC LIMIT ?", (limit,))]

    def _rows(self, sql: str, args: tuple) -> list[dict[str, Any]]:
        try:
            return self.store._rows(sql, args)
        except sqlite3.OperationalError as e:   # a format-1 store opened read-only has no benchmarks yet
            if "no such table" in str(e):
                return []
            raise
