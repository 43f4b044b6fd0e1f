"""Fast text writers for prometheus_client metric families: Prometheus text 0.0.4 and OpenMetrics 1.0.0.

prometheus_client's generate_latest spends ~4 µs per series (sorted labels, a format call per label, a
float round trip per value); a scrape of ~1000 series then costs more CPU than node_exporter's whole scrape.
These writers produce output that parses to the same families, at a fraction of the cost: label strings are
joined once per sample with escaping only when a value needs it, and values are formatted with a fast path
for plain floats and ints. In OpenMetrics, a family carrying exemplars goes through prometheus_client.
"""
from __future__ import annotations

import logging
from typing import Iterable

from prometheus_client.core import Metric
from prometheus_client.openmetrics import exposition as om_exposition
from prometheus_client.utils import floatToGoString

from .families import Labels

log = logging.getLogger("perfadvisor.exporter.scrape")
CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"

_TEXT_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "summary": "summary",
               "info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram", "unknown": "untyped",
               "untyped": "untyped"}
_OM_SUFFIXES = ("_created", "_gsum", "_gcount")


class _One:
    """A one-family 'registry' so prometheus_client's writers can render a single family."""

    def __init__(self, families: Iterable[Metric]):
        self._families = list(families)

    def collect(self) -> list[Metric]:
        return self._families


def merge_families(families: Iterable[Metric]) -> list[Metric]:
    """Families with the same name (from different collectors) become one family: one HELP/TYPE line.

    The first family wins the type and help; a later one of a different type cannot be merged into valid
    exposition, so its samples are dropped and a warning names it. This is the one place families are merged.
    """
    by_name: dict[str, Metric] = {}
    merged: dict[str, bool] = {}
    out: list[Metric] = []
    for fam in families:
        first = by_name.get(fam.name)
        if first is None:
            by_name[fam.name] = fam
            out.append(fam)
            continue
        if first.type != fam.type:
            log.warning("metric family exported with two types; keeping the first",
                        extra={"kv": {"family": fam.name, "first": first.type, "dropped": fam.type}})
            continue
        if not merged.get(fam.name):
            # Copy before extending: the first family may be shared with a concurrent scrape's result.
            copy = Metric(first.name, first.documentation, first.type, first.unit)
            copy.samples = list(first.samples)
            out[out.index(first)] = copy
            by_name[fam.name] = first = copy
            merged[fam.name] = True
        first.samples.extend(fam.samples)
    return out


def _value(v) -> str:
    # repr() of a finite float is valid exposition and the cheap common case; floatToGoString spells
    # +Inf/-Inf/NaN the canonical way and handles other number types.
    if v.__class__ is float:
        if v - v == 0.0:
            return repr(v)
        return floatToGoString(v)
    if v.__class__ is int:
        return repr(float(v))
    return floatToGoString(v)


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


_PLAIN_TYPES = frozenset(("gauge", "untyped", "unknown", "info", "stateset"))

# The text last written for each family name, with what it was written from (samples, help, type, unit): a
# family whose samples compare equal to last time's (most info series, static gauges, idle process groups, many
# counters between two close scrapes) is written by copying that text. Comparing two sample lists is a C-level
# loop over immutable tuples, ~10x cheaper than formatting them. The samples are kept as a copy of the list, so a
# collector that reuses its list cannot change what the text was made from; sample tuples and their label
# dicts are never modified (families.py). One entry per family name, bounded: beyond _MAX_MEMO names (textfile
# metrics may bring ever new ones) it starts afresh. Renders in parallel threads only race to store equal text.
_MAX_MEMO = 8192
_TEXT_MEMO: dict[str, tuple] = {}
_OM_MEMO: dict[str, tuple] = {}


def _memo(memo: dict[str, tuple]) -> dict[str, tuple]:
    if len(memo) >= _MAX_MEMO:
        memo.clear()
    return memo


