"""The JSON the API answers with, built from the engine's last results and the history store."""
from __future__ import annotations

import json
import math
import time
from importlib import resources
from typing import Any

import orjson

from ..findings import Finding
from ..history import fingerprint
from ..reports.json_report import _clean, finding_dict, rule_dict
from .scope import Matcher, matches_all

SEVERITY_WEIGHT = {"critical": 3, "warning": 2, "info": 1}
LEAK_RULES = {"process-memory-leak": "resident memory", "process-fd-leak": "open file descriptors",
              "process-thread-leak": "threads"}
LIVE = json.loads(resources.files(__package__).joinpath("live.json").read_text())


def _finding(f: Finding, known: dict[str, dict]) -> dict:
    fp = fingerprint(f.rule.id, f.target)
    h = known.get(fp) or {}
    return {"fingerprint": fp, **finding_dict(f), "first_seen": h.get("first_seen"),
            "last_seen": h.get("last_seen"), "peak_value": h.get("peak_value")}


def _known(engine) -> dict[str, dict]:
    return {f["fingerprint"]: f for f in engine.store.findings(open_only=True)}


def findings_json(findings, engine) -> list[dict]:
    known = _known(engine)
    return _clean([_finding(f, known) for f in findings])


def envelope(engine) -> dict:
    last = engine.last
    st = engine.status()
    out = {**st, "source": engine.source_name}
    if last is not None and last.report is not None:
        r = last.report
        out.update(evaluated_at=r.evaluated_at, score=r.overall.value,
                   rules_evaluated=r.evaluated_count, rules_total=len(r.results))
    return out


HEAVY = ("series", "evidence")   # left out of list answers unless asked for (?detail=full)


def _encoded(engine, full: bool) -> tuple[list[tuple[Finding, bytes]], list[tuple[Finding, bytes]]]:
    """The last run's findings and pending findings, each encoded once per run (every GET reuses them)."""
    last = engine.last
    if last is None or last.report is None:
        return [], []
    key = "optimize-full" if full else "optimize"
    cached = engine.view_cache.get(key)
    if cached and cached[0] == last.run_id:
        return cached[1]
    known = _known(engine)

    def one(f: Finding) -> bytes:
        d = _finding(f, known)
        if not full:
            for k in HEAVY:
                d.pop(k, None)
        return orjson.dumps(_clean(d))
    out = ([(f, one(f)) for f in last.report.findings], [(f, one(f)) for f in last.report.pending])
    engine.view_cache[key] = (last.run_id, out)
    return out


def optimize(engine, *, categories=(), severities=(), dimensions=(), packs=(),
             matchers: tuple[Matcher, ...] = (), full: bool = False) -> bytes:
    """The JSON document (bytes): the envelope, then the findings and pending findings that pass the filters;
    each finding's chart series and evidence only when `full`."""
    def keep(f: Finding) -> bool:
        return ((not categories or f.rule.category in categories) and
                (not severities or f.severity in severities) and
                (not dimensions or f.rule.dimension in dimensions) and
                (not packs or f.rule.pack in packs) and matches_all(matchers, {**f.labels, **f.target}))
    findings, pending = _encoded(engine, full)
    head = orjson.dumps(envelope(engine))[:-1]
    return b"".join((head, b',"findings":[', b",".join(b for f, b in findings if keep(f)),
                     b'],"pending":[', b",".join(b for f, b in pending if keep(f)), b"]}"))


def scaling(engine) -> dict:
    last = engine.last
    out = []
    if last and last.report:
        known = _known(engine)
        for f in last.report.findings:
            if f.rule.category != "scaling":
                continue
            d = _finding(f, known)
            s = f.sizing
            out.append(_clean({
                "fingerprint": d["fingerprint"], "rule_id": f.rule.id, "title": f.rule.title, "target": f.target,
                "summary": f.summary, "recommendation": f.recommendation,
                "sizing": d["sizing"], "replicas": d["replicas"],
                "monthly_cost_change": s.monthly_cost_change if s else None,
                "performance_risk": s.performance_risk if s else None,
                "confidence": d["confidence"], "first_seen": d["first_seen"],
                "history": engine.store.recommendations(d["fingerprint"])}))
        sizing_rows = [{"rule_id": r.rule_id, "target": r.target, "value": r.value,
                        "recommended": r.sizing.recommended, "current": r.sizing.current}
                       for r in last.report.sizing_rows]
    else:
        sizing_rows = []
    cost = [r["monthly_cost_change"] for r in out if r["monthly_cost_change"] is not None]
    return {**envelope(engine), "recommendations": out, "unchanged": _clean(sizing_rows),
            "monthly_cost_change": sum(cost) if cost else None}


