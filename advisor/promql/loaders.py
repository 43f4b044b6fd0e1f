"""Loading samples: promtool series notation, promqltest ``load`` blocks, Prometheus text and OpenMetrics.

``load_file`` detects the format: a file whose first command is ``load <step>`` is a promqltest block;
one ending in ``# EOF`` (or with OpenMetrics-only lines) is OpenMetrics (timestamps in seconds);
anything else is the Prometheus text format (timestamps in milliseconds).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from ..durations import parse_duration_ms
from .storage import STALE_NAN, Storage


class LoadError(ValueError):
    """Input data that cannot be loaded; the message names the line."""


class NativeHistogramData(LoadError):
    """Native histogram samples (``{{...}}``), which the engine does not support."""


def parse_duration(text: str) -> int:
    """A Prometheus duration (``1h30m``, ``10s``) or a plain number of seconds, in milliseconds."""
    try:
        return parse_duration_ms(text, bare_seconds=True)
    except ValueError:
        raise LoadError(f"invalid duration {text.strip()!r}") from None


# Hex literals are left out: in series notation "0x59" means 0 repeated 59 more times.
_F = r"[+-]?(?:[Ii]nf|NaN|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
_SEQ_RE = re.compile(rf"^({_F})(?:([+-])({_F}))?x(\d+)$")
_NUM_RE = re.compile(rf"^{_F}$")


def parse_float(text: str) -> float:
    try:
        return float(text)  # also takes NaN, Inf, +Inf, -Inf in any case
    except ValueError:
        pass
    t = text.strip()
    low = t.lower().lstrip("+-")
    if low in ("inf", "+inf"):
        return -math.inf if t.startswith("-") else math.inf
    if low == "nan":
        return math.nan
    if low.startswith("0x"):
        v = float(int(low, 16))
        return -v if t.startswith("-") else v
    return float(t)


def parse_values(text: str) -> list[float | None]:
    """Expand promtool series notation; None is an omitted point, STALE_NAN a staleness marker."""
    if "{{" in text:
        raise NativeHistogramData("native histogram samples are not supported")
    out: list[float | None] = []
    for tok in text.split():
        if tok == "_":
            out.append(None)
        elif tok.startswith("_x"):
            out.extend([None] * int(tok[2:]))
        elif tok == "stale":
            out.append(STALE_NAN)
        elif _NUM_RE.match(tok):
            out.append(parse_float(tok))
        else:
            m = _SEQ_RE.match(tok)
            if not m:
                raise LoadError(f"invalid series value {tok!r}")
            start = parse_float(m.group(1))
            inc = parse_float(m.group(3)) if m.group(3) else 0.0
            if m.group(2) == "-":
                inc = -inc
            v = start
            for _ in range(int(m.group(4)) + 1):
                out.append(v)
                v += inc
    return out


def _unquote(s: str, i: int) -> tuple[str, int]:
    quote = s[i]
    i += 1
    buf = []
    while i < len(s):
        c = s[i]
        if c == "\\" and quote != "`":
            nxt = s[i + 1]
            buf.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if c == quote:
            return "".join(buf), i + 1
        buf.append(c)
        i += 1
    raise LoadError(f"unterminated string in {s!r}")


_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:.]*")


def parse_series(line: str) -> tuple[dict[str, str], str]:
    """Split ``metric{a="b"} rest`` into the label set and the rest of the line."""
    s = line.strip()
    labels: dict[str, str] = {}
    i = 0
    m = _NAME_RE.match(s)
    if m:
        labels["__name__"] = m.group(0)
        i = m.end()
    if i < len(s) and s[i] == "{":
        i += 1
        while True:
            while i < len(s) and s[i] in " ,\t":
                i += 1
            if i >= len(s):
                raise LoadError(f"unterminated label set in {line!r}")
            if s[i] == "}":
                i += 1
                break
            if s[i] in "\"'`":
                name, i = _unquote(s, i)
            else:
                nm = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(s, i)
                if not nm:
                    raise LoadError(f"invalid label set in {line!r}")
                name, i = nm.group(0), nm.end()
            while i < len(s) and s[i] == " ":
                i += 1
            if i >= len(s) or s[i] != "=":
                labels["__name__"] = name  # a quoted metric name inside the braces
                continue
            i += 1
            while i < len(s) and s[i] == " ":
                i += 1
            value, i = _unquote(s, i)
            labels[name] = value
    elif not m:
        raise LoadError(f"invalid series {line!r}")
    return labels, s[i:].strip()


def load_block(storage: Storage, step_ms: int, lines: list[str]) -> None:
    """Add a promqltest ``load <step>`` body: one ``series values`` line each, points from t=0."""
    for line in lines:
        if not line.strip() or line.strip().startswith("#"):
            continue
        labels, rest = parse_series(line)
        ts, vals = [], []
        for n, v in enumerate(parse_values(rest)):
            if v is not None:
                ts.append(n * step_ms)
                vals.append(v)
        storage.add_many(labels, ts, vals)


def load_exposition(storage: Storage, text: str, *, openmetrics: bool, default_ts_ms: int,
                    source: str = "<input>") -> None:
    """Add samples from the Prometheus text format or OpenMetrics (comment lines are skipped)."""
    series_cache: dict[str, dict[str, str]] = {}  # the series text repeats on every line of a series
    pending: dict[str, tuple[dict[str, str], list[int], list[float]]] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        try:
            line = line.split(" # ", 1)[0]  # drop an OpenMetrics exemplar before looking for the label set
            cut = line.rfind("}") + 1 or line.find(" ")
            head, rest = line[:cut], line[cut:]
            labels = series_cache.get(head)
            if labels is None:
                labels, extra = parse_series(head)
                if extra:
                    raise LoadError(f"unexpected {extra!r}")
                series_cache[head] = labels
            fields = rest.split()
            value = parse_float(fields[0])
            if len(fields) > 1:
                ts = round(float(fields[1]) * 1000) if openmetrics else int(fields[1])
            else:
                ts = default_ts_ms
        except (LoadError, ValueError, IndexError) as exc:
            raise LoadError(f"{source}:{n}: invalid sample line: {exc}") from None
        entry = pending.get(head)
        if entry is None:
            entry = pending[head] = (labels, [], [])
        entry[1].append(ts)
        entry[2].append(value)
    for labels, ts_list, vals in pending.values():
        storage.add_many(labels, ts_list, vals)


def load_file(path: Path, storage: Storage | None = None, *, default_ts_ms: int = 0) -> Storage:
    """Load a data file in whichever format it is (see module docstring)."""
    storage = storage if storage is not None else Storage()
    text = Path(path).read_text()
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None and lines[first].split()[0] == "load":
        head = lines[first].split()
        if len(head) != 2:
            raise LoadError(f"{path}: expected 'load <step>' as the first line")
        body = []
        for ln in lines[first + 1:]:  # the block ends at a blank line, as in promqltest files
            if not ln.strip():
                break
            body.append(ln)
        try:
            load_block(storage, parse_duration(head[1]), body)
        except LoadError as exc:
            raise LoadError(f"{path}: {exc}") from None
        return storage
    is_om = text.rstrip().endswith("# EOF") or "# UNIT " in text
    load_exposition(storage, text, openmetrics=is_om, default_ts_ms=default_ts_ms, source=str(path))
    return storage
