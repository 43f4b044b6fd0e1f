"""What a data source is: something that answers PromQL instant and range queries.

Both sources (a Prometheus-compatible HTTP API, and the embedded engine) return results in the shape of
the Prometheus HTTP API's ``data`` field, parsed into the dataclasses below, so the evaluator never knows
which one it talks to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class SourceError(Exception):
    """The data source is unreachable or failing (the CLI maps this to exit code 3)."""


class QueryError(SourceError):
    """A query was rejected or failed; carries the query and the server's message."""

    def __init__(self, query: str, message: str):
        super().__init__(f"query failed: {message} (query: {query})")
        self.query = query
        self.message = message


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
        """The Prometheus HTTP API ``data`` shape (``resultType``, ``result``)."""
        def fmt(v: float) -> str:
            if v != v:
                return "NaN"
            if v in (float("inf"), float("-inf")):
                return "+Inf" if v > 0 else "-Inf"
            return repr(float(v)) if not float(v).is_integer() or abs(v) >= 1e15 else str(int(v))

        if self.result_type == "scalar" or self.result_type == "string":
            t, v = self.series[0].points[0] if self.series else (0.0, float("nan"))
            return {"resultType": self.result_type, "result": [t, fmt(v) if self.result_type == "scalar" else v]}
        if self.result_type == "vector":
            return {"resultType": "vector",
                    "result": [{"metric": s.labels, "value": [s.points[-1][0], fmt(s.points[-1][1])]}
                               for s in self.series]}
        return {"resultType": "matrix",
                "result": [{"metric": s.labels, "values": [[t, fmt(v)] for t, v in s.points]} for s in self.series]}


class Source(Protocol):
    """A PromQL data source. Times are Unix seconds (float)."""

    name: str

    def instant(self, query: str, time: float) -> QueryResult: ...

    def range(self, query: str, start: float, end: float, step: float) -> QueryResult: ...
