"""The jinja2 sandbox rule texts render in: immutable, and bounded in time, output and the sizes it builds.

jinja2's ``ImmutableSandboxedEnvironment`` keeps templates away from Python internals but not from the machine:
``{{ 7**99999999 }}``, ``{{ 'x' * 1500000000 }}`` or two nested ``range(100000)`` loops hang or exhaust the
process. Here every render gets a budget (``LIMITS``): ranges, loop iterations, the size of any string or list
an operation builds, integer size, the text one render writes (``{% set %}`` blocks and macros included), a
count of operations and a wall-clock limit. Going past one raises ``LimitError``; reaching for internals raises
``SecurityError`` at once (never an undefined value that renders empty).

Loops, writes and ``~`` are routed through the budget by rewriting the parsed template (``_Guards``); operators,
calls, attribute look-ups and filters through the sandbox's hooks and wrapped filters.
"""
from __future__ import annotations

import contextvars
import functools
import itertools
import re
import string
import time
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer


@dataclass(frozen=True)
class Limits:
    range_items: int = 1000             # range(…) in a template
    loop_iterations: int = 10_000       # all loops of one render together
    text_chars: int = 64 * 1024         # a string or list an operation builds, and all the text one render writes
    int_bits: int = 4096                # integers a template computes (about 1,233 digits)
    operations: int = 100_000           # look-ups, calls, operators, iterations and writes of one render
    seconds: float = 1.0                # wall clock of one render


LIMITS = Limits()


class LimitError(jinja2.TemplateRuntimeError):
    """A template went past one of ``LIMITS``."""


class _Budget:
    __slots__ = ("ops", "iterations", "written", "deadline")

    def __init__(self) -> None:
        self.ops = self.iterations = self.written = 0
        self.deadline = time.monotonic() + LIMITS.seconds

    def step(self) -> None:
        self.ops += 1
        if self.ops > LIMITS.operations:
            raise LimitError(f"more than {LIMITS.operations} operations in one render")
        if time.monotonic() > self.deadline:
            raise LimitError(f"rendering took longer than {LIMITS.seconds:g} s")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget", default=None)


def _budget() -> _Budget:
    # Outside a render (jinja folding constants at compile time) a fresh budget: the size checks still hold.
    return _BUDGET.get() or _Budget()


def _too_big(what: str) -> LimitError:
    return LimitError(f"{what} larger than {LIMITS.text_chars} characters")


def _text_size(v: Any, cap: int = LIMITS.text_chars) -> int:
    """Roughly how long str(v) is, walking containers (which may repeat one big value) until past cap."""
    if isinstance(v, str):
        return len(v)
    if isinstance(v, Namespace):
        v = object.__getattribute__(v, "_Namespace__attrs")
    if isinstance(v, dict):
        v = itertools.chain.from_iterable(v.items())
    elif not isinstance(v, (list, tuple, set, frozenset)):
        return 24
    total = 2
    for item in v:
        total += 2 + _text_size(item, cap - total)
        if total > cap:
            break
    return total


def _check_text(*values: Any, what: str = "text") -> None:
    if sum(_text_size(v) for v in values) > LIMITS.text_chars:
        raise _too_big(what)


def _check_built(v: Any) -> Any:
    """An operation's result: refuse strings and containers past the limit, and huge integers."""
    if isinstance(v, (str, bytes, list, tuple, dict, set, frozenset)) and len(v) > LIMITS.text_chars:
        raise _too_big("a value")
    if isinstance(v, int) and v.bit_length() > LIMITS.int_bits:
        raise LimitError(f"an integer larger than {LIMITS.int_bits} bits")
    return v


def _check_count(n: Any, what: str) -> None:
    if isinstance(n, int) and n > LIMITS.text_chars:
        raise LimitError(f"{what} {n} is larger than {LIMITS.text_chars}")


_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent(fmt: str, args: Any) -> None:
    for width, precision in _PERCENT.findall(fmt):
        for n in (width, precision):
            if n == "*":
                raise SecurityError("'*' widths are not allowed in templates")
            if n:
                _check_count(int(n), "a width")
    _check_text(fmt, args, what="formatted text")


def _check_format(fmt: str) -> None:
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and "{" in spec:
            raise SecurityError("nested replacement fields in a format spec are not allowed in templates")
        for n in re.findall(r"\d+", spec or ""):
            _check_count(int(n), "a width")


def _check_binop(op: str, left: Any, right: Any) -> None:
    ints = isinstance(left, int) and isinstance(right, int)
    if op == "**" and ints and right > 0 and right * max(1, abs(left).bit_length() - 1) > LIMITS.int_bits:
        raise LimitError(f"{left} ** {right} is larger than {LIMITS.int_bits} bits")
    if op == "*":
        if ints and left.bit_length() + right.bit_length() > LIMITS.int_bits + 1:
            raise LimitError(f"a product larger than {LIMITS.int_bits} bits")
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) and len(seq) * n > LIMITS.text_chars:
                raise _too_big("a repeated string or list")
    if op == "%" and isinstance(left, str):
        _check_percent(left, right)


