"""In-memory series store: per-series sample arrays, a postings index for matchers, and frozen flat views.

Samples of all series are flattened into one array sorted by a composite key ``sid << 44 | ts + 2**43``
so that window bounds for every (series, step) pair come out of one vectorized ``searchsorted``.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

STALE_BITS = 0x7FF0000000000002
STALE_NAN = np.array([STALE_BITS], dtype=np.uint64).view(np.float64)[0]
TS_BITS = 44
TS_OFF = 1 << 43
TS_MAX = (1 << TS_BITS) - 1
MAX_SERIES = 1 << (63 - TS_BITS)  # the series id fills the remaining bits of the int64 key


def is_stale(vals: np.ndarray) -> np.ndarray:
    return np.asarray(vals, dtype=np.float64).view(np.uint64) == STALE_BITS


def encode(ts: np.ndarray) -> np.ndarray:
    """Timestamps (ms) as the low bits of a composite key, clipped into range."""
    return np.clip(np.asarray(ts, dtype=np.int64) + TS_OFF, 0, TS_MAX)


_FLAGS_RE = re.compile(r"\(\?([imsU]+)\)")


def _scope_inline_flags(p: str) -> str:
    """RE2 allows ``(?i)`` mid-pattern (to the end of the group); Python wants ``(?i:...)``."""
    out, i, depth_stack = [], 0, []
    pending: list[int] = []  # group depths at which a scoped-flag group must be closed
    depth = 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            out.append(p[i:i + 2]); i += 2; continue
        if c == "[":
            j = i + 1
            if j < len(p) and p[j] == "^":
                j += 1
            if j < len(p) and p[j] == "]":
                j += 1
            while j < len(p) and p[j] != "]":
                j += 2 if p[j] == "\\" else 1
            out.append(p[i:j + 1]); i = j + 1; continue
        m = _FLAGS_RE.match(p, i)
        if m and (i > 0 or depth > 0):
            flags = m.group(1).replace("U", "")
            out.append(f"(?{flags}:" if flags else "(?:")
            pending.append(depth)
            i = m.end(); continue
        if c == "(":
            depth += 1
        elif c == ")":
            while pending and pending[-1] == depth:
                pending.pop(); out.append(")")
            depth -= 1
        elif c == "|" and pending and pending[-1] == depth:
            # an alternation ends the flag scope's branch: close and reopen is not equivalent, keep simple
            pass
        out.append(c)
        i += 1
    out.extend(")" * len(pending))
    del depth_stack
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re.Pattern:
    """Prometheus regex matchers are fully anchored and ``.`` matches newlines."""
    try:
        return re.compile(f"(?:{pattern})", re.DOTALL)
    except re.error:
        return re.compile(f"(?:{_scope_inline_flags(pattern)})", re.DOTALL)


def matcher_fn(op: str, value: str):
    if op == "=":
        return lambda v: v == value
    if op == "!=":
        return lambda v: v != value
    rx = compile_regex(value)
    if op == "=~":
        return lambda v: rx.fullmatch(v) is not None
    return lambda v: rx.fullmatch(v) is None


@dataclass
class Flat:
    """All samples of all series (non-stale ones separately) as flat arrays keyed by composite key."""

    keys: np.ndarray      # with stale markers, for instant lookups
    vals: np.ndarray
    stale: np.ndarray
    nkeys: np.ndarray     # stale markers removed, for range windows
    nts: np.ndarray
    nvals: np.ndarray
    cache: dict = field(default_factory=dict)  # derived arrays (reset/change counts) built on first use


class Storage:
    """Series store with a label index. ``add`` samples, then query; freezing happens lazily."""

    def __init__(self) -> None:
        self._ids: dict[tuple, int] = {}
        self.labels: list[dict[str, str]] = []
        self._ts: list[list[int]] = []
        self._vals: list[list[float]] = []
        self._chunks: list[list[tuple[np.ndarray, np.ndarray]]] = []  # from add_many, as arrays
        self._postings: dict[str, dict[str, list[int]]] = {}
        self._flat: Flat | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.labels)

    def _sid(self, labels: dict[str, str]) -> int:
        key = tuple(sorted((k, v) for k, v in labels.items() if v != ""))
        sid = self._ids.get(key)
        if sid is None:
            sid = len(self.labels)
            if sid >= MAX_SERIES:
                raise OverflowError(f"the embedded engine holds at most {MAX_SERIES} series")
            self._ids[key] = sid
            self.labels.append(dict(key))
            self._ts.append([])
            self._vals.append([])
            self._chunks.append([])
            for k, v in key:
                self._postings.setdefault(k, {}).setdefault(v, []).append(sid)
        return sid

    def add(self, labels: dict[str, str], ts_ms: int, value: float) -> None:
        sid = self._sid(labels)
        self._ts[sid].append(int(ts_ms))
        self._vals[sid].append(float(value))
        self._flat = None

    def add_many(self, labels: dict[str, str], ts_ms, values) -> None:
        sid = self._sid(labels)
        t = np.asarray(ts_ms, dtype=np.int64)
        v = np.asarray(values, dtype=np.float64)
        if t.shape != v.shape:
            raise ValueError("timestamps and values differ in length")
        self._chunks[sid].append((t, v))
        self._flat = None

    def flat(self) -> Flat:
        flat = self._flat
        if flat is None:
            # Rules evaluate on several threads: the first builds, the others wait for it (each building its own
            # copy cost the peak memory and CPU of one flat per thread).
            with self._lock:
                flat = self._flat
                if flat is None:
                    flat = self._flat = self._build()
        return flat

    def _build(self) -> Flat:
        keys_parts, vals_parts = [], []
        for sid, (ts, vals, chunks) in enumerate(zip(self._ts, self._vals, self._chunks)):
            parts = chunks + ([(np.asarray(ts, dtype=np.int64), np.asarray(vals, dtype=np.float64))] if ts else [])
            if not parts:
                continue
            t = parts[0][0] if len(parts) == 1 else np.concatenate([p[0] for p in parts])
            v = parts[0][1] if len(parts) == 1 else np.concatenate([p[1] for p in parts])
            if len(t) > 1 and not (t[1:] > t[:-1]).all():
                order = np.argsort(t, kind="stable")
                t, v = t[order], v[order]
                last = np.ones(len(t), dtype=bool)  # a later sample at the same timestamp wins
                last[:-1] = t[1:] != t[:-1]
                t, v = t[last], v[last]
            keys_parts.append((np.int64(sid) << TS_BITS) + encode(t))
            vals_parts.append(v)
        keys = np.concatenate(keys_parts) if keys_parts else np.zeros(0, np.int64)
        vals = np.concatenate(vals_parts) if vals_parts else np.zeros(0)
        stale = is_stale(vals)
        keep = ~stale
        nkeys = keys[keep]
        return Flat(keys, vals, stale, nkeys, (nkeys & TS_MAX) - TS_OFF, vals[keep])

    def select(self, matchers, or_groups=()) -> list[int]:
        """Series ids matching all matchers (or any of the ``or`` groups), sorted."""
        if or_groups:
            out: set[int] = set()
            for group in or_groups:
                out.update(self._select(group))
            return sorted(out)
        return sorted(self._select(matchers))

    def _select(self, matchers) -> set[int]:
        result: set[int] | None = None
        # Cheap equality matchers first so regexes run over fewer values.
        for name, op, value in sorted(matchers, key=lambda m: (m[1] != "=", m[1] != "=~")):
            fn = matcher_fn(op, value)
            values = self._postings.get(name, {})
            hits: set[int] = set()
            for v, sids in values.items():
                if fn(v):
                    hits.update(sids)
            if fn(""):
                # Series lacking the label have it as the empty string.
                having: set[int] = set()
                for sids in values.values():
                    having.update(sids)
                base = set(range(len(self.labels))) if result is None else result
                hits.update(base - having)
            result = hits if result is None else result & hits
            if not result:
                return set()
        return result if result is not None else set(range(len(self.labels)))
