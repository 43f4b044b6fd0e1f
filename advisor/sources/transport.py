"""One bounded HTTP exchange: a deadline on the whole request and a cap on the bytes of the answer.

requests' ``timeout`` bounds each socket read, so a server that drips a byte every half second never times out,
and ``resp.content`` reads whatever it is sent. Here every request gets a watchdog that shuts the connection's
socket down at the deadline (whatever phase it is in: TLS handshake, headers, body), connect/read timeouts no
larger than the time left, and a body read in large chunks that stops at ``max_bytes`` (Content-Length is
checked before reading). Keep-alive connections are pooled per session as usual.
"""
from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CHUNK = 1 << 20

_inflight = threading.local()   # the watchdog of the request this thread is making


class Deadline(Exception):
    """The request did not complete before its deadline."""


class TooLarge(Exception):
    """The answer is larger than the cap; ``declared`` when its Content-Length said so up front."""

    def __init__(self, declared: bool):
        super().__init__("answer too large")
        self.declared = declared


class _Deadlines:
    """One thread firing every request's deadline (a timer thread per request costs about a millisecond of
    wall time to start, as much as a small query's whole exchange on loopback)."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)   # a forked child has no deadline thread, maybe a held lock

    def _reset(self) -> None:
        self.lock = threading.Lock()
        self._cond = threading.Condition(self.lock)
        self._heap: list = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, when: float, dog: "_Watchdog") -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), dog))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="advisor-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is dog:
                self._cond.notify()

    def _loop(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:   # finished in time
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                left = self._heap[0][0] - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heappop(self._heap)[2].fire()


_DEADLINES = _Deadlines()


class _Watchdog:
    """Shuts the request's socket down at the deadline; a blocked recv then returns and the request fails."""

    def __init__(self, seconds: float):
        self.sock = None   # the request's socket (http.client drops conn.sock once a closing answer arrives)
        self.fired = False
        self.done = False
        self._when = time.monotonic() + max(seconds, 0.0)

    def fire(self) -> None:
        if self.done:
            return
        self.fired = True
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        _inflight.watchdog = self
        _DEADLINES.add(self._when, self)
        return self

    def __exit__(self, *exc):
        with _DEADLINES.lock:   # not while the deadline thread is shutting the socket down
            self.done = True
            self.sock = None
        _inflight.watchdog = None


def _watched(pool_cls):
    class WatchedConnection(pool_cls.ConnectionCls):
        def _new_conn(self):   # the raw socket of a new connection, before any TLS handshake on it
            sock = super()._new_conn()
            dog = getattr(_inflight, "watchdog", None)
            if dog is not None:
                dog.sock = sock
            return sock

    class Watched(pool_cls):
        ConnectionCls = WatchedConnection

        def _make_request(self, conn, *args, **kwargs):
            dog = getattr(_inflight, "watchdog", None)
            if dog is not None:
                if conn.sock is not None:   # a kept-alive connection
                    dog.sock = conn.sock
                if dog.fired:   # the deadline passed while the pool handed out the connection
                    raise Deadline()
            return super()._make_request(conn, *args, **kwargs)
    Watched.__name__ = f"Watched{pool_cls.__name__}"
    return Watched


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _watched(HTTPConnectionPool),
                                                   "https": _watched(HTTPSConnectionPool)}


def session() -> requests.Session:
    """A session whose requests can be bounded by ``post``."""
    s = requests.Session()
    adapter = _Adapter(pool_connections=1, pool_maxsize=1)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes


def post(s: requests.Session, url: str, form: dict, *, deadline: float, max_bytes: int, verify,
         method: str = "POST") -> Answer:
    """POST `form` (GET: as the query string) and read the whole answer by `deadline` (time.monotonic()), at most
    `max_bytes` of body.

    Raises Deadline, TooLarge, or requests' own exceptions (connection refused, TLS errors, …)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise Deadline()
    with _Watchdog(left) as dog:
        try:
            sent = {"params": form} if method == "GET" else {"data": form}
            resp = s.request(method, url, timeout=(left, left), verify=verify, stream=True, **sent)
            try:
                length = resp.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > max_bytes:
                    raise TooLarge(declared=True)
                chunks, size = [], 0
                for chunk in resp.iter_content(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(declared=False)
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise Deadline()
                return Answer(resp.status_code, resp.headers, b"".join(chunks))
            finally:
                resp.close()
        except (requests.exceptions.RequestException, OSError):
            if dog.fired or time.monotonic() >= deadline:
                raise Deadline() from None
            raise
        except Deadline:
            raise
        except Exception:  # noqa: BLE001 - urllib3/http.client errors from a socket shut down under them
            if dog.fired:
                raise Deadline() from None
            raise
