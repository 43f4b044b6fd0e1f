"""A metric family, declared and built: ``Family`` documents what a collector exports, ``family()`` and
``single()`` build what a scrape returns.

Every family the exporter writes — collectors, probes, the scrape's own node_scrape_collector_* and the
server's perfadvisor_exporter_* — is built here. prometheus_client's MetricFamily constructors validate the
name and zip label lists into dicts for every sample; with ~1000 samples per scrape that is a measurable share
of a scrape's CPU. Names here are constants or kernel field names already checked by the parsers, so the
families are assembled directly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from prometheus_client.core import Metric
from prometheus_client.samples import Sample as SampleType

_tuple_new = tuple.__new__


def Sample(name: str, labels: dict, value: float, timestamp=None, exemplar=None, native_histogram=None) -> SampleType:
    """A prometheus_client ``Sample``, built in half the time of its own constructor (typing.NamedTuple's
    generated ``__new__`` costs ~0.9 µs; a scrape builds ~900 samples). ``isinstance`` checks use
    ``SampleType``."""
    return _tuple_new(SampleType, (name, labels, value, timestamp, exemplar, native_histogram))

TYPES = frozenset(("counter", "gauge", "untyped", "summary", "histogram", "info", "stateset"))


@dataclass(frozen=True)
class Family:
    """One metric family a collector exports, as its reference documentation lists it.

    ``name`` is the exposed name (counters with ``_total``) and may stand for several families:
    ``{a,b}`` alternatives (``node_load{1,5,15}``; ``...`` among them: and others), ``<field>`` a name part
    taken from the data (``node_memory_<Field>_bytes``), ``[_x|_y]`` an optional suffix
    (``pg_settings_<name>[_bytes|_seconds]``); ``matches(name)`` reads this notation.
    ``type`` is a Prometheus type; ``gauge/counter`` when it depends on the field.
    ``labels`` are the label names in the order written; ``[server]`` is a label only some series carry,
    ``bios_*`` a set of labels. ``note`` is a short remark, plain text without enclosing parentheses.

    A Family with an empty name (and empty type and labels) is a free-text note about the entry before it or
    about the collector's families as a whole: ``Family("", "", note="every metric in *.prom files")``.
    """

    name: str
    type: str
    labels: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.labels, tuple):  # ("addr") is a str, not a tuple
            raise TypeError(f"Family {self.name!r}: labels must be a tuple, got {self.labels!r}")
        if not self.name:
            if self.type or self.labels or not self.note:
                raise ValueError("a Family without a name is a note: it has only a note")
        elif not all(t in TYPES for t in self.type.split("/")):
            raise ValueError(f"Family {self.name!r}: unknown type {self.type!r}")

    @cached_property
    def _pattern(self) -> re.Pattern:
        out, i = "", 0
        for m in _NOTATION.finditer(self.name):
            out += re.escape(self.name[i:m.start()])
            if m.group(1) is not None:
                out += "(?:" + "|".join("[A-Za-z0-9_]+" if a == "..." else re.escape(a)
                                        for a in m.group(1).split(",")) + ")"
            elif m.group(2) is not None:
                out += "(?:" + "|".join(re.escape(a) for a in m.group(2).split("|")) + ")?"
            else:
                out += "[A-Za-z0-9_]+"
            i = m.end()
        return re.compile(out + re.escape(self.name[i:]))

    def matches(self, name: str) -> bool:
        """Whether an exposed name (a sample's name: counters with _total) is one this entry documents."""
        return bool(self.name) and self._pattern.fullmatch(name) is not None


_NOTATION = re.compile(r"\{([^}]*)\}|\[([^\]]*)\]|<[^>]*>")


_new = Metric.__new__


def family(name: str, doc: str, typ: str, samples: list, unit: str = "") -> Metric:
    """A family named `name` (counters: without `_total`) holding ready-made samples."""
    m = _new(Metric)
    m.name, m.documentation, m.type, m.unit, m.samples = name, doc, typ, unit, samples
    return m


NO_LABELS: dict[str, str] = {}  # shared by every unlabelled sample (samples' labels are never modified)


def _escape(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


class Labels(dict):
    """A label set that also carries its exposition text (``{k="v",...}``, escaped), written once.

    For label sets a collector keeps and reuses every scrape (one per process group, one per collector): the
    writers then copy ``text`` instead of joining and escaping each label again (~0.5 µs per sample). Like
    every sample's labels, it must never be modified after it is built.
    """

    __slots__ = ("text",)

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.text = "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in self.items()) + "}"


class LabelCache:
    """``Labels`` for label sets a collector builds again every scrape from the same values (one per device, per
    CPU and mode, ...): built once, so the writers copy their text instead of rendering each sample's labels.

    ``cache(*values)`` is the label set ``dict(zip(names, values))`` (same order, same text). Bounded: beyond
    ``limit`` sets (devices that came and went), it starts afresh. Safe to share between threads.
    """

    __slots__ = ("names", "limit", "_sets")

    def __init__(self, *names: str, limit: int = 4096):
        self.names, self.limit = names, limit
        self._sets: dict[tuple[str, ...], Labels] = {}

    def __call__(self, *values: str) -> Labels:
        labels = self._sets.get(values)
        if labels is None:
            if len(self._sets) >= self.limit:
                self._sets = {}
            labels = self._sets[values] = Labels(zip(self.names, values))
        return labels


def single(name: str, doc: str, typ: str, value: float) -> Metric:
    """A family with one unlabelled sample; counters get the `_total` sample name."""
    return family(name, doc, typ, [Sample(name + "_total" if typ == "counter" else name, NO_LABELS, value, None,
                                          None)])


__all__ = ["Family", "LabelCache", "Labels", "NO_LABELS", "Sample", "SampleType", "family", "single"]
