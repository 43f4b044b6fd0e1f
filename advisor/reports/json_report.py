"""The JSON report: stable for scripts, described by ``report.schema.json`` beside this file."""
from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timezone
from typing import Any, Iterator

from ..briefs import Briefs, FindingsView, RuleFindings, target_of, target_text
from ..findings import Finding, Report, RuleResult, SizingRow
from ..scoring import Score
from . import register

SCHEMA_VERSION = 1


def _num(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return _num(obj)


def _score(s: Score) -> dict:
    return {"score": s.value, "evaluated": s.evaluated, "total": s.total, "coverage": round(s.coverage, 4)}


def _conf(c) -> dict:
    return {"score": c.score, "level": c.level, "samples": c.samples, "expected_samples": c.expected,
            "coverage": round(c.coverage, 4), "history_seconds": c.history_seconds,
            "preferred_history_seconds": c.preferred_seconds,
            "min_history_met": c.min_history_met, "preferred_history_met": c.preferred_history_met,
            "gaps": c.gaps, "fit_r2": c.fit_r2, "margin": c.margin, "trend_p": c.trend_p,
            "explanation": c.explain()}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(obj) -> dict | None:
    """dataclasses.asdict of a flat dataclass (its fields are numbers and strings), without the deep copy."""
    if obj is None:
        return None
    names = _FIELDS.get(type(obj))
    if names is None:
        names = _FIELDS[type(obj)] = tuple(f.name for f in dataclasses.fields(obj))
    return {n: getattr(obj, n) for n in names}


def _sizing(s) -> dict | None:
    return None if s is None else dict(_plain(s), change=s.change)


def finding_dict(f: Finding) -> dict:
    r = f.rule
    return {
        "rule_id": r.id, "pack": r.pack, "title": r.title, "category": r.category, "dimension": r.dimension,
        "severity": r.severity, "target": f.target, "labels": f.labels, "value": f.value, "unit": r.unit,
        "threshold": f.threshold, "operator": r.condition.op if r.condition else None,
        "condition_of": r.condition.of if r.condition else None, "stats": f.stats,
        "summary": f.summary, "description": f.description, "recommendation": f.recommendation,
        "state": f.state, "active_for": f.active_for, "for_seconds": f.for_seconds, "cause": f.cause,
        "confidence": _conf(f.confidence),
        "series": [[t, v] for t, v in f.series], "window": list(f.window) if f.window else None,
        "evidence": [{"title": e.title, "query": e.query,
                      "series": [{"labels": lb, "value": v} for lb, v in e.series]} for e in f.evidence],
        "projection": _plain(f.projection), "sizing": _sizing(f.sizing), "replicas": _plain(f.replicas),
        "references": list(r.references), "runbook": r.runbook,
        "notes": list(f.notes), "detailed": f.detailed,
    }


def brief_dicts(b: Briefs, positions: list[int]) -> Iterator[dict]:
    """finding_dict of each of a rule's brief findings, read from its columns (no Finding is made)."""
    r = b.rule
    labels, value, stats, conf, proj, sizing, replicas, state, active_for, window, notes = (
        b.cols[name].take(positions) for name in Briefs.FIELDS)
    op = r.condition.op if r.condition else None
    of = r.condition.of if r.condition else None
    refs = list(r.references)
    for k, i in enumerate(positions):
        t = target_of(r, labels[k])
        w = window[k]
        yield {
            "rule_id": r.id, "pack": r.pack, "title": r.title, "category": r.category, "dimension": r.dimension,
            "severity": r.severity, "target": t, "labels": labels[k], "value": value[k], "unit": r.unit,
            "threshold": b.threshold, "operator": op, "condition_of": of, "stats": stats[k],
            "summary": f"{r.title}: {target_text(t)}", "description": "", "recommendation": "",
            "state": state[k], "active_for": active_for[k], "for_seconds": b.for_seconds, "cause": b.causes.get(i),
            "confidence": _conf(conf[k]), "series": [], "window": list(w) if w else None, "evidence": [],
            "projection": _plain(proj[k]), "sizing": _sizing(sizing[k]), "replicas": _plain(replicas[k]),
            "references": refs, "runbook": r.runbook, "notes": list(notes[k]), "detailed": False,
        }


def _dicts(view: FindingsView) -> Iterator[dict]:
    """finding_dict of every finding in the view, in its order; brief ones straight from their columns."""
    for r, idx in view.parts:
        fs = r.findings
        if not isinstance(fs, RuleFindings) or fs.briefs is None:
            for i in idx:
                yield finding_dict(fs[i])
            continue
        d = len(fs.detailed)
        run: list[int] = []
        for i in idx:
            if i >= d:
                run.append(i - d)
                if len(run) >= 2000:   # a few thousand at a time: the rows read from the columns stay small
                    yield from brief_dicts(fs.briefs, run)
                    run = []
                continue
            if run:
                yield from brief_dicts(fs.briefs, run)
                run = []
            yield finding_dict(fs.detailed[i])
        if run:
            yield from brief_dicts(fs.briefs, run)


def sizing_row_dict(row: SizingRow) -> dict:
    return {"rule_id": row.rule_id, "target": row.target, "value": row.value,
            "sizing": dict(dataclasses.asdict(row.sizing), change=row.sizing.change)}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def rule_dict(r: RuleResult) -> dict:
    return {"id": r.rule.id, "pack": r.rule.pack, "title": r.rule.title, "category": r.rule.category,
            "dimension": r.rule.dimension, "severity": r.rule.severity, "evaluated": r.evaluated,
            "reason": r.reason, "targets": r.targets, "findings": r.count("firing"), "pending": r.count("pending"),
            "sizing_rows": len(r.sizing_rows),
            "score": None if r.score is None else round(r.score, 4), "weight": r.rule.weight_value,
            "query": r.query, "notes": list(r.notes)}


def as_dict(report: Report, clean: bool = True, findings: bool = True) -> dict:
    """The report as JSON-ready data; non-finite numbers become null (`clean=False`: left to the encoder)."""
    all_findings = report.findings
    counts = {s: sum(len(idx) for r, idx in all_findings.parts if r.rule.severity == s)
              for s in ("critical", "warning", "info")}
    out = ({
        "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(report.generated_at),
        "evaluated_at": _iso(report.evaluated_at),
        "source": report.source,
        "summary": {"score": report.overall.value, "rules_total": len(report.results),
                    "rules_evaluated": report.evaluated_count,
                    "coverage": round(report.evaluated_count / len(report.results), 4) if report.results else 0.0,
                    "findings": counts, "pending": len(report.pending),
                    "monthly_cost_change": report.monthly_cost_change()},
        "scores": {"overall": _score(report.overall),
                   "dimensions": {d: _score(s) for d, s in report.dimensions.items()}},
        "findings": list(_dicts(all_findings)) if findings else [],
        "pending": list(_dicts(report.pending)) if findings else [],
        "sizing_rows": [sizing_row_dict(row) for row in report.sizing_rows],
        "rules": [rule_dict(r) for r in report.results],
        "not_evaluated": [{"rule_id": r.rule.id, "reason": r.reason} for r in report.not_evaluated],
        "packs": [dict(p) for p in report.packs],
        "filters": report.filters,
        "warnings": list(report.warnings),
    })
    return _clean(out) if clean else out


def write_json(report: Report, out, **_) -> None:
    """The JSON report, streamed: the document around the findings indented, each finding on one line (a fleet's
    300,000 findings are never one string). orjson writes NaN and ±Inf as null, as _clean does."""
    import orjson
    doc = as_dict(report, clean=False, findings=False)
    head, sep, tail = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode().partition('"findings": []')
    head2, sep2, tail2 = tail.partition('"pending": []')
    assert sep and sep2
    out.write(head)
    _array(out, "findings", report.findings, orjson)
    out.write(head2)
    _array(out, "pending", report.pending, orjson)
    out.write(tail2 + "\n")


def _array(out, name: str, findings: FindingsView, orjson) -> None:
    out.write(f'"{name}": [')
    chunk: list[str] = []
    for i, d in enumerate(_dicts(findings)):
        chunk.append(("\n    " if i == 0 else ",\n    ") + orjson.dumps(d).decode())
        if len(chunk) >= 1000:
            out.write("".join(chunk))
            chunk = []
    out.write("".join(chunk))
    out.write("\n  ]" if len(findings) else "]")


class _Buffer(list):
    write = list.append


@register("json", writer=write_json)
def render_json(report: Report, **options) -> str:
    buf = _Buffer()
    write_json(report, buf, **options)
    return "".join(buf)
