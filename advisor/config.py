"""The advisor's one validated configuration, built at the edge from flags, environment and a config file.

Precedence: command-line flags > environment (``PERFADVISOR_*``) > config file > defaults.

Config file (YAML, ``--config`` or ``PERFADVISOR_CONFIG``)::

    prometheus:
      url: https://prometheus.example:9090
      bearer_token_file: /run/secrets/prom-token     # or basic_auth: {username, password_file}
      tls: {ca_file: /etc/ssl/ca.pem, cert_file: c.pem, key_file: k.pem, insecure_skip_verify: false}
      headers: {X-Scope-OrgID: tenant-1}
      timeout: 30s                 # each request as a whole; all retries within timeout × (retries + 1)
      retries: 2
      max_answer_bytes: 67108864   # 64 MiB; env PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES
    concurrency: 4
    packs: {paths: [/etc/perfadvisor/packs], disable: [scaling]}
    parameters: {cpu_high: 0.85, host: {lookback: 2h}}   # or "host.lookback": 2h
    serve: {interval: 5m, intervals: {host: 1m}, web: {...}, storage: {...}}   # advisor serve (serve.options)

The ``serve:`` section is checked here against the JSON Schema generated from advisor.serve.options' settings
table (``FILE:LINE: serve.key: reason``, exit 2) and resolved by that module.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from .errors import ConfigError, ParamError
from .packs import Pack
from .durations import parse_duration
from .packs import params as P, yamlsafe
from .sources import inputs
from .sources.prometheus import MAX_ANSWER_BYTES, PrometheusConfig

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Config:
    prometheus: PrometheusConfig | None = None
    concurrency: int = 4
    pack_paths: tuple[str, ...] = ()
    disabled_packs: tuple[str, ...] = ()
    builtin: bool = True
    # Overrides: (pack name or None for "every pack having it", parameter, raw value, where it came from)
    overrides: tuple[tuple[str | None, str, Any, str], ...] = ()
    categories: tuple[str, ...] = ()
    rule_patterns: tuple[str, ...] = ()   # shell-style globs of rule ids (--rule); empty = all
    min_severity: str = "info"
    fail_on: str | None = None
    debug: bool = False
    top: int = 10   # findings per rule with texts, chart series and evidence, worst first (0 = all)


def _read_secret(path: str, what: str) -> str:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {what} file {path}: {getattr(e, 'strerror', None) or 'not UTF-8 text'}") \
            from None
    return inputs.check_secret(text, f"{what} file {path}", what)


def key_line(path: str | None, *keys: str) -> str:
    """``PATH:LINE: a.b`` for the key `keys` in the YAML config file (``PATH: a.b`` if it cannot be found)."""
    dotted = ".".join(keys)
    if not path:
        return f"{dotted} in the config file"
    try:
        node = yaml.compose(Path(path).read_text())
        for key in keys:
            node = next(v for k, v in node.value if k.value == key)
        return f"{path}:{node.start_mark.line + 1}: {dotted}"
    except Exception:  # noqa: BLE001 - only the message's precision depends on it
        return f"{path}: {dotted}"


_key_line = key_line


def load_file(path: str | None) -> dict:
    """The config file's mapping ({} without one)."""
    if not path:
        return {}
    # Size, alias, tag and duplicate-key limits; unreadable or invalid files raise PackError (exit 2, FILE:LINE).
    data = yamlsafe.load_file(path)[0] or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must be a mapping")
    known = {"prometheus", "concurrency", "packs", "parameters", "serve"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    if "serve" in data:
        _check_serve(path, data)
    return data


def _check_serve(path: str, data: dict) -> None:
    """The ``serve:`` section against its JSON Schema (advisor.serve.options): ``FILE:LINE: serve.key: reason``."""
    from ..exporter import yamlfile
    from .serve.options import section_schema
    schema = {"type": "object", "properties": {"serve": section_schema()}}
    from ..exporter import schemacheck
    if schemacheck.check_or_none(schema, data):
        return
    try:
        yamlfile.validate(yamlfile.load(path), schema)
    except yamlfile.FileError as e:
        raise ConfigError(str(e)) from None


def prometheus_config(url: str | None, file_cfg: dict, env: Mapping[str, str], *, timeout: str | None = None,
                      headers: tuple[str, ...] = (), insecure: bool = False, ca_file: str | None = None,
                      retries: int | None = None, path: str | None = None) -> PrometheusConfig | None:
    """Prometheus settings from flags, environment and the config file's ``prometheus`` section (`path`: the
    config file, to name FILE:LINE in errors). URL, headers and secrets are checked here: a bad one is a
    ConfigError naming where it came from, never showing the secret."""
    pc = dict(file_cfg.get("prometheus") or {})
    origin = ("--prometheus" if url else "PERFADVISOR_PROMETHEUS_URL" if env.get("PERFADVISOR_PROMETHEUS_URL")
              else _key_line(path, "prometheus", "url"))
    url = url or env.get("PERFADVISOR_PROMETHEUS_URL") or pc.get("url")
    if not url:
        return None
    # A malformed URL is a usage error (exit 2), not an unreachable server (exit 3).
    url = inputs.check_url(url, origin)
    if env.get("PERFADVISOR_PROMETHEUS_TOKEN"):
        token = inputs.check_secret(env["PERFADVISOR_PROMETHEUS_TOKEN"], "PERFADVISOR_PROMETHEUS_TOKEN")
    else:
        token = inputs.check_secret(pc.get("bearer_token"), _key_line(path, "prometheus", "bearer_token"))
    token_file = env.get("PERFADVISOR_PROMETHEUS_TOKEN_FILE") or pc.get("bearer_token_file")
    if not token and token_file:
        token = _read_secret(token_file, "bearer token")
    basic = pc.get("basic_auth") or {}
    username = env.get("PERFADVISOR_PROMETHEUS_USERNAME") or basic.get("username")
    if env.get("PERFADVISOR_PROMETHEUS_PASSWORD"):
        password = inputs.check_secret(env["PERFADVISOR_PROMETHEUS_PASSWORD"], "PERFADVISOR_PROMETHEUS_PASSWORD",
                                       "password")
    else:
        password = basic.get("password")
    if not password and basic.get("password_file"):
        password = _read_secret(basic["password_file"], "password")
    tls = pc.get("tls") or {}
    hdrs = {}
    for name, value in (pc.get("headers") or {}).items():
        n, v = inputs.check_header(name, value, _key_line(path, "prometheus", "headers", str(name)))
        hdrs[n] = v
    for h in headers:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise ConfigError("--header must look like 'Name: value' (no ':' found; value not shown)")
        n, v = inputs.check_header(name, value, "--header")
        hdrs[n] = v
    try:
        t = parse_duration(str(timeout or pc.get("timeout") or "30s"))
    except ValueError as e:
        raise ConfigError(f"prometheus timeout: {e}") from None
    if not 0 < t <= 86400:
        raise ConfigError(f"prometheus timeout: must be above 0 and at most 24h, got {t:g}s")
    return PrometheusConfig(
        url=str(url), bearer_token=token, username=username, password=password,
        verify=not (insecure or tls.get("insecure_skip_verify", False)),
        ca_file=ca_file or tls.get("ca_file"), cert_file=tls.get("cert_file"), key_file=tls.get("key_file"),
        headers=tuple(hdrs.items()), timeout=t,
        retries=int(retries if retries is not None else pc.get("retries", 2)),
        max_answer_bytes=_max_answer_bytes(env, pc, path))


def _max_answer_bytes(env: Mapping[str, str], pc: dict, path: str | None) -> int:
    if env.get("PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES"):
        raw, where = env["PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES"], "PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES"
    elif "max_answer_bytes" in pc:
        raw, where = pc["max_answer_bytes"], _key_line(path, "prometheus", "max_answer_bytes")
    else:
        return MAX_ANSWER_BYTES
    try:
        n = int(str(raw).strip())
    except ValueError:
        n = 0
    if n < 1024:
        raise ConfigError(f"{where}: expected a number of bytes of at least 1024, got {str(raw)[:40]!r}")
    return n


def parse_sets(items: tuple[str, ...], where: str = "--set") -> tuple[tuple[str | None, str, Any, str], ...]:
    """``name=value`` (every pack having it) or ``pack.name=value`` (one pack)."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ParamError(f"{where} {item!r}: expected NAME=VALUE or PACK.NAME=VALUE")
        pack, _, name = key.rpartition(".")
        out.append((pack or None, name, value, where))
    return tuple(out)


def file_overrides(file_cfg: dict, path: str | None) -> tuple[tuple[str | None, str, Any, str], ...]:
    out = []
    for key, value in (file_cfg.get("parameters") or {}).items():
        if isinstance(value, dict):
            out += [(str(key), str(k), v, f"{path}: parameters.{key}") for k, v in value.items()]
        else:
            pack, _, name = str(key).rpartition(".")
            out.append((pack or None, name, value, f"{path}: parameters"))
    return tuple(out)


def pack_values(packs: list[Pack], overrides) -> dict[str, dict[str, Any]]:
    """Validated parameter values per pack; an override no pack knows is a ParamError naming it."""
    by_name = {p.name: p for p in packs}
    values: dict[str, dict[str, Any]] = {p.name: {} for p in packs}
    for pack_name, name, raw, where in overrides:
        if pack_name:
            if pack_name not in by_name:
                raise ParamError(f"{where}: unknown pack {pack_name!r} in {pack_name}.{name} "
                                 f"(loaded: {', '.join(sorted(by_name))})")
            targets = [by_name[pack_name]] if name in by_name[pack_name].params else []
        else:
            targets = [p for p in packs if name in p.params]
        if not targets:
            scope = f"pack {pack_name}" if pack_name else "any loaded pack"
            raise ParamError(f"{where}: unknown parameter {name!r} (not defined by {scope})")
        for p in targets:
            values[p.name][name] = P.coerce(p.params[name], raw)
    return values


def build(*, prometheus_url: str | None = None, config_path: str | None = None, sets: tuple[str, ...] = (),
          packs: tuple[str, ...] = (), no_builtin: bool = False, concurrency: int | None = None,
          categories: tuple[str, ...] = (), rules: tuple[str, ...] = (), min_severity: str = "info",
          fail_on: str | None = None,
          timeout: str | None = None, headers: tuple[str, ...] = (), insecure: bool = False,
          ca_file: str | None = None, debug: bool = False, env: Mapping[str, str] | None = None,
          top: int | None = None) -> Config:
    """The run's Config from flag values (None = not given)."""
    env = os.environ if env is None else env
    config_path = config_path or env.get("PERFADVISOR_CONFIG")
    fc = load_file(config_path)
    pk = fc.get("packs") or {}
    conc = concurrency or fc.get("concurrency") or 4
    if not isinstance(conc, int) or conc < 1:
        raise ConfigError(f"concurrency must be a positive integer, got {conc!r}")
    return Config(
        prometheus=prometheus_config(prometheus_url, fc, env, timeout=timeout, headers=headers,
                                     insecure=insecure, ca_file=ca_file, path=config_path),
        concurrency=conc, pack_paths=tuple(pk.get("paths") or ()) + tuple(packs),
        disabled_packs=tuple(pk.get("disable") or ()), builtin=not no_builtin,
        overrides=file_overrides(fc, config_path) + parse_sets(sets),
        categories=tuple(categories), rule_patterns=tuple(rules), min_severity=min_severity, fail_on=fail_on,
        debug=debug, top=10 if top is None else top)


def load_packs(config: Config) -> list[Pack]:
    """Built-in packs plus user packs (a user pack with a built-in's name replaces it), minus disabled ones."""
    from .errors import PackError
    from .packs import load_builtin, load_path
    packs: dict[str, Pack] = {p.name: p for p in load_builtin()} if config.builtin else {}
    for path in config.pack_paths:
        if not Path(path).exists():
            raise PackError(str(path), None, "", "no such file or directory")
        for p in load_path(path):
            packs[p.name] = p
    return [p for name, p in packs.items() if name not in config.disabled_packs]


def packs_and_values(config: Config) -> tuple[list[Pack], dict[str, dict[str, Any]]]:
    """The loaded packs and their validated parameter values."""
    packs = load_packs(config)
    return packs, pack_values(packs, config.overrides)
