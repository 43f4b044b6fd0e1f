"""Compact columns of many equal-shaped values (a fleet's brief findings): each field of a list of values is kept as
a numpy array where its values are all floats, ints or bools, as one shared value where they are all the same
object, split into its fields where they are dataclasses of one type or dicts with the same keys, and as a plain
list otherwise. ``column(values)[i]`` gives back a value equal to ``values[i]`` (the same type, the same bits).

300,000 findings as objects hold ~0.55 GB (a float is a 24-byte object, a small dict ~0.4 KB); as columns ~70 MB.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

_MISSING = object()


class Const:
    """The same object at every position."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __getitem__(self, i: int) -> Any:
        return self.value

    def take(self, positions: list[int]) -> list:
        return [self.value] * len(positions)


class Objects:
    """Anything else: a list of references (8 bytes a position)."""

    __slots__ = ("items",)

    def __init__(self, items: list):
        self.items = items

    def __getitem__(self, i: int) -> Any:
        return self.items[i]

    def take(self, positions: list[int]) -> list:
        items = self.items
        return [items[i] for i in positions]


class Numbers:
    """Floats (with None), ints or bools in an array; `none` marks the positions that hold None."""

    __slots__ = ("array", "none", "kind")

    def __init__(self, array: np.ndarray, none: np.ndarray | None, kind: type):
        self.array, self.none, self.kind = array, none, kind

    def __getitem__(self, i: int) -> Any:
        if self.none is not None and self.none[i]:
            return None
        return self.kind(self.array[i])

    def take(self, positions: list[int]) -> list:
        out = self.array[positions].tolist()   # Python floats, ints and bools: the kinds stored
        if self.none is not None:
            out = [None if n else v for v, n in zip(out, self.none[positions].tolist())]
        return out


class Records:
    """Dataclasses of one type (or None), each field its own column."""

    __slots__ = ("cls", "fields", "none")

    def __init__(self, cls: type, fields: dict[str, Any], none: np.ndarray | None):
        self.cls, self.fields, self.none = cls, fields, none

    def __getitem__(self, i: int) -> Any:
        if self.none is not None and self.none[i]:
            return None
        return self.cls(**{name: col[i] for name, col in self.fields.items()})

    def take(self, positions: list[int]) -> list:
        cls, names = self.cls, list(self.fields)
        cols = [col.take(positions) for col in self.fields.values()]
        out = [cls(**dict(zip(names, vals))) for vals in zip(*cols)]
        if self.none is not None:
            out = [None if n else v for v, n in zip(out, self.none[positions].tolist())]
        return out


class Dicts:
    """Dicts with the same keys in the same order, each key's values their own column."""

    __slots__ = ("keys", "cols")

    def __init__(self, keys: tuple, cols: list):
        self.keys, self.cols = keys, cols

    def __getitem__(self, i: int) -> dict:
        return {k: c[i] for k, c in zip(self.keys, self.cols)}

    def take(self, positions: list[int]) -> list:
        keys = self.keys
        return [dict(zip(keys, vals)) for vals in zip(*(c.take(positions) for c in self.cols))]


def column(values: Sequence[Any]):
    """The most compact column that gives back each of `values`."""
    if not len(values):
        return Objects([])
    first = values[0]
    if all(v is first for v in values):
        return Const(first)
    kinds = {type(v) for v in values}
    none = None
    if type(None) in kinds and len(kinds) > 1:
        kinds.discard(type(None))
        none = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is float or kind is bool or kind is int:
            dtype = {float: np.float64, bool: np.bool_, int: np.int64}[kind]
            filler = kind(0)
            try:
                arr = np.array([filler if v is None else v for v in values], dtype=dtype)
            except OverflowError:   # an int beyond 64 bits
                return Objects(list(values))
            return Numbers(arr, none, kind)
        if dataclasses.is_dataclass(kind) and all(f.init for f in dataclasses.fields(kind)):
            present = [v for v in values if v is not None]
            cols = {}
            for f in dataclasses.fields(kind):
                got = [getattr(v, f.name) for v in present]
                cols[f.name] = _spread(column(got), none, len(values)) if none is not None else column(got)
            return Records(kind, cols, none)
        if kind is dict and none is None:
            keys = tuple(first)
            if all(tuple(v) == keys for v in values):
                return Dicts(keys, [column([v[k] for v in values]) for k in keys])
    return Objects(list(values))


class _Spread:
    """A column over the non-None positions only, read by the position among all."""

    __slots__ = ("inner", "rank")

    def __init__(self, inner, rank: np.ndarray):
        self.inner, self.rank = inner, rank

    def __getitem__(self, i: int) -> Any:
        return self.inner[int(self.rank[i])]

    def take(self, positions: list[int]) -> list:
        # positions of None read some neighbour's value: Records.take puts None there
        return self.inner.take(self.rank[positions].clip(0).tolist()) if len(self.rank) else []


def _spread(inner, none: np.ndarray, n: int) -> _Spread:
    rank = np.cumsum(~none) - 1
    return _Spread(inner, rank.astype(np.int32 if n < 2**31 else np.int64))
