"""The embedded PromQL engine as a data source: the Source protocol over an in-memory Storage.

Times are Unix seconds at the protocol and milliseconds inside the engine. Parse and evaluation errors
become ``QueryError`` with the engine's message, like a Prometheus ``bad_data``/``execution`` answer.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..promql import engine
from ..promql.storage import Storage
from . import register
from .base import QueryError, QueryResult, Series


class EmbeddedSource:
    """Answers instant and range queries from ``storage`` with the embedded engine."""

    name = "embedded"

    def __init__(self, storage: Storage, lookback_seconds: float = 300.0):
        self.storage = storage
        self.lookback_ms = int(round(lookback_seconds * 1000))

    def _wrap(self, query: str, run) -> QueryResult:
        try:
            res = run()
        except engine.ParseError as e:
            raise QueryError(query, f"parse error: {e}") from None
        except engine.EvalError as e:
            raise QueryError(query, str(e)) from None
        except OverflowError as e:
            raise QueryError(query, str(e)) from None
        if res.kind == "string":
            t, v = res.series[0][1][0]
            return QueryResult("string", (Series({}, ((t / 1000.0, v),)),))
        series = tuple(Series(dict(lb), tuple((t / 1000.0, float(v)) for t, v in pts)) for lb, pts in res.series)
        return QueryResult(res.kind, series)

    def instant(self, query: str, time: float) -> QueryResult:
        t = int(round(time * 1000))
        return self._wrap(query, lambda: engine.instant(self.storage, query, t, self.lookback_ms))

    def range(self, query: str, start: float, end: float, step: float) -> QueryResult:
        s, e, st = int(round(start * 1000)), int(round(end * 1000)), max(1, int(round(step * 1000)))
        return self._wrap(query, lambda: engine.range_query(self.storage, query, s, e, st, self.lookback_ms))


@register("embedded")
def _embedded(config, storage: Storage | None = None) -> EmbeddedSource:
    if storage is None:
        raise ConfigError("no Prometheus configured and no local data loaded: pass --prometheus URL, set "
                          "PERFADVISOR_PROMETHEUS_URL, or set prometheus.url in the config file")
    return EmbeddedSource(storage)