# Methods of built-in values a template may call; the ones that size their result are checked below.
_METHODS = {
    str: {"capitalize", "casefold", "center", "count", "endswith", "find", "index", "isalnum", "isalpha",
          "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace",
          "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
          "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
          "startswith", "strip", "swapcase", "title", "upper", "zfill"},
    dict: {"get", "items", "keys", "values"},
    list: {"count", "index"}, tuple: {"count", "index"},
    int: {"bit_length", "is_integer"}, float: {"is_integer", "hex"}, bool: set(),
}


_VALUES = tuple(_METHODS)


def _replace_size(s: Any, old: Any, new: Any) -> int:
    if not (isinstance(s, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    hits = s.count(old) if old else len(s) + 1
    return len(s) + hits * max(0, len(new) - len(old))


def _check_method(owner: Any, name: str, args: tuple, kwargs: dict) -> tuple:
    allowed = next((m for t, m in _METHODS.items() if isinstance(owner, t)), None)
    if allowed is None or name not in allowed:
        raise SecurityError(f"{type(owner).__name__}.{name}() is not allowed in templates")
    if name in ("center", "ljust", "rjust", "zfill") and args:
        _check_count(args[0], "a width")
    if name == "replace" and len(args) >= 2 and _replace_size(owner, args[0], args[1]) > LIMITS.text_chars:
        raise _too_big("a replaced string")
    if name == "join" and args:
        items = list(itertools.islice(iter(args[0]), LIMITS.text_chars + 1))
        if _text_size(items) + len(owner) * len(items) > LIMITS.text_chars:
            raise _too_big("a joined string")
        args = (items, *args[1:])
    return args


# Filters that size their result from an argument: (argument index after the value, what it is).
_FILTER_COUNTS = {"center": (0, "a width"), "batch": (0, "a batch size"), "slice": (0, "a slice count")}
# Filters that never turn their value into text, so a big value passes through them unchecked.
_NO_TEXT = {"length", "count", "first", "last", "default", "d", "list", "sort", "unique", "reverse", "select",
            "reject", "selectattr", "rejectattr", "map", "batch", "slice", "groupby", "items", "dictsort", "max",
            "min", "int", "float", "abs", "round", "random", "attr", "sum"}


def _guard_filter(name: str, f):
    passes = getattr(f, "jinja_pass_arg", None) is not None   # gets the environment or context first

    @functools.wraps(f)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget().step()
        own = args[1:] if passes else args
        value, rest = (own[0], own[1:]) if own else (None, ())
        if name in _FILTER_COUNTS and len(rest) > _FILTER_COUNTS[name][0]:
            _check_count(rest[_FILTER_COUNTS[name][0]], _FILTER_COUNTS[name][1])
        if name == "indent":
            width = rest[0] if rest else kwargs.get("width", 4)
            w = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            _check_count(w, "a width")
            if isinstance(value, str) and len(value) + w * (value.count("\n") + 1) > LIMITS.text_chars:
                raise _too_big("an indented string")
        if name == "wordwrap" and isinstance(value, str):
            width = rest[0] if rest else kwargs.get("width", 79)
            wrap = rest[2] if len(rest) > 2 else kwargs.get("wrapstring") or "\n"
            if isinstance(width, int) and len(value) + len(str(wrap)) * (len(value) // max(1, width) + 1) \
                    > LIMITS.text_chars:
                raise _too_big("a wrapped string")
        if name == "replace" and len(rest) >= 2 and _replace_size(value, rest[0], rest[1]) > LIMITS.text_chars:
            raise _too_big("a replaced string")
        if name == "format" and isinstance(value, str):
            _check_percent(value, kwargs or rest)
        if name == "sum" and not isinstance(kwargs.get("start", rest[1] if len(rest) > 1 else 0), (int, float)):
            raise SecurityError("sum() adds numbers only in templates")
        if name == "join" and value is not None and not isinstance(value, str):
            items = list(itertools.islice(iter(value), LIMITS.text_chars + 1))
            _check_text(items, rest, kwargs, what="a joined string")
            args = (*args[:len(args) - len(own)], items, *rest)
        elif name not in _NO_TEXT:
            _check_text(*own, *kwargs.values())
        return _check_built(f(*args, **kwargs))
    return guarded


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > LIMITS.range_items:
        raise LimitError(f"range of {len(r)} items is longer than {LIMITS.range_items}")
    return r


class _Guards(Extension):
    """Rewrites a parsed template so loops, writes and ``~`` go through the render's budget."""

    def loop(self, iterable: Any):
        b = _budget()
        for item in iterable:
            b.iterations += 1
            if b.iterations > LIMITS.loop_iterations:
                raise LimitError(f"more than {LIMITS.loop_iterations} loop iterations in one render")
            b.step()
            yield item

    def write(self, value: Any) -> str:
        if not isinstance(value, str):
            _check_text(value)
        text = str(value)
        b = _budget()
        b.written += len(text)
        if b.written > LIMITS.text_chars:
            raise LimitError(f"more than {LIMITS.text_chars} characters of text in one render")
        return text

    def concat(self, *parts: Any) -> str:
        _check_text(*parts, what="a joined string")
        return "".join(map(str, parts))


class _Rewrite(NodeTransformer):
    def __init__(self, guards: _Guards):
        self.g = guards

    def _call(self, name: str, args: list, lineno: int) -> nodes.Call:
        return nodes.Call(self.g.attr(name, lineno=lineno), args, [], None, None, lineno=lineno)

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = self._call("loop", [node.iter], node.lineno)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Output:
        self.generic_visit(node)
        node.nodes = [self._call("write", [nodes.Const(c.data, lineno=c.lineno) if isinstance(c, nodes.TemplateData)
                                           else c], c.lineno) for c in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return self._call("concat", list(node.nodes), node.lineno)


class _Template(jinja2.Template):
    def render(self, *args: Any, **kwargs: Any) -> str:
        token = _BUDGET.set(_Budget())
        try:
            return super().render(*args, **kwargs)
        finally:
            _BUDGET.reset(token)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """``ImmutableSandboxedEnvironment`` under ``LIMITS``; refusals raise at once."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    template_class = _Template

    def __init__(self, **options: Any):
        super().__init__(extensions=[_Guards], **options)
        self.globals["range"] = _range
        self.globals.pop("lipsum", None)   # writes as many paragraphs as asked for; no use in a rule text
        self._guards = self.extensions[_Guards.identifier]
        self.add_filters()

    def add_filters(self, **filters) -> None:
        """Register filters, and wrap every filter (built-in ones too) in the budget's checks."""
        self.filters.update(filters)
        for name, f in list(self.filters.items()):
            if not getattr(f, "_bounded", False):
                g = _guard_filter(name, f)
                g._bounded = True
                self.filters[name] = g

    def _parse(self, source, name, filename):
        return _Rewrite(self._guards).visit(super()._parse(source, name, filename))

    def unsafe_undefined(self, obj: Any, attribute: str):
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().step()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().step()
        return super().getitem(obj, argument)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        _budget().step()
        _check_binop(operator, left, right)
        return _check_built(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any):
        fmt = super().wrap_str_format(value)
        if fmt is None:
            return None
        _check_format(value.__self__)

        def bounded(*args: Any, **kwargs: Any) -> str:
            _check_text(value.__self__, args, kwargs, what="formatted text")
            return _check_built(fmt(*args, **kwargs))
        return bounded

    def call(__self, __context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - jinja's signature
        _budget().step()
        owner = getattr(__obj, "__self__", None)
        if isinstance(__obj, LoopContext) and args:          # a recursive loop's next level
            args = (__self._guards.loop(args[0]), *args[1:])
        elif isinstance(owner, _VALUES):
            args = _check_method(owner, __obj.__name__, args, kwargs)
        return _check_built(super().call(__context, __obj, *args, **kwargs))


def check_constants(env: BoundedSandbox, source: str) -> None:
    """Refuse bombs and reaches for internals written with constants, also on branches a trial render does
    not take: dunder attributes, which the sandbox always refuses."""
    tree = jinja2.Environment.parse(env, source)
    ctx = nodes.EvalContext(env)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        name = (node.attr if isinstance(node, nodes.Getattr) else
                node.arg.value if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) else
                node.args[0].value if isinstance(node, nodes.Filter) and node.name == "attr" and node.args
                and isinstance(node.args[0], nodes.Const) else None)
        if isinstance(name, str) and name.startswith("__"):   # label names starting with _ are allowed
            raise SecurityError(f"access to attribute {name!r} is unsafe")
    for node in tree.find_all((nodes.Pow, nodes.Mul, nodes.Mod, nodes.Call)):
        try:
            if isinstance(node, nodes.Call):
                if isinstance(node.node, nodes.Name) and node.node.name == "range" and not node.kwargs:
                    _range(*[a.as_const(ctx) for a in node.args])
                continue
            left, right = node.left.as_const(ctx), node.right.as_const(ctx)
        except nodes.Impossible:
            continue
        _check_binop(node.operator, left, right)
