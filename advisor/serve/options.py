"""``advisor serve``'s own settings (the evaluation's are the advisor's Config), resolved once at the edge.

Every setting is declared once in a ``Setting`` row: its key in the config file's ``serve:`` section, its flag,
its environment variable (``PERFADVISOR_SERVE_`` + the flag upper-cased, ``.``/``-`` → ``_``), its default and
the JSON Schema its value must satisfy. The command's options, the schema of the ``serve:`` section and the
table in docs/configuration.md are generated from these rows. Precedence, per setting: flag > environment
variable > config file > default. Every error names where the value came from: the flag, the variable, or
``FILE:LINE: serve.key``.

Config file layout::

    serve:
      web: {listen_address, config_file, cors_origins, max_body, post_rate, post_burst}
      interval: 5m
      intervals: {host: 1m, database: 15m}    # per-pack cadence (the others: interval)
      storage: {path, retention}
      sample_interval: 15s
      exporter: http://127.0.0.1:3018
      bench: {allow: [URL-PREFIX, …]}
      log: {level}
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Mapping

from ..durations import format_duration, parse_duration
from ..errors import ConfigError

DEFAULT_LISTEN = ":3019"
DEFAULT_STORAGE = "./perfadvisor-advisor.db"
ENV_PREFIX = "PERFADVISOR_SERVE_"
LOG_LEVELS = ("debug", "info", "warn", "error")
MAX_INTERVAL = 7 * 86400.0

_DURATION = {"type": "string", "minLength": 1, "maxLength": 64}
_ORIGIN = r"^https?://[^/\s]+$"


@dataclass(frozen=True)
class Setting:
    """One serve setting: key under ``serve:``, flag, default, JSON Schema of its value, help."""

    path: tuple[str, ...]
    flag: str
    param: str                      # the command's parameter name
    default: Any
    help: str
    schema: Mapping[str, Any]
    metavar: str
    kind: str = "str"               # str | int | float | list | map (map: PACK=VALUE items on the command line)

    @property
    def envvar(self) -> str:
        return ENV_PREFIX + self.flag.lstrip("-").replace(".", "_").replace("-", "_").upper()

    @property
    def key(self) -> str:
        return "serve." + ".".join(self.path)

    @property
    def shown_default(self) -> str:
        if self.default in (None, (), {}):
            return ""
        return str(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting(("web", "listen_address"), "--web.listen-address", "listen", DEFAULT_LISTEN,
            "Address to listen on: HOST:PORT, :PORT (all interfaces) or [IPv6]:PORT.",
            {"type": "string", "minLength": 1, "maxLength": 300}, "HOST:PORT"),
    Setting(("web", "config_file"), "--web.config.file", "web_config_file", None,
            "Exporter-toolkit web config file: TLS and bcrypt basic auth, as the exporter's (in the config file: "
            "relative to it).", {"type": "string", "minLength": 1}, "FILE"),
    Setting(("web", "cors_origins"), "--web.cors-origin", "cors_origins", (),
            "Allow cross-origin requests from these origins, e.g. https://grafana.example (flag repeatable; "
            "default: none).",
            {"type": "array", "maxItems": 64, "items": {"type": "string", "pattern": _ORIGIN}}, "ORIGIN", "list"),
    Setting(("web", "max_body"), "--web.max-body", "max_body", 65536,
            "Largest request body accepted, in bytes (413 above).",
            {"type": "integer", "minimum": 256, "maximum": 16 * 1024 * 1024}, "BYTES", "int"),
    Setting(("web", "post_rate"), "--web.post-rate", "post_rate", 10.0,
            "POST requests per minute and client (429 with Retry-After above it).",
            {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000}, "N", "float"),
    Setting(("web", "post_burst"), "--web.post-burst", "post_burst", 5,
            "POST requests a client may send at once before the rate applies.",
            {"type": "integer", "minimum": 1, "maximum": 10_000}, "N", "int"),
    Setting(("interval",), "--interval", "interval", "5m",
            "Time between scheduled evaluations (of the packs without their own interval).", _DURATION, "DURATION"),
    Setting(("intervals",), "--interval.pack", "pack_intervals", {},
            "One pack's own time between evaluations, PACK=DURATION (flag repeatable; in the file a mapping "
            "`{host: 1m, database: 15m}`).",
            {"type": "object", "maxProperties": 64, "propertyNames": {"pattern": r"^[a-zA-Z0-9_.-]{1,64}$"},
             "additionalProperties": _DURATION}, "PACK=DURATION", "map"),
    Setting(("storage", "path"), "--storage.path", "storage_path", DEFAULT_STORAGE,
            "History store (SQLite, WAL); without a Prometheus it also keeps the local samples (in the config "
            "file: relative to it).", {"type": "string", "minLength": 1}, "FILE"),
    Setting(("storage", "retention"), "--storage.retention", "retention", "30d",
            "Keep runs and resolved findings this long.", _DURATION, "DURATION"),
    Setting(("sample_interval",), "--sample-interval", "sample_interval", "15s",
            "Without a Prometheus: time between local samples.", _DURATION, "DURATION"),
    Setting(("exporter",), "--exporter", "exporter_url", None,
            "Without a Prometheus: scrape this running exporter instead of running the collectors in-process.",
            {"type": "string", "minLength": 1, "maxLength": 2048}, "URL"),
    Setting(("bench", "allow"), "--bench.allow", "bench_allow", (),
            "Allow POST /api/performance/benchmark to load URLs under these prefixes (flag repeatable; the "
            "variable space-separated; default: none, the endpoint answers 403).",
            {"type": "array", "maxItems": 64, "items": {"type": "string", "minLength": 1, "maxLength": 2048}},
            "URL-PREFIX", "list"),
    Setting(("log", "level"), "--log.level", "log_level", "info", "Log level (stderr).",
            {"enum": list(LOG_LEVELS)}, "LEVEL"),
)
BY_PARAM = {s.param: s for s in SETTINGS}


def section_schema() -> dict[str, Any]:
    """JSON Schema of the config file's ``serve:`` section, from the rows above."""
    root: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
    for s in SETTINGS:
        node = root
        for part in s.path[:-1]:
            node = node["properties"].setdefault(part, {"type": "object", "additionalProperties": False,
                                                        "properties": {}})
        node["properties"][s.path[-1]] = dict(s.schema)
    return root


