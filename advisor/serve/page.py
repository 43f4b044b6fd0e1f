"""The web dashboard at ``/``: one self-contained page (inline CSS, SVG charts, a small script allowed by a
per-response CSP nonce), readable without JavaScript; the script only adds live events and reloads after a run."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from importlib import resources

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..durations import format_duration
from ..history import fingerprint
from ..reports.charts import chart
from . import views

SHOWN = 50   # findings per group with their charts; the rest are in the JSON API

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(resources.files(__package__).joinpath("dashboard.html.j2").read_text())


def _when(ts: float | None) -> str:
    return "—" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _score_class(v) -> str:
    return "na" if v is None else "good" if v >= 90 else "avg" if v >= 50 else "bad"


def _polyline(values: list, width: float = 120, height: float = 30) -> str:
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals + [0]), max(vals + [100])
    step = width / (len(vals) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - lo) / ((hi - lo) or 1) * (height - 4):.1f}"
                    for i, v in enumerate(vals))


def _target_text(t: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in t.items()) or "(all)"


def _money(v) -> str:
    return "—" if v is None else f"{'−' if v < 0 else '+'}{abs(v):,.2f}/month"


def render(engine, nonce: str) -> str:
    last = engine.last
    report = last.report if last else None
    open_ = {f["fingerprint"]: f for f in engine.store.findings(open_only=True)}
    new, persisting = [], []
    if report:
        for f in report.findings + report.pending:
            h = open_.get(fingerprint(f.rule.id, f.target)) or {"fingerprint": fingerprint(f.rule.id, f.target)}
            (new if h.get("first_run") == last.run_id else persisting).append((f, h))
    now = time.time()
    resolved = [f for f in engine.store.findings(since=now - 86400) if f["resolved_at"]]
    scores = engine.store.scores(limit=60)
    dims = sorted(report.dimensions.items()) if report else []
    return _TEMPLATE.render(
        nonce=nonce, source=engine.source_name, status=engine.status(), last_run=last,
        interval=format_duration(engine.interval), report=report,
        overall=report.overall.value if report else None,
        score_text=f"score {report.overall.value}" if report and report.overall.value is not None else "no score yet",
        coverage=f"coverage {report.overall.evaluated}/{report.overall.total}" if report else "",
        trend=_polyline([s["overall"] for s in scores]),
        dimensions=dims, dim_trends={d: _polyline([s["dimensions"].get(d) for s in scores]) for d, _ in dims},
        new=new[:SHOWN], persisting=persisting[:SHOWN], resolved=resolved[:SHOWN],
        more={"new": len(new) - SHOWN, "persisting": len(persisting) - SHOWN, "resolved": len(resolved) - SHOWN}, scaling=views.scaling(engine)["recommendations"],
        chart=chart, when=_when, score_class=_score_class, target_text=_target_text, money=_money)


class Page:
    def __init__(self, engine):
        self.engine = engine

    async def __call__(self, request: Request) -> HTMLResponse:
        nonce = (request.scope.get("state") or {}).get("csp_nonce") or ""
        return HTMLResponse(render(self.engine, nonce))
