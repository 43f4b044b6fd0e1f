"""A minimal Prometheus HTTP API that answers every query with N series: a fleet of N targets, for scale tests.

It does not evaluate PromQL. Every instant query gets a vector and every range query a matrix of the same N
series (carrying the labels the built-in packs' texts use), with points only inside its `hours` of history;
the advisor's metric-presence and history probes get the one-series answers they expect. Values spread the
targets over the range of most thresholds and give every tenth target steady growth, so many rules fire on
many targets: the shape of a large fleet with problems, as a run sees it. Bodies are built once per answer
shape and cached, so the server costs little next to the client it serves.
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import numpy as np


class Fleet:
    """The server; ``url`` once started. Use as a context manager."""

    def __init__(self, n: int, hours: float = 2.0, interval: float = 60.0):
        self.n, self.interval = n, interval
        self.end = time.time()
        self.start_ts = self.end - hours * 3600
        i = np.arange(n)
        self.base = 0.05 + 0.95 * ((i * 37) % 100) / 100
        self.growth = np.where(i % 10 == 0, 0.3, 0.0) / (hours * 3600)
        self.labels = [
            ('{"instance":"host-%05d:9100","job":"node","groupname":"svc%02d","mountpoint":"/","device":"sda",'
             '"fstype":"ext4","addr":"10.0.%d.%d:6379","server":"srv%d","datname":"db%d","proxy":"be%d",'
             '"target":"lb%d","cache":"c","cmd":"get","state":"active","schemaname":"public","relname":"t%d",'
             '"indexrelname":"i%d","queryid":"%d"}') % (k, k % 10, k // 256 % 256, k % 256, k % 7, k % 5, k % 3,
                                                        k % 4, k % 11, k % 13, k)
            for k in range(n)]
        self.queries = 0
        self._cache: dict[tuple, bytes] = {}
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # --- answers ------------------------------------------------------------------------------------------

    def _values(self, ts: np.ndarray) -> np.ndarray:
        """n × len(ts) values: a level per target, growth for every tenth, a little deterministic wobble."""
        wobble = 0.01 * np.sin(ts[None, :] / 600.0 + np.arange(self.n)[:, None])
        return self.base[:, None] * (1 + wobble) + self.growth[:, None] * (ts[None, :] - self.start_ts)

    def _matrix(self, start: float, end: float, step: float) -> bytes:
        first = max(start, start + np.ceil((self.start_ts - start) / step) * step)
        ts = np.arange(first, min(end, self.end + 300) + 1e-9, step) if first <= end else np.zeros(0)
        vals = self._values(ts)
        heads = [f'[{t:.3f},"' for t in ts]
        parts = []
        for k in range(self.n):
            row = np.char.mod("%.6g", vals[k]).tolist()
            parts.append('{"metric":' + self.labels[k] + ',"values":['
                         + ",".join(h + v + '"]' for h, v in zip(heads, row)) + "]}")
        return ('{"status":"success","data":{"resultType":"matrix","result":[' + ",".join(parts) + "]}}").encode()

    def _vector(self, t: float) -> bytes:
        vals = self._values(np.array([min(t, self.end)]))[:, 0]
        parts = [f'{{"metric":{self.labels[k]},"value":[{t:.3f},"{vals[k]:.6g}"]}}' for k in range(self.n)]
        return ('{"status":"success","data":{"resultType":"vector","result":[' + ",".join(parts) + "]}}").encode()

    @staticmethod
    def _one(t: float, v: float) -> bytes:
        return ('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%.3f,"%r"]}]}}'
                % (t, v)).encode()

    def answer(self, path: str, form: dict[str, str]) -> bytes:
        q = form.get("query", "")
        self.queries += 1
        if path.endswith("/query_range"):
            key = ("r", float(form["start"]), float(form["end"]), float(form["step"]))
            make = lambda: self._matrix(*key[1:])  # noqa: E731
        else:
            t = float(form.get("time", self.end))
            if q.startswith("min(min_over_time(timestamp("):   # the history probe: when the data starts
                return self._one(t, self.start_ts)
            if q.startswith("count("):                          # metric presence
                return self._one(t, float(self.n))
            key = ("i", t)
            make = lambda: self._vector(t)  # noqa: E731
        with self._lock:
            body = self._cache.get(key)
            if body is None:
                body = self._cache[key] = make()
        return body

    # --- server -------------------------------------------------------------------------------------------

    def __enter__(self) -> "Fleet":
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _reply(self, form):
                body = fleet.answer(self.path.split("?")[0], form)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._reply({k: v[0] for k, v in parse_qs(raw).items()})

            def do_GET(self):
                query = self.path.split("?", 1)[1] if "?" in self.path else ""
                self._reply({k: v[0] for k, v in parse_qs(query).items()})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
