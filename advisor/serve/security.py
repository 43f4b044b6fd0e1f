"""The service's guard, one ASGI middleware: basic auth (the exporter-toolkit web config, bcrypt, as the
exporter checks it), security headers, CORS only for allow-listed origins, a request body cap, a rate limit on
POST (429 with Retry-After) and an audit log line per POST.

``/health/live`` and ``/health/ready`` answer without credentials, for orchestrators' probes; they say nothing
but "ok". Everything else, WebSocket included, needs them when users are configured.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

import anyio
import orjson

from ...exporter.webconfig import AuthBusy, LiveWebConfig

audit = logging.getLogger("perfadvisor.advisor.serve.audit")
OPEN_PATHS = {"/health/live", "/health/ready"}


class RateLimiter:
    """A token bucket per client (the user when authenticated, else the address): `rate` per minute, up to
    `burst` at once."""

    MAX_CLIENTS = 10_000

    def __init__(self, rate_per_minute: float, burst: int):
        self.rate, self.burst = rate_per_minute / 60.0, float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """0 when allowed, else the seconds until a token is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > self.MAX_CLIENTS:   # forget the fullest buckets: they are idle clients
                for k in [k for k, (t, _) in self._buckets.items() if t >= self.burst - 1][:self.MAX_CLIENTS // 2]:
                    del self._buckets[k]
            return (1 - tokens) / self.rate


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class Guard:
    def __init__(self, app, web: LiveWebConfig, *, max_body: int, limiter: RateLimiter,
                 cors_origins: tuple[str, ...] = (), metrics=None):
        self.app, self.web, self.max_body, self.limiter = app, web, max_body, limiter
        self.cors = set(cors_origins)
        self.metrics = metrics

    async def _send_json(self, send, status: int, body: dict, extra: list[tuple[bytes, bytes]] = ()) -> None:
        data = orjson.dumps(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                                *self._security(), *extra]})
        await send({"type": "http.response.body", "body": data})

    def _security(self, nonce: str | None = None) -> list[tuple[bytes, bytes]]:
        script = f"'nonce-{nonce}'" if nonce else "'none'"
        style = f"'nonce-{nonce}'" if nonce else "'none'"
        csp = (f"default-src 'none'; script-src {script}; style-src {style}; img-src 'self' data:; "
               "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        out = [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
               (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
               (b"cache-control", b"no-store")]
        out += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.web.headers.items()]
        return out

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        headers = _headers(scope)
        client = (scope.get("client") or ("?", 0))[0]
        self.web.refresh()
        user = None
        if path not in OPEN_PATHS and self.web.auth.enabled:
            try:
                ok = await anyio.to_thread.run_sync(self.web.auth.check, headers.get("authorization"))
            except AuthBusy:
                if scope["type"] == "websocket":
                    return await send({"type": "websocket.close", "code": 1013})
                return await self._send_json(send, 429, {"error": "too many authentication attempts"},
                                             [(b"retry-after", b"1")])
            if not ok:
                if scope["type"] == "websocket":
                    return await send({"type": "websocket.close", "code": 1008})
                if scope["method"] == "POST":
                    audit.info("audit client=%s user=%s method=POST path=%s status=401", client,
                               _safe(_user(headers.get("authorization"))), _safe(path))
                return await self._send_json(send, 401, {"error": "unauthorized"},
                                             [(b"www-authenticate", b'Basic realm="perfadvisor advisor"')])
            user = _user(headers.get("authorization"))
        if scope["type"] == "websocket":
            origin = headers.get("origin")
            if origin and not self._same_origin(origin, headers) and origin not in self.cors:
                return await send({"type": "websocket.close", "code": 1008})
            return await self.app(scope, receive, send)

        method = scope["method"]
        origin = headers.get("origin")
        cors: list[tuple[bytes, bytes]] = []
        if origin and origin in self.cors:
            cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
            if method == "OPTIONS":
                await send({"type": "http.response.start", "status": 204, "headers": [
                    *cors, (b"access-control-allow-methods", b"GET, POST"),
                    (b"access-control-allow-headers", b"authorization, content-type"),
                    (b"access-control-max-age", b"600"), *self._security()]})
                return await send({"type": "http.response.body", "body": b""})
        if method == "POST":
            wait = self.limiter.take(f"user:{user}" if user else f"ip:{client}")
            if wait > 0:
                if self.metrics:
                    self.metrics.rate_limited.inc()
                audit.info("audit client=%s user=%s method=POST path=%s status=429", client, _safe(user), _safe(path))
                return await self._send_json(send, 429, {"error": "rate limit exceeded: too many POST requests"},
                                             [(b"retry-after", str(max(1, int(wait + 0.999))).encode()), *cors])
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                audit.info("audit client=%s user=%s method=POST path=%s status=413", client, _safe(user), _safe(path))
                return await self._send_json(send, 413, {"error": f"request body larger than {self.max_body} bytes"},
                                             cors)
        nonce = secrets.token_urlsafe(16) if method == "GET" and path == "/" else None
        scope.setdefault("state", {})["csp_nonce"] = nonce
        state: dict[str, Any] = {"status": 0}

        async def guarded_send(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                hs = [(k, v) for k, v in message.get("headers", [])
                      if k.lower() not in (b"content-security-policy",)]
                message = {**message, "headers": hs + self._security(nonce) + cors}
            await send(message)
        try:
            await self.app(scope, receive, guarded_send)
        finally:
            if method == "POST":
                audit.info("audit client=%s user=%s method=POST path=%s status=%s%s", client, _safe(user), _safe(path),
                           state["status"], f" run_id={scope['state']['run_id']}" if scope["state"].get("run_id")
                           else f" bench_id={scope['state']['bench_id']}" if scope["state"].get("bench_id") else "")

    @staticmethod
    def _same_origin(origin: str, headers: dict[str, str]) -> bool:
        host = headers.get("host", "")
        return origin.split("://", 1)[-1] == host


def _safe(text: str | None, limit: int = 200) -> str:
    """A request-controlled value fit for one log line: no newlines or control characters, bounded."""
    if not text:
        return "-"
    return text[:limit].encode("unicode_escape").decode("ascii").replace(" ", "%20")


def _user(header: str | None) -> str | None:
    import base64
    import binascii
    try:
        return base64.b64decode((header or "")[6:].strip(), validate=True).partition(b":")[0].decode("utf-8",
                                                                                                     "replace")
    except (binascii.Error, ValueError):
        return None
