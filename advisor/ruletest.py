"""Offline rule-pack tests in promtool's style: input series, an evaluation time, expected findings.

A test file names packs (``rule_files``) and lists tests; each test loads its ``input_series`` (promtool
series notation: ``1+2x10``, ``_``, ``stale``) into the embedded engine at ``interval`` steps from t=0,
evaluates the rules it mentions at ``eval_time`` with optional parameter overrides (``set``), and compares:

- ``expect_findings``: for every rule listed, its findings must match the expectations one to one
  (``labels`` a subset of the finding's labels, ``severity``, ``value`` within 0.1 %, ``text_contains``
  substrings of summary + description + recommendation, ``state``: firing (default), pending — as in
  promtool, pending findings are only compared when expected — or sizing, a row of the sizing table);
- ``expect_no_findings``: the rule was evaluated and nothing fired;
- ``expect_not_evaluated``: the rule was not evaluated (optionally ``reason_contains``).

Errors in the file are ``TestFileError(path, line, field, reason)`` (exit 2); failed expectations are
``Failure``s carrying what was expected and what was got (exit 1).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .config import pack_values
from .durations import parse_duration
from .errors import AdvisorError, PackError
from .evaluate import Evaluator
from .findings import Finding, RuleResult
from .packs import Pack, load_builtin, load_pack, load_text
from .packs import yamlsafe
from .packs.loader import field_name, parse_yaml

_SCHEMA = json.loads(resources.files(__package__).joinpath("ruletest.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(_SCHEMA)


class TestFileError(PackError):
    """A test file that does not parse or validate: ``file:line: field: reason``."""

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class Expected:
    rule: str
    labels: dict[str, str] = field(default_factory=dict)
    severity: str | None = None
    value: float | None = None
    text_contains: tuple[str, ...] = ()
    state: str = "firing"

    def matches(self, f: Finding) -> bool:
        if getattr(f, "state", "firing") != self.state:
            return False
        if any(f.labels.get(k) != v for k, v in self.labels.items()):
            return False
        if self.severity and f.severity != self.severity:
            return False
        if self.value is not None and not math.isclose(f.value, self.value, rel_tol=1e-3, abs_tol=1e-9):
            return False
        text = "\n".join((f.summary, f.description, f.recommendation))
        return all(t in text for t in self.text_contains)

    def show(self) -> dict[str, Any]:
        out: dict[str, Any] = {"labels": self.labels}
        if self.severity:
            out["severity"] = self.severity
        if self.value is not None:
            out["value"] = self.value
        if self.text_contains:
            out["text_contains"] = list(self.text_contains)
        if self.state != "firing":
            out["state"] = self.state
        return out


@dataclass(frozen=True)
class TestCase:
    __test__ = False
    index: int
    name: str
    line: int
    interval: float
    eval_time: float
    series: tuple[tuple[dict[str, str], tuple[float | None, ...]], ...]
    overrides: tuple[tuple[str | None, str, Any, str], ...]
    expect_findings: tuple[Expected, ...]
    expect_no_findings: tuple[str, ...]
    expect_not_evaluated: tuple[tuple[str, str], ...]   # (rule, reason substring)

    @property
    def rule_ids(self) -> list[str]:
        ids = [e.rule for e in self.expect_findings] + list(self.expect_no_findings) + \
              [r for r, _ in self.expect_not_evaluated]
        return list(dict.fromkeys(ids))

    @property
    def title(self) -> str:
        return f"test {self.index + 1}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class TestFile:
    __test__ = False
    path: str
    packs: tuple[Pack, ...]
    tests: tuple[TestCase, ...]


@dataclass(frozen=True)
class Failure:
    rule: str
    what: str                     # "findings", "no findings", "not evaluated", "error"
    expected: Any
    got: Any


@dataclass(frozen=True)
class Outcome:
    test: TestCase
    failures: tuple[Failure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


# --- parsing ---------------------------------------------------------------------------------------------

def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path)


def _packs(names: list[str], base: Path, lines, path: str) -> tuple[Pack, ...]:
    builtin = {p.name: p for p in load_builtin()}
    out = []
    for i, name in enumerate(names):
        if "/" not in name and not name.endswith((".yaml", ".yml")):
            shipped = resources.files("perfadvisor.rules").joinpath(f"{name}.yaml")
            if name in builtin:
                out.append(builtin[name])
            elif shipped.is_file():   # a pack shipped in rules/ that is not enabled by default
                out.append(load_text(shipped.read_bytes(), f"rules/{name}.yaml"))
            else:
                raise TestFileError(path, _line(lines, ("rule_files", i)), f"rule_files[{i}]",
                                    f"unknown pack {name!r} (built-in: {', '.join(builtin)})")
            continue
        file = Path(name) if Path(name).is_absolute() else base / name
        if not file.is_file():
            raise TestFileError(path, _line(lines, ("rule_files", i)), f"rule_files[{i}]", f"no such file {file}")
        out.append(load_pack(file))
    return tuple(out)


def _duration(raw: Any, lines, path: str, where: tuple) -> float:
    try:
        return parse_duration(str(raw))
    except ValueError as e:
        raise TestFileError(path, _line(lines, where), field_name(where), str(e)) from None


def _series(raw: list, lines, path: str, base: tuple) -> tuple:
    from .promql.loaders import LoadError, parse_series, parse_values
    out = []
    for j, s in enumerate(raw):
        where = base + (j,)
        try:
            labels, rest = parse_series(s["series"])
            if rest or "__name__" not in labels:
                raise LoadError(f"expected a series like name{{label=\"value\"}}, got {s['series']!r}")
        except LoadError as e:
            raise TestFileError(path, _line(lines, where + ("series",)), field_name(where + ("series",)),
                                str(e)) from None
        try:
            values = parse_values(str(s["values"]))
        except LoadError as e:
            raise TestFileError(path, _line(lines, where + ("values",)), field_name(where + ("values",)),
                                str(e)) from None
        out.append((labels, tuple(values)))
    return tuple(out)


def parse_text(text: str | bytes, path: str, base: Path | None = None) -> TestFile:
    """Parse and validate a test file's text; `path` is used in messages."""
    try:
        data, lines = parse_yaml(text, path)
    except PackError as e:
        raise TestFileError(e.path, e.line, e.field, e.reason) from None
    if not isinstance(data, dict):
        raise TestFileError(path, 1, "(top)", "a test file is a mapping with rule_files and tests")
    errors = list(_VALIDATOR.iter_errors(data))
    if errors:
        e = max(errors, key=lambda e: len(e.absolute_path))
        if e.validator == "oneOf" and e.context:
            e = max(e.context, key=lambda c: len(c.absolute_path))
        where = tuple(e.absolute_path)
        msg = e.message
        if e.validator == "additionalProperties":
            msg = msg.replace("Additional properties are not allowed", "unknown field(s)")
        raise TestFileError(path, _line(lines, where), field_name(where) or "(top)", msg)
    packs = _packs(data["rule_files"], base or Path(path).parent, lines, path)
    known = {r.id for p in packs for r in p.rules}
    default_interval = _duration(data.get("evaluation_interval", "1m"), lines, path, ("evaluation_interval",))
    tests = []
    for i, t in enumerate(data["tests"]):
        b = ("tests", i)
        for key in ("expect_findings", "expect_no_findings", "expect_not_evaluated"):
            for j, item in enumerate(t.get(key) or []):
                rid = item["rule"] if isinstance(item, dict) else item
                if rid not in known:
                    sub = b + (key, j) + (("rule",) if isinstance(item, dict) else ())
                    raise TestFileError(path, _line(lines, sub), field_name(sub),
                                        f"unknown rule {rid!r} (not in {', '.join(p.name for p in packs)})")
        overrides = tuple((k.rpartition(".")[0] or None, k.rpartition(".")[2], v, k)
                          for k, v in (t.get("set") or {}).items())
        for o in overrides:
            try:
                pack_values(list(packs), (o,))
            except AdvisorError as e:
                raise TestFileError(path, _line(lines, b + ("set", o[3])), field_name(b + ("set",)), str(e)) from None
        tests.append(TestCase(
            index=i, name=t.get("name", ""), line=_line(lines, b) or 0,
            interval=_duration(t.get("interval"), lines, path, b + ("interval",)) if "interval" in t
            else default_interval,
            eval_time=_duration(t["eval_time"], lines, path, b + ("eval_time",)),
            series=_series(t["input_series"], lines, path, b + ("input_series",)), overrides=overrides,
            expect_findings=tuple(Expected(e["rule"], dict(e.get("labels") or {}), e.get("severity"),
                                           e.get("value"), tuple(e.get("text_contains") or ()),
                                           e.get("state", "firing"))
                                  for e in t.get("expect_findings") or ()),
            expect_no_findings=tuple(t.get("expect_no_findings") or ()),
            expect_not_evaluated=tuple((x, "") if isinstance(x, str) else (x["rule"], x.get("reason_contains", ""))
                                       for x in t.get("expect_not_evaluated") or ())))
    return TestFile(path, packs, tuple(tests))