def analytics(engine, now: float | None = None) -> dict:
    now = now or time.time()
    scores = engine.store.scores(limit=200)
    dims: dict[str, list] = {}
    for s in scores:
        for d, v in s["dimensions"].items():
            dims.setdefault(d, []).append([s["finished_at"], v])

    def trend(points: list) -> dict:
        vals = [v for _, v in points if v is not None]
        return {"now": vals[-1] if vals else None, "first": vals[0] if vals else None,
                "change": (vals[-1] - vals[0]) if len(vals) >= 2 else None, "points": points[-50:]}
    everything = engine.store.findings(since=now - 7 * 86400)
    open_ = [f for f in everything if f["resolved_at"] is None]
    top = sorted(open_, key=lambda f: -SEVERITY_WEIGHT.get(f["severity"], 1) * (now - f["first_seen"] + 60))[:10]

    def counts(window: float) -> dict:
        since = now - window
        return {"opened": sum(1 for f in everything if f["first_seen"] >= since),
                "resolved": sum(1 for f in everything if f["resolved_at"] and f["resolved_at"] >= since)}
    took = [f["resolved_at"] - f["first_seen"] for f in everything if f["resolved_at"]]
    return _clean({
        **envelope(engine),
        "overall": trend([[s["finished_at"], s["overall"]] for s in scores]),
        "dimensions": {d: trend(p) for d, p in sorted(dims.items())},
        "top_issues": [{"fingerprint": f["fingerprint"], "rule_id": f["rule_id"], "title": f["title"],
                        "target": f["target"], "severity": f["severity"], "summary": f["summary"],
                        "open_seconds": now - f["first_seen"]} for f in top],
        "open": len(open_), "last_24h": counts(86400), "last_7d": counts(7 * 86400),
        "time_to_resolve_seconds": {"count": len(took), "mean": sum(took) / len(took) if took else None,
                                    "max": max(took) if took else None},
    })


def leaks(engine) -> dict:
    last = engine.last
    out = []
    if last and last.report:
        known = _known(engine)
        for f in last.report.findings + last.report.pending:
            if f.rule.id not in LEAK_RULES:
                continue
            p = f.projection
            d = _finding(f, known)
            out.append(_clean({
                "fingerprint": d["fingerprint"], "rule_id": f.rule.id, "resource": LEAK_RULES[f.rule.id],
                "target": f.target, "state": f.state, "summary": f.summary, "recommendation": f.recommendation,
                "growth_per_second": p.slope if p else None, "growth_per_hour": p.slope * 3600 if p else None,
                "current": p.current if p else None, "limit": p.limit if p else None,
                "time_to_exhaustion_seconds": p.time_to_limit if p else None,
                "fit_r2": p.r2 if p else None, "trend_p": p.p_value if p else None,
                "confidence": d["confidence"], "first_seen": d["first_seen"], "peak_value": d["peak_value"]}))
    return {**envelope(engine), "leaks": out}


def rules(engine) -> list[dict]:
    last = engine.last
    return _clean([rule_dict(r) for r in last.report.results]) if last and last.report else []


def live(source, at: float) -> dict:
    """The live figures, per instance, from one instant query each (a failing query is reported, not fatal)."""
    from ..errors import SourceError
    targets: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for name, query in LIVE["figures"].items():
        try:
            res = source.instant(query, at)
        except SourceError as e:
            errors[name] = str(e)
            continue
        for s in res.series:
            v = s.points[-1][1] if s.points else math.nan
            targets.setdefault(s.labels.get("instance", ""), {})[name] = v if math.isfinite(v) else None
    for name, query in LIVE["top_groups"].items():
        try:
            res = source.instant(query, at)
        except SourceError as e:
            errors[f"top_groups.{name}"] = str(e)
            continue
        rows = sorted(((s.labels.get("instance", ""), s.labels.get("groupname", ""), s.points[-1][1])
                       for s in res.series if s.points), key=lambda r: -r[2])
        for inst, group, v in rows:
            top = targets.setdefault(inst, {}).setdefault("top_groups", {}).setdefault(name, [])
            top.append({"groupname": group, "value": v if math.isfinite(v) else None})
    return {"time": at, "targets": targets, "errors": errors}
