"""docs/collectors.md: every exporter collector from the registry — default state, settings, metric families."""
from __future__ import annotations

from typing import Any, Iterable

from perfadvisor.exporter.config import collector_settings
from perfadvisor.exporter.registry import CollectorSpec, Family, all_collectors

from .markdown import cell, header

SOURCE = "the exporter's collector registry (exporter/collectors/)"


def _families(spec: CollectorSpec) -> tuple[Family, ...]:
    return tuple(getattr(spec.factory, "families", ()))


def family_line(f: Family) -> str:
    if not f.name:
        return f"- {f.note}"
    labels = f" `{{{','.join(f.labels)}}}`" if f.labels else ""
    return f"- `{f.name}` {f.type}{labels}" + (f" — {f.note}" if f.note else "")


def _default(value: Any) -> str:
    if value in (None, "", [], {}):
        return ""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    # GitHub tables end a cell at any unescaped pipe, code spans included.
    return f"`{value}`".replace("|", "\\|")


def _settings(name: str, spec: CollectorSpec, rows: dict[tuple[str, ...], Any]) -> list[str]:
    props = (spec.config_schema.get("properties") or {}) if spec.config_schema else {}
    if not props:
        return []
    out = ["| setting (`collectors_config." + name + ".…`) | flag and environment variable | default | meaning |",
           "|---|---|---|---|"]
    for prop, schema in props.items():
        row = rows.get(("collectors_config", name, prop))
        where = f"`{row.flag}`<br>`{row.envvar}`" if row else "config file only (a list or mapping)"
        out.append(f"| `{prop}` | {where} | {_default(schema.get('default'))} | {cell(schema.get('description', ''))} |")
    return out


def render(specs: dict[str, CollectorSpec] | None = None) -> str:
    specs = all_collectors() if specs is None else specs
    rows = {s.path: s for s in collector_settings(specs)}
    out = [header(SOURCE), "", "# Collectors", "",
           "Every collector of `perfadvisor-exporter`. A collector is switched with `--collector.NAME` / "
           "`--no-collector.NAME`, `PERFADVISOR_COLLECTOR_NAME=true|false` or `collectors: {NAME: true|false}` in the "
           "config file; `--collector.disable-defaults` starts from none. One scrape can be limited with "
           "`?collect[]=NAME` or `?exclude[]=NAME`. Settings go under `collectors_config.NAME` in the config file; "
           "scalar ones also have a flag and a variable (precedence and the file layout: "
           "[configuration.md](configuration.md)). What the names follow and how they differ from the upstream "
           "exporters: [exporter.md](exporter.md).", "",
           "| collector | default | exports |", "|---|---|---|"]
    for name, spec in specs.items():
        out.append(f"| [`{name}`](#{name}) | {'on' if spec.default_enabled else 'off'} | {cell(spec.help)} |")
    for name, spec in specs.items():
        state = "enabled" if spec.default_enabled else "disabled"
        out += ["", f"## `{name}`", "",
                f"{spec.help} Default: **{state}** (`--collector.{name}` / `--no-collector.{name}`)."]
        settings = _settings(name, spec, rows)
        if settings:
            out += [""] + settings
        families = _families(spec)
        if families:
            out += ["", "Metric families:", ""] + [family_line(f) for f in families]
    return "\n".join(out) + "\n"
