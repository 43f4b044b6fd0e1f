"""A small builder for Grafana dashboard JSON: panels, rows, template variables and grid layout.

Every panel and every query points at the `${datasource}` variable, so a dashboard works against whichever
Prometheus the viewer picks; panel ids and grid positions are assigned here so no definition repeats them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The "All" value of every query variable: one regex instead of an alternation of every value.
ALL = ".*"
# The selector every host-side query starts from; extra matchers are appended by the caller.
SEL = 'job=~"$job",instance=~"$instance"'

_LEGEND = {"displayMode": "table", "placement": "bottom", "showLegend": True, "calcs": ["mean", "max", "lastNotNull"]}


def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> dict[str, Any]:
    """One Prometheus query of a panel (refId is filled in by the panel)."""
    t: dict[str, Any] = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto",
                         "range": not instant, "instant": instant}
    if table:
        t["format"] = "table"
    return t


def _thresholds(steps: list[tuple[float | None, str]] | None) -> dict[str, Any]:
    steps = steps or [(None, "green")]
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


@dataclass
class Panel:
    """A panel before layout: its JSON minus id and gridPos, and the size it wants."""

    body: dict[str, Any]
    w: int = 12
    h: int = 8


def _panel(kind: str, title: str, targets: list[dict[str, Any]], *, unit: str, description: str,
           w: int, h: int, options: dict[str, Any], custom: dict[str, Any] | None = None,
           thresholds: list[tuple[float | None, str]] | None = None, min: float | None = None,
           max: float | None = None, mappings: list[dict[str, Any]] | None = None) -> Panel:
    defaults: dict[str, Any] = {"unit": unit, "thresholds": _thresholds(thresholds), "mappings": mappings or []}
    if custom is not None:
        defaults["custom"] = custom
    if min is not None:
        defaults["min"] = min
    if max is not None:
        defaults["max"] = max
    refs = [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)]
    body = {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "fieldConfig": {"defaults": defaults, "overrides": []}, "options": options, "targets": refs}
    return Panel(body, w, h)


def timeseries(title: str, *targets: dict[str, Any], unit: str = "short", description: str = "", w: int = 12,
               h: int = 8, stack: bool = False, min: float | None = None, max: float | None = None,
               thresholds: list[tuple[float | None, str]] | None = None) -> Panel:
    """A time series graph with a table legend (mean, max, last)."""
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 20 if stack else 10, "showPoints": "never",
              "spanNulls": False, "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    options = {"legend": dict(_LEGEND), "tooltip": {"mode": "multi", "sort": "desc"}}
    return _panel("timeseries", title, list(targets), unit=unit, description=description, w=w, h=h,
                  options=options, custom=custom, thresholds=thresholds, min=min, max=max)


def stat(title: str, *targets: dict[str, Any], unit: str = "short", description: str = "", w: int = 6, h: int = 4,
         thresholds: list[tuple[float | None, str]] | None = None, decimals: int | None = None,
         mappings: list[dict[str, Any]] | None = None) -> Panel:
    """A single big number (last value) with a sparkline."""
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "colorMode": "value", "graphMode": "area", "justifyMode": "auto", "textMode": "auto",
               "orientation": "auto"}
    p = _panel("stat", title, list(targets), unit=unit, description=description, w=w, h=h, options=options,
               thresholds=thresholds, mappings=mappings)
    if decimals is not None:
        p.body["fieldConfig"]["defaults"]["decimals"] = decimals
    return p


def gauge(title: str, *targets: dict[str, Any], unit: str = "percent", description: str = "", w: int = 6,
          h: int = 6, min: float = 0, max: float = 100,
          thresholds: list[tuple[float | None, str]] | None = None) -> Panel:
    """A gauge of the last value between min and max."""
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "showThresholdLabels": False, "showThresholdMarkers": True, "orientation": "auto"}
    return _panel("gauge", title, list(targets), unit=unit, description=description, w=w, h=h, options=options,
                  thresholds=thresholds, min=min, max=max)


def bargauge(title: str, *targets: dict[str, Any], unit: str = "short", description: str = "", w: int = 12,
             h: int = 8, min: float | None = None, max: float | None = None,
             thresholds: list[tuple[float | None, str]] | None = None) -> Panel:
    """One horizontal bar per series (last value): good for ranking groups or dimensions."""
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True}
    return _panel("bargauge", title, list(targets), unit=unit, description=description, w=w, h=h,
                  options=options, thresholds=thresholds, min=min, max=max)


def table(title: str, expr: str, *, hide: list[str] = (), rename: dict[str, str] | None = None,
          unit: str = "short", description: str = "", w: int = 24, h: int = 8,
          sort_by: str | None = None) -> Panel:
    """The current value of each series as a table row, one column per label (instant query)."""
    excluded = {name: True for name in ("Time", "__name__", *hide)}
    options: dict[str, Any] = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"]}}
    if sort_by:
        options["sortBy"] = [{"displayName": sort_by, "desc": True}]
    p = _panel("table", title, [target(expr, instant=True, table=True)], unit=unit, description=description,
               w=w, h=h, options=options)
    p.body["transformations"] = [{"id": "organize", "options": {"excludeByName": excluded,
                                                                 "renameByName": rename or {}}}]
    return p


def datasource_variable() -> dict[str, Any]:
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
            "regex": "", "skipUrlSync": False}


def query_variable(name: str, metric_selector: str, label: str, *, title: str = "") -> dict[str, Any]:
    """A multi-select variable from label_values(metric_selector, label), with All meaning `.*`."""
    q = f"label_values({metric_selector}, {label})"
    return {"name": name, "label": title or name, "type": "query", "datasource": DATASOURCE,
            "definition": q, "query": {"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "hide": 0,
            "includeAll": True, "allValue": ALL, "multi": True, "options": [], "refresh": 2, "regex": "",
            "skipUrlSync": False, "sort": 1}


@dataclass
class Dashboard:
    """Rows of panels laid out left to right on Grafana's 24-column grid."""

    uid: str
    title: str
    description: str
    # The metric whose labels fill the job and instance pickers.
    key_metric: str
    tags: list[str] = field(default_factory=list)
    extra_variables: list[dict[str, Any]] = field(default_factory=list)
    _panels: list[dict[str, Any]] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _row_h: int = 0

    def row(self, title: str, *panels: Panel) -> "Dashboard":
        self._newline()
        self._panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                             "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y}})
        self._y += 1
        for p in panels:
            self._place(p)
        return self

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_h
        self._x, self._row_h = 0, 0

    def _place(self, p: Panel) -> None:
        if self._x + p.w > 24:
            self._newline()
        self._panels.append(dict(p.body, gridPos={"h": p.h, "w": p.w, "x": self._x, "y": self._y}))
        self._x += p.w
        self._row_h = max(self._row_h, p.h)

    def to_json(self) -> dict[str, Any]:
        panels = [dict(p, id=i) for i, p in enumerate(self._panels, start=1)]
        variables = [datasource_variable(),
                     query_variable("job", self.key_metric, "job"),
                     query_variable("instance", f'{self.key_metric}{{job=~"$job"}}', "instance"),
                     *self.extra_variables]
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": ["perfadvisor", *self.tags], "timezone": "browser", "editable": True,
            "graphTooltip": 1, "refresh": "30s", "schemaVersion": SCHEMA_VERSION, "version": 1,
            "time": {"from": "now-1h", "to": "now"}, "timepicker": {},
            "fiscalYearStartMonth": 0, "liveNow": False, "weekStart": "",
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
                "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
                "type": "dashboard"}]},
            "links": [{"title": "perfadvisor", "type": "dashboards", "tags": ["perfadvisor"], "asDropdown": True,
                       "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
                       "tooltip": "", "url": ""}],
            "templating": {"list": variables},
            "panels": panels,
        }
