"""Report formats, registered by name: ``@register("json")`` on a function ``(report, color) -> str``."""
from __future__ import annotations

from typing import Callable

from ..errors import ConfigError
from ..findings import Report

FORMATS: dict[str, Callable[..., str]] = {}


def register(name: str):
    def deco(fn: Callable[..., str]) -> Callable[..., str]:
        FORMATS[name] = fn
        return fn
    return deco


def render(report: Report, fmt: str, **options) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r} (known: {', '.join(sorted(FORMATS))})")
    return FORMATS[fmt](report, **options)


# One line per format; importing registers it.
from . import html_report, json_report, markdown, prom, table  # noqa: E402,F401
