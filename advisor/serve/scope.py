"""What one evaluation covers: the packs of an area, parameter overrides and target label matchers."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable

from ..config import Config
from ..errors import ConfigError

# The API's areas and the packs each evaluates.
AREAS: dict[str, tuple[str, ...]] = {
    "cache": ("cache",),
    "resources": ("host", "process"),
    "database": ("database",),
    "network": ("network",),
    "loadbalancer": ("loadbalancer",),
}

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = re.fullmatch(self.value, v) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matcher(text: str) -> Matcher:
    """A PromQL label matcher, ``name="v"``, ``name=~"re"``, …; ConfigError saying what is wrong."""
    if not isinstance(text, str) or len(text) > 1024:
        raise ConfigError("a matcher must be a string of at most 1024 characters")
    m = _MATCHER.fullmatch(text)
    if not m:
        raise ConfigError(f"bad matcher {text[:80]!r}: expected name=\"value\", name!=\"value\", name=~\"regex\" "
                          "or name!~\"regex\"")
    name, op, raw = m.groups()
    value = re.sub(r"\\(.)", r"\1", raw)
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as e:
            raise ConfigError(f"bad matcher {text[:80]!r}: invalid regex: {e}") from None
    return Matcher(name, op, value)


def parse_matchers(items: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(t) for t in items)


def matches_all(matchers: tuple[Matcher, ...], labels: dict[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


@dataclass(frozen=True)
class Scope:
    """One evaluation's scope: "all" (the schedule) or an area, with overrides and matchers from the API.

    `packs`: a scheduled run of only the packs that are due (per-pack intervals); empty = every pack."""

    area: str = "all"
    overrides: tuple[tuple[str | None, str, Any, str], ...] = ()
    matchers: tuple[Matcher, ...] = ()
    trigger: str = "schedule"
    packs: tuple[str, ...] = ()

    @property
    def key(self) -> tuple:
        """Evaluations with equal keys give equal answers, so a concurrent one can share a running one."""
        return (self.area, tuple((p, n, repr(v)) for p, n, v, _ in self.overrides), self.matchers, self.packs)

    @property
    def label(self) -> str:
        """What the history records as the run's scope: "all", the area, or ``packs:host,process``."""
        return f"packs:{','.join(self.packs)}" if self.packs else self.area

    @property
    def complete(self) -> bool:
        """A run over every pack and target: it may resolve findings and it moves the scores."""
        return self.area == "all" and not self.matchers

    def config(self, base: Config, loaded_packs: Iterable[str]) -> Config:
        """`base` limited to the area's packs, with the overrides added."""
        cfg = base
        if self.packs:
            cfg = replace(cfg, disabled_packs=tuple(base.disabled_packs) +
                          tuple(p for p in loaded_packs if p not in self.packs))
        elif self.area != "all":
            keep = set(AREAS[self.area])
            cfg = replace(cfg, disabled_packs=tuple(base.disabled_packs) +
                          tuple(p for p in loaded_packs if p not in keep))
        if self.overrides:
            cfg = replace(cfg, overrides=tuple(cfg.overrides) + self.overrides)
        return cfg
