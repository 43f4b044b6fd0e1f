"""Latency histograms: HdrHistogram (the ``hdrhistogram`` library) in microseconds, 3 significant digits.

Workers collect raw microsecond values for a second, then add them as (value, count) pairs, which keeps the
per-request cost at a list append. Histograms travel between processes and into result files in HdrHistogram's
own compressed base64 encoding, which other HdrHistogram tools read too.
"""
from __future__ import annotations

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000      # one hour: nothing a bench can see is longer
DIGITS = 3
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9))


def new() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def add_values(h: HdrHistogram, values_us: list[int]) -> None:
    """Record many microsecond values at once (clamped into the histogram's range)."""
    if not values_us:
        return
    arr = np.clip(np.asarray(values_us, dtype=np.int64), LOWEST_US, HIGHEST_US)
    vals, counts = np.unique(arr, return_counts=True)
    for v, c in zip(vals.tolist(), counts.tolist()):
        h.record_value(v, c)


def encode(h: HdrHistogram) -> str:
    return h.encode().decode("ascii") if h.get_total_count() else ""


def decode(text: str) -> HdrHistogram:
    h = new()
    if text:
        h.decode_and_add(text.encode("ascii"))
    return h


def merge(into: HdrHistogram, text: str) -> None:
    if text:
        into.decode_and_add(text.encode("ascii"))


def summary(h: HdrHistogram) -> dict[str, float | None]:
    """p50/p90/p99/p99.9/max/mean in seconds (None for an empty histogram)."""
    n = h.get_total_count()
    out: dict[str, float | None] = {}
    for name, q in PERCENTILES:
        out[name] = h.get_value_at_percentile(q) / 1e6 if n else None
    out["max"] = h.get_max_value() / 1e6 if n else None
    out["mean"] = h.get_mean_value() / 1e6 if n else None
    return out


def percentile_curve(h: HdrHistogram) -> list[tuple[float, float]]:
    """(percentile, seconds) points for a percentile plot, denser towards the tail."""
    if not h.get_total_count():
        return []
    qs = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100]
    return [(q, h.get_value_at_percentile(q) / 1e6) for q in qs]
