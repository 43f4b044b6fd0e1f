"""PromQL parsing, the one module that imports ``promql-parser``: syntax checks, the metric names an
expression selects, and small frozen nodes for the engine.

The Rust parser's operator tokens only compare by ``str(op)``, some inputs panic inside the binding
(a ``BaseException``), and ``str()`` of an AST is not a faithful round trip, so everything the engine
needs is copied out here once and the binding's objects never leave this module.
"""
from __future__ import annotations

from dataclasses import dataclass
import re
from datetime import timedelta

import promql_parser as pp


class ParseError(ValueError):
    """The query is not valid PromQL (the CLI prints it as ``parse error: …``)."""


@dataclass(frozen=True)
class Num:
    val: float


@dataclass(frozen=True)
class Str:
    val: str


@dataclass(frozen=True)
class Selector:
    name: str | None
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value); op in = != =~ !~
    or_matchers: tuple[tuple[tuple[str, str, str], ...], ...]
    offset_ms: int
    at: object  # None, "start", "end" or an int (ms)


@dataclass(frozen=True)
class MatrixSel:
    sel: Selector
    range_ms: int


@dataclass(frozen=True)
class Subquery:
    expr: object
    range_ms: int
    step_ms: int | None
    offset_ms: int
    at: object


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple


@dataclass(frozen=True)
class Agg:
    op: str
    expr: object
    param: object
    without: bool | None  # None: no by/without clause
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: object
    rhs: object
    card: str  # one-to-one, many-to-one, one-to-many, many-to-many
    on: bool | None  # None: no on/ignoring
    match_labels: tuple[str, ...]
    include: tuple[str, ...]
    return_bool: bool


@dataclass(frozen=True)
class Neg:
    expr: object


def _ms(d: timedelta | None) -> int:
    if d is None:
        return 0
    return d.days * 86_400_000 + d.seconds * 1000 + d.microseconds // 1000


_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
_CARD = {"VectorMatchCardinality.OneToOne": "one-to-one", "VectorMatchCardinality.ManyToOne": "many-to-one",
         "VectorMatchCardinality.OneToMany": "one-to-many", "VectorMatchCardinality.ManyToMany": "many-to-many"}


def _matchers(ms) -> tuple[tuple[str, str, str], ...]:
    return tuple((m.name, _MATCH_OPS[str(m.op)], m.value) for m in ms)


_AT_RE = re.compile(r"at: Some\(\s*At\(\s*SystemTime \{\s*tv_sec: (-?\d+),\s*tv_nsec: (\d+)")


def _at(node) -> object:
    at = node.at
    if at is None:
        return None
    kind = str(at.type)
    if kind.endswith("Start"):
        return "start"
    if kind.endswith("End"):
        return "end"
    # Reading ``at.at`` panics for times before the epoch, so the value is taken from the debug repr;
    # a subquery's own ``at`` field is printed after its inner expression, hence the last match.
    found = _AT_RE.findall(repr(node))
    if not found:
        raise ParseError("cannot read @ modifier")
    sec, nsec = found[-1]
    ms = int(sec) * 1000 + int(nsec) // 1_000_000
    if abs(ms) >= 1 << 62:
        raise ParseError(f"timestamp out of bounds for @ modifier: {sec}")
    return ms


def _selector(vs) -> Selector:
    m = vs.matchers
    return Selector(vs.name, _matchers(m.matchers), tuple(_matchers(g) for g in m.or_matchers),
                    _ms(vs.offset), _at(vs))


