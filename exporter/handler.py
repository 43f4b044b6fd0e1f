"""The HTTP request handler: dispatch through the route table (routes.py), the request cap, basic auth, and the
endpoints.

HTTP/1.1 with keep-alive (Prometheus reuses connections), so every response carries Content-Length, except the
SSE stream, which closes its connection when it ends. Access lines go to the debug log with the path only:
never the query string or headers, which may carry credentials.

Order of checks, cheapest and least trusting first: request line and headers (http.server's limits, HTTP/0.9
and unknown methods refused here), then basic auth, then the request or stream cap — so a client without the
password never holds a slot an authorised scraper needs.
"""
from __future__ import annotations

import gzip
import html
import json
import logging
import math
import re
import selectors
import socket
import ssl
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .exposition import (
    CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT, generate_openmetrics, generate_text, merge_families,
    wants_openmetrics,
)
from .routes import landing_links
from .webconfig import AuthBusy

log = logging.getLogger("perfadvisor.exporter.http")

JSON = "application/json"
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout, ssl.SSLError)
MIN_INTERVAL, MAX_INTERVAL = 0.5, 3600.0  # /api/metrics/stream?interval= bounds, seconds
STREAM_WRITE_TIMEOUT = 10.0  # a stream whose client stops reading ends after this long
STOP_POLL = 0.5  # how often a waiting stream looks at the shutdown flag
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
TIMEOUT_OFFSET = 0.5
_QUOTED = re.compile(r"\((['\"]).*\1\)")


