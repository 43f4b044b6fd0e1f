"""A diagnosis as text for a terminal, or as JSON."""
from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime, timezone

from ..durations import format_duration
from . import Diagnosis, PackStatus
from .providers import describe

FORMATS = ("text", "json")
WIDTH = 110


def render(d: Diagnosis, fmt: str) -> str:
    return to_json(d) if fmt == "json" else to_text(d)


def to_json(d: Diagnosis) -> str:
    return json.dumps(d.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _history(p: PackStatus) -> str:
    if p.history_seconds is None:
        return ""
    return f", history {'≥ ' if p.history_capped else ''}{format_duration(round(p.history_seconds))}"


def _missing(p: PackStatus, indent: str) -> list[str]:
    """Missing metrics grouped by who provides them: the names, then the provider."""
    groups: dict[str, list[str]] = {}
    for m in p.missing:
        groups.setdefault(describe(m.name), []).append(m.name)
    out = []
    for who, names in groups.items():
        out += _wrap(", ".join(names), indent)
        out += _wrap(f"← {who}", indent + "  ")
    return out


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False) or [indent]


_HAVE = re.compile(r" \(have [^)]*\)$")


def to_text(d: Diagnosis) -> str:
    src = d.source
    when = datetime.fromtimestamp(d.evaluated_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    where = src.get("url") or src.get("type", "")
    lines = [f"advisor doctor: {src.get('type', '')} {where if where != src.get('type') else ''}".rstrip()
             + f", at {when}"]
    local = src.get("local")
    if local:
        lines.append(f"  local mode: {local['samples']} sample(s) every {local['interval']} from "
                     f"{local['sampler']} ({local['history']} of history)")
    if d.intervals:
        by: dict[float, list[str]] = {}
        for job, s in sorted(d.intervals.items()):
            by.setdefault(s, []).append(job)
        lines.append("  scrape interval: " + "; ".join(f"{format_duration(s)} ({', '.join(jobs)})"
                                                       for s, jobs in sorted(by.items())))
    for note in d.notes:
        lines.append(f"  note: {note}")

    lines += ["", "Packs"]
    width = max((len(p.name) for p in d.packs), default=4)
    for p in d.packs:
        have = sum(1 for m in p.metrics if m.present)
        lines.append(f"  {p.status:<8} {p.name:<{width}}  {have}/{len(p.metrics)} metrics{_history(p)}")
        if p.missing:
            lines += _missing(p, "    ")

    lines += ["", "Windows against the scrape interval"]
    if not d.windows:
        known = "every range window and `for` is long enough" if d.intervals else \
            "not checked: scrape intervals unknown"
        lines.append(f"  {known}")
    for w in d.windows:
        jobs = f" (job {', '.join(w.jobs)})" if w.jobs else ""
        lines += _wrap(f"{w.level:<8} {w.rule}: {w.what}{jobs}: {w.message}", "  ")

    lines += ["", "Rules that cannot be evaluated"]
    counted = [r for r in d.rules if r.pack_has_data]
    if not counted:
        lines.append("  none in packs with data")
    groups: dict[str, list[str]] = {}
    for r in counted:
        reason = _HAVE.sub("", r.reason)
        if r.reason.startswith("not enough history") and r.history is not None:
            reason += f" (its metrics have {format_duration(round(r.history))} of data)"
        groups.setdefault(reason, []).append(r.id)
    for reason, ids in groups.items():
        lines += _wrap(f"{reason}:", "  ")
        lines += _wrap(", ".join(ids), "    ")
    empty: dict[str, int] = {}
    for r in d.rules:
        if not r.pack_has_data:
            empty[r.pack] = empty.get(r.pack, 0) + 1
    if empty:
        lines.append("  (and every rule of the packs without data: "
                     + ", ".join(f"{p} {n}" for p, n in empty.items()) + ")")

    errors = sum(1 for w in d.windows if w.level == "error")
    lines.append("")
    if d.problems:
        parts = ([f"{errors} window error(s)"] if errors else []) + \
                ([f"{len(counted)} rule(s) that cannot be evaluated"] if counted else [])
        lines.append(f"{d.problems} problem(s): {', '.join(parts)}.")
    else:
        lines.append("No problems: every rule of the packs with data can be evaluated.")
    return "\n".join(lines) + "\n"
