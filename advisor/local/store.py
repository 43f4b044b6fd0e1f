"""A local sample store: a SQLite file that repeated local runs append to, so history accumulates.

SQLite because it is in the standard library, survives an interrupted run (each batch is one transaction)
and lets two runs share a file safely. Series are stored once (labels as canonical JSON); samples are
``(series, ts_ms, value)`` rows keyed by series and time, so re-writing a sample is a no-op; a staleness
marker (a series that vanished from a scrape) is stored as NULL. Samples older than the retention (default
7 days) are deleted on every write, and samples older than an hour are thinned to one per series and minute,
so a cron job sampling a minute every few minutes keeps the file (and the time to load it) bounded.
"""
from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..errors import ConfigError
from ..promql.storage import STALE_NAN, is_stale

RETENTION_SECONDS = 7 * 86400
FULL_RESOLUTION_MS = 3600_000   # the last hour keeps every sample ...
COARSE_MS = 60_000              # ... older ones one per series and minute
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL,
    PRIMARY KEY (series, ts)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS samples_ts ON samples (ts);
"""


@dataclass(frozen=True)
class Batch:
    """One scrape: every sample taken at one time (ms). Labels include ``__name__``."""

    ts_ms: int
    samples: tuple[tuple[dict[str, str], float], ...]


def _encode(v: float):
    # SQLite stores NaN as NULL; NULL is kept for Prometheus staleness markers and NaN is spelt out.
    if math.isnan(v):
        return None if is_stale(np.array([v]))[0] else "NaN"
    return v


def _decode(v) -> float:
    return STALE_NAN if v is None else float(v)


def _key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class SampleStore:
    """Append batches, read them back; ``path`` is created with its directory if missing."""

    def __init__(self, path: str | Path, retention: float = RETENTION_SECONDS):
        self.path = Path(path).expanduser()
        self.retention = retention
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
            if row is None:
                with self._db:
                    self._db.execute("INSERT INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise ConfigError(f"--store {self.path}: written by an incompatible version (format {row[0]})")
        except sqlite3.DatabaseError as e:
            raise ConfigError(f"--store {self.path}: not a usable sample store: {e}") from None
        except OSError as e:
            raise ConfigError(f"--store {self.path}: {e.strerror or e}") from None
        self._ids: dict[str, int] = {}

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "SampleStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _series_id(self, labels: dict[str, str]) -> int:
        key = _key(labels)
        sid = self._ids.get(key)
        if sid is None:
            self._db.execute("INSERT OR IGNORE INTO series (labels) VALUES (?)", (key,))
            sid = self._db.execute("SELECT id FROM series WHERE labels=?", (key,)).fetchone()[0]
            self._ids[key] = sid
        return sid

    def append(self, batches: Iterable[Batch]) -> int:
        """Write batches in one transaction and apply the retention; returns the number of samples written."""
        n = 0
        try:
            with self._db:
                for b in batches:
                    rows = [(self._series_id(lb), b.ts_ms, _encode(v)) for lb, v in b.samples]
                    self._db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?)", rows)
                    n += len(rows)
                newest = self._db.execute("SELECT max(ts) FROM samples").fetchone()[0]
                if newest is not None:
                    self._db.execute("DELETE FROM samples WHERE ts < ?", (newest - int(self.retention * 1000),))
                    self._compact(newest)
        except sqlite3.Error as e:
            raise ConfigError(f"--store {self.path}: cannot write: {e}") from None
        return n

    def _compact(self, newest: int) -> None:
        """Thin samples older than FULL_RESOLUTION to the last one per series and minute (once per minute)."""
        cut = (newest - FULL_RESOLUTION_MS) // COARSE_MS * COARSE_MS
        row = self._db.execute("SELECT value FROM meta WHERE key='compacted_until'").fetchone()
        start = int(row[0]) if row else 0
        if cut <= start:
            return
        self._db.execute(
            "DELETE FROM samples WHERE ts >= :a AND ts < :b AND (series, ts) NOT IN ("
            " SELECT series, max(ts) FROM samples WHERE ts >= :a AND ts < :b GROUP BY series, ts / :c)",
            {"a": start, "b": cut, "c": COARSE_MS})
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('compacted_until', ?)", (str(cut),))

    def series(self, since_ms: int | None = None, first_since_ms: int | None = None
               ) -> Iterator[tuple[dict[str, str], list[int], list[float]]]:
        """Every series with samples: (labels, timestamps ms, values), oldest first. With `since_ms`, only the
        samples at or after it, plus — with `first_since_ms` — each series' oldest sample between the two (what
        tells how far back a series' history goes, without reading it all)."""
        if since_ms is None:
            labels = {sid: json.loads(text) for sid, text in self._db.execute("SELECT id, labels FROM series")}
            cur = self._db.execute("SELECT series, ts, value FROM samples ORDER BY series, ts")
        else:   # only the series that have samples in the window: vanished ones are not even decoded
            first = min(since_ms, first_since_ms if first_since_ms is not None else since_ms)
            labels = {sid: json.loads(text) for sid, text in self._db.execute(
                "SELECT id, labels FROM series WHERE id IN (SELECT DISTINCT series FROM samples WHERE ts >= ?)",
                (first,))}
            # SQLite: a bare column beside min() comes from the row holding the minimum.
            cur = self._db.execute(
                "SELECT series, ts, value FROM ("
                " SELECT series, min(ts) AS ts, value FROM samples WHERE ts >= :f AND ts < :s GROUP BY series"
                " UNION ALL SELECT series, ts, value FROM samples WHERE ts >= :s) ORDER BY series, ts",
                {"f": first, "s": since_ms})
        current, ts, vals = None, [], []
        for sid, t, v in cur:
            if sid != current:
                if current is not None and current in labels:
                    yield labels[current], ts, vals
                current, ts, vals = sid, [], []
            ts.append(t)
            vals.append(_decode(v))
        if current is not None and current in labels:
            yield labels[current], ts, vals

    def span(self) -> tuple[int, int] | None:
        """(oldest, newest) sample time in ms, None when empty."""
        row = self._db.execute("SELECT min(ts), max(ts) FROM samples").fetchone()
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def scrape_times(self) -> list[int]:
        """Every distinct sample time (ms), oldest first: one per scrape (per minute once thinned)."""
        return [t for (t,) in self._db.execute("SELECT DISTINCT ts FROM samples ORDER BY ts")]
