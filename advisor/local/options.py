"""Local mode's options: the flags `advisor run` adds for it, parsed into one frozen LocalOptions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError
from ..packs.params import parse_duration

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


def local_options(fn):
    """--exporter, --interval, --duration, --store: what local mode samples, how often and for how long."""
    import click
    for opt in reversed([
        click.option("--exporter", "exporter_url", metavar="URL",
                     help="Local mode: scrape this running exporter instead of running the collectors in-process."),
        click.option("--interval", "local_interval", default="1s", show_default=True, metavar="DURATION",
                     help="Local mode: time between samples."),
        click.option("--duration", "local_duration", default="60s", show_default=True, metavar="DURATION",
                     help="Local mode: how long to sample before evaluating."),
        click.option("--store", "store_path", metavar="PATH", envvar="PERFADVISOR_STORE",
                     help="Local mode: keep samples in this file (SQLite, 7 days) so repeated runs accumulate "
                          "history. Env: PERFADVISOR_STORE."),
    ]):
        fn = opt(fn)
    return fn


def sampling_progress() -> Progress:
    """A rich progress bar on stderr for the sampling phase (only used when stderr is a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress as Bar, TextColumn, TimeRemainingColumn

    state: dict = {}

    def update(done: float, total: float) -> None:
        if "p" not in state:
            p = Bar(TextColumn("sampling this machine"), BarColumn(),
                    TextColumn("{task.completed:.0f}/{task.total:.0f} s"), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)
            p.start()
            state["p"], state["t"] = p, p.add_task("", total=max(total, 1e-9))
        state["p"].update(state["t"], completed=done)
        if done >= total:
            state["p"].stop()
    return update
