"""Bounded YAML reading for packs, rule-test files and the advisor's config: plain data with a line per field.

The file is read under a size cap, decoded as strict UTF-8 and composed into nodes by libyaml (which caps
nesting at 1000 levels); the nodes are then turned into plain data here, so the limits hold before anything
is expanded: nesting depth, alias uses and the number of values after aliases are expanded, no recursive
aliases, no duplicate keys (Prometheus rejects them too), and no tags beyond YAML's plain types
(``!!python/…`` and custom tags are refused, never constructed). Every refusal is a ``PackError`` naming
``FILE:LINE``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import PackError

MAX_BYTES = 1024 * 1024     # a pack, test or config file; the built-in packs are 20-50 KiB
MAX_ALIASES = 100           # alias uses (*name) per file
MAX_VALUES = 100_000        # values (scalars, lists, mappings) once aliases are expanded
MAX_DEPTH = 64              # nested lists and mappings

_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present; both keep node marks
_Y = "tag:yaml.org,2002:"
_PLAIN = {yaml.ScalarNode: {_Y + t for t in ("str", "int", "float", "bool", "null", "timestamp")},
          yaml.SequenceNode: {_Y + "seq"}, yaml.MappingNode: {_Y + "map"}}
# What YAML's reader refuses (yaml/reader.py NON_PRINTABLE), found here first to name the line.
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_SCALARS = yaml.constructor.SafeConstructor()


def read(path: str | Path, max_bytes: int = MAX_BYTES) -> bytes:
    """A file's bytes, refusing one larger than max_bytes without reading more than that."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise PackError(str(path), None, "", f"cannot read: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise PackError(str(path), None, "", f"larger than {_size(max_bytes)}, the limit for a YAML file")
    return data


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n} bytes"


def decode(data: bytes | str, path: str, max_bytes: int = MAX_BYTES) -> str:
    """Strict UTF-8 text (a BOM is dropped); non-UTF-8 bytes and control characters name their line."""
    if isinstance(data, str):
        text = data
        if len(text) > max_bytes:  # characters ≥ bytes / 4: a cheap bound before encoding
            raise PackError(path, None, "", f"larger than {_size(max_bytes)}, the limit for a YAML file")
    else:
        if len(data) > max_bytes:
            raise PackError(path, None, "", f"larger than {_size(max_bytes)}, the limit for a YAML file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise PackError(path, line, "", f"not UTF-8 text (byte 0x{data[e.start]:02x})") from None
    text = text.removeprefix("\ufeff")
    bad = _NON_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise PackError(path, line, "", f"control character U+{ord(bad.group()):04X} is not allowed in YAML")
    return text


def load(data: bytes | str, path: str, max_bytes: int = MAX_BYTES) -> tuple[Any, dict[tuple, int]]:
    """Plain data (None for an empty document) and {field path tuple: 1-based line}."""
    text = decode(data, path, max_bytes)
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise PackError(path, mark.line + 1 if mark else None, "", f"invalid YAML: {e.problem or e}") from None
    except yaml.YAMLError as e:   # reader errors without a mark (the checks above catch the known ones)
        raise PackError(path, None, "", f"invalid YAML: {e}") from None
    lines: dict[tuple, int] = {}
    if node is None:
        return None, lines
    return _Builder(path, lines).build(node, (), 0, ()), lines


def load_file(path: str | Path, max_bytes: int = MAX_BYTES) -> tuple[Any, dict[tuple, int]]:
    """``load(read(path))``."""
    return load(read(path, max_bytes), str(path), max_bytes)


def field_name(path: tuple) -> str:
    """``rules[3].condition.op`` for ('rules', 3, 'condition', 'op')."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class _Builder:
    """Nodes to plain data under the limits; one instance per document."""

    def __init__(self, path: str, lines: dict[tuple, int]):
        self.path, self.lines = path, lines
        self.seen: set[int] = set()
        self.aliases = 0
        self.values = 0

    def fail(self, node: yaml.Node, field: tuple, reason: str) -> None:
        raise PackError(self.path, node.start_mark.line + 1, field_name(field), reason)

    def build(self, node: yaml.Node, field: tuple, depth: int, ancestors: tuple[int, ...]) -> Any:
        self.lines[field] = node.start_mark.line + 1
        if id(node) in ancestors:
            self.fail(node, field, "recursive alias (an anchor used inside itself)")
        if id(node) in self.seen:   # composed aliases are the anchored node itself
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                self.fail(node, field, f"more than {MAX_ALIASES} alias uses")
        self.seen.add(id(node))
        self.values += 1
        if self.values > MAX_VALUES:
            self.fail(node, field, f"more than {MAX_VALUES} values once aliases are expanded")
        if depth > MAX_DEPTH:
            self.fail(node, field, f"nested deeper than {MAX_DEPTH} levels")
        if node.tag not in _PLAIN[type(node)]:
            self.fail(node, field, f"tag {node.tag.replace(_Y, '!!')!r} is not allowed (plain YAML types only)")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, field, depth, ancestors + (id(node),))
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, field + (i,), depth + 1, ancestors + (id(node),))
                    for i, v in enumerate(node.value)]
        if node.tag == _Y + "str":
            return node.value
        try:
            return _SCALARS.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as e:   # e.g. a timestamp out of range
            self.fail(node, field, f"invalid value {node.value!r}: {getattr(e, 'problem', None) or e}")

    def _mapping(self, node: yaml.MappingNode, field: tuple, depth: int, ancestors: tuple[int, ...]) -> dict:
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                self.fail(k, field, "a key must be a plain value, not a list or mapping")
            if k.tag not in _PLAIN[yaml.ScalarNode] and k.tag != _Y + "merge":
                self.fail(k, field, f"tag {k.tag.replace(_Y, '!!')!r} is not allowed (plain YAML types only)")
            key = k.value
            line = k.start_mark.line + 1
            if key in first:
                self.fail(k, field, f"duplicate key {key!r} (first at line {first[key]})")
            first[key] = line
            out[key] = self.build(v, field + (key,), depth + 1, ancestors)
            self.lines[field + (key,)] = line
        return out
