"""What a data source is: something that answers PromQL instant and range queries.

Both sources (a Prometheus-compatible HTTP API, and the embedded engine) return results in the shape of
the Prometheus HTTP API's ``data`` field, parsed into the dataclasses below, so the evaluator never knows
which one it talks to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..errors import QueryError, SourceError

__all__ = ["QueryError", "QueryResult", "Series", "Source", "SourceError"]


class Points:
    """A series' points kept as two float arrays (16 bytes a point instead of ~100 for a tuple of floats);
    reads as a sequence of (timestamp, value) tuples, built on demand."""

    __slots__ = ("ts", "vs")

    def __init__(self, ts, vs):
        import numpy as np
        self.ts = np.asarray(ts, dtype=float)
        self.vs = np.asarray(vs, dtype=float)

    @classmethod
    def of(cls, ts, vs) -> "Points":
        """Points over two float arrays as they are (the decoder's slices), without the conversion."""
        p = cls.__new__(cls)
        p.ts, p.vs = ts, vs
        return p

    def __len__(self) -> int:
        return len(self.ts)

    def __bool__(self) -> bool:
        return len(self.ts) > 0

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(zip(self.ts[i].tolist(), self.vs[i].tolist()))
        return (float(self.ts[i]), float(self.vs[i]))

    def __iter__(self):
        return zip(self.ts.tolist(), self.vs.tolist())

    def __eq__(self, other) -> bool:
        return tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"Points({len(self)})"


@dataclass(frozen=True)
class Series:
    """One result series: its labels and its (timestamp seconds, value) points; an instant vector has one."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]

    @property
    def value(self) -> float:
        return self.points[-1][1]


@dataclass(frozen=True)
class QueryResult:
    """``result_type`` is vector, matrix, scalar or string, as in the Prometheus HTTP API."""

    result_type: str
    series: tuple[Series, ...]
    warnings: tuple[str, ...] = field(default=())

    def to_api(self) -> dict:
        """The Prometheus HTTP API ``data`` shape (``resultType``, ``result``), formatted as Prometheus does:
        values as strings in Go's shortest non-exponent form, timestamps as seconds (integral ones without
        a fraction), labels sorted by name."""
        def fmt(v: float) -> str:
            v = float(v)
            if v != v:
                return "NaN"
            if v in (float("inf"), float("-inf")):
                return "+Inf" if v > 0 else "-Inf"
            return _positional(v)

        def ts(t: float):
            t = round(float(t), 3)
            return int(t) if t.is_integer() else t

        def metric(labels: dict) -> dict:
            return dict(sorted(labels.items()))

        if self.result_type == "scalar" or self.result_type == "string":
            t, v = self.series[0].points[0] if self.series else (0.0, float("nan"))
            return {"resultType": self.result_type, "result": [ts(t), fmt(v) if self.result_type == "scalar" else v]}
        if self.result_type == "vector":
            return {"resultType": "vector",
                    "result": [{"metric": metric(s.labels), "value": [ts(s.points[-1][0]), fmt(s.points[-1][1])]}
                               for s in self.series]}
        return {"resultType": "matrix",
                "result": [{"metric": metric(s.labels), "values": [[ts(t), fmt(v)] for t, v in s.points]}
                           for s in self.series]}


def _positional(v: float) -> str:
    """Prometheus' jsonutil.MarshalFloat: shortest round-trip digits, exponent form only below 1e-6 or
    from 1e21 on (where Go's 'e' format and Python's repr agree)."""
    text = repr(v)
    if v != 0 and (abs(v) < 1e-6 or abs(v) >= 1e21):
        return text
    if "e" not in text and "E" not in text:
        return text[:-2] if text.endswith(".0") else text
    mantissa, exp = text.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-")
    whole, _, frac = digits.partition(".")
    shift = int(exp)
    all_digits = whole + frac
    point = len(whole) + shift
    if point <= 0:
        out = "0." + "0" * (-point) + all_digits
    elif point >= len(all_digits):
        out = all_digits + "0" * (point - len(all_digits))
    else:
        out = all_digits[:point] + "." + all_digits[point:]
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return sign + out


class Source(Protocol):
    """A PromQL data source. Times are Unix seconds (float)."""

    name: str

    def instant(self, query: str, time: float) -> QueryResult: ...

    def range(self, query: str, start: float, end: float, step: float) -> QueryResult: ...