def generate_text(families: Iterable[Metric]) -> bytes:
    """Prometheus text format 0.0.4 for the families (already merged by name).

    Exemplars are not part of this format (prometheus_client drops them too); native-histogram samples,
    which have no plain value, are skipped.
    """
    out: list[str] = []
    append = out.append
    value = _value
    memo = _memo(_TEXT_MEMO)
    for fam in families:
        name = fam.name
        typ = fam.type
        samples = fam.samples
        doc = fam.documentation
        kept = memo.get(name)
        if kept is not None and kept[0] == samples and kept[1] == doc and kept[2] == typ:
            append(kept[3])
            continue
        mark = len(out)
        if typ == "counter":
            # A counter whose samples lack _total (process-exporter's names) keeps its own name in HELP/TYPE.
            mname = name if samples and samples[0].name == name else name + "_total"
        else:
            mname = name + "_info" if typ == "info" else name
        if "\\" in doc or "\n" in doc:
            doc = doc.replace("\\", "\\\\").replace("\n", "\\n")
        append(f"# HELP {mname} {doc}\n# TYPE {mname} {_TEXT_TYPES.get(typ, 'untyped')}\n")
        check_om = typ not in _PLAIN_TYPES
        extra: dict[str, list[str]] | None = None
        for s in samples:
            v = s.value
            if v.__class__ is float and v - v == 0.0:
                v = repr(v)
            elif v is None:
                continue
            else:
                v = value(v)
            labels = s.labels
            if labels.__class__ is Labels:
                line = f"{s.name}{labels.text} {v}\n"
            elif labels:
                parts = []
                for k, x in labels.items():
                    if "\\" in x or "\n" in x or '"' in x:
                        x = _esc(x)
                    parts.append(f'{k}="{x}"')
                line = f"{s.name}{{{','.join(parts)}}} {v}\n"
            else:
                line = f"{s.name} {v}\n"
            if s.timestamp is not None:
                line = f"{line[:-1]} {int(float(s.timestamp) * 1000):d}\n"
            if check_om:
                sname = s.name
                if sname.endswith(_OM_SUFFIXES) and sname[len(name):] in _OM_SUFFIXES and sname.startswith(name):
                    # OpenMetrics-only samples become separate gauges, as prometheus_client does.
                    if extra is None:
                        extra = {}
                    extra.setdefault(sname[len(name):], []).append(line)
                    continue
            append(line)
        if extra:
            for suffix, lines in sorted(extra.items()):
                append(f"# HELP {name}{suffix} {doc}\n# TYPE {name}{suffix} gauge\n")
                out.extend(lines)
        memo[name] = (list(samples), fam.documentation, typ, "".join(out[mark:]))
    return "".join(out).encode("utf-8")


def generate_openmetrics(families: Iterable[Metric]) -> bytes:
    """OpenMetrics 1.0.0 text for the families (already merged by name), ending with # EOF.

    A family carrying exemplars is rendered by prometheus_client; native-histogram samples (OpenMetrics 2.0)
    are skipped, as prometheus_client does for 1.0.0.
    """
    out: list[str] = []
    append = out.append
    value = _value
    memo = _memo(_OM_MEMO)
    for fam in families:
        name = fam.name
        samples = fam.samples
        doc = fam.documentation
        kept = memo.get(name)
        if kept is not None and kept[0] == samples and kept[1] == doc and kept[2] == fam.type and \
                kept[3] == fam.unit:
            append(kept[4])
            continue
        mark = len(out)
        if "\\" in doc or "\n" in doc or '"' in doc:
            doc = _esc(doc)
        typ = fam.type
        if typ == "counter" and samples and samples[0].name == name:
            typ = "unknown"  # OpenMetrics counters must end in _total; this one cannot be typed as a counter
        elif typ == "untyped":
            typ = "unknown"  # OpenMetrics' name for it; Prometheus rejects a scrape that says untyped
        append(f"# HELP {name} {doc}\n# TYPE {name} {typ}\n")
        if fam.unit:
            append(f"# UNIT {name} {fam.unit}\n")
        for s in samples:
            if s.exemplar is not None:
                del out[mark:]
                append(om_exposition.generate_latest(_One([fam])).decode("utf-8")[: -len("# EOF\n")])
                break
            v = s.value
            if v.__class__ is float and v - v == 0.0:
                v = repr(v)
            elif v is None:
                continue
            else:
                v = value(v)
            labels = s.labels
            if labels.__class__ is Labels:
                line = f"{s.name}{labels.text} {v}"
            elif labels:
                parts = []
                for k, x in labels.items():
                    if "\\" in x or "\n" in x or '"' in x:
                        x = _esc(x)
                    parts.append(f'{k}="{x}"')
                line = f"{s.name}{{{','.join(parts)}}} {v}"
            else:
                line = f"{s.name} {v}"
            if s.timestamp is not None:
                line = f"{line} {s.timestamp}"
            append(line + "\n")
        memo[name] = (list(samples), fam.documentation, fam.type, fam.unit, "".join(out[mark:]))
    append("# EOF\n")
    return "".join(out).encode("utf-8")


def wants_openmetrics(accept: str | None) -> bool:
    """True when the Accept header lists OpenMetrics with a non-zero q (prometheus_client's rule)."""
    if not accept:
        return False
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        if fields[0] != "application/openmetrics-text":
            continue
        q = next((f[2:] for f in fields[1:] if f.startswith("q=")), "1")
        try:
            if float(q) > 0:
                return True
        except ValueError:
            continue
    return False