def parse_file(path: str | Path) -> TestFile:
    try:
        data = yamlsafe.read(path)
    except PackError as e:
        raise TestFileError(e.path, e.line, e.field, e.reason) from None
    return parse_text(data, str(path))


# --- running ---------------------------------------------------------------------------------------------

def storage_for(test: TestCase):
    """The test's input series in a fresh Storage, sample n at n × interval (ms from 0)."""
    from .promql.storage import Storage
    st = Storage()
    step = int(round(test.interval * 1000))
    for labels, values in test.series:
        pts = [(n * step, v) for n, v in enumerate(values) if v is not None]
        st.add_many(labels, [t for t, _ in pts], [v for _, v in pts])
    return st


def run_test(tf: TestFile, test: TestCase) -> Outcome:
    """Evaluate the rules the test mentions at its eval_time and compare with its expectations."""
    from .sources.embedded import EmbeddedSource
    from .sources.base import SourceError
    packs = list(tf.packs)
    values = pack_values(packs, test.overrides)
    wanted = set(test.rule_ids)
    rules = [rr for p in packs for rr in p.resolved(values[p.name]) if rr.rule.id in wanted]
    try:
        results = Evaluator(EmbeddedSource(storage_for(test)), now=test.eval_time, concurrency=1).run(rules)
    except SourceError as e:
        return Outcome(test, (Failure("*", "error", "evaluation", str(e)),))
    return Outcome(test, tuple(compare(test, {r.rule.id: r for r in results})))


