"""Reading the generated dashboards the way Grafana does: panels, queries and variables, with values substituted."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"
VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
# What Grafana puts in for its built-in variables; the windows only need to span a few 1 s scrapes.
BUILTINS = {"__rate_interval": "10s", "__interval": "2s", "__interval_ms": "2000", "__range": "1m",
            "__range_s": "60", "__range_ms": "60000"}


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    expr: str
    legend: str

    @property
    def where(self) -> str:
        return f"{self.dashboard}: {self.panel!r}"


def load_all() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def all_panels(dash: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def variables(dash: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dash["templating"]["list"]}


def substitute(expr: str, dash: dict[str, Any]) -> str:
    """expr as Grafana sends it with every variable on All (its allValue) and the built-ins filled in."""
    values = {name: v.get("allValue") for name, v in variables(dash).items() if v["type"] == "query"}

    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name in BUILTINS:
            return BUILTINS[name]
        if values.get(name) is None:
            raise KeyError(f"variable ${name} is not defined with an allValue")
        return values[name]

    return VAR_RE.sub(one, expr)


def queries(name: str, dash: dict[str, Any]) -> list[Query]:
    """Every panel query, substituted, plus each label_values() variable as the series query it stands for."""
    out = [Query(name, p["title"], substitute(t["expr"], dash), t.get("legendFormat", ""))
           for p in all_panels(dash) for t in p.get("targets", [])]
    for v in variables(dash).values():
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", v["definition"])
            assert m, f"{name}: variable {v['name']} is not label_values(selector, label)"
            out.append(Query(name, f"variable {v['name']}", substitute(f"count by ({m[2]}) ({m[1]})", dash),
                             "{{" + m[2] + "}}"))
    return out
