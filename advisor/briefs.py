"""A rule's findings beyond its top N kept as columns, and the sequences a report's formats read findings through
(brief ones are made as they are read: a fleet's 300,000 findings are never all objects at once)."""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any, Callable, Iterator

from .columns import column


def target_of(rule: Any, labels: dict[str, str]) -> dict[str, str]:
    """What a finding is about: the rule's target labels of the series (all but __name__ without `target`)."""
    if rule.target:
        return {k: labels[k] for k in rule.target if k in labels}
    return {k: v for k, v in labels.items() if k != "__name__"}


def target_text(target: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in target.items()) or "(all)"


class Briefs:
    """A rule's findings beyond its top N (numbers and confidence, no texts, chart series or evidence), kept as
    columns (see columns.py): a fleet's 300,000 of them as objects held ~0.55 GB until the report was written.
    ``briefs[i]`` is the Finding, made when a format reads it."""

    make: Callable[..., Any]   # the Finding class (findings.py sets it: findings imports this module)
    FIELDS = ("labels", "value", "stats", "confidence", "projection", "sizing", "replicas", "state",
              "active_for", "window", "notes")

    def __init__(self, rule: Any, threshold: float | None, for_seconds: float | None, rows: list[tuple],
                 causes: dict[int, str] | None = None):
        """`rows`: one tuple of FIELDS' values per finding."""
        self.rule, self.threshold, self.for_seconds = rule, threshold, for_seconds
        self.n = len(rows)
        self.cols = {name: column([r[k] for r in rows]) for k, name in enumerate(self.FIELDS)} if rows else {}
        self.causes = causes or {}

    def target(self, i: int) -> dict[str, str]:
        """Finding i's target, made from its labels (a fleet's target dicts are not kept: 10,000 per rule)."""
        return target_of(self.rule, self.cols["labels"][i])

    def with_causes(self, causes: dict[int, str]) -> "Briefs":
        out = object.__new__(Briefs)
        out.__dict__.update(self.__dict__, causes={**self.causes, **causes})
        return out

    def __len__(self) -> int:
        return self.n

    def get(self, name: str, i: int) -> Any:
        """One field of finding i, without making the Finding."""
        return self.target(i) if name == "target" else self.cols[name][i]

    def __getitem__(self, i: int) -> "Finding":
        if not 0 <= i < self.n:
            raise IndexError(i)
        c = self.cols
        target = self.target(i)
        return self.make(rule=self.rule, target=target, labels=c["labels"][i], value=c["value"][i],
                       stats=c["stats"][i], threshold=self.threshold,
                       summary=f"{self.rule.title}: {target_text(target)}", description="", recommendation="",
                       confidence=c["confidence"][i], projection=c["projection"][i], sizing=c["sizing"][i],
                       replicas=c["replicas"][i], state=c["state"][i], active_for=c["active_for"][i],
                       for_seconds=self.for_seconds, window=c["window"][i], cause=self.causes.get(i),
                       notes=c["notes"][i], detailed=False)


class _Seq(Sequence):
    """A read-only sequence over ``_item(i)`` for 0 <= i < len: slices, negative indexes and equality with any
    sequence of equal items."""

    def _item(self, i: int):
        raise NotImplementedError

    def __getitem__(self, i):
        n = len(self)
        if isinstance(i, slice):
            return [self._item(k) for k in range(*i.indices(n))]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._item(i)

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None


class RuleFindings(_Seq):
    """A rule's findings: the detailed ones (objects) then the brief ones (columns), worst first."""

    def __init__(self, detailed: tuple["Finding", ...], briefs: Briefs | None = None):
        self.detailed, self.briefs = tuple(detailed), briefs
        self._n = len(self.detailed) + (len(briefs) if briefs is not None else 0)

    def __len__(self) -> int:
        return self._n

    def _item(self, i: int):
        d = len(self.detailed)
        return self.detailed[i] if i < d else self.briefs[i - d]

    def __iter__(self) -> Iterator["Finding"]:
        yield from self.detailed
        if self.briefs is not None:
            for i in range(len(self.briefs)):
                yield self.briefs[i]

    def field(self, name: str) -> list:
        """One field of every finding (state, target, …), without making the brief ones."""
        out = [getattr(f, name) for f in self.detailed]
        b = self.briefs
        if b is not None:
            if name == "target":
                out += [target_of(b.rule, labels) for labels in b.cols["labels"].take(range(len(b)))]
            else:
                out += b.cols[name].take(range(len(b)))
        return out


def _field(findings: Sequence, name: str) -> list:
    if isinstance(findings, RuleFindings):
        return findings.field(name)
    return [getattr(f, name) for f in findings]


class Values(_Seq):
    """(target, value) of every target of a rule, kept as the series' (shared) label dicts and a column of values;
    the target is made when read."""

    def __init__(self, rule: Any, labels: list[dict[str, str]], values: list[float]):
        self.rule, self.labels, self.values = rule, labels, column(values)

    def __len__(self) -> int:
        return len(self.labels)

    def _item(self, i: int):
        return target_of(self.rule, self.labels[i]), self.values[i]


class FindingsView(_Seq):
    """A report's findings of one state in report order, read from the rules' results as a format walks them
    (a fleet's findings are never all objects at once). ``parts`` are (RuleResult, positions in its findings)."""

    def __init__(self, parts: list[tuple["RuleResult", list[int]]]):
        self.parts = [(r, idx) for r, idx in parts if len(idx)]
        self.offsets = []
        n = 0
        for _, idx in self.parts:
            self.offsets.append(n)
            n += len(idx)
        self._n = n

    def __len__(self) -> int:
        return self._n

    def _item(self, i: int):
        p = bisect.bisect_right(self.offsets, i) - 1
        r, idx = self.parts[p]
        return r.findings[idx[i - self.offsets[p]]]

    def __iter__(self) -> Iterator["Finding"]:
        for r, idx in self.parts:
            fs = r.findings
            for i in idx:
                yield fs[i]

    def __add__(self, other) -> list:
        return list(self) + list(other)

    def __radd__(self, other) -> list:
        return list(other) + list(self)


    def detailed(self) -> list["Finding"]:
        """The findings with texts (each rule's top N), without making the brief ones."""
        out = []
        for r, idx in self.parts:
            fs = r.findings
            if isinstance(fs, RuleFindings):
                d = len(fs.detailed)
                out += [fs.detailed[i] for i in idx if i < d]
            else:
                out += [fs[i] for i in idx if fs[i].detailed]
        return out

    def brief_counts(self) -> dict[str, int]:
        """Per rule id, how many findings have no texts (beyond the rule's top N), in report order."""
        out: dict[str, int] = {}
        for r, idx in self.parts:
            fs = r.findings
            if isinstance(fs, RuleFindings):
                d = len(fs.detailed)
                n = sum(1 for i in idx if i >= d)
            else:
                n = sum(1 for i in idx if not fs[i].detailed)
            if n:
                out[r.rule.id] = out.get(r.rule.id, 0) + n
        return out

    def of_category(self, category: str) -> "FindingsView":
        return FindingsView([(r, idx) for r, idx in self.parts if r.rule.category == category])
