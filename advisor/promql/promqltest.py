"""A runner for Prometheus' promqltest files (``load``/``clear``/``eval`` scripts, see its FORMAT.md).

Out of scope, so skipped with a reason: evals using experimental syntax (``anchored``, ``smoothed``,
``fill``, ``info()``, ``limitk``, duration arithmetic), native-histogram functions, and evals whose expected
output holds native histograms (``{{...}}``). Native samples in ``load`` blocks are not loaded (the float
series beside them are), and ``load_with_nhcb`` loads only the classic series; an eval whose selectors match
such a native series is still run, passes if the result matches, and is otherwise counted as a skip naming
the series. Annotation expectations (``expect warn``/``info``/``no_warn``/``no_info``) are not checked; the
evals carrying them still have their results checked and are counted in ``annotations_ignored``.

Instant evals returning a vector must also agree with a range query ending at the same time, as in
Prometheus' own runner. Run it directly with ``python -m perfadvisor.advisor.promql.promqltest FILE... [-v]``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import engine
from .loaders import LoadError, NativeHistogramData, load_block, parse_duration, parse_float, parse_series, \
    parse_values
from .parse import ParseError, Selector, parse
from .storage import Storage
from .values import EvalError

EPSILON = 1e-6
MIN_NORMAL = 2.2250738585072014e-308

OUT_OF_SCOPE = [
    (re.compile(r"\banchored\b|\bsmoothed\b"), "experimental anchored/smoothed modifiers"),
    (re.compile(r"\bfill(_left|_right)?\s*\("), "experimental fill modifiers"),
    (re.compile(r"\binfo\s*\("), "experimental info() function"),
    (re.compile(r"\blimitk\b|\blimit_ratio\b"), "experimental limitk/limit_ratio"),
    (re.compile(r"\[[^\]]*[0-9smhdwy)]\s*[-+*/%^]\s*[0-9(a-z]"),
     "experimental duration expressions"),
    (re.compile(r"\bhistogram_(count|sum|avg|stddev|stdvar)\s*\("), "native histogram functions"),
]
COMMANDS = ("load", "load_with_nhcb", "clear", "eval", "eval_fail", "eval_ordered", "eval_warn", "eval_info")


@dataclass
class Outcome:
    line: int
    query: str
    status: str  # pass, skip, fail
    reason: str = ""


@dataclass
class FileReport:
    path: Path
    outcomes: list[Outcome] = field(default_factory=list)
    annotations_ignored: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        return (f"{self.path.name}: pass={self.count('pass')} skip={self.count('skip')} "
                f"fail={self.count('fail')} (annotation expectations ignored on {self.annotations_ignored})")


def almost_equal(a: float, b: float, eps: float = EPSILON) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < MIN_NORMAL:
        return diff < eps * MIN_NORMAL
    return diff / min(abs_sum, 1.7976931348623157e308) < eps


def _blocks(lines: list[str]):
    """Yield (line_no, command line, body lines) for each command."""
    i = 0
    while i < len(lines):
        raw = lines[i]
        s = raw.strip()
        if not s or s.startswith("#"):
            i += 1
            continue
        start = i
        body = []
        i += 1
        while i < len(lines):
            t = lines[i].strip()
            if not t:
                break
            if t.split()[0] in COMMANDS and not lines[i][:1].isspace():
                break
            if not t.startswith("#"):
                body.append(t)
            i += 1
        yield start + 1, s, body


_INSTANT = re.compile(r"^(\S+)\s+instant\s+at\s+(\S+)\s+(.+)$")
_RANGE = re.compile(r"^(\S+)\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$")


class Runner:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.storage = Storage()
        self.native = Storage()  # label sets of native histogram series (never evaluated)
        self.report = FileReport(self.path)

    def run(self) -> FileReport:
        lines = self.path.read_text().splitlines()
        for lineno, cmd, body in _blocks(lines):
            word = cmd.split()[0]
            if word in ("load", "load_with_nhcb"):
                self._load(word, cmd, body)
            elif word == "clear":
                self.storage = Storage()
                self.native = Storage()
            else:
                self._eval(lineno, cmd, body)
        return self.report

    def _load(self, word: str, cmd: str, body: list[str]) -> None:
        step = parse_duration(cmd.split()[1])
        for line in body:
            try:
                load_block(self.storage, step, [line])
            except NativeHistogramData:
                labels, _ = parse_series(line)
                self.native.add(labels, 0, 0.0)
            if word == "load_with_nhcb":
                # The converted series is named without _bucket and has no le label.
                labels, _ = parse_series(line)
                name = labels.get("__name__", "")
                if name.endswith("_bucket"):
                    nh = {k: v for k, v in labels.items() if k != "le"}
                    nh["__name__"] = name[: -len("_bucket")]
                    self.native.add(nh, 0, 0.0)

    def _skip_reason(self, query: str, body: list[str]) -> str | None:
        for rx, why in OUT_OF_SCOPE:
            if rx.search(query):
                return why
        if any("{{" in b for b in body):
            return "expects native histogram results"
        try:
            tree = parse(query)
        except ParseError:
            return None
        for sel in _selectors(tree):
            ms = list(sel.matchers)
            if sel.name and not any(m[0] == "__name__" for m in ms):
                ms.append(("__name__", "=", sel.name))
            hit = self.native.select(ms, sel.or_matchers)
            if hit:
                return f"selects native histogram series {self.native.labels[hit[0]].get('__name__', '')}"
        return None

    def _eval(self, lineno: int, cmd: str, body: list[str]) -> None:
        m = _RANGE.match(cmd)
        im = _INSTANT.match(cmd) if not m else None
        if not m and not im:
            self.report.outcomes.append(Outcome(lineno, cmd, "fail", "cannot parse eval command"))
            return
        word = (m or im).group(1)
        query = m.group(5) if m else im.group(3)
        expect_fail = word == "eval_fail"
        ordered = word == "eval_ordered"
        fail_msg = fail_rx = None
        expect_string = None
        range_vec = None
        annotations = word in ("eval_warn", "eval_info")
        series_lines = []
        for b in body:
            if b.startswith("expect "):
                parts = b.split(None, 2)
                kind = parts[1]
                rest = parts[2] if len(parts) > 2 else ""
                if kind == "fail":
                    expect_fail = True
                    if rest.startswith("msg:"):
                        fail_msg = rest[4:].strip()
                    elif rest.startswith("regex:"):
                        fail_rx = rest[6:].strip()
                elif kind == "ordered":
                    ordered = True
                elif kind == "string":
                    expect_string = rest.strip()[1:-1]
                elif kind == "range":
                    rm = re.match(r"vector\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)", rest)
                    range_vec = tuple(parse_duration(x) for x in rm.groups())
                else:
                    annotations = True
            else:
                series_lines.append(b)
        if annotations:
            self.report.annotations_ignored += 1
        reason = self._skip_reason(query, body)
        if reason and not reason.startswith("selects native"):
            self.report.outcomes.append(Outcome(lineno, query, "skip", reason))
            return
        # An eval that selects native histogram series is still run; only a mismatch is a skip.
        n_before = len(self.report.outcomes)
        self._run_eval(lineno, query, m, im, expect_fail, fail_msg, fail_rx, ordered, expect_string, range_vec,
                       series_lines)
        last = self.report.outcomes[-1]
        if reason and len(self.report.outcomes) > n_before and last.status == "fail":
            last.status, last.reason = "skip", f"{reason} (result differs: {last.reason[:120]})"

    def _run_eval(self, lineno, query, m, im, expect_fail, fail_msg, fail_rx, ordered, expect_string, range_vec,
                  series_lines) -> None:
        try:
            if m:
                start, end, step = (parse_duration(x) for x in m.group(2, 3, 4))
                result = engine.range_query(self.storage, query, start, end, step)
            else:
                start = end = parse_duration(im.group(2))
                step = 0
                result = engine.instant(self.storage, query, start)
        except Exception as exc:  # noqa: BLE001 - any engine failure is an outcome
            if not isinstance(exc, (ParseError, EvalError, LoadError)):
                exc = EvalError(f"internal error {type(exc).__name__}: {exc}")
            if not expect_fail:
                self._fail(lineno, query, f"unexpected error: {exc}")
            elif fail_msg is not None and fail_msg.strip('"') != str(exc):
                self._fail(lineno, query, f"error {str(exc)!r} != expected {fail_msg!r}")
            elif fail_rx is not None and not re.search(fail_rx.strip('"'), str(exc)):
                self._fail(lineno, query, f"error {str(exc)!r} does not match {fail_rx!r}")
            else:
                self._pass(lineno, query)
            return
        if expect_fail:
            self._fail(lineno, query, "expected an error")
            return
        try:
            err = self._compare(result, series_lines, start, step, ordered, expect_string, range_vec)
        except (LoadError, ValueError) as exc:
            err = f"cannot parse expectation: {exc}"
        if not err and not m and result.kind == "vector":
            err = self._range_mode_differs(query, start, result)
        if err:
            self._fail(lineno, query, err)
        else:
            self._pass(lineno, query)

    def _range_mode_differs(self, query: str, t: int, result) -> str | None:
        """Like Prometheus' runner: the instant result must equal a range query's last step (t-1m..t)."""
        try:
            rng = engine.range_query(self.storage, query, t - 60_000, t, 60_000)
        except Exception as exc:  # noqa: BLE001
            return f"range mode failed: {exc}"
        got = {tuple(sorted(lb.items())): v for lb, pts in rng.series for ts, v in pts if ts == t}
        exp = {tuple(sorted(lb.items())): pts[0][1] for lb, pts in result.series}
        if got.keys() != exp.keys() or any(not almost_equal(exp[k], got[k]) for k in exp):
            return f"range mode differs: {list(got.items())[:3]} vs instant {list(exp.items())[:3]}"
        return None

    def _pass(self, lineno, query):
        self.report.outcomes.append(Outcome(lineno, query, "pass"))

    def _fail(self, lineno, query, why):
        self.report.outcomes.append(Outcome(lineno, query, "fail", why))

    def _compare(self, result, lines, start, step, ordered, expect_string, range_vec) -> str | None:
        if expect_string is not None:
            if result.kind != "string" or result.series[0][1][0][1] != expect_string:
                return f"expected string {expect_string!r}, got {result}"
            return None
        if result.kind == "scalar":
            if len(lines) != 1:
                return f"expected {lines}, got scalar"
            exp = parse_float(lines[0])
            got = result.series[0][1][0][1]
            return None if almost_equal(exp, got) else f"scalar: expected {exp}, got {got}"
        expected = []
        for ln in lines:
            labels, rest = parse_series(ln)
            vals = parse_values(rest)
            expected.append((labels, vals))
        got = {tuple(sorted(lb.items())): pts for lb, pts in result.series}
        if len(expected) != len(got):
            return f"expected {len(expected)} series, got {len(got)}: {_fmt(result.series)}"
        if ordered:
            for n, ((lb, _), (glb, _)) in enumerate(zip(expected, result.series)):
                if lb != glb:
                    return f"order differs at {n}: expected {lb}, got {glb}"
        for labels, vals in expected:
            key = tuple(sorted(labels.items()))
            if key not in got:
                return f"missing series {labels}; got {_fmt(result.series)}"
            pts = got[key]
            if result.kind == "matrix":
                t0, st = (range_vec[0], range_vec[2]) if range_vec else (start, step)
                exp_pts = [(t0 + i * st, v) for i, v in enumerate(vals) if v is not None]
                if range_vec is None and step == 0 and result.kind == "matrix":
                    exp_pts = exp_pts
                if len(exp_pts) != len(pts):
                    return f"{labels}: expected {exp_pts}, got {pts}"
                for (et, ev), (gt, gv) in zip(exp_pts, pts):
                    if et != gt or not almost_equal(ev, gv):
                        return f"{labels}: expected {exp_pts}, got {pts}"
            else:
                if len(vals) != 1 or vals[0] is None or not almost_equal(vals[0], pts[0][1]):
                    return f"{labels}: expected {vals}, got {pts[0][1]}"
        return None


def _selectors(node):
    if isinstance(node, Selector):
        yield node
        return
    for value in vars(node).values():
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if hasattr(item, "__dataclass_fields__"):
                yield from _selectors(item)


def _fmt(series) -> str:
    return "; ".join(f"{lb} {[v for _, v in pts][:6]}" for lb, pts in series[:6])


def run_file(path: Path) -> FileReport:
    """Run every command of one promqltest file."""
    return Runner(path).run()


def main(argv: list[str] | None = None) -> int:
    """Print pass/skip/fail counts per file (and failures, skips with -v); exit 1 on any failure."""
    import sys
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args
    failed = 0
    for name in (a for a in args if a != "-v"):
        report = run_file(Path(name))
        print(report.summary())
        failed += report.count("fail")
        for o in report.outcomes:
            if o.status == "fail" or (verbose and o.status == "skip"):
                print(f"  {o.status} line {o.line}: {o.query}\n      {o.reason}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
