"""The scenario harness: what a scenario expects of an advisor report, how a report is judged against it, and the
figures (problems detected, false positives on healthy baselines) the suite reports.

A scenario induces one problem (or none, for a healthy baseline) and declares which rule must report which target
(`Expect`: firing, or pending where the rule's `for` cannot have passed yet) and which rule must stay quiet on
which target (`Quiet`). Judging reads the JSON report as a user's script would.
"""
from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from click.testing import CliRunner

from perfadvisor.advisor.cli import cli

REPO = Path(__file__).resolve().parents[2]
LEVELS = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class Expect:
    """A finding that must be reported: `rule` on a target whose labels include `target`."""

    rule: str
    target: dict[str, str]
    states: tuple[str, ...] = ("firing",)
    text: str | None = None             # regex that summary + recommendation must contain
    not_text: str | None = None         # regex they must not contain (a cause the evidence contradicts)
    min_confidence: str | None = None   # "medium" | "high"
    check: Callable[[dict], str | None] | None = None   # anything else: returns what is wrong, or None
    what: str = ""                      # the problem in words, for the docs and failure messages

    def describe(self) -> str:
        return f"{self.rule} {_fmt(self.target)} {'/'.join(self.states)}"


@dataclass(frozen=True)
class Quiet:
    """`rule` (a glob: scaling-*) must report nothing on a target whose labels include `target`; a finding whose
    `cause` matches `unless_cause` is allowed (it names the real cause, e.g. a thread leak behind memory growth)."""

    rule: str
    target: dict[str, str]
    unless_cause: str | None = None
    what: str = ""

    def describe(self) -> str:
        return f"{self.rule} {_fmt(self.target)} quiet" + (f" unless caused by /{self.unless_cause}/"
                                                             if self.unless_cause else "")


@dataclass(frozen=True)
class Scenario:
    id: str
    induces: str
    expect: tuple[Expect, ...] = ()
    quiet: tuple[Quiet, ...] = ()
    skipped: str | None = None          # why it could not be set up here

    @property
    def healthy(self) -> bool:
        return not self.expect


@dataclass
class Verdict:
    scenario: str
    healthy: bool
    detected: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def passed(self) -> bool:
        return not self.missed and not self.false_positives

    def explain(self) -> str:
        lines = [f"scenario {self.scenario}: " + ("skipped: " + self.skipped if self.skipped else
                                                  "passed" if self.passed else "FAILED")]
        lines += [f"  detected        {d}" for d in self.detected]
        lines += [f"  MISSED          {m}" for m in self.missed]
        lines += [f"  FALSE POSITIVE  {f}" for f in self.false_positives]
        return "\n".join(lines)


