"""The exporter's HTTP server: wiring (App), listening (IPv4/IPv6/TLS), start and clean shutdown.

``ExporterServer(config, collectors, web)`` takes the collectors explicitly (built from the registry by the
CLI, or handed in by tests), so nothing here reads global state.
"""
from __future__ import annotations

import gc
import logging
import socket
import threading
from dataclasses import dataclass, field
from http.server import HTTPServer, ThreadingHTTPServer
from importlib import metadata
from typing import Any, Mapping

from .config import ExporterConfig, parse_listen_address
from .handler import Handler
from .health import HealthState
from .registry import Collector
from .routes import Route, route_table
from .scrape import Scraper
from .selfmetrics import SelfMetrics
from .summary import Summarizer
from .webconfig import LiveWebConfig, WebConfig

log = logging.getLogger("perfadvisor.exporter.server")

M_ARENA_MAX = -8  # glibc mallopt() parameters
M_TRIM_THRESHOLD = -1
TRIM_THRESHOLD = 1 << 20  # bytes of free memory at the top of a malloc heap kept rather than given back


def tune_malloc(arenas: int = 2, trim_threshold: int = TRIM_THRESHOLD) -> None:
    """Cap glibc's malloc arenas for this process (what MALLOC_ARENA_MAX does, set from inside), and keep the
    memory a scrape frees for the next one.

    glibc gives each thread that allocates its own arena, up to 8 per core, and each keeps its freed memory:
    with 10 parallel scrapers (a handler thread each) plus the collector threads, RSS grew 33 → 36 MB. The GIL
    serialises Python's allocations anyway, so two arenas cost no contention.

    A scrape allocates and frees ~0.3 MB (the response body, its gzip stream, the samples); with glibc's default
    trim threshold (128 KB, adjusted up to 32 MB only after large mmapped blocks) the heap was shrunk after every
    scrape and grown again by the next: ~76 page faults and their zeroing per scrape, in the kernel's time. With
    a 1 MB threshold the pages stay mapped and a scrape faults no page (RSS, with the writers' memo of the last
    scrape's text: +0.8 MB sequential, +1.2 MB after 10 parallel scrapers; 4 MB gave +3.4 MB there). No effect
    outside glibc.
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_ARENA_MAX, arenas)
    mallopt(M_TRIM_THRESHOLD, trim_threshold)


def settle_gc(young: int = 5000) -> None:
    """Keep the cyclic garbage collector off the scrape path.

    Everything alive once the server is built (modules, collector tables, config) lives as long as the process:
    frozen, it is no longer traversed by every full collection (~0.2 ms per scrape). A scrape allocates ~1,300
    containers that live until its response is written and leaves ~2 objects of cyclic garbage, so with the
    default threshold of 700 each scrape ran about two young collections that found nothing; with 5000 they run
    every few thousand scrapes and still bound the garbage.
    """
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], young), *threshold[1:])


def exporter_version() -> str:
    try:
        return metadata.version("perfadvisor")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


@dataclass
class App:
    """Everything a request handler needs, passed explicitly through the handler class."""

    config: ExporterConfig
    scraper: Scraper
    health: HealthState
    summarizer: Summarizer
    selfmetrics: SelfMetrics
    web: LiveWebConfig
    version: str
    known: frozenset[str] = frozenset()
    semaphore: threading.BoundedSemaphore | None = None  # --web.max-requests
    streams: threading.BoundedSemaphore | None = None  # --web.max-streams
    stopping: threading.Event = field(default_factory=threading.Event)
    routes: dict[str, Route] = field(default_factory=route_table)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # server_close() would otherwise join every connection thread, and Prometheus keeps its connection open:
    # shutdown would wait for the idle keep-alive timeout.
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128
    dual_stack = False

    def server_bind(self) -> None:
        if self.dual_stack:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # HTTPServer.server_bind would resolve the host's FQDN (a DNS lookup at start); it is not needed.
        super(HTTPServer, self).server_bind()
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Failed TLS handshakes, resets and timeouts are the client's business, not a traceback on stderr.
        import sys
        err = sys.exc_info()[1]
        log.debug("connection error",
                  extra={"kv": {"remote": client_address[0], "err": f"{type(err).__name__}: {err}"}})


def _listen(host: str, port: int, handler: type) -> _HTTPServer:
    if host in ("", "::") and socket.has_ipv6:  # all interfaces: one dual-stack socket, as Go listens
        try:
            cls = type("_DualStackServer", (_HTTPServer,), {"address_family": socket.AF_INET6, "dual_stack": True})
            return cls(("::", port), handler)
        except OSError as e:
            if host == "::":
                raise
            log.debug("IPv6 unavailable, listening on IPv4 only", extra={"kv": {"err": str(e)}})
    if ":" in host:
        cls = type("_V6Server", (_HTTPServer,), {"address_family": socket.AF_INET6})
        return cls((host, port), handler)
    return _HTTPServer((host or "0.0.0.0", port), handler)


class ExporterServer:
    def __init__(self, config: ExporterConfig, collectors: Mapping[str, Collector], web: WebConfig | None = None,
                 known: frozenset[str] | None = None, version: str | None = None):
        tune_malloc()  # before this server starts threads
        self.config = config
        self.web = web or WebConfig()
        version = version or exporter_version()
        health = HealthState(version, tuple(collectors))
        selfmetrics = SelfMetrics(version)
        scraper = Scraper(collectors, timeout=config.scrape_timeout, workers=config.scrape_workers,
                          on_collection=[health.record_collection, selfmetrics.collection_done])
        self.app = App(config=config, scraper=scraper, health=health, summarizer=Summarizer(),
                       selfmetrics=selfmetrics, web=LiveWebConfig(self.web), version=version,
                       known=known if known is not None else frozenset(collectors),
                       semaphore=threading.BoundedSemaphore(config.max_requests) if config.max_requests > 0 else None,
                       streams=threading.BoundedSemaphore(config.max_streams) if config.max_streams > 0 else None,
                       routes=route_table(config.telemetry_path))
        handler = type("BoundHandler", (Handler,), {"app": self.app})
        self.servers: list[_HTTPServer] = []
        try:
            for address in config.listen_addresses:
                host, port = parse_listen_address(address)
                try:
                    httpd = _listen(host, port, handler)
                except OSError as e:
                    raise OSError(e.errno, f"{address}: {e.strerror or e}") from None
                if self.web.ssl_context is not None:
                    httpd.socket = self.web.ssl_context.wrap_socket(
                        httpd.socket, server_side=True, do_handshake_on_connect=False)
                self.servers.append(httpd)
        except BaseException:
            for httpd in self.servers:
                httpd.server_close()
            scraper.close()
            raise
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        """The port of the first listen address (the one a :0 address was given)."""
        return self.servers[0].server_address[1]

    @property
    def urls(self) -> list[str]:
        scheme = "https" if self.web.ssl_context is not None else "http"
        out = []
        for address, httpd in zip(self.config.listen_addresses, self.servers):
            host = parse_listen_address(address)[0]
            host = "127.0.0.1" if host in ("", "0.0.0.0") else ("[::1]" if host == "::" else
                                                             f"[{host}]" if ":" in host else host)
            out.append(f"{scheme}://{host}:{httpd.server_address[1]}")
        return out

    @property
    def url(self) -> str:
        return self.urls[0]

    def _first_collection(self) -> None:
        try:
            self.app.scraper.collect(None)
        except Exception as e:  # readiness then waits for the first scrape that works
            log.error("first collection failed", extra={"kv": {"err": f"{type(e).__name__}: {e}"}})

    def start(self) -> "ExporterServer":
        """Serve in a background thread (returns at once) and run the first collection in the background."""
        settle_gc()
        threading.Thread(target=self._first_collection, name="first-collection", daemon=True).start()
        for httpd in self.servers:
            t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
            t.start()
            self._threads.append(t)
        log.info("listening", extra={"kv": {"address": ",".join(self.urls),
                                            "telemetry_path": self.config.telemetry_path,
                                            "tls": self.web.ssl_context is not None,
                                            "basic_auth": self.app.web.auth.enabled,
                                            "collectors": ",".join(self.app.scraper.names)}})
        return self

    def shutdown(self) -> None:
        """Stop accepting, end SSE streams, close the socket; in-flight requests are daemon threads."""
        self.app.stopping.set()
        for httpd, t in zip(self.servers, self._threads):
            httpd.shutdown()
            t.join(5)
        for httpd in self.servers:
            httpd.server_close()
        self.app.scraper.close()

    def __enter__(self) -> "ExporterServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
