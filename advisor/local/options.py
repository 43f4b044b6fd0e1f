"""Local mode's options: the flags `advisor run` adds for it, parsed into one frozen LocalOptions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..durations import parse_duration
from ..errors import ConfigError

Progress = Callable[[float, float], None]   # (seconds sampled so far, total seconds)


@dataclass(frozen=True)
class LocalOptions:
    interval: float = 1.0
    duration: float = 60.0
    exporter: str | None = None
    store: str | None = None
    collectors: tuple[str, ...] = ()

    @classmethod
    def parse(cls, interval: str, duration: str, exporter: str | None, store: str | None) -> "LocalOptions":
        """From the flag strings; ConfigError naming the flag when one is not a duration."""
        vals = {}
        for flag, text in (("--interval", interval), ("--duration", duration)):
            try:
                vals[flag] = parse_duration(text)
            except ValueError as e:
                raise ConfigError(f"{flag}: {e}") from None
        if vals["--interval"] <= 0:
            raise ConfigError("--interval must be longer than 0s")
        if vals["--duration"] < 0:
            raise ConfigError("--duration must not be negative")
        return cls(vals["--interval"], vals["--duration"], exporter, store)