@dataclass(frozen=True)
class ServeOptions:
    host: str = "0.0.0.0"
    port: int = 3019
    web_config_file: str | None = None
    interval: float = 300.0                 # between scheduled evaluations
    # Packs with their own cadence: (pack, seconds, where it was set); checked against the loaded packs
    pack_intervals: tuple[tuple[str, float, str], ...] = ()
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
    log_level: str = "info"
    listen: str = DEFAULT_LISTEN            # as given, for messages


def _duration(where: str, text: Any, minimum: float = 0.0) -> float:
    try:
        v = parse_duration(str(text))
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None
    if v <= minimum:
        raise ConfigError(f"{where}: must be longer than {minimum:g}s, got {text!r}")
    return v


def parse_listen(text: str, where: str = "--web.listen-address") -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` (all interfaces) or ``[::1]:PORT``."""
    m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]]*):(\d{1,5})", str(text).strip())
    if not m or not 0 < int(m.group(2)) < 65536:
        raise ConfigError(f"{where}: {text!r}: expected HOST:PORT or :PORT, e.g. :3019")
    host = m.group(1).strip("[]") or "0.0.0.0"
    return host, int(m.group(2))


def _schema_error(schema: Mapping[str, Any], value: Any) -> str | None:
    from ...exporter import schemacheck
    if schemacheck.check_or_none(dict(schema), value):
        return None
    import jsonschema
    from jsonschema.exceptions import best_match
    err = best_match(jsonschema.Draft202012Validator(dict(schema)).iter_errors(value))
    return err.message if err is not None else None


def key_line(path: str | None, *keys: str) -> str:
    """``PATH:LINE: serve.key`` for a key of the config file (``PATH: serve.key`` if it cannot be found)."""
    from ...exporter import yamlfile
    dotted = ".".join(keys)
    if not path:
        return f"{dotted} in the config file"
    try:
        return f"{path}:{yamlfile.load(path).line_of(list(keys))}: {dotted}"
    except yamlfile.FileError:
        return f"{path}: {dotted}"


def _flag_map(items: tuple[str, ...] | list[str], where: str) -> dict[str, str]:
    out = {}
    for item in items:
        pack, sep, value = str(item).partition("=")
        if not sep or not pack.strip() or not value.strip():
            raise ConfigError(f"{where}: {item!r}: expected PACK=DURATION, e.g. host=1m")
        out[pack.strip()] = value.strip()
    return out


def resolve(given: Mapping[str, tuple[Any, str]], section: Mapping[str, Any] | None,
            config_path: str | None, prometheus: bool = False) -> ServeOptions:
    """ServeOptions from `given` (param → (value, where) for flags and environment variables), the config
    file's validated ``serve:`` section and the defaults. ConfigError names the flag, variable or FILE:LINE."""
    section = section or {}
    raw: dict[str, tuple[Any, str]] = {}
    for s in SETTINGS:
        if s.param in given and given[s.param][0] not in (None, ()):
            value, where = given[s.param]
            if s.kind == "map":
                value = _flag_map(value, where)
            elif s.kind == "list":
                value = list(value)
            err = _schema_error(s.schema, value)
            if err:
                raise ConfigError(f"{where}: {err}")
            raw[s.param] = (value, where)
            continue
        node: Any = section
        for part in s.path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            where = key_line(config_path, "serve", *s.path)
            if s.path[-1] in ("config_file", "path") and config_path and not os.path.isabs(str(node)):
                node = os.path.join(os.path.dirname(os.path.abspath(config_path)), str(node))
            raw[s.param] = (node, where)
        else:
            raw[s.param] = (s.default, s.flag)

    def val(p: str) -> Any:
        return raw[p][0]

    def at(p: str) -> str:
        return raw[p][1]

    host, port = parse_listen(val("listen"), at("listen"))
    for origin in val("cors_origins"):
        if not re.fullmatch(_ORIGIN, str(origin)):
            raise ConfigError(f"{at('cors_origins')}: {origin!r}: expected an origin like https://grafana.example")
    if not math.isfinite(float(val("post_rate"))):
        raise ConfigError(f"{at('post_rate')}: {val('post_rate')} is not a finite number")
    interval = _duration(at("interval"), val("interval"))
    if interval > MAX_INTERVAL:
        raise ConfigError(f"{at('interval')}: at most {format_duration(MAX_INTERVAL)}, got {val('interval')!r}")
    if val("exporter_url") and prometheus:
        raise ConfigError(f"{at('exporter_url')}: the exporter is for local sampling; it cannot be used with a "
                          "Prometheus")
    packs = []
    for pack, text in sorted(dict(val("pack_intervals")).items()):
        where = at("pack_intervals")
        if where.startswith("-") or where.startswith(ENV_PREFIX):
            where = f"{where} {pack}"
        elif config_path:
            where = key_line(config_path, "serve", "intervals", str(pack))
        seconds = _duration(where, text)
        if seconds > MAX_INTERVAL:
            raise ConfigError(f"{where}: at most {format_duration(MAX_INTERVAL)}, got {text!r}")
        packs.append((str(pack), seconds, where))
    return ServeOptions(
        host=host, port=port, listen=str(val("listen")), web_config_file=val("web_config_file"),
        interval=interval, pack_intervals=tuple(packs), storage_path=str(val("storage_path")),
        retention=_duration(at("retention"), val("retention")),
        sample_interval=_duration(at("sample_interval"), val("sample_interval")), exporter=val("exporter_url"),
        max_body_bytes=int(val("max_body")), post_rate=float(val("post_rate")), post_burst=int(val("post_burst")),
        cors_origins=tuple(str(o) for o in val("cors_origins")), log_level=str(val("log_level")),
        bench_allow=tuple(str(p) for p in val("bench_allow")))


def check_packs(opts: ServeOptions, loaded: tuple[str, ...] | list[str]) -> None:
    """Every per-pack interval names a loaded pack (ConfigError naming where it was set)."""
    for name, _, where in opts.pack_intervals:
        if name not in loaded:
            raise ConfigError(f"{where}: unknown pack {name!r} (loaded: {', '.join(loaded)})")