def _fmt(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def all_findings(report: dict) -> list[dict]:
    """Firing and pending findings, each with its state: `findings` (state "firing" unless it says otherwise)
    plus `pending`, where a report lists pending findings apart."""
    out, seen = [], set()
    for source, default in (("findings", "firing"), ("pending", "pending")):
        for f in report.get(source) or []:
            f = {**f, "state": f.get("state") or default}
            key = (f["rule_id"], json.dumps(f.get("target"), sort_keys=True), f["state"])
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _labels(f: dict) -> dict[str, str]:
    return {**(f.get("labels") or {}), **(f.get("target") or {})}


def matching(findings: list[dict], rule: str, target: dict[str, str]) -> list[dict]:
    return [f for f in findings if fnmatch.fnmatchcase(f["rule_id"], rule)
            and all(_labels(f).get(k) == v for k, v in target.items())]


def _problem(e: Expect, f: dict) -> str | None:
    """What keeps finding `f` from satisfying `e`, or None."""
    if f["state"] not in e.states:
        return f"state {f['state']}, expected {'/'.join(e.states)}"
    text = " ".join(((f.get("summary") or "") + " " + (f.get("recommendation") or "")).split())
    if e.text and not re.search(e.text, text):
        return f"text lacks /{e.text}/: {text[:300]!r}"
    if e.not_text and re.search(e.not_text, text):
        return f"text says /{e.not_text}/: {text[:300]!r}"
    if e.min_confidence:
        level = (f.get("confidence") or {}).get("level", "low")
        if LEVELS.get(level, 0) < LEVELS[e.min_confidence]:
            return f"confidence {level} ({(f.get('confidence') or {}).get('score')}), expected ≥ {e.min_confidence}"
    return e.check(f) if e.check else None


def judge(scenario: Scenario, report: dict) -> Verdict:
    v = Verdict(scenario.id, scenario.healthy, skipped=scenario.skipped)
    if scenario.skipped:
        return v
    findings = all_findings(report)
    for e in scenario.expect:
        hits = matching(findings, e.rule, e.target)
        problems = [p for p in (_problem(e, f) for f in hits)]
        if hits and None in problems:
            v.detected.append(e.describe())
        elif hits:
            v.missed.append(f"{e.describe()}: reported, but {problems[0]}")
        else:
            v.missed.append(f"{e.describe()}: not reported ({_why_not(report, e.rule)})")
    for q in scenario.quiet:
        for f in matching(findings, q.rule, q.target):
            cause = f.get("cause") or ""
            if q.unless_cause and re.search(q.unless_cause, cause):
                continue
            v.false_positives.append(f"{f['rule_id']} {_fmt(f.get('target') or {})} {f['state']}: "
                                     f"{' '.join((f.get('summary') or '').split())}"
                                     + (f" (cause: {cause})" if q.unless_cause else ""))
    return v


def _why_not(report: dict, rule: str) -> str:
    rules = [r for r in report.get("rules", []) if fnmatch.fnmatchcase(r["id"], rule)]
    if not rules:
        return "rule not in the report"
    r = rules[0]
    if not r.get("evaluated"):
        return f"not evaluated: {r.get('reason')}"
    return f"evaluated on {r.get('targets')} target(s), {r.get('findings')} finding(s) elsewhere"


def figures(verdicts: list[Verdict]) -> dict:
    """The suite's measured figures, and every scenario's verdict."""
    run = [v for v in verdicts if not v.skipped]
    healthy = [v for v in run if v.healthy]
    return {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": _commit(),
        "scenarios_run": len(run),
        "scenarios_skipped": len(verdicts) - len(run),
        "scenarios_passed": sum(v.passed for v in run),
        "problems_total": sum(len(v.detected) + len(v.missed) for v in run),
        "problems_detected": sum(len(v.detected) for v in run),
        "false_positives": sum(len(v.false_positives) for v in run),
        "healthy_baselines": len(healthy),
        "healthy_baselines_quiet": sum(not v.false_positives for v in healthy),
        "scenarios": [asdict(v) for v in verdicts],
    }


def summary_line(fig: dict) -> str:
    return (f"{fig['scenarios_run']} scenarios run ({fig['scenarios_passed']} passed, {fig['scenarios_skipped']} "
            f"skipped): {fig['problems_detected']}/{fig['problems_total']} problems detected, "
            f"{fig['false_positives']} false positive(s); {fig['healthy_baselines_quiet']}/"
            f"{fig['healthy_baselines']} healthy baselines quiet")


def _commit() -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True, timeout=10)
        return r.stdout.strip() or None
    except OSError:
        return None


# --- running the advisor ----------------------------------------------------------------------------------------

def supports_time() -> bool:
    """Whether `advisor run` takes --time (evaluate as of an instant)."""
    return any(p.name == "time" for p in cli.commands["run"].params)


def advisor_report(prom_url: str, *sets: str, at: float | None = None) -> dict:
    """`advisor run --prometheus URL --format json` with the built-in packs, as a user runs it; `at` becomes
    --time where the advisor has it (otherwise it evaluates now, and the caller's data must end now)."""
    args = ["run", "--prometheus", prom_url, "--format", "json"]
    for s in sets:
        args += ["--set", s]
    if at is not None and supports_time():
        args += ["--time", str(int(at))]
    result = CliRunner().invoke(cli, args, catch_exceptions=False,
                                env={"PERFADVISOR_PROMETHEUS_URL": None, "PERFADVISOR_CONFIG": None})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
