"""The service assembled: the engine (with local sampling when there is no Prometheus), the history store,
the routes and the guard, and uvicorn serving them until SIGTERM/SIGINT."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from importlib.metadata import PackageNotFoundError, version

from starlette.applications import Starlette

from ...exporter.webconfig import LiveWebConfig, WebConfig
from ..config import Config
from ..history import HistoryStore
from ..sources import local_mode
from .api import Api
from .benchmark import Benchmarks
from .engine import Engine
from .events import Events
from .feed import LocalFeed
from .metrics import ServeMetrics
from .options import ServeOptions
from .page import Page
from .security import Guard, RateLimiter

log = logging.getLogger("perfadvisor.advisor.serve")


def _version() -> str:
    try:
        return version("perfadvisor")
    except PackageNotFoundError:
        return "0"


class Service:
    """Everything one ``advisor serve`` runs; ``asgi`` is the application, ``start``/``stop`` the threads."""

    def __init__(self, config: Config, opts: ServeOptions, web: WebConfig):
        self.opts = opts
        self.store = HistoryStore(opts.storage_path, retention=opts.retention)
        self.feed = LocalFeed(opts.storage_path, opts.sample_interval, opts.exporter) if local_mode(config) else None
        self.events = Events()
        self.metrics = ServeMetrics()
        try:
            self.engine = Engine(config, self.store, self.events, opts.interval, feed=self.feed, metrics=self.metrics,
                                 pack_intervals=opts.pack_intervals)
        except BaseException:
            self.close()
            raise
        self.api = Api(self.engine, self.metrics, _version(), deadline=opts.source_timeout,
                       page=Page(self.engine).__call__, max_body=opts.max_body_bytes)
        self.web = LiveWebConfig(web)
        try:
            self.bench = Benchmarks(self.store, self.events, opts.bench_allow, self.api, config=config)
        except BaseException:
            self.close()
            raise

        @contextlib.asynccontextmanager
        async def lifespan(app):
            self.events.bind(asyncio.get_running_loop())
            self.start()
            try:
                yield
            finally:
                await asyncio.to_thread(self.stop)
        app = Starlette(routes=self.bench.routes() + self.api.routes(), lifespan=lifespan)
        self.asgi = Guard(app, self.web, max_body=opts.max_body_bytes,
                          limiter=RateLimiter(opts.post_rate, opts.post_burst), cors_origins=opts.cors_origins,
                          metrics=self.metrics)

    def start(self) -> None:
        if self.feed:
            self.feed.start()
        self.engine.start()

    def stop(self) -> None:
        self.bench.stop()
        self.engine.stop()
        self.close()

    def close(self) -> None:
        if self.feed:
            self.feed.stop()
            self.feed = None
        self.store.close()


def serve(config: Config, opts: ServeOptions, web: WebConfig) -> None:
    """Run until SIGTERM or SIGINT (uvicorn's handlers: finish in-flight requests, then return)."""
    import socket

    import uvicorn

    from .engine import tune_malloc
    tune_malloc()
    # Bind before anything starts, so a taken port is one error line (exit 2), not a half-started service.
    family = socket.AF_INET6 if ":" in opts.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((opts.host, opts.port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    try:
        service = Service(config, opts, web)
    except BaseException:
        sock.close()
        raise
    cfg = uvicorn.Config(service.asgi, host=opts.host, port=opts.port, log_level="warning", access_log=False,
                         lifespan="on", ws="websockets-sansio", proxy_headers=False, server_header=False,
                         timeout_graceful_shutdown=10)
    cfg.load()
    if web.ssl_context is not None:
        cfg.ssl = web.ssl_context   # the web config's context (client CA, TLS versions), as the exporter's
    server = uvicorn.Server(cfg)
    scheme = "https" if web.ssl_context else "http"
    log.info("advisor serve listening on %s://%s:%d (source: %s, every %gs, store %s)", scheme, opts.host, opts.port,
             service.engine.source_name, opts.interval, opts.storage_path)
    # uvicorn re-raises the signal that stopped it once it has shut down; with these handlers in place that
    # ends here, and the command exits 0 as the contract says.
    import signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.run(sockets=[sock])
