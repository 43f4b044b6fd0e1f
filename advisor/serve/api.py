"""The HTTP endpoints (Starlette): the JSON API, the live streams, health and metrics.

GET handlers read the engine's last results and the history store and never wait for an evaluation; POST
evaluations run in a worker thread (sharing or waiting for a running one) up to a deadline.
"""
from __future__ import annotations

import asyncio
import logging
import time

import anyio
import jsonschema
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import AdvisorError, ConfigError, SourceError
from ..run import plan
from ..sources import choose
from . import views
from .openapi import OPTIMIZE_BODY, document
from .scope import AREAS, Scope, parse_matchers

log = logging.getLogger("perfadvisor.advisor.serve")
_BODY = jsonschema.Draft202012Validator(OPTIMIZE_BODY)
CATEGORIES = ("optimization", "scaling", "alert")
SEVERITIES = ("info", "warning", "critical")
HEARTBEAT = 15.0


class JSON(Response):
    media_type = "application/json"

    def render(self, content) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def error(message: str, status: int = 400) -> JSON:
    return JSON({"error": message}, status_code=status)


def _list(request: Request, name: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    vals = tuple(v for raw in request.query_params.getlist(name) for v in raw.split(",") if v)
    if allowed:
        bad = [v for v in vals if v not in allowed]
        if bad:
            raise BadRequest(f"{name}: unknown value {bad[0][:40]!r} (known: {', '.join(allowed)})")
    return vals


def _int(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise BadRequest(f"{name}: expected a whole number from {lo} to {hi}")
    return int(raw)


class Api:
    """The routes, bound to one engine."""

    def __init__(self, engine, metrics, version: str, deadline: float = 60.0, page=None, max_body: int = 65536):
        self.engine, self.metrics, self.deadline, self.page = engine, metrics, deadline, page
        self.max_body = max_body
        self.openapi = orjson.dumps(document(version))

    def routes(self) -> list:
        r = [
            Route("/api/openapi.json", self.openapi_doc),
            Route("/api/performance/optimize", self.optimize),
            Route("/api/performance/metrics/live", self.live),
            Route("/api/performance/scaling/recommendations", self.scaling),
            Route("/api/performance/analytics", self.analytics),
            Route("/api/performance/memory/leaks", self.leaks),
            Route("/api/performance/runs", self.runs),
            Route("/api/performance/runs/{id}", self.run),
            Route("/api/performance/runs/{id}/diff/{other}", self.diff),
            Route("/api/performance/stream", self.stream),
            WebSocketRoute("/api/performance/ws", self.ws),
            Route("/health", self.health), Route("/health/live", self.health_live),
            Route("/health/ready", self.health_ready), Route("/health/detailed", self.health_detailed),
            Route("/metrics", self.prom),
        ]
        r += [Route(f"/api/performance/{area}/optimize", self._area(area), methods=["POST"]) for area in AREAS]
        if self.page is not None:
            r.append(Route("/", self.page))
        return r

    async def _guarded(self, request: Request, fn):
        try:
            return await fn(request)
        except BadRequest as e:
            return error(str(e), e.status)

    # -- reading ------------------------------------------------------------------------------------------

    async def openapi_doc(self, request: Request) -> Response:
        return Response(self.openapi, media_type="application/json")

    async def optimize(self, request: Request) -> Response:
        async def go(req):
            try:
                matchers = parse_matchers(_list(req, "target"))
            except ConfigError as e:
                raise BadRequest(f"target: {e}") from None
            body = views.optimize(self.engine, categories=_list(req, "category", CATEGORIES),
                                  severities=_list(req, "severity", SEVERITIES), dimensions=_list(req, "dimension"),
                                  packs=_list(req, "pack"), matchers=matchers,
                                  full=_list(req, "detail", ("summary", "full"))[-1:] == ("full",))
            return Response(body, media_type="application/json")
        return await self._guarded(request, go)

    async def scaling(self, request: Request) -> Response:
        return JSON(views.scaling(self.engine))

    async def analytics(self, request: Request) -> Response:
        return JSON(views.analytics(self.engine))

    async def leaks(self, request: Request) -> Response:
        return JSON(views.leaks(self.engine))

    async def live(self, request: Request) -> Response:
        eng = self.engine

        def figures():
            if eng.feed is not None:
                loaded = eng.loaded or eng.feed.load()
                return views.live(choose(eng.config, loaded.storage), loaded.now)
            return views.live(choose(eng.config), time.time())
        try:
            with anyio.fail_after(min(30.0, self.deadline)):
                return JSON(await anyio.to_thread.run_sync(figures, abandon_on_cancel=True))
        except SourceError as e:
            return error(f"data source: {e}", 503)
        except TimeoutError:
            return error("data source did not answer in time", 503)

    async def runs(self, request: Request) -> Response:
        async def go(req):
            limit = _int(req, "limit", 100, 1, 1000)
            before = _int(req, "before", None, 1, 2**62)
            return JSON({"runs": self.engine.store.runs(limit=limit, before=before)})
        return await self._guarded(request, go)

    @staticmethod
    def _id(raw: str) -> int:
        if not raw.isdigit() or len(raw) > 18:
            raise BadRequest(f"run id {raw[:20]!r}: expected a whole number", 404)
        return int(raw)

    async def run(self, request: Request) -> Response:
        async def go(req):
            rid = self._id(req.path_params["id"])
            found = self.engine.store.run(rid)
            return JSON(found) if found else error(f"no run {rid}", 404)
        return await self._guarded(request, go)

    async def diff(self, request: Request) -> Response:
        async def go(req):
            a, b = self._id(req.path_params["id"]), self._id(req.path_params["other"])
            try:
                return JSON(self.engine.store.diff(a, b).as_dict())
            except KeyError as e:
                return error(f"no run {e.args[0]}", 404)
        return await self._guarded(request, go)

    # -- evaluating ---------------------------------------------------------------------------------------

    def _area(self, area: str):
        async def handler(request: Request) -> Response:
            return await self._guarded(request, lambda req: self._evaluate(req, area))
        return handler

    async def _body(self, request: Request, validator: jsonschema.Draft202012Validator = _BODY) -> dict:
        chunks, size = [], 0
        async for chunk in request.stream():   # counted as it arrives: a chunked body has no Content-Length
            size += len(chunk)
            if size > self.max_body:
                raise BadRequest(f"request body larger than {self.max_body} bytes", 413)
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return {}
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise BadRequest("the body must be JSON (Content-Type: application/json)", 415)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise BadRequest(f"the body is not valid JSON: {str(e).split(':')[0]}") from None
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.absolute_path) or "(body)"
            msg = e.message if e.validator in ("additionalProperties", "type", "required", "maxItems",
                                               "maxProperties", "minLength") else f"fails {e.validator}"
            if len(msg) > 200:
                msg = msg[:200] + "…"
            raise BadRequest(f"{where}: {msg}")
        return body

    async def _evaluate(self, request: Request, area: str) -> Response:
        body = await self._body(request)
        try:
            matchers = parse_matchers(body.get("targets", ()))
        except ConfigError as e:
            raise BadRequest(f"targets: {e}") from None
        overrides = []
        for key, value in (body.get("parameters") or {}).items():
            pack, _, name = key.rpartition(".")
            overrides.append((pack or None, name, str(value).lower() if isinstance(value, bool) else value,
                              "body parameters"))
        scope = Scope(area=area, overrides=tuple(overrides), matchers=matchers, trigger=f"api:{area}")
        try:   # parameters are checked before anything runs or is stored (off the event loop: it loads packs)
            await anyio.to_thread.run_sync(plan, scope.config(self.engine.config, self.engine.loaded_packs))
        except AdvisorError as e:
            raise BadRequest(str(e)) from None
        try:
            with anyio.fail_after(self.deadline):
                out = await anyio.to_thread.run_sync(self.engine.evaluate, scope, abandon_on_cancel=True)
        except TimeoutError:
            raise BadRequest(f"the evaluation did not finish within {self.deadline:g}s; it goes on, and its run "
                             "will be listed in /api/performance/runs", 503) from None
        request.scope.setdefault("state", {})["run_id"] = out.run_id
        if out.error:
            return JSON({"run_id": out.run_id, "area": area, "error": out.error, "findings": []}, status_code=503)
        r = out.report
        return JSON({"run_id": out.run_id, "area": area, "evaluated_at": r.evaluated_at, "score": r.overall.value,
                     "rules_evaluated": r.evaluated_count, "rules_total": len(r.results),
                     "findings": views.findings_json(out.findings, self.engine),
                     "pending": views.findings_json(out.pending, self.engine),
                     "not_evaluated": [{"rule_id": x.rule.id, "reason": x.reason} for x in r.not_evaluated]})

    # -- live ---------------------------------------------------------------------------------------------

    async def stream(self, request: Request) -> Response:
        events = self.engine.events
        q = events.subscribe()

        async def gen():
            try:
                yield b": connected\n\n"
                while True:
                    try:
                        ev = await asyncio.wait_for(q.get(), HEARTBEAT)
                    except asyncio.TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    yield (f"id: {ev['id']}\nevent: {ev['type']}\ndata: ".encode() + orjson.dumps(ev) + b"\n\n")
            finally:
                events.unsubscribe(q)
        return StreamingResponse(gen(), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no"})

    async def ws(self, websocket: WebSocket) -> None:
        events = self.engine.events
        await websocket.accept()
        q = events.subscribe()

        async def drain():   # a client's messages are ignored; reading notices it closing
            try:
                while True:
                    msg = await websocket.receive()
                    if msg["type"] == "websocket.disconnect":
                        return
            except (WebSocketDisconnect, RuntimeError):
                return
        reader = asyncio.create_task(drain())
        try:
            while not reader.done():
                getter = asyncio.create_task(q.get())
                done, _ = await asyncio.wait({getter, reader}, timeout=HEARTBEAT,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await websocket.send_text(orjson.dumps(getter.result()).decode())
                else:
                    getter.cancel()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            events.unsubscribe(q)

    # -- health and metrics -------------------------------------------------------------------------------

    def _ready(self) -> tuple[bool, str]:
        eng = self.engine
        if eng.last is not None:
            return True, "the first run finished"
        if eng.feed is not None:
            return (eng.feed.taken > 0, "local sampling started" if eng.feed.taken else "no local sample yet")
        if getattr(self, "_source_answered", False):
            return True, "the source answers"
        return False, "no run finished yet"

    async def health_live(self, request: Request) -> Response:
        return JSON({"status": "ok"})

    async def health_ready(self, request: Request) -> Response:
        ok, why = self._ready()
        if not ok and self.engine.feed is None:
            ok = await self._probe()
            why = "the source answers" if ok else why
        return JSON({"status": "ready" if ok else "not ready"}, status_code=200 if ok else 503)

    async def _probe(self) -> bool:
        """One cheap query to the source (bounded), remembered once it answered."""
        def ask():
            choose(self.engine.config).instant("vector(1)", time.time())
            return True
        try:
            with anyio.fail_after(5):
                self._source_answered = await anyio.to_thread.run_sync(ask, abandon_on_cancel=True)
        except (SourceError, TimeoutError, AdvisorError):
            return False
        return True

    async def health(self, request: Request) -> Response:
        ok, why = self._ready()
        return JSON({"status": "ok", "ready": ok, "reason": why, **self.engine.status()})

    async def health_detailed(self, request: Request) -> Response:
        eng = self.engine
        ok, why = self._ready()
        st = eng.store.stats()
        body = {"status": "ok", "ready": ok, "reason": why, **eng.status(), "source": eng.source_name,
                "interval_seconds": eng.interval, "uptime_seconds": time.time() - eng.started,
                "store": {"path": str(eng.store.path), "bytes": eng.store.size_bytes(), **st},
                "subscribers": eng.events.subscribers, "packs": list(eng.loaded_packs),
                "schedule": eng.schedule()}
        if eng.feed is not None:
            body["local"] = {"sampler": eng.feed.described, "instance": eng.feed.instance,
                             "samples_taken": eng.feed.taken, "interval_seconds": eng.feed.interval,
                             "error": eng.feed.error}
        return JSON(body)

    async def prom(self, request: Request) -> Response:
        return Response(self.metrics.render(self.engine), media_type="text/plain; version=0.0.4; charset=utf-8")
