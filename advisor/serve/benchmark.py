"""``POST /api/performance/benchmark``: a bench (``advisor.bench``) started through the service.

- Off unless the service was started with ``--bench.allow URL-PREFIX`` (or ``PERFADVISOR_SERVE_BENCH_ALLOW``):
  then every request is 403. With it, every target URL must fall under one of the prefixes (same scheme, host
  and port; the path under the prefix's path; no ``..`` segments), else 403 and nothing is stored.
- The body is validated by ``BenchmarkRequest`` (openapi.py; 400), the load by the bench's own caps (422 naming
  the cap), thresholds by their grammar (400).
- One bench at a time: a POST while one runs is 409 with the running bench's id (no queue: a queued load test
  would start at a time nobody chose).
- The bench runs in its own process (spawned: clean signal handlers, and the load generator's worker processes
  are forked from it, not from the service), watched by a thread, so the API stays responsive.
- With ``"observe": {...}`` in the body and a Prometheus as the service's source, the bench is followed, as
  ``advisor bench --prometheus`` does, by what Prometheus saw (CPU and memory per 1,000 requests) and what
  saturated (the service's packs over the run's window) once ``settle`` has passed; a Prometheus error there is
  recorded with the result, it does not fail the bench.
- Its result goes into the history (``benchmarks`` table), compared (``advisor.compare``) with the previous done
  bench of the same target; the verdict is stored and returned, and ``benchmark_finished`` goes out on the
  event streams.
"""
from __future__ import annotations

import json
import logging
import multiprocessing as mp
import posixpath
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import anyio
import jsonschema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..bench import thresholds as T
from ..bench.result import BenchResult
from ..bench.spec import BenchSpec, Target
from ..compare import report as compare_report
from ..compare import samples as compare_samples
from ..compare.verdict import compare as judge
from ..durations import parse_duration
from ..errors import AdvisorError, ConfigError, SourceError
from ..history.benchmarks import BenchmarkLog
from .openapi import BENCHMARK_BODY

log = logging.getLogger("perfadvisor.advisor.serve")
VALIDATOR = jsonschema.Draft202012Validator(BENCHMARK_BODY)
COMPARE_SETTINGS = {"alpha": 0.05, "tolerance": 0.05, "min_samples": 8}


@dataclass(frozen=True)
class Prefix:
    scheme: str
    host: str
    port: int
    path: str

    def covers(self, url: str) -> bool:
        try:
            u = urlsplit(url)
            port = u.port or (443 if u.scheme == "https" else 80)
        except ValueError:
            return False
        if u.username is not None or u.password is not None:
            return False
        path = u.path or "/"
        if any(seg in (".", "..") for seg in unquote(path).split("/")):
            return False
        if (u.scheme, (u.hostname or "").lower(), port) != (self.scheme, self.host, self.port):
            return False
        return path == self.path or path.startswith(self.path if self.path.endswith("/") else self.path + "/")


def parse_allow(prefixes: tuple[str, ...]) -> tuple[Prefix, ...]:
    """``--bench.allow`` values → prefixes; ConfigError (exit 2) for one that is not an http(s) URL prefix."""
    out = []
    for text in prefixes:
        try:
            u = urlsplit(text.strip())
            port = u.port or (443 if u.scheme == "https" else 80)
        except ValueError:
            u, port = None, 0
        if u is None or u.scheme not in ("http", "https") or not u.hostname or u.query or u.fragment \
                or u.username is not None:
            raise ConfigError(f"--bench.allow {text!r}: expected an http:// or https:// URL prefix, e.g. "
                              "http://10.0.0.5:8080/api/")
        out.append(Prefix(u.scheme, u.hostname.lower(), port, posixpath.normpath(u.path) if u.path not in ("", "/")
                          else "/"))
    return tuple(out)


