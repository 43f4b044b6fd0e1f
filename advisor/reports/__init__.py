"""Report formats, registered by name: ``@register("json")`` on a function ``(report, color) -> str``."""
from __future__ import annotations

from typing import IO, Callable

from ..errors import ConfigError
from ..findings import Report

FORMATS: dict[str, Callable[..., str]] = {}
WRITERS: dict[str, Callable[..., None]] = {}   # formats that can stream to a file instead of building one string


def register(name: str, writer: Callable[..., None] | None = None):
    def deco(fn: Callable[..., str]) -> Callable[..., str]:
        FORMATS[name] = fn
        if writer is not None:
            WRITERS[name] = writer
        return fn
    return deco


def write(report: Report, fmt: str, out: IO[str], **options) -> None:
    """Write the report to `out`: streamed where the format can (a fleet's JSON is hundreds of MB)."""
    if fmt in WRITERS:
        WRITERS[fmt](report, out, **options)
    else:
        out.write(render(report, fmt, **options))


def render(report: Report, fmt: str, **options) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r} (known: {', '.join(sorted(FORMATS))})")
    return FORMATS[fmt](report, **options)


# One line per format; importing registers it.
from . import html_report, json_report, markdown, prom, table  # noqa: E402,F401
