"""Durations, in Prometheus' grammar: the one parser and formatter every flag, pack and data file uses.

The grammar is Prometheus' ``model.ParseDuration``: whole numbers with units in the order
``y w d h m s ms``, each unit at most once (``1h30m``, ``500ms``, ``2w``), or ``0``. Where Prometheus'
HTTP API also takes a plain number of seconds (a query step, a data file's step), ``bare_seconds=True``
accepts one (``15``, ``0.5``).
"""
from __future__ import annotations

import math
import re

__all__ = ["parse_duration", "parse_duration_ms", "format_duration"]

_GRAMMAR = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)


def parse_duration_ms(text: str, *, bare_seconds: bool = False) -> int:
    """Milliseconds in a Prometheus duration; ValueError if `text` is not one."""
    s = str(text).strip()
    if bare_seconds:
        try:
            seconds = float(s)
        except ValueError:
            pass
        else:
            if math.isfinite(seconds):
                return round(seconds * 1000)
    if s == "0":
        return 0
    m = _GRAMMAR.match(s)
    if not s or not m or not any(m.groups()):
        raise ValueError(f"not a Prometheus duration (like 30s, 5m, 1h30m): {text!r}")
    return sum(int(g) * unit for g, unit in zip(m.groups(), _UNIT_MS) if g)


def parse_duration(text: str, *, bare_seconds: bool = False) -> float:
    """Seconds in a Prometheus duration; ValueError if `text` is not one."""
    return parse_duration_ms(text, bare_seconds=bare_seconds) / 1000.0


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for a whole number of milliseconds."""
    ms = int(round(seconds * 1000))
    if ms <= 0:
        return "0s"
    out = []
    for unit, suffix in ((86400000, "d"), (3600000, "h"), (60000, "m"), (1000, "s"), (1, "ms")):
        if ms >= unit:
            out.append(f"{ms // unit}{suffix}")
            ms %= unit
    return "".join(out)