def _accepts_gzip(value: str | None) -> bool:
    for part in (value or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        if fields[0] in ("gzip", "*"):
            q = next((f[2:] for f in fields[1:] if f.startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def _scrape_timeout(headers) -> float | None:
    """Prometheus' own scrape timeout, less a margin for rendering and the network (blackbox's offset)."""
    raw = headers.get("X-Prometheus-Scrape-Timeout-Seconds")
    try:
        seconds = float(raw) if raw else 0.0
    except ValueError:
        return None
    return max(0.1, seconds - TIMEOUT_OFFSET) if seconds > 0 and math.isfinite(seconds) else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An error found before the version is parsed (a request line of 4 words, one over 64 KiB) is still answered
    # with a status line; http.server's default, HTTP/0.9, would send a bare HTML page.
    default_request_version = "HTTP/1.0"
    # Idle keep-alive connections, and clients that stop sending mid-request, are closed after this many seconds
    # without a byte. Neither holds a request slot meanwhile: slots are taken once the request is complete.
    timeout = 300
    app: Any = None  # set on a per-server subclass (server.App)

    # -- plumbing ---------------------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def parse_request(self) -> bool:
        """http.server's parsing (request line <= 64 KiB, <= 100 header lines of <= 64 KiB each), and refusals for
        what it lets through: HTTP/0.9, versions other than 1.x and methods other than GET and HEAD."""
        if len(self.raw_requestline.split()) == 2:  # "GET /": HTTP/0.9, which has no status line to answer with
            self.command, self.requestline, self.request_version = None, "", self.default_request_version
            self.close_connection = True
            self.send_error(505, "HTTP/0.9 is not supported")
            return False
        if not super().parse_request():
            return False
        if not self.request_version.startswith("HTTP/1."):  # "HTTP/0.9" written out
            self.request_version = self.default_request_version
            self.send_error(505, "only HTTP/1.0 and HTTP/1.1 are supported")
            return False
        if self.command not in ("GET", "HEAD"):
            if not _METHOD.fullmatch(self.command):
                self.send_error(400, "malformed request method")
            else:
                self._not_allowed()
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's protocol errors (400, 414, 431, 505) as the JSON every other error is, and logged
        at debug like them."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True  # the rest of the request was not read
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        # like the log, the answer leaves out the quoted request line http.server puts in its messages
        self._error(code, _QUOTED.sub("(…)", message) if message else phrase)

    def version_string(self) -> str:
        return f"perfadvisor-exporter/{self.app.version}"

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # access lines are written by _access() with the duration and without the query

    def log_message(self, format: str, *args: Any) -> None:
        # http.server quotes the raw request line in its errors ("Bad request version ('GET /?pw=…')"): a URL
        # may carry credentials, so quoted parts are cut before logging.
        message = _QUOTED.sub("(…)", format % args)
        log.debug(message, extra={"kv": {"remote": self.client_address[0]}})

    def _send(self, code: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self._status = code
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in self.app.web.headers.items():
            self.send_header(k, v)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        if self.command == "HEAD":
            self.end_headers()
            return
        # headers and body in one write: one packet for small answers, no Nagle/delayed-ACK stall
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body)
        self.flush_headers()

    def _json(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(code, json.dumps(obj, separators=(",", ":")).encode() + b"\n", JSON, headers)

    def _error(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(code, {"status": "error", "error": message}, headers)

    def _access(self, started: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("request", extra={"kv": {
                "remote": self.client_address[0], "method": self.command, "path": urlsplit(self.path).path,
                "status": getattr(self, "_status", "-"),
                "duration_ms": round((time.perf_counter() - started) * 1e3, 3)}})

    # -- methods ----------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _not_allowed(self) -> None:
        self.log_error("code 405, method not allowed")
        self.close_connection = True  # the request body, if any, is not read
        self._error(405, f"method {self.command} not allowed", {"Allow": "GET, HEAD"})

    def _authorized(self) -> bool:
        """Basic auth, before any slot is taken; answers 401 (or 429 when every bcrypt slot is busy) itself."""
        try:
            if self.app.web.auth.check(self.headers.get("Authorization")):
                return True
            self._error(401, "unauthorized", {"WWW-Authenticate": 'Basic realm="perfadvisor-exporter"'})
        except AuthBusy:
            self._error(429, "too many password checks in progress", {"Retry-After": "1"})
        return False

    def _dispatch(self) -> None:
        started = time.perf_counter()
        app = self.app
        if self.headers.get("Transfer-Encoding") or self.headers.get("Content-Length", "0").strip() not in ("", "0"):
            self.close_connection = True  # a GET body is never read: the connection cannot carry another request
        url = urlsplit(self.path)
        path = url.path
        route = app.routes.get(path)
        probe = route is not None and route.probe  # probes must answer even when scrapes pile up
        slot = None
        try:
            app.web.refresh()
            if not probe and not self._authorized():
                return
            if route is None:
                self._error(404, f"no such endpoint: {path}")
                return
            if not probe:
                cap = app.streams if route.stream else app.semaphore
                if cap is not None and not cap.acquire(blocking=False):
                    app.selfmetrics.request_rejected()
                    what, flag, n = (("streams", "--web.max-streams", app.config.max_streams) if route.stream else
                                     ("requests", "--web.max-requests", app.config.max_requests))
                    self._error(503, f"too many concurrent {what} ({flag}={n})", {"Retry-After": "1"})
                    return
                slot = cap
            getattr(self, route.endpoint)(parse_qs(url.query, keep_blank_values=True))
        except _CLIENT_GONE:
            self.close_connection = True
            log.debug("client went away", extra={"kv": {"path": path}})
        except Exception as e:
            log.error("request failed", extra={"kv": {"path": path, "err": f"{type(e).__name__}: {e}"}},
                      exc_info=app.config.debug)
            try:
                self.close_connection = True
                self._error(500, "internal error")
            except OSError:
                pass
        finally:
            if slot is not None:
                slot.release()
            self._access(started)

    # -- endpoints --------------------------------------------------------------------------------------
    def metrics(self, params: dict[str, list[str]]) -> None:
        app = self.app
        started = time.perf_counter()
        wanted, excluded = params.get("collect[]", []), params.get("exclude[]", [])
        for n in wanted + excluded:
            if n not in app.scraper.collectors:
                why = "is not enabled" if n in app.known else "is unknown"
                self._error(400, f"collector {n!r} {why} (enabled: {', '.join(app.scraper.names) or 'none'})")
                return
        only = None
        if wanted or excluded:
            only = frozenset(n for n in (wanted or app.scraper.names) if n not in excluded)
        app.selfmetrics.scrape_started()
        code = 500
        try:
            collection = app.scraper.collect(only, _scrape_timeout(self.headers))
            if app.config.disable_exporter_metrics:
                families = collection.families
            else:  # the scrape's one merge: the collectors' families and the exporter's own
                families = merge_families([*collection.collected, *app.selfmetrics.families()])
            if wants_openmetrics(self.headers.get("Accept")):
                body, ctype = generate_openmetrics(families), CONTENT_TYPE_OPENMETRICS
            else:
                body, ctype = generate_text(families), CONTENT_TYPE_TEXT
            headers = {"Vary": "Accept-Encoding"}
            if _accepts_gzip(self.headers.get("Accept-Encoding")):
                body = gzip.compress(body, compresslevel=1, mtime=0)
                headers["Content-Encoding"] = "gzip"
            code = 200
            self._send(200, body, ctype, headers)
        finally:
            app.selfmetrics.scrape_finished(code)
            app.health.record_scrape(time.perf_counter() - started)

    def landing(self, params: dict[str, list[str]]) -> None:
        app = self.app
        items = "".join(f'<li><a href="{html.escape(p)}">{html.escape(t)}</a> <code>{html.escape(p)}</code></li>'
                        for p, t in landing_links(app.config.telemetry_path).items())
        collectors = ", ".join(html.escape(n) for n in app.scraper.names) or "none"
        page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>perfadvisor-exporter</title></head>"
                f"<body><h1>perfadvisor-exporter</h1><p>Version {html.escape(app.version)}</p><ul>{items}</ul>"
                f"<p>Enabled collectors: {collectors}</p></body></html>\n")
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def health(self, params: dict[str, list[str]]) -> None:
        self._json(200, self.app.health.summary())

    def live(self, params: dict[str, list[str]]) -> None:
        self._json(200, {"status": "alive"})

    def ready(self, params: dict[str, list[str]]) -> None:
        if self.app.health.ready.is_set():
            self._json(200, {"status": "ready"})
        else:
            self._json(503, {"status": "starting", "reason": "first collection has not completed"})

    def detailed(self, params: dict[str, list[str]]) -> None:
        self._json(200, self.app.health.detailed())

    def performance(self, params: dict[str, list[str]]) -> None:
        self._json(200, self.app.health.performance())

    def summary(self, params: dict[str, list[str]]) -> None:
        app = self.app
        self._json(200, app.summarizer.summarize(app.scraper.collect(None)))

    def stream(self, params: dict[str, list[str]]) -> None:
        app = self.app
        raw = (params.get("interval") or ["5"])[-1]
        try:
            interval = float(raw)
            if not MIN_INTERVAL <= interval <= MAX_INTERVAL:  # also false for nan
                raise ValueError
        except ValueError:
            self._error(400, f"interval must be a number of seconds from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}, "
                             f"got {raw[:40]!r}")
            return
        count = None
        if "count" in params:
            raw = params["count"][-1]
            if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
                self._error(400, f"count must be a positive integer, got {raw[:40]!r}")
                return
            count = int(raw)
        self.close_connection = True  # the stream has no length: its end is the end of the connection
        self._status = 200
        self.send_response(200)
        for k, v in {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache",
                     "Connection": "close", "X-Accel-Buffering": "no", **app.web.headers}.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        self.connection.settimeout(STREAM_WRITE_TIMEOUT)
        sent = 0
        with selectors.DefaultSelector() as sel:
            sel.register(self.connection, selectors.EVENT_READ)
            while not app.stopping.is_set():
                data = json.dumps(app.summarizer.summarize(app.scraper.collect(None)), separators=(",", ":"))
                self.wfile.write(f"event: summary\nid: {sent}\ndata: {data}\n\n".encode())
                sent += 1
                if count is not None and sent >= count:
                    break
                if self._client_left(sel, interval):
                    break

    def _client_left(self, sel: selectors.BaseSelector, seconds: float) -> bool:
        """Wait between two events; True as soon as the client closes (or the server stops).

        An SSE client sends nothing after its request, so the connection turning readable means it closed it
        (EOF, reset) or broke protocol; either way the stream ends now rather than at its next write, which
        could be an interval away.
        """
        deadline = time.monotonic() + seconds
        while not self.app.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if sel.select(min(left, STOP_POLL)):
                self.close_connection = True
                log.debug("client went away", extra={"kv": {"path": "/api/metrics/stream"}})
                return True
        return True