def convert(e) -> object:
    """The engine's node tree for one promql-parser expression."""
    if isinstance(e, pp.ParenExpr):
        return convert(e.expr)
    if isinstance(e, pp.NumberLiteral):
        return Num(float(e.val))
    if isinstance(e, pp.StringLiteral):
        return Str(e.val)
    if isinstance(e, pp.VectorSelector):
        return _selector(e)
    if isinstance(e, pp.MatrixSelector):
        return MatrixSel(_selector(e.vector_selector), _ms(e.range))
    if isinstance(e, pp.SubqueryExpr):
        return Subquery(convert(e.expr), _ms(e.range), _ms(e.step) if e.step is not None else None,
                        _ms(e.offset), _at(e))
    if isinstance(e, pp.UnaryExpr):
        return Neg(convert(e.expr))
    if isinstance(e, pp.Call):
        return Call(e.func.name, tuple(convert(a) for a in e.args))
    if isinstance(e, pp.AggregateExpr):
        mod = e.modifier
        without = None if mod is None else str(mod.type).endswith("Without")
        labels = tuple(mod.labels) if mod is not None else ()
        return Agg(str(e.op), convert(e.expr), convert(e.param) if e.param is not None else None, without, labels)
    if isinstance(e, pp.BinaryExpr):
        mod = e.modifier
        card, on, labels, include, rb = "one-to-one", None, (), (), False
        if mod is not None:
            card = _CARD[str(mod.card)]
            if mod.matching is not None:
                on = str(mod.matching.type).endswith("Include")
                labels = tuple(mod.matching.labels)
            include = tuple(mod.group_labels or ())
            rb = bool(mod.return_bool)
        op = str(e.op)
        if op in ("and", "or", "unless"):
            card = "many-to-many"
        return Binary(op, convert(e.lhs), convert(e.rhs), card, on, labels, include, rb)
    raise ParseError(f"unsupported expression {type(e).__name__}")


def _raw(query: str):
    """The binding's tree; every failure (including binding panics) becomes a ParseError."""
    try:
        return pp.parse(query)
    except BaseException as exc:  # pyo3 PanicException derives from BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ParseError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from None


def check(query: str) -> None:
    """Raise ParseError unless `query` is valid PromQL (what a server would accept, function names included)."""
    _raw(query)


def metric_names(query: str) -> list[str]:
    """Metric names an expression selects, in order of appearance; [] when it does not parse."""
    names: list[str] = []

    def walk(node) -> None:
        if isinstance(node, pp.VectorSelector):
            name = node.name or next((m.value for m in getattr(node.matchers, "matchers", [])
                                      if m.name == "__name__"), None)
            if name and name not in names:
                names.append(name)
        for attr in ("lhs", "rhs", "expr", "args", "param", "vector_selector"):
            child = getattr(node, attr, None)
            for c in (child if isinstance(child, (list, tuple)) else [child]):
                if c is not None and not isinstance(c, (str, int, float)):
                    walk(c)
    try:
        walk(_raw(query))
    except ParseError:
        return []
    return names


@dataclass(frozen=True)
class RangeWindow:
    """A range a query reads: ``rate(x[5m])`` is (function "rate", metric "x", 300 s). A selector's
    ``subquery_step`` is None, a subquery's its step in seconds (``max_over_time(rate(x[1m])[1h:30s])`` has
    one for [1h:30s] with step 30), 0 when it has none (the evaluation interval)."""

    function: str | None     # the function the range is an argument of (None: a bare range)
    metric: str | None       # the selected metric (None for a subquery or a selector without a name)
    seconds: float
    subquery_step: float | None = None


def range_windows(query: str) -> list[RangeWindow]:
    """Every range selector and subquery window in `query`, in order of appearance; [] when it does not parse."""
    try:
        tree = parse(query)
    except ParseError:
        return []
    out: list[RangeWindow] = []

    def walk(node, fn: str | None) -> None:
        if isinstance(node, MatrixSel):
            out.append(RangeWindow(fn, node.sel.name or next(
                (v for k, op, v in node.sel.matchers if k == "__name__" and op == "="), None), node.range_ms / 1000))
        elif isinstance(node, Subquery):
            out.append(RangeWindow(fn, None, node.range_ms / 1000,
                                   node.step_ms / 1000 if node.step_ms is not None else 0.0))
            walk(node.expr, None)
        elif isinstance(node, Call):
            for a in node.args:
                walk(a, node.name)
        elif isinstance(node, Agg):
            walk(node.expr, None)
            walk(node.param, None)
        elif isinstance(node, Binary):
            walk(node.lhs, None)
            walk(node.rhs, None)
        elif isinstance(node, Neg):
            walk(node.expr, None)
    walk(tree, None)
    return out


def parse(query: str) -> object:
    """Parse a PromQL expression into the engine's nodes; every failure becomes a ParseError."""
    tree = _raw(query)
    try:
        return convert(tree)
    except ParseError:
        raise
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ParseError(str(exc) or type(exc).__name__) from None
