"""ExporterConfig: one frozen object built once at the edge (flags, env, YAML file) and passed down.

Precedence, per setting: command-line flag > ``PERFADVISOR_*`` environment variable > config file > default.
Every setting is declared once in a ``Setting`` row; the CLI options, the environment variable names and the
JSON Schema of the config file are all generated from those rows and from the collectors' config_schema.

YAML layout::

    web: {listen_address, telemetry_path, config_file, max_requests, max_streams, disable_exporter_metrics}
    path: {procfs, sysfs, rootfs}
    log: {level, format}
    scrape: {timeout_seconds, workers}
    disable_default_collectors: false
    collectors: {NAME: true|false}          # enable/disable map
    collectors_config: {NAME: {PROP: ...}}  # each collector's own section, its config_schema
"""
from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Collection, Mapping

from .registry import CollectorContext, CollectorSpec
from .routes import RESERVED_PATHS
from .yamlfile import FileError, YamlDoc, dotted
from . import schemacheck, yamlfile

ENV_PREFIX = "PERFADVISOR_"
LOG_LEVELS = ("debug", "info", "warn", "error")
LOG_FORMATS = ("logfmt", "json")
# Above threading.TIMEOUT_MAX (~292 years on Linux) a wait raises OverflowError; far below it a scrape timeout is
# already meaningless, so durations have a documented ceiling instead.
MAX_SECONDS = 3600


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives in the YAML file, its flag, type, default and schema."""

    path: tuple[str, ...]
    flag: str
    type: type
    default: Any
    help: str
    schema: Mapping[str, Any] = field(default_factory=dict)
    multiple: bool = False  # repeatable flag; a list (or one string) in the file

    @property
    def param(self) -> str:
        return "_".join(p.replace("-", "_") for p in self.path)

    @property
    def envvar(self) -> str:
        return ENV_PREFIX + self.flag.lstrip("-").replace(".", "_").replace("-", "_").upper()


_STR, _INT, _NUM, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}

BASE_SETTINGS: tuple[Setting, ...] = (
    Setting(("web", "listen_address"), "--web.listen-address", str, ":3018",
            "Address to listen on (HOST:PORT, :PORT for all interfaces, [IPv6]:PORT); repeat for several.",
            {"type": ["string", "array"], "minLength": 1, "minItems": 1, "items": {"type": "string", "minLength": 1}},
            multiple=True),
    Setting(("web", "telemetry_path"), "--web.telemetry-path", str, "/api/metrics",
            "Path under which to expose metrics (/metrics is always served too).", {**_STR, "pattern": "^/"}),
    Setting(("web", "config_file"), "--web.config.file", str, None,
            "Exporter-toolkit web config file (TLS, basic auth).", {"type": ["string", "null"]}),
    Setting(("web", "max_requests"), "--web.max-requests", int, 40,
            "Maximum number of concurrent requests; more get 503 (0 = no limit).", {**_INT, "minimum": 0}),
    Setting(("web", "max_streams"), "--web.max-streams", int, 10,
            "Maximum number of concurrent SSE streams (/api/metrics/stream), counted apart from --web.max-requests; "
            "more get 503 (0 = no limit).", {**_INT, "minimum": 0}),
    Setting(("web", "disable_exporter_metrics"), "--web.disable-exporter-metrics", bool, False,
            "Exclude the exporter's own metrics (process_*, perfadvisor_exporter_*) from /metrics.", _BOOL),
    Setting(("path", "procfs"), "--path.procfs", str, "/proc", "procfs mountpoint.", _STR),
    Setting(("path", "sysfs"), "--path.sysfs", str, "/sys", "sysfs mountpoint.", _STR),
    Setting(("path", "rootfs"), "--path.rootfs", str, "/", "rootfs mountpoint.", _STR),
    Setting(("log", "level"), "--log.level", str, "info", "Only log messages with this severity or above.",
            {"enum": list(LOG_LEVELS)}),
    Setting(("log", "format"), "--log.format", str, "logfmt", "Log line format.", {"enum": list(LOG_FORMATS)}),
    Setting(("scrape", "timeout_seconds"), "--scrape.timeout", float, 10.0,
            f"Per-collector timeout in seconds (more than 0, at most {MAX_SECONDS}); a collector that takes longer "
            "reports success 0.", {**_NUM, "exclusiveMinimum": 0, "maximum": MAX_SECONDS}),
    Setting(("scrape", "workers"), "--scrape.workers", int, 4,
            "Collectors run in parallel on this many threads.", {**_INT, "minimum": 1, "maximum": 64}),
    Setting(("disable_default_collectors",), "--collector.disable-defaults", bool, False,
            "Disable every collector that is not explicitly enabled.", _BOOL),
)

_SCALARS = {"string": str, "integer": int, "number": float, "boolean": bool}


def _scalar_type(schema: Mapping[str, Any]) -> type | None:
    types = schema.get("type")
    for t in [types] if isinstance(types, str) else list(types or []):
        if t in _SCALARS:
            return _SCALARS[t]
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        return str
    return None


def collector_settings(specs: Mapping[str, CollectorSpec]) -> tuple[Setting, ...]:
    """Enable flags and per-property flags (``--collector.NAME.PROP``) for every registered collector."""
    rows = []
    for name, spec in specs.items():
        state = "enabled" if spec.default_enabled else "disabled"
        rows.append(Setting(("collectors", name), f"--collector.{name}", bool, None,
                            f"Enable the {name} collector (default: {state}). {spec.help}".strip(), _BOOL))
        for prop, sub in (spec.config_schema.get("properties") or {}).items():
            typ = _scalar_type(sub)
            if typ is None:
                continue  # lists and objects are set in the config file
            rows.append(Setting(("collectors_config", name, prop), f"--collector.{name}.{prop.replace('_', '-')}",
                                typ, sub.get("default"), sub.get("description", ""), sub))
    return tuple(rows)


def all_settings(specs: Mapping[str, CollectorSpec]) -> tuple[Setting, ...]:
    return BASE_SETTINGS + collector_settings(specs)


def file_schema(specs: Mapping[str, CollectorSpec]) -> dict[str, Any]:
    """JSON Schema of the YAML config file: the base settings plus each collector's own section."""
    root: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
    for s in BASE_SETTINGS:
        node = root
        for part in s.path[:-1]:
            node = node["properties"].setdefault(part, {"type": "object", "additionalProperties": False,
                                                        "properties": {}})
        node["properties"][s.path[-1]] = dict(s.schema)
    root["properties"]["collectors"] = {
        "type": "object", "additionalProperties": False,
        "properties": {n: {"type": "boolean"} for n in specs},
    }
    root["properties"]["collectors_config"] = {
        "type": "object", "additionalProperties": False,
        "properties": {n: {"type": "object", **copy.deepcopy(s.config_schema)} for n, s in specs.items()},
    }
    return root


