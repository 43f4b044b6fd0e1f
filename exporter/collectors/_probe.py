"""What the service-probe collectors (http_probe, redis, postgres, nginx, haproxy) share: target schema pieces,
timeouts, secrets, redaction, a sample collector that merges per-target samples into families, and
``ProbeCollector``, the base that probes every target concurrently within a deadline.

A probe collector scrapes many targets in one collection, so one hung or dead target must cost at most its
own timeout and must never keep the others from reporting. Each target runs in a daemon thread; whatever has
not answered when the deadline passes is reported as down.
"""
from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from prometheus_client.core import Metric

from ..families import Sample, family
from ..registry import CollectorContext

log = logging.getLogger("perfadvisor.exporter.probes")

DEFAULT_TIMEOUT = 5.0
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m)?\s*$")

# Schema fragments reused by every probe's config_schema.
TIMEOUT_SCHEMA = {"type": ["string", "number"], "pattern": r"^\s*[0-9]*\.?[0-9]+\s*(ms|s|m)?\s*$",
                  "exclusiveMinimum": 0, "maximum": 3600,
                  "description": "Probe timeout: a number of seconds or a duration such as 5s, 500ms (default 5s)."}
SECRET_SCHEMA = {
    "password": {"type": "string", "description": "Password (prefer password_env or password_file)."},
    "password_env": {"type": "string", "description": "Environment variable holding the password."},
    "password_file": {"type": "string", "description": "File holding the password (trailing newline stripped)."},
}


def targets_schema(target_props: Mapping[str, Any], required: Sequence[str] | None = None,
                   one_of: Sequence[Sequence[str]] | None = None) -> dict[str, Any]:
    """config_schema of a probe collector: ``{"targets": [{...}, ...]}``."""
    item: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": dict(target_props)}
    if required:
        item["required"] = list(required)
    if one_of:
        item["oneOf"] = [{"required": list(r)} for r in one_of]
    return {"type": "object", "properties": {
        "targets": {"type": "array", "items": item, "default": [],
                    "description": "Targets to probe; the collector yields nothing while this is empty."}}}