def _got(f: Finding) -> dict[str, Any]:
    out = {"labels": f.labels, "severity": f.severity, "value": f.value, "summary": f.summary}
    if f.state != "firing":
        out["state"] = f.state
    return out


@dataclass(frozen=True)
class _Row:
    """A sizing-table row, shaped like a finding for matching."""

    labels: dict[str, str]
    value: float
    severity: str
    summary: str = ""
    description: str = ""
    recommendation: str = ""
    state: str = "sizing"


def _candidates(r: RuleResult, states: set[str]) -> list:
    out: list = [f for f in r.findings if f.state == "firing" or f.state in states]
    if "sizing" in states:
        out += [_Row(row.target, row.value, r.rule.severity) for row in r.sizing_rows]
    return out


def _state(r: RuleResult) -> str:
    if not r.evaluated:
        return f"not evaluated: {r.reason}"
    firing = sum(1 for f in r.findings if f.state == "firing")
    pending = len(r.findings) - firing
    return (f"evaluated, {firing} finding(s)" + (f", {pending} pending" if pending else "")
            + (f" ({r.reason})" if r.reason else ""))


def compare(test: TestCase, results: dict[str, RuleResult]) -> list[Failure]:
    failures = []
    by_rule: dict[str, list[Expected]] = {}
    for e in test.expect_findings:
        by_rule.setdefault(e.rule, []).append(e)
    for rid, exps in by_rule.items():
        r = results[rid]
        left = _candidates(r, {e.state for e in exps})
        shown = list(left)
        unmatched = []
        for e in exps:
            hit = next((f for f in left if e.matches(f)), None)
            if hit is None:
                unmatched.append(e)
            else:
                left.remove(hit)
        if unmatched or left or not r.evaluated:
            got = [_got(f) for f in shown] if r.evaluated else _state(r)
            failures.append(Failure(rid, "findings", [e.show() for e in exps], got))
    for rid in test.expect_no_findings:
        r = results[rid]
        firing = [f for f in r.findings if f.state == "firing"]
        if not r.evaluated or firing:
            failures.append(Failure(rid, "no findings", "evaluated, 0 findings",
                                    [_got(f) for f in firing] if r.evaluated else _state(r)))
    for rid, reason in test.expect_not_evaluated:
        r = results[rid]
        if r.evaluated or reason not in r.reason:
            failures.append(Failure(rid, "not evaluated",
                                    "not evaluated" + (f": …{reason}…" if reason else ""), _state(r)))
    return failures


def run_file(tf: TestFile, name_filter=None) -> list[Outcome]:
    return [run_test(tf, t) for t in tf.tests if name_filter is None or name_filter(t)]


def coverage(files: list[TestFile]) -> dict[str, dict[str, int]]:
    """Per rule id: how many tests expect it to fire, stay quiet, or be not evaluated."""
    out: dict[str, dict[str, int]] = {}
    for tf in files:
        for t in tf.tests:
            for rid in {e.rule for e in t.expect_findings}:
                out.setdefault(rid, {"firing": 0, "quiet": 0, "not_evaluated": 0})["firing"] += 1
            for rid in set(t.expect_no_findings):
                out.setdefault(rid, {"firing": 0, "quiet": 0, "not_evaluated": 0})["quiet"] += 1
            for rid in {r for r, _ in t.expect_not_evaluated}:
                out.setdefault(rid, {"firing": 0, "quiet": 0, "not_evaluated": 0})["not_evaluated"] += 1
    return out


def coverage_gaps(files: list[TestFile]) -> list[str]:
    """``rule-id (pack): no firing case`` (and/or not-firing) for every rule of the files' packs that lacks one."""
    cov = coverage(files)
    packs = {p.name: p for tf in files for p in tf.packs}
    out = []
    for p in packs.values():
        for r in p.rules:
            c = cov.get(r.id, {})
            lack = [what for key, what in (("firing", "firing"), ("quiet", "not-firing")) if not c.get(key)]
            if lack:
                out.append(f"{r.id} ({p.name}): no {' and no '.join(lack)} case")
    return out
