"""Kept-open PostgreSQL connections for the postgres collector, one per (target, database).

A new connection per scrape costs a backend start, authentication (SCRAM hashing on both sides) and cold
catalog caches: about two thirds of a scrape of an idle server. postgres_exporter keeps its connection open
too. The cache changes no output: a connection that fails its liveness check is replaced before use, so a
restarted server is read in the same scrape, and a connection is only ever used by one probe at a time.
"""
from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterator

from .._probe import on_deadline, shutdown_fd

if TYPE_CHECKING:  # imported at run time by the postgres collector, only when it has targets
    import psycopg


def _cancel_on_deadline(conn: psycopg.Connection) -> None:
    """If the probe overruns its deadline, shut the connection's socket down: a query blocked on a backend that
    stopped answering (statement_timeout cannot fire there) fails at once and the connection is dropped."""
    def hook() -> None:
        if not conn.closed:
            shutdown_fd(conn.pgconn.socket)

    on_deadline(hook)


class ConnectionCache:
    def __init__(self) -> None:
        self._idle: dict[Hashable, psycopg.Connection] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self, key: Hashable, connect: Callable[[], psycopg.Connection]) -> Iterator[psycopg.Connection]:
        """A live connection for ``key``: the idle one if it still answers, else a new one from ``connect``."""
        with self._lock:
            conn = self._idle.pop(key, None)
        if conn is not None:
            _cancel_on_deadline(conn)
            import psycopg  # loaded by the connect() that made conn

            try:
                conn.execute("SELECT 1")
            except psycopg.Error:
                conn.close()
                conn = None
        if conn is None:
            conn = connect()
            _cancel_on_deadline(conn)
        try:
            yield conn
        except BaseException:
            conn.close()  # state unknown after a failure: never reuse it
            raise
        with self._lock:
            spare = self._idle.get(key)
            if spare is None and not conn.closed:
                self._idle[key] = conn
                conn = None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conn in idle.values():
            conn.close()


class NoCache(ConnectionCache):
    """Connect for each use and close afterwards."""

    @contextlib.contextmanager
    def connection(self, key: Hashable, connect: Callable[[], psycopg.Connection]) -> Iterator[Any]:
        with connect() as conn:
            yield conn
