"""Servers the service-pack tests need beyond tests/support/services.py: a deliberately slow HTTP backend."""
from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@contextlib.contextmanager
def start_slow_http(delay: float) -> Iterator[int]:
    """An HTTP/1.1 server on 127.0.0.1 that answers every GET with 200 after `delay` seconds; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(delay)
            body = b"slow\n"
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            pass  # clients (HAProxy, probes) hang up mid-request; that is theirs to report, not ours

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="slow-http", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def start_flapping_listener(period: float) -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections for `period` seconds, then refuses them for `period`
    seconds, and so on: a backend whose health checks flap. Yields the port."""
    import selectors
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            with socket.socket() as srv:
                srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                srv.bind(("127.0.0.1", port))
                srv.listen(64)
                until = time.monotonic() + period
                with selectors.DefaultSelector() as sel:
                    sel.register(srv, selectors.EVENT_READ)
                    while not stop.is_set() and time.monotonic() < until:
                        if sel.select(0.1):
                            conn, _ = srv.accept()
                            conn.close()
            stop.wait(period)

    thread = threading.Thread(target=run, name="flapping-listener", daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(5)


# Two HAProxy backends with the same weights behind their own frontends: `balance first` sends every new session
# to the first server with a free slot, whatever the weights; the roundrobin one is the healthy comparison.
# Fill in first, rr (frontend ports) and web (the server's port).
HAPROXY_FIRST_AND_ROUNDROBIN = """
frontend fe_first
    bind 127.0.0.1:{first}
    default_backend skewed

backend skewed
    balance first
    server s1 127.0.0.1:{web} weight 1
    server s2 127.0.0.1:{web} weight 3

frontend fe_rr
    bind 127.0.0.1:{rr}
    default_backend even

backend even
    balance roundrobin
    server a 127.0.0.1:{web} weight 1
    server b 127.0.0.1:{web} weight 3
"""
