"""The data source of a local run: the embedded PromQL engine over a Storage filled from local samples."""
from __future__ import annotations

from ..promql.storage import Storage
from ..sources.base import QueryError, QueryResult, Series, Source


def embedded_source(storage: Storage) -> Source:
    """The registered embedded source over `storage` (a minimal adapter while it is not installed)."""
    try:
        from ..sources.embedded import EmbeddedSource
    except ImportError:
        return _EngineSource(storage)
    return EmbeddedSource(storage)


class _EngineSource:
    """Source protocol over ``promql.engine`` (times in seconds at the protocol, ms in the engine)."""

    name = "embedded"

    def __init__(self, storage: Storage):
        self.storage = storage

    def _wrap(self, query: str, fn) -> QueryResult:
        from ..promql import engine
        try:
            res = fn(engine)
        except (engine.ParseError, engine.EvalError) as e:
            raise QueryError(query, str(e)) from None
        series = tuple(Series({k: v for k, v in lb.items()}, tuple((t / 1000.0, float(v)) for t, v in pts))
                       for lb, pts in res.series)
        return QueryResult(res.kind, series)

    def instant(self, query: str, time: float) -> QueryResult:
        return self._wrap(query, lambda e: e.instant(self.storage, query, int(round(time * 1000))))

    def range(self, query: str, start: float, end: float, step: float) -> QueryResult:
        return self._wrap(query, lambda e: e.range_query(self.storage, query, int(round(start * 1000)),
                                                          int(round(end * 1000)), max(1, int(round(step * 1000)))))
