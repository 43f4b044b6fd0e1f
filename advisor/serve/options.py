"""``advisor serve``'s own settings (the evaluation's are the advisor's Config), parsed once at the edge."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..durations import parse_duration
from ..errors import ConfigError

DEFAULT_LISTEN = ":3019"
DEFAULT_STORAGE = "./perfadvisor-advisor.db"


@dataclass(frozen=True)
class ServeOptions:
    host: str = "0.0.0.0"
    port: int = 3019
    web_config_file: str | None = None
    interval: float = 300.0                 # between scheduled evaluations
    storage_path: str = DEFAULT_STORAGE
    retention: float = 30 * 86400           # runs and resolved findings
    sample_interval: float = 15.0           # embedded mode: between local samples
    exporter: str | None = None             # embedded mode: scrape this exporter instead of in-process collectors
    max_body_bytes: int = 64 * 1024
    post_rate: float = 10.0                 # POSTs per minute and client ...
    post_burst: int = 5                     # ... with this burst
    cors_origins: tuple[str, ...] = ()
    source_timeout: float = 60.0            # an evaluation longer than this is reported as stale (never blocks)
    bench_allow: tuple[str, ...] = ()       # URL prefixes POST /api/performance/benchmark may load (none: off)


def _duration(flag: str, text: str, minimum: float = 0.0) -> float:
    try:
        v = parse_duration(str(text))
    except ValueError as e:
        raise ConfigError(f"{flag}: {e}") from None
    if v <= minimum:
        raise ConfigError(f"{flag}: must be longer than {minimum:g}s, got {text!r}")
    return v


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` (all interfaces) or ``[::1]:PORT``."""
    m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]]*):(\d{1,5})", text.strip())
    if not m or not 0 < int(m.group(2)) < 65536:
        raise ConfigError(f"--web.listen-address {text!r}: expected HOST:PORT or :PORT, e.g. :3019")
    host = m.group(1).strip("[]") or "0.0.0.0"
    return host, int(m.group(2))


def build(*, listen: str, web_config_file: str | None, interval: str, storage_path: str, retention: str,
          sample_interval: str, exporter: str | None, max_body: int, post_rate: float, post_burst: int,
          cors_origins: tuple[str, ...]) -> ServeOptions:
    host, port = parse_listen(listen)
    for origin in cors_origins:
        if not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ConfigError(f"--web.cors-origin {origin!r}: expected an origin like https://grafana.example")
    if post_rate <= 0 or post_burst < 1:
        raise ConfigError("--web.post-rate must be above 0 and --web.post-burst at least 1")
    return ServeOptions(host=host, port=port, web_config_file=web_config_file,
                        interval=_duration("--interval", interval, 0.0),
                        storage_path=storage_path, retention=_duration("--storage.retention", retention, 0.0),
                        sample_interval=_duration("--sample-interval", sample_interval, 0.0), exporter=exporter,
                        max_body_bytes=max_body, post_rate=post_rate, post_burst=post_burst,
                        cors_origins=tuple(cors_origins))
