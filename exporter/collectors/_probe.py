"""What the service-probe collectors (http_probe, redis, postgres, nginx, haproxy) share: target schema pieces,
timeouts, secrets, redaction, a sample collector that merges per-target samples into families, and
``ProbeCollector``, the base that probes every target concurrently within a deadline.

A probe collector scrapes many targets in one collection, so one hung or dead target must cost at most its
own timeout (plus ``GRACE``) and must never keep the others from reporting. Each target runs in a daemon
thread; whatever has not answered when its deadline passes is reported as down, whatever the client library
does, and the probe's ``on_deadline`` hooks (shut its socket down) free the thread.
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


GRACE = 0.25  # seconds past a target's timeout before the runner answers for it (thread hand-off, parsing)
MAX_WORKERS = 32

_scope = threading.local()


def on_deadline(fn: Callable[[], Any]) -> None:
    """Called from inside a probe: if the probe is still running when its deadline passes, the runner calls ``fn``
    from its own thread (shut a socket down, so a library call blocked on it returns at once).

    The runner answers for a late target whatever the library does; this only frees the probe's thread early.
    Outside a runner (a probe called directly) it does nothing.
    """
    hooks = getattr(_scope, "hooks", None)
    if hooks is not None:
        hooks.append(fn)


def shutdown_socket(sock: Any) -> None:
    """Shut a socket down (not close it): a read or poll blocked on it in another thread returns at once.
    A socket closed meanwhile has no descriptor any more (CPython sets it to -1 first), so this never touches
    a descriptor number that was reused."""
    import socket

    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def shutdown_fd(fd: int) -> None:
    """``shutdown_socket`` for a descriptor a client library owns (its own object is not a Python socket).
    Call it only while the library's connection is open (check right before), never for a closed one."""
    import socket

    if fd < 0:
        return
    s = socket.socket(fileno=os.dup(fd))
    try:
        shutdown_socket(s)
    finally:
        s.close()


class InFlight:
    """Targets whose previous probe is still running (a library that ignored its timeout and was not freed by
    its deadline hook). A new probe of such a target waits for it within its own timeout, then is answered down
    without starting: a permanently hung target holds at most one thread however often it is scraped."""

    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._cond = threading.Condition()

    def claim(self, key: str, wait: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: key not in self._busy, wait) and not self._busy.add(key)

    def release(self, key: str) -> None:
        with self._cond:
            self._busy.discard(key)
            self._cond.notify_all()


def run_targets(targets: Sequence[Mapping[str, Any]], probe: Callable[[Mapping[str, Any], float], Families],
                down: Callable[[Mapping[str, Any], str], Families], *, max_workers: int = MAX_WORKERS,
                grace: float = GRACE, name: str = "probe",
                describe: Callable[[Mapping[str, Any]], str] = lambda t: "",
                inflight: InFlight | None = None,
                key: Callable[[Mapping[str, Any]], str] | None = None) -> Families:
    """Probe every target concurrently; a target that raises or misses its deadline gives ``down(target, why)``.

    A target's deadline is its own timeout plus ``grace`` from the moment its probe starts, enforced here
    whatever the client library does: the runner stops waiting, answers ``down`` and calls the probe's
    ``on_deadline`` hooks; a result that arrives later is discarded. ``probe(target, timeout)`` should still
    bound its own I/O by ``timeout`` (so its thread ends). Threads are daemons so a stuck one never blocks exit.
    With more targets than ``max_workers``, later ones start as earlier ones finish (or are given up).
    """
    out = Families()
    if not targets:
        return out
    n = len(targets)
    timeouts = [parse_duration(t.get("timeout")) for t in targets]
    keys = [(key or describe)(t) for t in targets]
    results: dict[int, Families] = {}
    errors: dict[int, str] = {}
    started: dict[int, float] = {}
    hooks: list[list[Callable[[], Any]]] = [[] for _ in targets]
    work: queue.SimpleQueue = queue.SimpleQueue()
    for i in range(n):
        work.put(i)
    cond = threading.Condition()
    given_up: set[int] = set()

    def worker() -> None:
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return
            with cond:
                started[i] = time.monotonic()
            if inflight is not None and not inflight.claim(keys[i], timeouts[i]):
                with cond:
                    if i not in given_up:
                        errors[i] = "the previous probe of this target is still running"
                    cond.notify()
                continue
            _scope.hooks = hooks[i]
            try:
                fam: Families | None = probe(targets[i], timeouts[i])
                err = None
            except Exception as e:  # a probe failure is data (up 0), never a failed scrape
                fam, err = None, f"{type(e).__name__}: {e}"
            finally:
                _scope.hooks = None
                if inflight is not None:
                    inflight.release(keys[i])
            with cond:
                if i not in given_up:
                    if err is None:
                        results[i] = fam
                    else:
                        errors[i] = err
                cond.notify()
            if i in given_up:
                return  # this thread overran; the runner has started another in its place if work is left

    def start_worker(k: int) -> None:
        threading.Thread(target=worker, name=f"{name}-probe-{k}", daemon=True).start()

    spawned = min(max_workers, n)
    for k in range(spawned):
        start_worker(k)
    with cond:
        while True:
            now = time.monotonic()
            pending = [i for i in range(n) if i not in results and i not in errors and i not in given_up]
            if not pending:
                break
            late = [i for i in pending if i in started and now >= started[i] + timeouts[i] + grace]
            for i in late:
                given_up.add(i)
                errors[i] = f"no answer within {timeouts[i] + grace:.2f}s"
                for fn in hooks[i]:
                    try:
                        fn()
                    except Exception:  # a hook is best effort: the answer is already decided
                        pass
                if not work.empty():  # work is left: replace the overrunning thread
                    start_worker(spawned)
                    spawned += 1
            if late:
                continue
            waits = [started[i] + timeouts[i] + grace - now for i in pending if i in started]
            cond.wait(min(waits) if waits else 0.05)
    for i, t in enumerate(targets):
        if i in results:
            out.merge(results[i])
        else:
            why = scrub(errors[i], target_secrets(t))
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
        self.inflight = InFlight()

    def label(self, target: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def describe(self, target: Mapping[str, Any]) -> str:
        return self.label(target)

    def probe(self, target: Mapping[str, Any], timeout: float) -> Families:
        raise NotImplementedError

    def down(self, target: Mapping[str, Any], why: str) -> Families:
        raise NotImplementedError

    def collect(self) -> Iterable[Metric]:
        yield from run_targets(self.targets, self.probe, self.down, name=self.name, describe=self.describe,
                               inflight=self.inflight, key=self.label).metrics()
