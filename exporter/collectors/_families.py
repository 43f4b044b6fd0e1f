"""Fast metric-family construction for the hot collectors.

prometheus_client's MetricFamily constructors validate the name and zip label lists into dicts for every sample;
with ~1000 samples per scrape that is a measurable share of a scrape's CPU. Names here are constants or kernel
field names already checked by the parsers, so the families are assembled directly.
"""
from __future__ import annotations

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

_new = Metric.__new__


def family(name: str, doc: str, typ: str, samples: list) -> Metric:
    """A family named `name` (counters: without `_total`) holding ready-made samples."""
    m = _new(Metric)
    m.name, m.documentation, m.type, m.unit, m.samples = name, doc, typ, "", samples
    return m


NO_LABELS: dict[str, str] = {}  # shared by every unlabelled sample (samples' labels are never modified)


def single(name: str, doc: str, typ: str, value: float) -> Metric:
    """A family with one unlabelled sample; counters get the `_total` sample name."""
    return family(name, doc, typ, [Sample(name + "_total" if typ == "counter" else name, NO_LABELS, value, None,
                                          None)])


__all__ = ["Sample", "family", "single"]
