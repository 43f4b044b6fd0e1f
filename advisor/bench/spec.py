"""What a bench run does, validated once: targets, load model, caps; and the scenario file that describes it.

Safety caps are hard limits of this tool, not defaults: a rate above ``MAX_RATE``, a run longer than
``MAX_DURATION`` or more than ``MAX_CONNECTIONS`` connections is refused with a message that names the cap.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema

from ..durations import parse_duration
from ..errors import ConfigError, PackError
from ..packs import yamlsafe
from ..packs.yamlsafe import field_name

MAX_RATE = 100_000.0           # requests/s over all processes
MAX_DURATION = 3600.0          # seconds of measured load
MAX_WARMUP = 600.0
MAX_CONNECTIONS = 10_000
MAX_PROCESSES = 64
MAX_BODY = 10 * 1024 * 1024    # bytes of a request body (inline or file)
MAX_TIMEOUT = 300.0

_SCHEMA = json.loads(resources.files(__package__).joinpath("scenario.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(_SCHEMA)


class ScenarioError(PackError):
    """A scenario file that does not load or validate: ``FILE:LINE: field: reason`` (exit 2)."""


@dataclass(frozen=True)
class Target:
    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    weight: float = 1.0
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.url}"

    def origin(self) -> tuple[str, str, int]:
        u = urlsplit(self.url)
        return u.scheme, u.hostname or "", u.port or (443 if u.scheme == "https" else 80)

    def request_bytes(self) -> bytes:
        from .client import build_request
        u = urlsplit(self.url)
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        host = u.netloc.rpartition("@")[2]
        return build_request(self.method, host, path, dict(self.headers), self.body)


@dataclass(frozen=True)
class BenchSpec:
    """A validated bench run. ``rate``/``stages`` set → open model; neither → closed model (``connections``)."""

    targets: tuple[Target, ...]
    duration: float = 10.0
    warmup: float = 0.0
    rate: float | None = None
    stages: tuple[tuple[float, float], ...] = ()      # (seconds, target rate); start rate is ``rate`` or 0
    connections: int | None = None                     # closed: exactly this many; open: at most this many
    processes: int | None = None
    timeout: float = 10.0
    ca_file: str | None = None
    insecure: bool = False
    thresholds: tuple[str, ...] = field(default=())

    @property
    def open_model(self) -> bool:
        return self.rate is not None or bool(self.stages)

    @property
    def peak_rate(self) -> float:
        return max([self.rate or 0.0] + [t for _, t in self.stages])

    @property
    def load_duration(self) -> float:
        """Seconds of load after the warmup (stages set their own length)."""
        return sum(d for d, _ in self.stages) - self.warmup if self.stages else self.duration

    def resolved(self) -> "BenchSpec":
        """Defaults filled in: processes and connections for this machine and load."""
        cpus = os.cpu_count() or 1
        conns, procs = self.connections, self.processes
        if self.open_model:
            conns = conns or int(min(MAX_CONNECTIONS, max(16, self.peak_rate / 50)))
            procs = procs or max(1, min(cpus, int(self.peak_rate // 8000) + 1))
        else:
            conns = conns or 16
            procs = procs or min(cpus, conns)
        procs = max(1, min(procs, conns))
        return replace(self, connections=conns, processes=procs)

    def check(self) -> None:
        """Refuse what the caps do not allow; ConfigError names the cap."""
        if not self.targets:
            raise ConfigError("no target: name at least one URL (or a scenario file with targets)")
        for t in self.targets:
            _check_url(t.url)
            if len(t.body) > MAX_BODY:
                raise ConfigError(f"request body of {t.label} is {len(t.body)} bytes; the cap is {MAX_BODY}")
        if self.rate is not None and not 0 < self.rate <= MAX_RATE:
            raise ConfigError(f"--rate {self.rate:g}/s is outside 0 < rate <= {MAX_RATE:g}/s (the tool's cap)")
        for _, target in self.stages:
            if not 0 <= target <= MAX_RATE:
                raise ConfigError(f"stage target {target:g}/s is outside 0..{MAX_RATE:g}/s (the tool's cap)")
        if self.stages and sum(d for d, _ in self.stages) <= self.warmup:
            raise ConfigError("the stages end before the warmup does: nothing would be measured")
        if not 0 < self.load_duration <= MAX_DURATION:
            raise ConfigError(f"duration {self.load_duration:g}s is outside 0 < duration <= {MAX_DURATION:g}s "
                              "(the tool's cap)")
        if not 0 <= self.warmup <= MAX_WARMUP:
            raise ConfigError(f"warmup {self.warmup:g}s is outside 0..{MAX_WARMUP:g}s (the tool's cap)")
        if self.connections is not None and not 1 <= self.connections <= MAX_CONNECTIONS:
            raise ConfigError(f"--connections {self.connections} is outside 1..{MAX_CONNECTIONS} (the tool's cap)")
        if self.processes is not None and not 1 <= self.processes <= MAX_PROCESSES:
            raise ConfigError(f"--processes {self.processes} is outside 1..{MAX_PROCESSES}")
        if not 0 < self.timeout <= MAX_TIMEOUT:
            raise ConfigError(f"--timeout {self.timeout:g}s is outside 0 < timeout <= {MAX_TIMEOUT:g}s")

    def describe(self) -> str:
        """One line saying what this run will do, printed before it starts."""
        s = self.resolved()
        where = ", ".join(t.url for t in s.targets[:3]) + (f" and {len(s.targets) - 3} more" if len(s.targets) > 3 else "")
        warm = f" after {s.warmup:g}s warmup" if s.warmup else ""
        if s.stages:
            load = f"stages up to {s.peak_rate:g} req/s for {s.load_duration:g}s{warm}"
        elif s.open_model:
            load = f"{s.rate:g} req/s for {s.duration:g}s{warm}"
        else:
            load = f"as fast as {s.connections} connections go for {s.duration:g}s{warm}"
        return (f"{load} to {where} ({s.processes} process{'es' if s.processes != 1 else ''}, "
                f"{'up to ' if s.open_model else ''}{s.connections} connections, timeout {s.timeout:g}s)")


def _check_url(url: str) -> None:
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ConfigError(f"target {url!r}: not an http:// or https:// URL with a host")
    try:
        u.port
    except ValueError:
        raise ConfigError(f"target {url!r}: bad port") from None


def parse_header(text: str, where: str = "--header") -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c in text for c in "\r\n"):
        raise ConfigError(f"{where} {text!r}: expected 'Name: value' on one line")
    return name.strip(), value.strip()


def read_body(path: str, where: str = "--body-file") -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BODY + 1)
    except OSError as e:
        raise ConfigError(f"{where} {path}: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_BODY:
        raise ConfigError(f"{where} {path}: larger than the {MAX_BODY} byte cap")
    return data


@dataclass(frozen=True)
class Scenario:
    """What a scenario file says (load settings are None where the file leaves them to flags)."""

    targets: tuple[Target, ...]
    rate: float | None = None
    stages: tuple[tuple[float, float], ...] = ()
    duration: float | None = None
    warmup: float | None = None
    connections: int | None = None
    timeout: float | None = None
    thresholds: tuple[str, ...] = ()


def load_scenario(path: str) -> Scenario:
    """Read and validate a scenario file; every problem is a ScenarioError naming FILE:LINE and the field."""
    try:
        data, lines = yamlsafe.load_file(path)
    except PackError as e:
        raise ScenarioError(e.path, e.line, e.field, e.reason) from None

    def line(where: tuple) -> int | None:
        where = tuple(where)
        while where and where not in lines:
            where = where[:-1]
        return lines.get(where, 1)

    def fail(where: tuple, reason: str):
        raise ScenarioError(path, line(where), field_name(where) or "(top)", reason)

    if not isinstance(data, dict):
        fail((), "a scenario is a mapping with targets (and optionally rate, stages, duration, warmup)")
    errors = list(_VALIDATOR.iter_errors(data))
    if errors:
        e = max(errors, key=lambda e: len(e.absolute_path))
        msg = e.message
        where = tuple(e.absolute_path)
        if e.validator == "additionalProperties":
            known = sorted(e.schema.get("properties", {}))
            extra = sorted(k for k in e.instance if k not in known)
            fail(where + (extra[0],), f"unknown field (known: {', '.join(known)})")
        elif e.validator == "pattern" and tuple(e.absolute_path)[-1:] == ("url",):
            msg = f"{e.instance!r} is not an http:// or https:// URL"
        fail(tuple(e.absolute_path), msg)

    def dur(where: tuple, text: str) -> float:
        try:
            return parse_duration(text)
        except ValueError as err:
            fail(where, str(err))

    base = Path(path).parent
    targets = []
    for i, t in enumerate(data["targets"]):
        if "body" in t and "body_file" in t:
            fail(("targets", i, "body_file"), "give body or body_file, not both")
        body = t.get("body", "").encode()
        if "body_file" in t:
            try:
                body = read_body(str(base / t["body_file"]), "body_file")
            except ConfigError as err:
                fail(("targets", i, "body_file"), str(err))
        if len(body) > MAX_BODY:
            fail(("targets", i, "body"), f"larger than the {MAX_BODY} byte cap")
        try:
            _check_url(t["url"])
        except ConfigError as err:
            fail(("targets", i, "url"), str(err))
        targets.append(Target(url=t["url"], method=t.get("method", "GET"), headers=tuple(t.get("headers", {}).items()),
                              body=body, weight=float(t.get("weight", 1)), name=t.get("name", "")))
    stages = tuple((dur(("stages", i, "duration"), s["duration"]), float(s["target"]))
                   for i, s in enumerate(data.get("stages", ())))
    return Scenario(
        targets=tuple(targets), rate=data.get("rate"), stages=stages,
        duration=dur(("duration",), data["duration"]) if "duration" in data else None,
        warmup=dur(("warmup",), data["warmup"]) if "warmup" in data else None,
        connections=data.get("connections"),
        timeout=dur(("timeout",), data["timeout"]) if "timeout" in data else None,
        thresholds=tuple(data.get("thresholds", ())))