class Refused(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _seconds(value, where: str) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return parse_duration(value)
    except ValueError as e:
        raise Refused(f"{where}: {e}", 400) from None


def spec_from_body(body: dict) -> BenchSpec:
    """The validated body → a BenchSpec checked against the caps (Refused: 400 malformed, 422 over a cap)."""
    targets = tuple(Target(url=t["url"], method=t.get("method", "GET"),
                           headers=tuple((k, v) for k, v in (t.get("headers") or {}).items()),
                           body=t.get("body", "").encode(), weight=float(t.get("weight", 1)), name=t.get("name", ""))
                    for t in body["targets"])
    for i, t in enumerate(targets):
        for k, v in t.headers:
            if not k.strip() or ":" in k or any(c in k + v for c in "\r\n"):
                raise Refused(f"targets/{i}/headers: {k[:40]!r}: a header name and value on one line each", 400)
    stages = tuple((_seconds(s["duration"], f"stages/{i}/duration"), float(s["target"]))
                   for i, s in enumerate(body.get("stages", ())))
    if stages and "duration" in body:
        raise Refused("duration: does not go with stages (the stages set the run's length)", 400)
    spec = BenchSpec(targets=targets, rate=body.get("rate"), stages=stages,
                     duration=_seconds(body.get("duration", 10), "duration"),
                     warmup=_seconds(body.get("warmup", 0), "warmup"),
                     timeout=_seconds(body.get("timeout", 10), "timeout"), connections=body.get("connections"),
                     thresholds=tuple(body.get("thresholds", ())))
    for t in spec.thresholds:
        try:
            T.parse(t)
        except ConfigError as e:
            raise Refused(f"thresholds: {e}", 400) from None
    try:
        spec.check()
    except ConfigError as e:
        raise Refused(str(e), 422) from None
    return spec


@dataclass(frozen=True)
class Observe:
    """What to read from the service's Prometheus after the bench (the body's ``observe``)."""

    instance: str = ".+"
    groupname: str = ".+"
    settle: float = 15.0
    scrape_interval: float = 15.0


def observe_from_body(body: dict, prometheus: bool) -> Observe | None:
    o = body.get("observe")
    if o is None:
        return None
    if not prometheus:
        raise Refused("observe: the service has no Prometheus (it samples this host itself); start it with "
                      "--prometheus URL to observe benchmarks", 400)
    for key in ("instance", "groupname"):
        if key in o:
            try:
                re.compile(o[key])
            except re.error as e:
                raise Refused(f"observe/{key}: not a regular expression: {e}", 400) from None
    settle = _seconds(o.get("settle", "15s"), "observe/settle")
    scrape = _seconds(o.get("scrape_interval", "15s"), "observe/scrape_interval")
    for name, v, top in (("settle", settle, 600.0), ("scrape_interval", scrape, 3600.0)):
        if not 0 < v <= top:
            raise Refused(f"observe/{name}: must be longer than 0s and at most {top:.0f}s", 400)
    return Observe(o.get("instance", ".+"), o.get("groupname", ".+"), settle, scrape)


def target_key(spec: BenchSpec) -> str:
    """What "the same target" means: the same URLs with the same methods and weights."""
    return json.dumps(sorted([t.method, t.url, t.weight] for t in spec.targets), separators=(",", ":"))


def _child(spec: BenchSpec, conn) -> None:
    """The bench process: run it, send back the result as JSON data (or the error as one line)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))     # SIGTERM unwinds: the runner stops its workers
    from ..bench import runner
    try:
        result = runner.run(spec)
        result.thresholds = T.evaluate(result, [T.parse(t) for t in spec.thresholds])
        conn.send(("ok", result.to_dict()))
    except Exception as e:  # noqa: BLE001 - reported as the bench's error
        conn.send(("error", str(e) or type(e).__name__))
    finally:
        conn.close()


def compare_with(previous: dict, result: BenchResult, prev_id: int) -> dict:
    """The comparison (compare's JSON form) of `result` with the previous bench, and what differed in load."""
    prev = BenchResult.from_dict(previous, f"benchmark {prev_id}")
    base = compare_samples.from_bench(prev, f"benchmark {prev_id}")
    cur = compare_samples.from_bench(result, "this benchmark")
    comparisons = [judge(base[n][0], base[n][1], cur[n][1], **COMPARE_SETTINGS) for n in base if n in cur]
    out = compare_report.to_dict(comparisons, COMPARE_SETTINGS)
    out["previous_id"] = prev_id
    load = lambda s: {k: s.get(k) for k in ("model", "rate", "stages", "connections", "duration")}  # noqa: E731
    if load(prev.spec) != load(result.spec):
        out["note"] = (f"the load differs from benchmark {prev_id}'s ({json.dumps(load(prev.spec))} then, "
                       f"{json.dumps(load(result.spec))} now): throughput and latency may differ for that reason")
    return out


class Benchmarks:
    """The benchmark endpoints, one running bench, and its watcher thread."""

    def __init__(self, store, events, allow: tuple[str, ...], api, config=None):
        self.allow = parse_allow(allow)
        self.config = config                  # the service's: its Prometheus and packs, for ``observe``
        self._stopping = threading.Event()
        self.log = BenchmarkLog(store)
        self.events, self.api = events, api
        self._lock = threading.Lock()
        self.running: int | None = None
        self._proc = None
        self._thread: threading.Thread | None = None
        self.log.interrupt_unfinished(time.time())

    def routes(self) -> list:
        return [Route("/api/performance/benchmark", self.start, methods=["POST"]),
                Route("/api/performance/benchmark", self.index, methods=["GET"]),
                Route("/api/performance/benchmark/{id}", self.one, methods=["GET"])]

    # -- HTTP -----------------------------------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        from .api import JSON, BadRequest, error
        if not self.allow:
            return error("benchmarks are off: start advisor serve with --bench.allow URL-PREFIX to allow targets",
                         403)
        try:
            body = await self.api._body(request, VALIDATOR)
            if not body:
                raise BadRequest("(body): a JSON body with targets is required")
            denied = [t["url"] for t in body["targets"] if not any(p.covers(t["url"]) for p in self.allow)]
            if denied:
                raise Refused(f"target {denied[0][:200]!r} is not on the allow-list (--bench.allow)", 403)
            spec = spec_from_body(body)
            watch = observe_from_body(body, self.config is not None and self.config.prometheus is not None)
        except BadRequest as e:
            return error(str(e), e.status)
        except Refused as e:
            return error(str(e), e.status)
        client = (request.client.host if request.client else "?")
        with self._lock:
            if self.running is not None:
                return JSON({"error": f"benchmark {self.running} is running; one at a time (try again when it has "
                                      "finished)", "running": self.running}, status_code=409)
            bench_id = self.log.add(target_key(spec), client, body, time.time())
            self.running = bench_id
        request.scope.setdefault("state", {})["bench_id"] = bench_id
        self._thread = threading.Thread(target=self._watch, args=(bench_id, spec, watch), name=f"bench-{bench_id}",
                                        daemon=True)
        self._thread.start()
        log.info("benchmark %d started by %s: %s", bench_id, client, spec.describe())
        where = f"/api/performance/benchmark/{bench_id}"
        return JSON({"id": bench_id, "status": "running", "describe": spec.describe(), "location": where},
                    status_code=202, headers={"Location": where})

    async def one(self, request: Request) -> Response:
        from .api import JSON, error
        raw = request.path_params["id"]
        if not raw.isdigit() or len(raw) > 18:
            return error(f"benchmark id {raw[:20]!r}: expected a whole number", 404)
        full = request.query_params.get("detail") == "full"
        row = await anyio.to_thread.run_sync(self.log.get, int(raw), full)
        return JSON(row) if row else error(f"no benchmark {raw}", 404)

    async def index(self, request: Request) -> Response:
        from .api import JSON, BadRequest, _int, error
        try:
            limit = _int(request, "limit", 100, 1, 1000)
        except BadRequest as e:
            return error(str(e), e.status)
        return JSON({"benchmarks": await anyio.to_thread.run_sync(self.log.list, limit), "running": self.running})

    # -- the run ----------------------------------------------------------------------------------------------

    def _watch(self, bench_id: int, spec: BenchSpec, watch: Observe | None = None) -> None:
        try:
            outcome = self._run(bench_id, spec, watch)
        except Exception as e:  # noqa: BLE001 - a failed bench is recorded, the service goes on
            log.exception("benchmark %d failed", bench_id)
            outcome = {"status": "failed", "error": f"internal error ({type(e).__name__}); see the service's log"}
            self.log.fail(bench_id, time.time(), outcome["error"])
        finally:
            with self._lock:
                self.running = None
                self._proc = None
        self.events.publish("benchmark_finished", {"id": bench_id, **outcome})

    def _observe(self, result: BenchResult, watch: Observe) -> dict | None:
        """What Prometheus saw and what saturated (None when the service stops first)."""
        from ..bench.observe import observe
        from ..bench.saturation import saturation
        from ..sources import choose
        if self._stopping.wait(max(0.0, result.ended + watch.settle - time.time())):
            return None
        try:
            source = choose(self.config)
            seen = observe(source, result, instance=watch.instance, groupname=watch.groupname, settle=watch.settle)
            sat = saturation(self.config, source, result, settle=watch.settle, scrape_interval=watch.scrape_interval)
        except (SourceError, AdvisorError) as e:
            return {"error": f"Prometheus: {e}", "rows": [("observed (Prometheus)", f"error: {e}")]}
        seen["rows"] += sat.pop("rows")
        seen["saturation"] = sat
        return seen

    def _run(self, bench_id: int, spec: BenchSpec, watch: Observe | None = None) -> dict:
        ctx = mp.get_context("spawn")
        reader, writer = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(spec, writer), name=f"perfadvisor-bench-{bench_id}", daemon=False)
        with self._lock:
            self._proc = proc
        proc.start()
        writer.close()
        deadline = time.monotonic() + 60 + spec.warmup + spec.load_duration + 2 * spec.timeout + 30
        msg = None
        while msg is None and time.monotonic() < deadline:
            if reader.poll(0.5):
                try:
                    msg = reader.recv()
                except EOFError:
                    break
            elif not proc.is_alive():
                break
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=10)
        now = time.time()
        if msg is None:
            error = f"the load generator ended without a result (exit code {proc.exitcode})"
            self.log.fail(bench_id, now, error)
            return {"status": "failed", "error": error}
        if msg[0] == "error":
            self.log.fail(bench_id, now, msg[1])
            return {"status": "failed", "error": msg[1]}
        data = msg[1]
        result = BenchResult.from_dict(data, f"benchmark {bench_id}")
        if result.responses == 0 and result.errors and set(result.errors_by_kind) <= {"connect", "tls"}:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(result.errors_by_kind.items()))
            error = f"no answer from the target ({kinds})"
            self.log.fail(bench_id, now, error)
            return {"status": "failed", "error": error}
        saturated = None
        if watch is not None:
            result.observed = data["observed"] = self._observe(result, watch)
            sat = (result.observed or {}).get("saturation")
            if sat is not None:
                saturated = [f"{f['rule_id']} on " + (",".join(f"{k}={v}" for k, v in sorted(f["target"].items()))
                                                      or "-") for f in sat["findings"]]
            now = time.time()
        summary = {**data["summary"], "duration": result.duration, "started": result.started,
                   "ended": result.ended, "thresholds": data["thresholds"], "thresholds_ok": result.thresholds_ok}
        if watch is not None:
            summary["saturated"] = saturated
            if result.observed and result.observed.get("error"):
                summary["observe_error"] = result.observed["error"]
        prev = self.log.previous(target_key(spec), bench_id)
        comparison = compare_with(prev[1], result, prev[0]) if prev else None
        verdict = comparison["verdict"] if comparison else None
        self.log.finish(bench_id, now, summary, data, prev[0] if prev else None, verdict, comparison)
        log.info("benchmark %d done: %.1f req/s, p99 %s, verdict against %s: %s", bench_id, result.rate,
                 summary["latency"]["p99"], prev[0] if prev else "-", verdict or "none (first of this target)")
        return {"status": "done", "rate": result.rate, "throughput": result.throughput,
                "p99": summary["latency"]["p99"], "error_rate": result.error_rate,
                "previous_id": prev[0] if prev else None, "verdict": verdict,
                **({"saturated": saturated} if watch is not None else {})}

    def stop(self) -> None:
        """The service stops: a running bench is ended (its row says it was interrupted)."""
        self._stopping.set()
        with self._lock:
            proc, bench_id = self._proc, self.running
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(timeout=15)
        if bench_id is not None:
            self.log.interrupt_unfinished(time.time())


__all__ = ["Benchmarks", "parse_allow", "spec_from_body", "target_key"]
