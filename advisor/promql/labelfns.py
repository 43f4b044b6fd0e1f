"""Label and ordering functions: label_replace, label_join, sort, sort_desc, sort_by_label(_desc)."""
from __future__ import annotations

import math
import re

from .args import string_arg as _string, vector_arg as _vec
from .storage import compile_regex
from .values import EvalError, Vec, merge_rows
from .registry import FUNCS, register



_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _expand(template: str, m: re.Match) -> str:
    def sub(mm):
        name = mm.group(1) or mm.group(2)
        if mm.group(0) == "$$":
            return "$"
        try:
            g = m.group(int(name)) if name.isdigit() else m.group(name)
        except (IndexError, error_types):
            return ""
        return g or ""
    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", sub, template)


error_types = (IndexError, re.error)


@register("label_replace")
def _label_replace(ev, node):
    v = _vec(ev, node.args[0])
    dst, repl, src, regex = (_string(ev, a) for a in node.args[1:5])
    try:
        rx = compile_regex(regex)
    except re.error as exc:
        raise EvalError(f'invalid regular expression in label_replace(): {regex}') from exc
    if not _LABEL_RE.match(dst) and dst != "__name__":
        raise EvalError(f'invalid destination label name in label_replace(): {dst}')
    labels = []
    for lb in v.labels:
        m = rx.fullmatch(lb.get(src, ""))
        if m is None:
            labels.append(lb)
            continue
        val = _expand(repl, m)
        new = dict(lb)
        if val:
            new[dst] = val
        else:
            new.pop(dst, None)
        labels.append(new)
    return merge_rows(Vec(labels, v.vals, v.mask))


@register("label_join")
def _label_join(ev, node):
    v = _vec(ev, node.args[0])
    dst, sep = _string(ev, node.args[1]), _string(ev, node.args[2])
    srcs = [_string(ev, a) for a in node.args[3:]]
    if not _LABEL_RE.match(dst) and dst != "__name__":
        raise EvalError(f'invalid destination label name in label_join(): {dst}')
    labels = []
    for lb in v.labels:
        val = sep.join(lb.get(s, "") for s in srcs)
        new = dict(lb)
        if val:
            new[dst] = val
        else:
            new.pop(dst, None)
        labels.append(new)
    return merge_rows(Vec(labels, v.vals, v.mask))


def _sorted(ev, v: Vec, key) -> Vec:
    ev.ordered = True
    order = sorted(range(v.n), key=key)
    return v.take(order) if v.n else v


@register("sort")
def _sort(ev, node):
    v = _vec(ev, node.args[0])
    return _sorted(ev, v, lambda i: (math.isnan(v.vals[i, 0]), v.vals[i, 0]))


@register("sort_desc")
def _sort_desc(ev, node):
    v = _vec(ev, node.args[0])
    return _sorted(ev, v, lambda i: (math.isnan(v.vals[i, 0]), -v.vals[i, 0]))


def _natkey(s: str):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", s) if p != ""]


def _sort_by_label(desc):
    def fn(ev, node):
        v = _vec(ev, node.args[0])
        names = [_string(ev, a) for a in node.args[1:]]
        order = sorted(range(v.n), key=lambda i: sorted(v.labels[i].items()), reverse=desc)
        for name in reversed(names):
            order.sort(key=lambda i: _natkey(v.labels[i].get(name, "")), reverse=desc)
        ev.ordered = True
        return v.take(order) if v.n else v
    return fn


FUNCS["sort_by_label"] = _sort_by_label(False)
FUNCS["sort_by_label_desc"] = _sort_by_label(True)
