"""Small readers shared by the sysfs/procfs hardware collectors: one file's text, a directory's entries.

These collectors read a handful of files per device on hosts that have the hardware, and nothing elsewhere, so
plain reads (no kept-open descriptors) are enough. Every read is bounded.
"""
from __future__ import annotations

import os

MAX_BYTES = 1 << 16


def text(path: str, strip: str | None = None) -> str | None:
    """The file's text without surrounding whitespace (or only `strip` characters), None if it cannot be read."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES)
    except OSError:
        return None
    s = raw.decode("utf-8", "replace")
    return s.strip() if strip is None else s.strip(strip)


def entries(path: str) -> list[str]:
    """Sorted names in a directory; [] when it does not exist."""
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def integer(path: str, base: int = 10) -> int | None:
    raw = text(path)
    if raw is None:
        return None
    try:
        return int(raw, base)
    except ValueError:
        return None


def go_float(raw: str) -> float | None:
    """A number as Go's strconv.ParseFloat reads it (no surrounding spaces, no '_' separators)."""
    if not raw or raw != raw.strip() or "_" in raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return None
