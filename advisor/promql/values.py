"""Evaluation values: every expression is evaluated for all steps of a query at once.

An instant vector is a 2-D block (series × steps) of values with a presence mask, a scalar is one
value per step, and a range vector keeps flat sample arrays plus each step's window end.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .storage import TS_BITS, encode


class EvalError(Exception):
    """A query that parses but cannot be evaluated (duplicate series, bad parameter, …)."""


@dataclass
class Vec:
    labels: list[dict[str, str]]
    vals: np.ndarray  # (n, k) float64
    mask: np.ndarray  # (n, k) bool
    ts: np.ndarray | None = None  # sample timestamps (ms) when straight from a selector
    unique: bool = False  # labels known to be distinct (merge_rows already ran)

    @property
    def n(self) -> int:
        return len(self.labels)

    def take(self, rows) -> "Vec":
        rows = np.asarray(rows, dtype=np.int64)
        return Vec([self.labels[i] for i in rows], self.vals[rows], self.mask[rows],
                   None if self.ts is None else self.ts[rows], self.unique)


@dataclass
class Scal:
    vals: np.ndarray  # (k,)


@dataclass
class StrV:
    val: str


@dataclass
class Mat:
    """A range vector: per-series windows (t_end - range, t_end] over flat sorted samples."""

    labels: list[dict[str, str]]
    base: np.ndarray   # (n,) composite key base of each series
    keys: np.ndarray   # flat composite keys, sorted
    ts: np.ndarray     # flat timestamps (ms)
    vals: np.ndarray   # flat values
    range_ms: int
    t_end: np.ndarray  # (k,) window end per step
    _win: tuple | None = field(default=None, repr=False)
    step_t: np.ndarray | None = field(default=None, repr=False)  # the query's step times
    cache: dict = field(default_factory=dict, repr=False)  # per-sample-array derived data (shared)

    def windows(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) flat index bounds per (series, step); the window is vals[lo:hi]."""
        if self._win is None:
            b = self.base[:, None]
            lo = np.searchsorted(self.keys, b + encode(self.t_end - self.range_ms)[None, :], "right")
            hi = np.searchsorted(self.keys, b + encode(self.t_end)[None, :], "right")
            shape = (len(self.base), len(self.t_end))
            self._win = (lo.reshape(shape), hi.reshape(shape))
        return self._win


def mat_from_vec(v: Vec, t: np.ndarray, range_ms: int, t_end: np.ndarray) -> Mat:
    """The samples of an evaluated inner expression (a subquery) as a range vector."""
    rows, cols = np.nonzero(v.mask)
    base = np.arange(v.n, dtype=np.int64) << TS_BITS
    keys = base[rows] + encode(t[cols])
    return Mat(v.labels, base, keys, t[cols].astype(np.int64), v.vals[rows, cols], range_ms, t_end)


def label_key(labels: dict[str, str]) -> tuple:
    return tuple(sorted(labels.items()))


def sort_key(labels: dict[str, str]) -> str:
    """A string that sorts like the sorted label pairs (and compares much faster than tuples)."""
    return "\x01".join(f"{k}\x00{v}" for k, v in sorted(labels.items()))


def without_name(labels: dict[str, str]) -> dict[str, str]:
    if "__name__" not in labels:
        return labels
    d = dict(labels)
    del d["__name__"]
    return d


def merge_rows(v: Vec, message: str = "vector cannot contain metrics with the same labelset") -> Vec:
    """Combine rows with identical labels; an overlap at any step is an evaluation error."""
    if v.unique:
        return v
    keys = [label_key(lb) for lb in v.labels]
    if len(set(keys)) == len(keys):
        v.unique = True
        return v
    groups: dict[tuple, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    labels, vals, mask, tss = [], [], [], []
    for rows in groups.values():
        if len(rows) == 1:
            r = rows[0]
            labels.append(v.labels[r]); vals.append(v.vals[r]); mask.append(v.mask[r])
            tss.append(None if v.ts is None else v.ts[r])
            continue
        m = v.mask[rows]
        if (m.sum(axis=0) > 1).any():
            raise EvalError(message)
        pick = np.argmax(m, axis=0)
        cols = np.arange(m.shape[1])
        labels.append(v.labels[rows[0]])
        vals.append(v.vals[rows][pick, cols])
        mask.append(m.any(axis=0))
        tss.append(None if v.ts is None else v.ts[rows][pick, cols])
    k = v.vals.shape[1]
    return Vec(labels, np.array(vals).reshape(-1, k), np.array(mask, dtype=bool).reshape(-1, k),
               None if v.ts is None else np.array(tss).reshape(-1, k), unique=True)


def drop_names(v: Vec) -> Vec:
    """The vector with ``__name__`` removed from every series (merging series that become equal)."""
    return merge_rows(Vec([without_name(lb) for lb in v.labels], v.vals, v.mask))