def parse_duration(value: Any, default: float = DEFAULT_TIMEOUT) -> float:
    """Seconds from 5, 5.0, "5s", "500ms" or "1m"; None gives the default."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"invalid duration {value!r} (expected e.g. 5s, 500ms)")
    return float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]


def resolve_secret(target: Mapping[str, Any], prefix: str = "password") -> str | None:
    """The secret from ``password``, ``password_env`` or ``password_file``; None when none is configured."""
    if target.get(prefix):
        return str(target[prefix])
    env = target.get(f"{prefix}_env")
    if env:
        if env not in os.environ:
            raise LookupError(f"environment variable {env} is not set")
        return os.environ[env]
    path = target.get(f"{prefix}_file")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    return None


_SECRET_KEYS = {"password", "pass", "passwd", "pwd", "token", "secret", "sslpassword", "auth", "key", "api_key"}


def redact_url(url: str) -> str:
    """The URL without userinfo and without secret-looking query parameters: safe for labels and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if k.lower() not in _SECRET_KEYS], safe="/:") if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_KV_SECRET = re.compile(r"(?i)\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


def redact_dsn(dsn: str) -> str:
    """A libpq DSN (URI or key=value) without its password."""
    if "://" in dsn:
        return redact_url(dsn)
    return _KV_SECRET.sub(lambda m: f"{m.group(1)}=<redacted>", dsn)


def target_secrets(target: Mapping[str, Any]) -> list[str]:
    """Every secret a target may carry (configured password, URL/DSN userinfo password), for scrubbing logs."""
    out = []
    try:
        out.append(resolve_secret(target))
    except (LookupError, OSError):
        pass
    for key in ("url", "dsn", "address"):
        value = str(target.get(key) or "")
        if "://" in value:
            try:
                out.append(urlsplit(value).password)
            except ValueError:
                pass
        out += [m.group(2).strip("'") for m in _KV_SECRET.finditer(value)] if key == "dsn" else []
    return [s for s in out if s]


def scrub(message: str, secrets: Iterable[str | None]) -> str:
    """An error message with any known secret replaced, so it can be logged."""
    for s in secrets:
        if s:
            message = message.replace(s, "<redacted>")
    return message


class Families:
    """Collects samples by family name; several probes' Families merge into one family per name.

    ``metrics()`` builds the families with ``families.family`` once every target has been probed.
    """

    def __init__(self) -> None:
        self._fams: dict[str, tuple[str, str, list[Sample]]] = {}

    def _add(self, typ: str, name: str, doc: str, labels: Mapping[str, Any], value: float, suffix: str = "") -> None:
        if value is None:
            return
        entry = self._fams.setdefault(name, (typ, doc, []))
        entry[2].append(Sample(name + suffix, {k: str(v) for k, v in labels.items()}, float(value), None, None))

    def gauge(self, name: str, doc: str, labels: Mapping[str, Any], value: float | None) -> None:
        self._add("gauge", name, doc, labels, value)

    def counter(self, name: str, doc: str, labels: Mapping[str, Any], value: float | None) -> None:
        """A counter; ``name`` ends in _total as exposed."""
        base = name[:-6] if name.endswith("_total") else name
        self._add("counter", base, doc, labels, value, "_total")

    def untyped(self, name: str, doc: str, labels: Mapping[str, Any], value: float | None) -> None:
        """An upstream counter whose exact name has no _total suffix (prometheus_client would append one)."""
        self._add("unknown", name, doc, labels, value)

    def summary(self, name: str, doc: str, labels: Mapping[str, Any], quantiles: Mapping[Any, float],
                total: float, count: float) -> None:
        """A summary: ``name{quantile=...}`` samples plus ``name_sum`` and ``name_count``."""
        lab = {k: str(v) for k, v in labels.items()}
        samples = self._fams.setdefault(name, ("summary", doc, []))[2]
        for q, v in quantiles.items():
            samples.append(Sample(name, {**lab, "quantile": str(q)}, float(v), None, None))
        samples.append(Sample(name + "_sum", lab, float(total), None, None))
        samples.append(Sample(name + "_count", lab, float(count), None, None))

    def merge(self, other: "Families") -> None:
        for name, (typ, doc, samples) in other._fams.items():
            self._fams.setdefault(name, (typ, doc, []))[2].extend(samples)

    def names(self) -> set[str]:
        return set(self._fams)

    def metrics(self) -> list[Metric]:
        return [family(name, doc, typ, samples) for name, (typ, doc, samples) in self._fams.items()]


def unique_targets(targets: Iterable[Mapping[str, Any]] | None, label: Callable[[Mapping[str, Any]], str],
                   name: str) -> list[Mapping[str, Any]]:
    """The configured targets, without a second one whose label repeats an earlier one's (it would publish
    duplicate series, which Prometheus rejects)."""
    seen: set[str] = set()
    out = []
    for t in targets or ():
        key = label(t)
        if key in seen:
            log.warning("duplicate probe target ignored", extra={"kv": {"collector": name, "target": key}})
            continue
        seen.add(key)
        out.append(t)
    return out


def run_targets(targets: Sequence[Mapping[str, Any]], probe: Callable[[Mapping[str, Any], float], Families],
                down: Callable[[Mapping[str, Any], str], Families], *, max_workers: int = 8,
                grace: float = 1.0, name: str = "probe",
                describe: Callable[[Mapping[str, Any]], str] = lambda t: "") -> Families:
    """Probe every target concurrently; a target that raises or misses the deadline gives ``down(target, why)``.

    ``probe(target, timeout)`` must bound its own I/O by ``timeout``; the deadline (largest timeout plus
    ``grace``) only guards against a probe that ignores it. Threads are daemons so a stuck one never blocks
    exit.
    """
    out = Families()
    if not targets:
        return out
    timeouts = [parse_duration(t.get("timeout")) for t in targets]
    results: dict[int, Families] = {}
    errors: dict[int, str] = {}
    work: queue.SimpleQueue = queue.SimpleQueue()
    for i in range(len(targets)):
        work.put(i)
    lock = threading.Lock()
    done = threading.Event()

    def worker() -> None:
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return
            try:
                fam = probe(targets[i], timeouts[i])
                with lock:
                    results[i] = fam
            except Exception as e:  # a probe failure is data (up 0), never a failed scrape
                with lock:
                    errors[i] = f"{type(e).__name__}: {e}"
            with lock:
                if len(results) + len(errors) == len(targets):
                    done.set()

    workers = min(max_workers, len(targets))
    waves = -(-len(targets) // workers)
    deadline = max(timeouts) * waves + grace
    for n in range(workers):
        threading.Thread(target=worker, name=f"{name}-probe-{n}", daemon=True).start()
    done.wait(deadline)
    with lock:
        for i, t in enumerate(targets):
            if i in results:
                out.merge(results[i])
            else:
                why = scrub(errors.get(i, f"no answer within {deadline:.1f}s"), target_secrets(t))
                log.warning("probe failed", extra={"kv": {"collector": name, "target": describe(t), "err": why}})
                out.merge(down(t, why))
    return out


def elapsed(start: float) -> float:
    return time.perf_counter() - start


class ProbeCollector:
    """Base of a service-probe collector: every configured target probed concurrently, each under its timeout.

    A subclass sets ``name`` (its registered name, for logs and thread names) and defines ``label(target)`` (the
    target's series label; a second target with the same label is dropped), ``probe(target, timeout)``
    (one target's samples; it bounds its own I/O by ``timeout``) and ``down(target, why)`` (the samples of a
    target that failed or missed the deadline). ``describe(target)``, the target in log lines, defaults to
    ``label``. Targets come from the collector's ``targets`` setting.
    """

    name = "probe"

    def __init__(self, ctx: CollectorContext):
        self.targets = unique_targets(ctx.settings.get("targets"), self.label, self.name)

    def label(self, target: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def describe(self, target: Mapping[str, Any]) -> str:
        return self.label(target)

    def probe(self, target: Mapping[str, Any], timeout: float) -> Families:
        raise NotImplementedError

    def down(self, target: Mapping[str, Any], why: str) -> Families:
        raise NotImplementedError

    def collect(self) -> Iterable[Metric]:
        yield from run_targets(self.targets, self.probe, self.down, name=self.name, describe=self.describe).metrics()
