"""The function registry: every PromQL function, by name, registered where it is implemented."""
from __future__ import annotations

FUNCS: dict = {}


def register(*names):
    """Decorator: ``@register("rate")`` makes the function callable as ``rate(...)``."""
    def deco(fn):
        for n in names:
            FUNCS[n] = fn
        return fn
    return deco