@dataclass(frozen=True)
class ExporterConfig:
    """Everything the exporter runs with; built by build_config, never mutated."""

    listen_addresses: tuple[str, ...] = (":3018",)
    telemetry_path: str = "/api/metrics"
    web_config_file: str | None = None
    max_requests: int = 40
    max_streams: int = 10
    disable_exporter_metrics: bool = False
    procfs: str = "/proc"
    sysfs: str = "/sys"
    rootfs: str = "/"
    log_level: str = "info"
    log_format: str = "logfmt"
    debug: bool = False
    scrape_timeout: float = 10.0
    scrape_workers: int = 4
    collectors: tuple[str, ...] = ()
    collector_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    config_file: str | None = None

    def context_for(self, name: str) -> CollectorContext:
        return CollectorContext(dict(self.collector_settings.get(name, {})), self.procfs, self.sysfs, self.rootfs)

    @property
    def listen_address(self) -> str:
        return self.listen_addresses[0]

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_listen_address(self.listen_address)


def parse_listen_address(addr: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``[V6]:PORT`` → (host, port); ValueError saying why otherwise."""
    host, sep, port = addr.rpartition(":")
    if not sep:
        raise ValueError(f"{addr!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{addr!r}: port must be a number 0-65535")
    return host, int(port)


def _lookup(data: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for p in path:
        if not isinstance(data, dict) or p not in data:
            return False, None
        data = data[p]
    return True, data


def _unknown_hint(specs: Mapping[str, CollectorSpec]):
    def hint(path: list, key: str) -> str | None:
        if path in (["collectors"], ["collectors_config"]):
            return f"unknown collector {key!r} (known: {', '.join(specs) or 'none'})"
        return None
    return hint


def load_file(file: str, specs: Mapping[str, CollectorSpec]) -> YamlDoc:
    """Parse and validate the YAML config file; FileError (one line with FILE:LINE) when it is wrong."""
    doc = yamlfile.load(file)
    if not isinstance(doc.data, dict):
        raise FileError(file, doc.line_of([]), "", "the config file must be a mapping")
    bad = next(_non_finite(doc.data, []), None)
    if bad is not None:
        raise doc.error(bad[0], f"{bad[1]} is not a finite number")
    yamlfile.validate(doc, file_schema(specs), _unknown_hint(specs))
    return doc


def _non_finite(data: Any, path: list) -> Any:
    """(path, value) of every inf/nan in a parsed YAML document (``.inf``, ``.nan``, ``1.0e999``).

    JSON Schema has no "finite" keyword and compares NaN as neither above nor below a bound, so these are
    refused before the schema is applied, wherever they appear.
    """
    if isinstance(data, float) and not math.isfinite(data):
        yield path, data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield from _non_finite(v, [*path, k])
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _non_finite(v, [*path, i])


def build_config(specs: Mapping[str, CollectorSpec], explicit: Mapping[str, Any] | None = None,
                 config_file: str | None = None, debug: bool = False,
                 from_env: Collection[str] = ()) -> ExporterConfig:
    """Resolve every setting: explicit (flag or env, keyed by Setting.param) > config file > default.

    from_env names the explicit params that came from a PERFADVISOR_* variable: their errors name the variable.
    """
    explicit = dict(explicit or {})
    doc = load_file(config_file, specs) if config_file else None
    data = doc.data if doc else {}
    values: dict[tuple[str, ...], Any] = {}
    source: dict[tuple[str, ...], str] = {}
    for s in all_settings(specs):
        if s.param in explicit and explicit[s.param] not in (None, ()):
            values[s.path], source[s.path] = explicit[s.param], s.envvar if s.param in from_env else s.flag
            v = values[s.path]
            if isinstance(v, float) and not math.isfinite(v):
                raise FileError(None, None, source[s.path], f"{v} is not a finite number")
        else:
            found, v = _lookup(data, s.path)
            values[s.path], source[s.path] = (v, "file") if found else (s.default, "default")

    def get(*path: str) -> Any:
        return values[path]

    web_config = values[("web", "config_file")]
    if web_config and source[("web", "config_file")] == "file" and not os.path.isabs(web_config):
        # a path written in the config file is relative to that file, not to wherever the exporter was started
        values[("web", "config_file")] = os.path.join(os.path.dirname(os.path.abspath(config_file)), web_config)

    addresses = get("web", "listen_address")
    addresses = (addresses,) if isinstance(addresses, str) else tuple(addresses)
    for i, address in enumerate(addresses):
        try:
            parse_listen_address(address)
        except ValueError as e:
            path = ("web", "listen_address") if source[("web", "listen_address")] != "file" or \
                isinstance(get("web", "listen_address"), str) else ("web", "listen_address", i)
            raise _error(doc, source, path, str(e)) from None
    telemetry = str(get("web", "telemetry_path"))
    if not telemetry.startswith("/"):
        raise _error(doc, source, ("web", "telemetry_path"), "must start with /")
    if telemetry in RESERVED_PATHS:
        raise _error(doc, source, ("web", "telemetry_path"), f"{telemetry} is one of the exporter's own endpoints")
    for s in BASE_SETTINGS:
        if source[s.path] not in ("file", "default") and s.schema:
            v = values[s.path]
            err = _first_error(dict(s.schema), list(v) if isinstance(v, tuple) else v)
            if err is not None:
                raise FileError(None, None, source[s.path], err.message)

    enabled = []
    for name, spec in specs.items():
        v = values[("collectors", name)]
        if v is None:
            v = spec.default_enabled and not get("disable_default_collectors")
        if v:
            enabled.append(name)

    settings: dict[str, Mapping[str, Any]] = {}
    for name in enabled:
        schema = specs[name].config_schema
        merged = {p: sub["default"] for p, sub in (schema.get("properties") or {}).items() if "default" in sub}
        found, section = _lookup(data, ("collectors_config", name))
        if found and isinstance(section, dict):
            merged.update(section)
        for path, v in values.items():
            if path[:2] == ("collectors_config", name) and source[path] not in ("file", "default"):
                merged[path[2]] = v
        if schema:
            err = _first_error({"type": "object", **schema}, merged)
            if err is not None:
                path = ("collectors_config", name, *[str(p) for p in err.absolute_path])
                raise _error(doc, source, path, err.message)
        settings[name] = MappingProxyType(merged)

    return ExporterConfig(
        listen_addresses=addresses, telemetry_path=get("web", "telemetry_path"),
        web_config_file=get("web", "config_file"), max_requests=int(get("web", "max_requests")),
        max_streams=int(get("web", "max_streams")),
        disable_exporter_metrics=bool(get("web", "disable_exporter_metrics")),
        procfs=get("path", "procfs"), sysfs=get("path", "sysfs"), rootfs=get("path", "rootfs"),
        log_level="debug" if debug else get("log", "level"), log_format=get("log", "format"), debug=debug,
        scrape_timeout=float(get("scrape", "timeout_seconds")), scrape_workers=int(get("scrape", "workers")),
        collectors=tuple(enabled), collector_settings=MappingProxyType(settings), config_file=config_file,
    )


def _first_error(schema: dict[str, Any], instance: Any) -> Any:
    """jsonschema's best-matching error, or None; jsonschema is imported only when there is an error to word."""
    if schemacheck.check_or_none(schema, instance):
        return None
    import jsonschema
    from jsonschema.exceptions import best_match

    return best_match(jsonschema.Draft202012Validator(schema).iter_errors(instance))


def _error(doc: YamlDoc | None, source: Mapping[tuple[str, ...], str], path: tuple[str, ...], reason: str) -> FileError:
    src = source.get(path, "file" if doc else "default")
    if src == "file" and doc is not None:
        return doc.error(list(path), reason)
    if src not in ("file", "default"):
        return FileError(None, None, src, reason)
    return FileError(None, None, dotted(path), reason)
